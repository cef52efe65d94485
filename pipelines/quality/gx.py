"""Running a suite of Great Expectations 1.x expectations over a DataFrame, and what came of it.

dagster-ge only supports GX before 1.0, so leadroute calls the GX 1.x API itself: an
ephemeral context (nothing written to disk), one pandas data source, a whole-frame
batch definition per suite. Analytics are switched off before GX is imported (no
network at run time), and so are its progress bars (they would flood the run logs).
GX is imported lazily: loading it costs seconds, and only checks need it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field

import pandas as pd

from pipelines import gc_pause


@dataclass
class Outcome:
    """One expectation's result: how many rows failed it and a few of them."""

    expectation: str
    description: str
    passed: bool
    rows: int
    failing: int
    examples: list[dict] = field(default_factory=list)


@dataclass
class SuiteResult:
    suite: str
    outcomes: list[Outcome]
    seconds: float
    error: str | None = None
    rows: int = 0  # rows checked

    @property
    def passed(self) -> bool:
        return self.error is None and all(o.passed for o in self.outcomes)

    @property
    def failing_rows(self) -> int:
        return sum(o.failing for o in self.outcomes)


@functools.cache
def _gx():
    """``great_expectations``, loaded once, with analytics off and the garbage collector paused
    (its import is most of what a check with rows costs: see :mod:`pipelines.gc_pause`)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    _defer(DEFERRED)
    with gc_pause.loading():
        import great_expectations as gx
        import great_expectations.expectations  # noqa: F401  (what the suites are built from)
    return gx


# Great Expectations imports ``scipy.stats`` for the distribution expectations (KL divergence,
# Kolmogorov-Smirnov) it registers at import; no leadroute suite uses them. Loading it is 1.0-1.5 s of
# CPU, a third of what a check with rows costs a tick. It is loaded when something first uses it.
DEFERRED = "scipy.stats"


def _defer(name: str) -> None:
    """Make ``name`` load on first use, with the standard library's :class:`importlib.util.LazyLoader`.

    Also set as its parent's attribute, so ``from scipy import stats`` finds it there without
    asking the import system, which would load it at once. A statement that imports it by name
    (``import scipy.stats``, as scikit-learn does) still loads it in full then.

    Python 3.11's LazyLoader takes no lock: two threads touching the module first at once could see it
    half loaded. Checks run on one thread (the tick's in-process executor, the CLI)."""
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # its package is not installed: GX's own import will say so
        return
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    setattr(importlib.import_module(parent), child, module)


@functools.cache
def _context():
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = _gx().get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx, ctx.data_sources.add_pandas("leadroute")


def expectations():
    """The ``great_expectations.expectations`` module, imported with analytics off."""
    return _gx().expectations


def validate(suite: str, frame: pd.DataFrame, expects: list, id_column: str, examples: int = 5) -> SuiteResult:
    """Validate ``frame`` against ``expects``; examples name the failing rows by ``id_column``."""
    gx = _gx()
    started = time.perf_counter()
    ctx, source = _context()
    try:
        asset = source.get_asset(suite)
    except LookupError:
        asset = source.add_dataframe_asset(suite)
    try:
        batch_def = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        gx.ExpectationSuite(name=suite, expectations=expects),
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": examples,
                       "unexpected_index_column_names": [id_column]},
    )
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        column = cfg.kwargs.get("column")
        name = cfg.type.removeprefix("expect_") + (f"({column})" if column else "")
        failing = int(res.get("unexpected_count") or 0)
        if "observed_value" in res and not res.get("unexpected_count") and not r.success:
            failing = int(res.get("element_count") or len(frame))
        outcomes.append(Outcome(
            expectation=name,
            description=cfg.description or name,
            passed=bool(r.success),
            rows=int(res.get("element_count") or len(frame)),
            failing=failing,
            examples=[{k: _plain(v) for k, v in e.items()} for e in (res.get("partial_unexpected_index_list") or [])],
        ))
    return SuiteResult(suite, outcomes, time.perf_counter() - started, rows=len(frame))


def _plain(value):
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

"""Running a suite of Great Expectations 1.x expectations over a DataFrame, and what came of it.

dagster-ge only supports GX before 1.0, so leadroute calls the GX 1.x API itself: an
ephemeral context (nothing written to disk), one pandas data source, a whole-frame
batch definition per suite. Analytics are switched off before GX is imported (no
network at run time), and so are its progress bars (they would flood the run logs).
GX is imported lazily: loading it costs seconds, and only checks need it.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field

import pandas as pd

from pipelines import gc_pause
from pipelines.deferred_imports import before_importing


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
    before_importing("great_expectations")  # what GX imports and no leadroute suite runs
    with gc_pause.loading():
        import great_expectations as gx
        import great_expectations.expectations  # noqa: F401  (what the suites are built from)
    return gx


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

"""Property: whatever is done to a copy of the shipped rules, ``leadroute validate`` never crashes or
hangs; it accepts the rules or names every problem at file:line, and rejects what must be rejected.

Hypothesis picks a mutation of ``tests/rules_mutations.py`` (the classes of failure issue 16 found,
and generic ones: flipped bytes, swapped values, dropped lines) and the seed that drives its
random choices, on a fresh copy of ``routing_rules/`` per example. The run is derandomised (the
same examples every time) and bounded, to stay lean in the suite; a longer run of the same
property:

    LEADROUTE_FUZZ_EXAMPLES=500 .venv/bin/pytest -q -n 0 tests/test_validate_fuzz.py

and the fuzzing harness, which counts crashes, hangs and accepted invalid rules over hundreds of
copies, each in a child process: ``python benchmarks/bench_validate_fuzz.py``.

The deadline is a hang guard (issue 16 counted a hang at 10 s), not a speed target: speed is
measured in ``benchmarks/``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipelines.cli.rules import validate
from pipelines.routing.ruleset.checks import conditions
from pipelines.routing.ruleset.load import load_rules
from tests import rules_mutations as mutations
from tests.conftest import RULES

EXAMPLES = int(os.environ.get("LEADROUTE_FUZZ_EXAMPLES", "0"))
PROBLEM = re.compile(r"^(?P<where>\S+?): (?P<severity>error|warning): (?P<message>.*)$")
AT_LINE = re.compile(r"^\S+:\d+$")

FUZZ = settings(derandomize=True, deadline=timedelta(seconds=30), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(kind, seed: int, may_not_apply: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="lr-fuzz-") as tmp:
        folder = Path(tmp) / "routing_rules"
        shutil.copytree(RULES, folder)
        try:
            mutation = kind(folder, random.Random(seed))
        except (AssertionError, ValueError, IndexError, OSError):
            if not may_not_apply:
                raise
            assume(False)  # an edit that no longer applies after an earlier one (a line it replaces is gone)
        result = CliRunner().invoke(validate, [str(folder), "--offline"], catch_exceptions=True)

        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{mutation}: {type(result.exception).__name__}: {result.exception}"
        assert result.exit_code in (0, 1), f"{mutation}: exit {result.exit_code}\n{result.output[-2000:]}"
        assert "Traceback" not in result.output, f"{mutation}\n{result.output[-2000:]}"
        problems = [m for m in map(PROBLEM.match, result.output.splitlines()) if m]
        for m in problems:
            if m["severity"] == "error" and not m["message"].startswith("file not found"):
                assert AT_LINE.match(m["where"]), f"{mutation}: an error without file:line: {m.group(0)[:300]}"
        if mutation.invalid:
            assert result.exit_code == 1 and any(m["severity"] == "error" for m in problems), \
                f"{mutation} was accepted:\n{result.output[-2000:]}"
        for text in mutation.forbidden:
            assert text not in result.output, f"{mutation}: the output shows another file's content"
        if mutation.yaml11_probe and result.exit_code == 0:
            rules = load_rules(folder)
            values = [getattr(c, "value", None) for f in rules.flows.values() for s in f.steps
                      for c in conditions(s.when)]
            assert not any(isinstance(v, list) and any(isinstance(x, bool) for x in v) for v in values), \
                f"{mutation}: a code was read as a boolean"


@settings(FUZZ, max_examples=EXAMPLES or 20)
@given(kind=st.sampled_from(mutations.TARGETED), seed=st.integers(0, 2**32 - 1))
def test_every_targeted_mutation_is_rejected_at_file_and_line_without_crash_or_hang(kind, seed):
    _check(kind, seed)


@settings(FUZZ, max_examples=EXAMPLES or 12)
@given(kind=st.sampled_from(mutations.GENERIC), seed=st.integers(0, 2**32 - 1),
       more=st.lists(st.sampled_from(mutations.ALL), max_size=2))
def test_any_edit_is_accepted_or_reported_at_file_and_line_never_a_crash(kind, seed, more):
    def several(root: Path, rnd: random.Random):
        first = kind(root, rnd)
        rest = [m(root, rnd) for m in more]
        # the copy must be rejected when any of its edits must be
        first.invalid = first.invalid or any(m.invalid for m in rest)
        first.forbidden = [t for m in [first, *rest] for t in m.forbidden]
        first.yaml11_probe = False  # a later edit may have replaced the probed line
        first.detail += "".join(f"; then {m}" for m in rest)
        return first

    _check(several, seed, may_not_apply=True)

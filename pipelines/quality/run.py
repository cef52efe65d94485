"""Run one check: build its frame, validate it with GX, record the result in ``quality_check``.

The Dagster checks (``pipelines/defs/checks.py``), the benchmark and the tests all
call :func:`run_check`, so they measure and assert the same thing.
"""

from __future__ import annotations

import json
import time

import duckdb
import pandas as pd

from pipelines.quality.gx import SuiteResult, expectations, validate
from pipelines.quality.suites import Check, CheckContext
from pipelines.warehouse.db import upsert


def run_check(con: duckdb.DuckDBPyConnection, check: Check, ctx: CheckContext) -> SuiteResult:
    """Never raises for bad data or a broken check: an error is a failed result with the message.

    A frame with no rows (a tick with nothing new for this check) passes as it is, without
    loading Great Expectations: every expectation holds over no rows."""
    started = time.perf_counter()
    try:
        frame = check.frame(con, ctx)
        if frame.empty:
            result = SuiteResult(check.name, [], time.perf_counter() - started)
        else:
            expects = check.expectations(expectations(), ctx, frame)
            result = validate(check.name, frame, expects, check.id_column, ctx.quality.checks.examples)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, with the error
        result = SuiteResult(check.name, [], time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    record(con, check, result, ctx)
    return result


def record(con: duckdb.DuckDBPyConnection, check: Check, result: SuiteResult, ctx: CheckContext) -> None:
    upsert(con, "quality_check", pd.DataFrame([{
        "run_id": ctx.run.run_id,
        "check_name": check.name,
        "asset": check.asset,
        "blocking": check.blocking,
        "passed": result.passed,
        "failing_rows": result.failing_rows,
        "outcomes": json.dumps([o.__dict__ for o in result.outcomes], default=str),
        "error": result.error,
        "seconds": round(result.seconds, 3),
        "checked_at": ctx.run.now,
    }]), ["run_id", "check_name"])


def outcome_markdown(result: SuiteResult) -> str:
    """Per expectation: passed or not, failing rows of how many, and examples by id."""
    if result.error:
        return f"**error**: {result.error}"
    lines = ["| expectation | result | failing rows | examples |", "|---|---|---:|---|"]
    for o in result.outcomes:
        examples = "; ".join(", ".join(f"{k}={v}" for k, v in e.items()) for e in o.examples[:5])
        lines.append(f"| {o.description} | {'ok' if o.passed else 'FAILED'} | {o.failing:,} of {o.rows:,} | "
                     f"{examples.replace('|', '/')} |")
    return "\n".join(lines)

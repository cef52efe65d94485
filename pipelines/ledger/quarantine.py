"""Quarantine: records a stage could not process are kept with their reason, never dropped.

Each stage that rejects a record calls :func:`put`; the record is listed in
``leadroute report`` and counted in the run's metadata. When a later version of
the record passes the same stage, :func:`resolve` marks it resolved, so it
re-enters the flow with no manual step.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import duckdb
import pandas as pd

from pipelines.warehouse.db import affected, upsert

COLUMNS = ["stage", "object", "record_id", "reason", "detail", "payload", "record_modstamp"]


def put(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, run_id: str, now: datetime) -> int:
    """Quarantine ``rows`` (columns: COLUMNS); keeps the first time each was seen."""
    if rows.empty:
        return 0
    rows = rows[COLUMNS].copy()
    rows["record_id"] = rows["record_id"].fillna("(no id)").astype(str)
    rows = rows.drop_duplicates(["stage", "object", "record_id"], keep="last")
    con.register("_q_new", rows)
    try:
        first_seen = con.execute(
            """SELECT n.stage, n.object, n.record_id, q.first_seen_at FROM _q_new n
               JOIN quarantine q USING (stage, object, record_id) WHERE q.resolved_at IS NULL"""
        ).df()
    finally:
        con.unregister("_q_new")
    rows = rows.merge(first_seen, on=["stage", "object", "record_id"], how="left")
    rows["first_seen_at"] = rows["first_seen_at"].fillna(pd.Timestamp(now))
    rows["last_seen_at"] = pd.Timestamp(now)
    rows["resolved_at"] = pd.NaT
    rows["run_id"] = run_id
    return upsert(con, "quarantine", rows, ["stage", "object", "record_id"])


def resolve(con: duckdb.DuckDBPyConnection, stage: str, obj: str, record_ids: Iterable[str], now: datetime) -> int:
    """Mark quarantined records of ``stage``/``obj`` resolved because they now pass."""
    ids = pd.DataFrame({"record_id": list(record_ids)})
    if ids.empty:
        return 0
    con.register("_q_ok", ids)
    try:
        return affected(
            con,
            """UPDATE quarantine SET resolved_at = ? WHERE stage = ? AND object = ? AND resolved_at IS NULL
               AND record_id IN (SELECT record_id FROM _q_ok)""",
            [now, stage, obj],
        )
    finally:
        con.unregister("_q_ok")


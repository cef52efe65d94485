"""What one tick did, computed from the warehouse tables themselves (the source of truth)."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from pipelines.warehouse.db import first_row


def tick_summary(con: duckdb.DuckDBPyConnection, run_id: str, push_stopped: str | None = None) -> dict:
    """The tick's facts; ``push_stopped`` is the cause when the push stopped early (the CRM refused a call)."""
    rows = con.execute("SELECT object, records, new_versions FROM extract_log WHERE run_id = ?", [run_id]).fetchall()
    extracted = {o: r for o, r, _ in rows}
    new_versions = {o: n for o, _, n in rows}
    steps = dict(
        con.execute(
            "SELECT step, count(*) FROM routing_decision WHERE run_id = ? GROUP BY step ORDER BY count(*) DESC",
            [run_id],
        ).fetchall()
    )
    queued = dict(
        con.execute(
            "SELECT queue, count(*) FROM routing_decision WHERE run_id = ? AND queue IS NOT NULL GROUP BY queue",
            [run_id],
        ).fetchall()
    )
    push = dict(
        con.execute(
            "SELECT status, count(*) FROM ledger WHERE last_run_id = ? GROUP BY status", [run_id]
        ).fetchall()
    )
    leads, day2 = first_row(
        con,
        """SELECT count(DISTINCT lead_id), count(*) FILTER (WHERE entry NOT IN ('new', 'updated'))
           FROM routing_decision WHERE run_id = ?""",
        [run_id],
    )
    matched = first_row(
        con,
        """SELECT count(*) FILTER (WHERE m.account_id IS NOT NULL), count(*)
           FROM routing_decision d JOIN lead_match m USING (lead_id) WHERE d.run_id = ? AND d.action <> 'keep'""",
        [run_id],
    )
    reconciled = first_row(
        con, "SELECT count(*) FROM ledger WHERE last_run_id = ? AND reconciled_at IS NOT NULL AND status = 'pushed'",
        [run_id])[0]
    quarantined = dict(con.execute(
        "SELECT object, count(*) FROM quarantine WHERE run_id = ? AND resolved_at IS NULL GROUP BY object", [run_id]
    ).fetchall())
    return {
        "run_id": run_id,
        "quarantined": {k: int(v) for k, v in quarantined.items()},
        "leads_extracted": int(extracted.get("lead", 0)),
        "extracted": {k: int(v) for k, v in extracted.items()},
        "new_versions": {k: int(v) for k, v in new_versions.items()},
        "leads_decided": int(leads or 0),
        "decisions": int(sum(steps.values())),
        "day2_decisions": int(day2 or 0),
        "leads_matched_to_account": int(matched[0]),
        "per_step": {k: int(v) for k, v in steps.items()},
        "queued": {k: int(v) for k, v in queued.items()},
        "pushed": int(push.get("pushed", 0)),
        "failed": int(push.get("failed", 0)),
        "retry_pending": int(push.get("pending", 0)) + int(push.get("in_flight", 0)),
        "unchanged": int(push.get("skipped_unchanged", 0)),
        "deleted_in_crm": int(push.get("skipped_deleted", 0)),
        "reconciled": int(reconciled or 0),
        "push_stopped": push_stopped,
    }


def record_tick(con: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime | None, finished_at: datetime,
                push_stopped: str | None = None) -> dict:
    summary = tick_summary(con, run_id, push_stopped)
    con.execute(
        "INSERT OR REPLACE INTO tick_log VALUES (?, ?, ?, ?)",
        [run_id, started_at, finished_at, json.dumps(summary)],
    )
    return summary

"""What one tick did, computed from the warehouse tables themselves (the source of truth).

Every count has one unit: leads (records of the Lead object that came in this tick, each
counted once, by what became of it), decisions, or CRM writes (ledger rows, by kind).
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from pipelines.warehouse.db import first_row

# What became of a lead that came in this tick, in the order a person reads them; they add up
# to the leads in. The SQL below puts each lead in exactly one.
OUTCOMES = {
    "routed": "routed by the rules",
    "rerouted": "re-routed after a change",
    "held": "held (waiting until a rule lets them go)",
    "kept": "kept with the rep they already had",
    "converted": "converted in the CRM already (not routed)",
    "deleted": "deleted in the CRM (not routed)",
    "quarantined": "quarantined (unreadable; `leadroute report` says why)",
    "unchanged": "seen before, nothing new to do",
}
WRITE_KINDS = {"owner": "owner changes", "fields": "field updates", "campaign": "campaign memberships",
               "convert": "conversions", "task": "follow-up tasks"}
DAY2_ENTRIES = {"sla": "first-touch SLA missed", "inactive_owner": "their rep left", "recycled": "stalled, recycled",
                "reopened": "woke up (reopened)", "released": "released from hold"}

_OUTCOME_SQL = """
WITH in_q AS (SELECT record_id, min(first_seen_at) AS first_seen, max(last_seen_at) AS last_seen FROM quarantine
             WHERE object = 'lead' AND run_id = $run AND resolved_at IS NULL GROUP BY record_id),
q AS (SELECT record_id FROM in_q WHERE first_seen = last_seen),  -- quarantined for the first time this tick
came AS (SELECT "Id" AS lead_id FROM raw_lead WHERE _run_id = $run UNION SELECT record_id FROM in_q),
-- what earlier ticks had read up to: a converted or deleted lead not changed since is old news (re-read in the
-- overlap), and so is a lead converted by leadroute's own decision (the echo of its push)
seen AS (SELECT max(until) AS until FROM extract_log WHERE object = 'lead' AND run_id <> $run
         AND extracted_at <= (SELECT max(extracted_at) FROM extract_log WHERE run_id = $run)),
first_decision AS (
    SELECT lead_id, entry, action FROM routing_decision WHERE run_id = $run AND entry IN ('new', 'updated')
    QUALIFY row_number() OVER (PARTITION BY lead_id ORDER BY created_at, decision_id) = 1)
SELECT CASE
         WHEN q.record_id IS NOT NULL THEN 'quarantined'
         WHEN d.entry = 'updated' THEN 'rerouted'
         WHEN d.action = 'keep' THEN 'kept'
         WHEN d.action = 'hold' THEN 'held'
         WHEN d.lead_id IS NOT NULL THEN 'routed'
         WHEN (SELECT until FROM seen) >= l._modstamp THEN 'unchanged'
         WHEN coalesce(l.is_deleted, false) THEN 'deleted'
         WHEN coalesce(l.is_converted, false) AND l.lead_id IN (SELECT lead_id FROM routing_decision) THEN 'unchanged'
         WHEN coalesce(l.is_converted, false) THEN 'converted'
         WHEN l.lead_id IS NULL THEN 'unchanged'  -- still in quarantine from an earlier tick
         ELSE 'unchanged' END AS outcome, count(*) AS leads
FROM came c LEFT JOIN q ON q.record_id = c.lead_id LEFT JOIN first_decision d ON d.lead_id = c.lead_id
LEFT JOIN lead l ON l.lead_id = c.lead_id
GROUP BY ALL
"""

_TARGETS_SQL = """
SELECT coalesce(u.name, q.name, d.queue, d.owner_id, '(nobody)') AS name,
       (d.queue IS NOT NULL OR q.queue_id IS NOT NULL) AS is_queue, count(*) AS leads
FROM routing_decision d LEFT JOIN crm_user u ON u.user_id = d.owner_id
LEFT JOIN crm_queue q ON q.queue_id = d.owner_id
WHERE d.run_id = ? AND d.action <> 'keep'
GROUP BY ALL ORDER BY leads DESC, name
"""


def tick_summary(con: duckdb.DuckDBPyConnection, run_id: str, push_stopped: str | None = None) -> dict:
    """The tick's facts; ``push_stopped`` is the cause when the push stopped early (the CRM refused a call)."""
    rows = con.execute("SELECT object, records, new_versions FROM extract_log WHERE run_id = ?", [run_id]).fetchall()
    extracted = {o: r for o, r, _ in rows}
    new_versions = {o: n for o, _, n in rows}
    steps = dict(
        con.execute(
            "SELECT step, count(*) FROM routing_decision WHERE run_id = ? GROUP BY step ORDER BY count(*) DESC, step",
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
    writes: dict[str, dict[str, int]] = {}
    for kind, status, n in con.execute(
            "SELECT kind, status, count(*) FROM ledger WHERE last_run_id = ? GROUP BY ALL ORDER BY kind, status",
            [run_id]).fetchall():
        writes.setdefault(kind, {})[status] = int(n)
    leads, day2 = first_row(
        con,
        """SELECT count(DISTINCT lead_id), count(*) FILTER (WHERE entry NOT IN ('new', 'updated'))
           FROM routing_decision WHERE run_id = ?""",
        [run_id],
    )
    day2_by_entry = dict(con.execute(
        """SELECT entry, count(*) FROM routing_decision WHERE run_id = ? AND entry NOT IN ('new', 'updated')
           GROUP BY entry ORDER BY count(*) DESC""", [run_id]).fetchall())
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
    outcomes = dict(con.execute(_OUTCOME_SQL, {"run": run_id}).fetchall())
    targets = con.execute(_TARGETS_SQL, [run_id]).fetchall()
    to_queues = first_row(con, """SELECT count(DISTINCT lead_id) FROM routing_decision WHERE run_id = ? AND entry = 'new'
                                  AND action NOT IN ('keep', 'hold') AND queue IS NOT NULL""", [run_id])[0]
    return {
        "run_id": run_id,
        "quarantined": {k: int(v) for k, v in quarantined.items()},
        "leads_extracted": int(extracted.get("lead", 0)),
        "leads_in": int(sum(outcomes.values())),
        "lead_outcomes": {k: int(outcomes.get(k, 0)) for k in OUTCOMES},
        "routed_to_queues": int(to_queues or 0),
        "extracted": {k: int(v) for k, v in extracted.items()},
        "new_versions": {k: int(v) for k, v in new_versions.items()},
        "leads_decided": int(leads or 0),
        "decisions": int(sum(steps.values())),
        "day2_decisions": int(day2 or 0),
        "day2_by_entry": {str(k): int(v) for k, v in day2_by_entry.items()},
        "leads_matched_to_account": int(matched[0]),
        "per_step": {k: int(v) for k, v in steps.items()},
        "per_owner": {name: int(n) for name, is_queue, n in targets if not is_queue},
        "per_queue": {name: int(n) for name, is_queue, n in targets if is_queue},
        "queued": {k: int(v) for k, v in queued.items()},
        "writes": writes,
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


def last_busy_tick(con: duckdb.DuckDBPyConnection, before_run_id: str) -> tuple[str, datetime, int] | None:
    """The latest earlier tick that took leads in: (run id, finished at, leads in), for a quiet tick to point to."""
    row = first_row(
        con,
        """SELECT run_id, finished_at, CAST(summary->>'leads_in' AS INTEGER) FROM tick_log
           WHERE run_id <> ? AND coalesce(CAST(summary->>'leads_in' AS INTEGER),
                                          CAST(summary->>'leads_extracted' AS INTEGER), 0) > 0
           ORDER BY finished_at DESC LIMIT 1""", [before_run_id])
    return (row[0], row[1], int(row[2] or 0)) if row else None

"""Why did this lead go where it went? A decision's trace, in words a sales-ops person reads.

Everything needed is stored with the decision (the trace, the evidence, the rules
version), so an explanation stays true after the rules change.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from pipelines.routing.engine.side_actions import describe as describe_side
from pipelines.routing.language import words
from pipelines.warehouse.db import first_row, table_exists

ENTRY_LABELS = {"new": "new lead", "updated": "updated lead, re-routed", "sla": "first-touch SLA missed, re-routed",
                "inactive_owner": "its owner left, re-routed", "recycled": "stalled, recycled",
                "reopened": "woke up, routed as reopened", "released": "released from hold"}


def _name(con: duckdb.DuckDBPyConnection, owner_id: str | None) -> str:
    if not isinstance(owner_id, str) or not owner_id:
        return "(nobody)"
    row = first_row(con, "SELECT name FROM crm_user WHERE user_id = ? UNION ALL "
                         "SELECT name FROM crm_queue WHERE queue_id = ? LIMIT 1", [owner_id, owner_id])
    return f"{row[0]} ({owner_id})" if row else owner_id


FIND_LIMIT = 15


def find(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """Leads an id, an email or a company name points to (at most :data:`FIND_LIMIT`), best first.

    An id matches exactly (or on its first 15 characters, as Salesforce ids do); an email
    case-insensitively; a company exactly, else as a part of the name. Quarantined leads,
    which never reached the ``lead`` table, are found in the records quarantine kept.
    """
    q = query.strip()
    return con.execute(
        f"""WITH known AS (
                SELECT lead_id, trim(concat_ws(' ', first_name, last_name)) AS name, company, email, created_at
                FROM lead
                UNION ALL
                SELECT DISTINCT record_id, trim(concat_ws(' ', payload->>'FirstName', payload->>'LastName')),
                       payload->>'Company', payload->>'Email', NULL::TIMESTAMP
                FROM quarantine WHERE object = 'lead' AND record_id NOT IN (SELECT lead_id FROM lead)),
            hits AS (
                SELECT *, CASE WHEN lead_id = $q THEN 0 WHEN left(lead_id, 15) = left($q, 15) AND length($q) >= 15 THEN 1
                               WHEN lower(email) = lower($q) THEN 2 WHEN lower(company) = lower($q) THEN 3
                               WHEN length($q) >= 3 AND contains(lower(company), lower($q)) THEN 4 END AS rank
                FROM known)
            SELECT lead_id, name, company, email, created_at FROM hits WHERE rank IS NOT NULL
            QUALIFY rank = min(rank) OVER ()
            ORDER BY created_at DESC NULLS LAST, lead_id LIMIT {FIND_LIMIT}""",
        {"q": q}).df()


def choices(con: duckdb.DuckDBPyConnection, hits: pd.DataFrame) -> pd.DataFrame:
    """Several leads found: each with where it went, to choose one from."""
    con.register("_hits", hits[["lead_id"]])
    try:
        where = con.execute(
            """SELECT h.lead_id, coalesce('queue ' || d.queue, u.name, d.owner_id,
                      CASE WHEN q.record_id IS NOT NULL THEN 'quarantined' END,
                      CASE WHEN l.is_converted THEN 'converted in the CRM' END, 'not decided yet') AS went_to
               FROM _hits h LEFT JOIN lead l USING (lead_id)
               LEFT JOIN current_decision d USING (lead_id)
               LEFT JOIN crm_user u ON u.user_id = d.owner_id
               LEFT JOIN (SELECT DISTINCT record_id FROM quarantine WHERE object = 'lead' AND resolved_at IS NULL) q
                      ON q.record_id = h.lead_id""").df()
    finally:
        con.unregister("_hits")
    return hits.merge(where, on="lead_id", how="left")


def examples(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """A handful of real leads to try ``leadroute explain`` on: one per kind of outcome, the same ids every time
    for the same data (the smallest id of each kind)."""
    return con.execute(
        """WITH cur AS (SELECT * FROM current_decision),
            kinds AS (
                SELECT 'routed by a table' AS kind, lead_id, step FROM cur WHERE action = 'table' AND entry = 'new'
                UNION ALL SELECT 'a distribution pool', lead_id, step FROM cur WHERE pool IS NOT NULL AND entry = 'new'
                UNION ALL SELECT 'the account''s owner, converted', d.lead_id, d.step FROM cur d
                          JOIN ledger g ON g.decision_id = d.decision_id AND g.kind = 'convert' WHERE d.entry = 'new'
                UNION ALL SELECT 'a queue', lead_id, step FROM cur WHERE queue IS NOT NULL AND entry = 'new'
                UNION ALL SELECT 'kept with its rep', lead_id, step FROM cur WHERE action = 'keep'
                UNION ALL SELECT 'moved on day 2', lead_id, step FROM cur WHERE entry NOT IN ('new', 'updated', 'backfill')
                UNION ALL SELECT 'converted before leadroute', lead_id, NULL FROM lead
                          WHERE is_converted AND lead_id NOT IN (SELECT lead_id FROM routing_decision)
                UNION ALL SELECT 'quarantined', record_id, NULL FROM quarantine WHERE object = 'lead' AND resolved_at IS NULL),
            one AS (SELECT kind, min(lead_id) AS lead_id FROM kinds GROUP BY kind)
        SELECT one.lead_id, one.kind AS example_of, coalesce(
                   'queue ' || cur.queue, u.name, CASE WHEN one.kind = 'quarantined' THEN 'quarantine' END, '—') AS went_to,
               coalesce(cur.step, '') AS step
        FROM one LEFT JOIN cur USING (lead_id) LEFT JOIN crm_user u ON u.user_id = cur.owner_id
        ORDER BY CASE one.kind WHEN 'routed by a table' THEN 1 WHEN 'a distribution pool' THEN 2
                 WHEN 'the account''s owner, converted' THEN 3 WHEN 'a queue' THEN 4 WHEN 'moved on day 2' THEN 5
                 WHEN 'kept with its rep' THEN 6 WHEN 'converted before leadroute' THEN 7 ELSE 8 END"""
    ).df()


def explain(con: duckdb.DuckDBPyConnection, lead_id: str) -> str | None:
    """Every decision about ``lead_id``, newest first, in words; None when the warehouse has never seen it."""
    lead = con.execute(
        "SELECT l.*, e.domain, e.country_code, e.state_code FROM lead l LEFT JOIN lead_enriched e USING (lead_id) "
        "WHERE lead_id = ?", [lead_id]).df()
    quarantined = con.execute(
        """SELECT stage, reason, detail, payload, first_seen_at FROM quarantine
           WHERE object = 'lead' AND record_id = ? AND resolved_at IS NULL ORDER BY first_seen_at""", [lead_id]).df()
    if lead.empty:
        return _quarantine_text(lead_id, quarantined) if len(quarantined) else None
    lead = lead.iloc[0]
    person = " ".join(str(x) for x in (lead.get("first_name"), lead.get("last_name")) if isinstance(x, str))
    lines = [f"Lead {lead_id}: {person or '(no name)'} at {lead.get('company') or '(no company)'} "
             f"<{lead.get('email') or 'no email'}>, created {_when(lead.get('created_at'))}, status {lead.get('status')}",
             f"  owner in the CRM: {_crm_owner(con, lead)}"]
    if len(quarantined):
        lines += _quarantine_text(lead_id, quarantined, header=False).splitlines()[1:]
    match_table = "decision_match" if table_exists(con, "decision_match") else (
        "(SELECT NULL::VARCHAR AS decision_id, NULL::VARCHAR AS account_id, NULL::DOUBLE AS confidence, "
        "NULL::VARCHAR AS reason)")  # a warehouse from before decisions kept their match
    decisions = con.execute(
        "SELECT d.*, g.status, g.attempts, g.last_error_code, g.last_error, g.pushed_at, "
        "m.account_id AS m_account_id, m.confidence AS m_confidence, m.reason AS m_reason, "
        "a.name AS m_account_name, a.type AS m_account_type FROM routing_decision d "
        "LEFT JOIN ledger g ON g.decision_id = d.decision_id AND g.kind = 'owner' "
        f"LEFT JOIN {match_table} m ON m.decision_id = d.decision_id LEFT JOIN account a ON a.account_id = m.account_id "
        "WHERE d.lead_id = ? ORDER BY d.created_at DESC, d.decision_id DESC", [lead_id]).df()
    if decisions.empty:
        if _true(lead.get("is_converted")):
            into = lead.get("converted_account_id")
            lines.append("  converted in the CRM" + (f" (account {_account(con, into)})" if isinstance(into, str) else "")
                         + " before leadroute saw it: converted leads are never routed")
        elif _true(lead.get("is_deleted")):
            lines.append("  deleted in the CRM: deleted leads are never routed")
        elif not len(quarantined):
            lines.append("  not decided yet: the next tick routes it")
        return "\n".join(lines)
    side = con.execute(
        "SELECT g.decision_id, g.kind, g.status, g.last_error FROM ledger g JOIN routing_decision d USING (decision_id) "
        "WHERE d.lead_id = ? AND g.kind <> 'owner'", [lead_id]).df()
    day2 = table_exists(con, "assignment")
    if day2:
        lines += _blocked_lines(con, lead_id)
    clocks = con.execute("SELECT * FROM assignment WHERE lead_id = ?", [lead_id]).df() if day2 else pd.DataFrame()
    for i, d in decisions.iterrows():
        lines.append("")
        label = "Latest decision" if i == 0 else "Earlier decision"
        entry = ENTRY_LABELS.get(d["entry"], f"{d['entry']} lead")
        lines.append(f"{label} {d['decision_id'][-8:]} ({entry}, rules {d['rules_version']}, {_when(d['created_at'])})")
        lines += _match_lines(d)
        trace = json.loads(d["trace"]) if isinstance(d["trace"], str) else {}
        if isinstance(trace.get("reroute"), dict) and trace["reroute"].get("why"):
            lines.append(f"  why it moved: {words.unlist(trace['reroute']['why'])}")
        lines += trace_lines(trace, d["step"], "  ")
        target = f"queue {d['queue']}" if isinstance(d["queue"], str) else _name(con, d["owner_id"])
        lines.append(f"  routed to: {target}")
        if isinstance(d.get("replaces_decision_id"), str):
            lines.append(f"  replaces decision {d['replaces_decision_id'][-8:]}")
        lines += _push_lines(d)
        for row in side[side["decision_id"] == d["decision_id"]].itertuples():
            what = {"convert": "conversion", "task": "follow-up task", "fields": "field update",
                    "campaign": "campaign membership"}.get(row.kind, row.kind)
            extra = f" ({row.last_error})" if isinstance(row.last_error, str) else ""
            lines.append(f"  CRM {what}: {row.status.replace('_', ' ')}{extra}")
        if len(clocks):
            lines += _clock_lines(clocks[clocks["decision_id"] == d["decision_id"]])
    return "\n".join(lines)


def _true(value) -> bool:
    return value is not None and not pd.isna(value) and bool(value)


def _account(con: duckdb.DuckDBPyConnection, account_id: str) -> str:
    row = first_row(con, "SELECT name FROM account WHERE account_id = ?", [account_id])
    return f"{row[0]}, {account_id}" if row else account_id


def _crm_owner(con: duckdb.DuckDBPyConnection, lead) -> str:
    """The owner the CRM has now: leadroute's latest pushed owner when that push is newer than the lead as
    last read (right after a tick the extracted owner is still the intake queue), else the owner as read."""
    pushed = first_row(
        con, """SELECT target_owner_id, pushed_at FROM ledger WHERE lead_id = ? AND kind = 'owner' AND status = 'pushed'
                ORDER BY pushed_at DESC LIMIT 1""", [lead["lead_id"]])
    read_at = lead.get("_modstamp")
    if pushed and (pd.isna(read_at) or pd.Timestamp(pushed[1]) >= pd.Timestamp(read_at)):
        return f"{_name(con, pushed[0])}, set by leadroute {_when(pushed[1])}"
    return f"{_name(con, lead.get('owner_id'))}, as last read from the CRM"


def _quarantine_text(lead_id: str, rows: pd.DataFrame, header: bool = True) -> str:
    """A lead a stage could not use: why, since when, and what makes it route."""
    first = rows.iloc[0]
    who = ""
    try:
        payload = json.loads(first["payload"]) if isinstance(first["payload"], str) else {}
        parts = [payload.get(k) for k in ("FirstName", "LastName")]
        who = " ".join(p for p in parts if isinstance(p, str))
        if isinstance(payload.get("Company"), str):
            who += f" at {payload['Company'][:60]}"
    except (ValueError, TypeError):
        pass
    lines = [f"Lead {lead_id}: {who.strip() or '(unreadable record)'}"]
    for r in rows.itertuples():
        lines.append(f"  quarantined by {r.stage} since {_when(r.first_seen_at)}: {str(r.reason).replace('_', ' ')}"
                     f" ({r.detail})")
    lines.append("  it is not routed until the record is fixed in the CRM; the first tick after the fix routes it")
    return "\n".join(lines)


def _match_lines(d) -> list[str]:
    """The match the decision was made on (kept with it), not the lead's match today."""
    if isinstance(d.get("m_account_id"), str):
        kind = f", {d['m_account_type']}" if isinstance(d.get("m_account_type"), str) else ""
        return [f"  matched account when decided: {d['m_account_name'] or d['m_account_id']} "
                f"({d['m_account_id']}{kind}), confidence {d['m_confidence']:.2f}: {d['m_reason']}"]
    if isinstance(d.get("m_reason"), str):
        return [f"  matched account when decided: none ({d['m_reason']})"]
    return []


def _when(ts) -> str:
    return "—" if ts is None or pd.isna(ts) else f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} UTC"


def _clock_lines(rows: pd.DataFrame) -> list[str]:
    """The first-touch clock of an assignment (day2.yaml): due, touched or missed, and what the miss did."""
    out = []
    for a in rows.itertuples():
        sla = f" ({a.sla})" if isinstance(a.sla, str) else ""
        if pd.isna(a.started_at):
            out.append(f"  first touch{sla}: {'clock not started: ' + a.note if isinstance(a.note, str) else 'clock starts when the owner change is in the CRM'}")
            continue
        text = f"  first touch{sla}: clock started {_when(a.started_at)}"
        if pd.notna(a.due_at):
            text += f", due {_when(a.due_at)}"
        if pd.notna(a.touched_at):
            text += f"; touched {_when(a.touched_at)} ({a.touch})"
        if pd.notna(a.missed_at):
            text += f"; missed (miss {int(a.miss_number)})"
        if a.outcome not in ("open", "touched", "touched_late", "missed"):
            text += f"; {str(a.outcome).replace('_', ' ')}"
        out.append(text)
        if isinstance(a.note, str) and pd.notna(a.missed_at):
            out.append(f"    {a.note}")
    return out


def _blocked_lines(con: duckdb.DuckDBPyConnection, lead_id: str) -> list[str]:
    rows = con.execute("SELECT kind, reason, first_blocked_at, last_blocked_at FROM reroute_blocked WHERE lead_id = ? "
                       "ORDER BY last_blocked_at", [lead_id]).df()
    return [f"  not moved ({r.kind.replace('_', ' ')}, {_when(r.last_blocked_at)}): {r.reason}" for r in rows.itertuples()]


def trace_lines(trace: dict, step: str, indent: str) -> list[str]:
    """A stored trace in words; a nested flow's trace (``via``) is explained below it, indented.

    The steps passed over come first, folded into one line: those whose condition did not hold,
    then those that applied but found nobody, grouped by why.
    """
    lines = []
    skipped = trace.get("not_applicable") or []
    found_nobody: dict[str, list[str]] = {}
    for attempt in trace.get("attempts", []):
        found_nobody.setdefault(_outcome_words(attempt["outcome"]), []).append(attempt["step"])
    if skipped or found_nobody:
        parts = []
        if skipped:
            parts.append(f"{len(skipped)} whose condition did not hold ({', '.join(skipped)})")
        for why, steps in found_nobody.items():
            parts.append(f"{', '.join(steps)}: {why}")
        lines.append(f"{indent}passed over: " + "; ".join(parts))
    decided = trace.get("decided_by", step)
    condition = words.unlist(trace["condition"]) if trace.get("condition") else ""
    lines.append(f"{indent}decided by: {decided}" + (f", because {condition}" if condition else ""))
    if trace.get("step_description"):
        lines.append(f"{indent}  the rule says: {trace['step_description']}")
    via = trace.get("via")
    if via:
        lines.append(f"{indent}then routed through the {via.get('entry', 'new')} flow:")
        lines += trace_lines(via, via.get("decided_by", ""), indent + "  ")
    elif trace.get("detail"):
        lines.append(f"{indent}how: {words.unlist(trace['detail'])}")
    if trace.get("evidence"):
        lines.append(f"{indent}evidence: " + ", ".join(f"{k} = {words.value(v)}" for k, v in trace["evidence"].items()))
    for action in describe_side(trace.get("side_actions") or []) if not via else []:
        lines.append(f"{indent}also: {action}")
    return lines


def _outcome_words(outcome: str) -> str:
    """"applied, but no row of table X matches (a, b)" -> "no row of table X matches (a, b)"."""
    return words.unlist(outcome.removeprefix("applied, but ").strip())


def _push_lines(d) -> list[str]:
    status = d["status"]
    if status == "pushed":
        return [f"  CRM owner: set {_when(d['pushed_at'])} (attempt {d['attempts']})"]
    if status == "skipped_unchanged":
        return ["  CRM owner: nothing to push, the lead already had this owner"]
    if status == "in_flight":
        return ["  CRM owner: sent, answer not recorded yet (the next push reads the lead back before writing again)"]
    if status == "skipped_deleted":
        return ["  CRM owner: nothing to push, the lead was deleted in the CRM"]
    if status == "pending":
        extra = f"; last error {d['last_error_code']}: {d['last_error']}" if isinstance(d["last_error_code"], str) else ""
        return [f"  CRM owner: waiting to be pushed (attempts so far {d['attempts']}{extra})"]
    if isinstance(status, str):
        return [f"  CRM owner: {status.replace('_', ' ')}" + (f", {d['last_error_code']}: {d['last_error']}"
                                            if isinstance(d["last_error_code"], str) else "")]
    return []


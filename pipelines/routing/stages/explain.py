"""Why did this lead go where it went? A decision's trace, in words a sales-ops person reads.

Everything needed is stored with the decision (the trace, the evidence, the rules
version), so an explanation stays true after the rules change.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from pipelines.routing.engine.side_actions import describe as describe_side
from pipelines.warehouse.db import first_row, table_exists

ENTRY_LABELS = {"new": "new lead", "updated": "updated lead, re-routed", "sla": "first-touch SLA missed, re-routed",
                "inactive_owner": "its owner left, re-routed", "recycled": "stalled, recycled",
                "reopened": "woke up, routed as reopened", "released": "released from hold"}


def _name(con: duckdb.DuckDBPyConnection, owner_id: str | None) -> str:
    if not owner_id:
        return "(nobody)"
    row = first_row(con, "SELECT name FROM crm_user WHERE user_id = ? UNION ALL "
                         "SELECT name FROM crm_queue WHERE queue_id = ? LIMIT 1", [owner_id, owner_id])
    return f"{row[0]} ({owner_id})" if row else owner_id


def explain(con: duckdb.DuckDBPyConnection, lead_id: str) -> str:
    lead = con.execute(
        "SELECT l.*, e.domain, e.country_code, e.state_code FROM lead l LEFT JOIN lead_enriched e USING (lead_id) "
        "WHERE lead_id = ?", [lead_id]).df()
    if lead.empty:
        return f"No lead {lead_id} in the warehouse. Check the id, or run a tick if it was created recently."
    lead = lead.iloc[0]
    person = " ".join(str(x) for x in (lead.get("first_name"), lead.get("last_name")) if isinstance(x, str))
    lines = [f"Lead {lead_id}: {person or '(no name)'} at {lead.get('company') or '(no company)'} "
             f"<{lead.get('email') or 'no email'}>, created {lead.get('created_at')}",
             f"  current owner: {_name(con, lead.get('owner_id'))}; status {lead.get('status')}"]
    match = con.execute("SELECT m.*, a.name AS account_name, a.type AS account_type FROM lead_match m "
                        "LEFT JOIN account a USING (account_id) WHERE lead_id = ?", [lead_id]).df()
    if len(match):
        m = match.iloc[0]
        if isinstance(m["account_id"], str):
            lines.append(f"  matched account: {m['account_name']} ({m['account_id']}, {m['account_type']}), "
                         f"confidence {m['confidence']:.2f}: {m['reason']}")
        else:
            lines.append(f"  matched account: none ({m['reason']})")
    decisions = con.execute(
        "SELECT d.*, g.status, g.attempts, g.last_error_code, g.last_error, g.pushed_at FROM routing_decision d "
        "LEFT JOIN ledger g ON g.decision_id = d.decision_id AND g.kind = 'owner' WHERE d.lead_id = ? "
        "ORDER BY d.created_at DESC, d.decision_id DESC", [lead_id]).df()
    if decisions.empty:
        lines.append("  not decided yet: it will be routed by the next tick")
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
        lines.append(f"{label} {d['decision_id'][-8:]} ({entry}, rules {d['rules_version']}, {d['created_at']} UTC)")
        trace = json.loads(d["trace"]) if isinstance(d["trace"], str) else {}
        if isinstance(trace.get("reroute"), dict) and trace["reroute"].get("why"):
            lines.append(f"  why it moved: {trace['reroute']['why']}")
        lines += _trace_lines(trace, d["step"], "  ")
        target = f"queue {d['queue']}" if isinstance(d["queue"], str) else _name(con, d["owner_id"])
        lines.append(f"  routed to: {target}")
        if isinstance(d.get("replaces_decision_id"), str):
            lines.append(f"  replaces decision {d['replaces_decision_id'][-8:]}")
        lines += _push_lines(d)
        for row in side[side["decision_id"] == d["decision_id"]].itertuples():
            what = {"convert": "conversion", "task": "follow-up task", "fields": "field update",
                    "campaign": "campaign membership"}.get(row.kind, row.kind)
            extra = f" ({row.last_error})" if isinstance(row.last_error, str) else ""
            lines.append(f"  CRM {what}: {row.status}{extra}")
        if len(clocks):
            lines += _clock_lines(clocks[clocks["decision_id"] == d["decision_id"]])
    return "\n".join(lines)


def _when(ts) -> str:
    return f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} UTC"


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


def _trace_lines(trace: dict, step: str, indent: str) -> list[str]:
    """A stored trace in words; a nested flow's trace (``via``) is explained below it, indented."""
    lines = []
    if trace.get("not_applicable"):
        lines.append(f"{indent}steps whose condition did not hold: " + ", ".join(trace["not_applicable"]))
    for attempt in trace.get("attempts", []):
        lines.append(f"{indent}step {attempt['step']}: {attempt['outcome']}")
    decided = trace.get("decided_by", step)
    lines.append(f"{indent}decided by: {decided}" + (f" (because {trace['condition']})" if trace.get("condition") else ""))
    if trace.get("step_description"):
        lines.append(f"{indent}  the rule says: {trace['step_description']}")
    via = trace.get("via")
    if via:
        lines.append(f"{indent}then routed through the {via.get('entry', 'new')} flow:")
        lines += _trace_lines(via, via.get("decided_by", ""), indent + "  ")
    elif trace.get("detail"):
        lines.append(f"{indent}how: {trace['detail']}")
    if trace.get("evidence"):
        lines.append(f"{indent}evidence: " + ", ".join(f"{k} = {v}" for k, v in trace["evidence"].items()))
    for action in describe_side(trace.get("side_actions") or []) if not via else []:
        lines.append(f"{indent}also: {action}")
    return lines


def _push_lines(d) -> list[str]:
    status = d["status"]
    if status == "pushed":
        return [f"  CRM owner: set on {d['pushed_at']} (attempt {d['attempts']})"]
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
        return [f"  CRM owner: {status}" + (f", {d['last_error_code']}: {d['last_error']}"
                                            if isinstance(d["last_error_code"], str) else "")]
    return []


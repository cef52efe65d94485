"""Why did this lead go where it went? A decision's trace, in words a sales-ops person reads.

Everything needed is stored with the decision (the trace, the evidence, the rules
version), so an explanation stays true after the rules change.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from pipelines.warehouse.db import first_row


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
        "ORDER BY d.created_at DESC, d.decision_id", [lead_id]).df()
    if decisions.empty:
        lines.append("  not decided yet: it will be routed by the next tick")
        return "\n".join(lines)
    for i, d in decisions.iterrows():
        lines.append("")
        label = "Latest decision" if i == 0 else "Earlier decision"
        lines.append(f"{label} {d['decision_id'][:8]} ({d['entry']} lead, rules {d['rules_version']}, {d['created_at']} UTC)")
        trace = json.loads(d["trace"]) if isinstance(d["trace"], str) else {}
        if trace.get("not_applicable"):
            lines.append("  steps that did not apply: " + ", ".join(trace["not_applicable"]))
        for attempt in trace.get("attempts", []):
            lines.append(f"  step {attempt['step']}: {attempt['outcome']}")
        lines.append(f"  decided by: {d['step']}" + (f" (because {trace['condition']})" if trace.get("condition") else ""))
        if trace.get("detail"):
            lines.append(f"  how: {trace['detail']}")
        if trace.get("evidence"):
            lines.append("  evidence: " + ", ".join(f"{k} = {v}" for k, v in trace["evidence"].items()))
        target = f"queue {d['queue']}" if isinstance(d["queue"], str) else _name(con, d["owner_id"])
        lines.append(f"  routed to: {target}")
        status = d["status"]
        if status == "pushed":
            lines.append(f"  CRM: owner set on {d['pushed_at']} (attempt {d['attempts']})")
        elif status == "skipped_unchanged":
            lines.append("  CRM: nothing to push, the lead already had this owner")
        elif status == "pending":
            extra = f"; last error {d['last_error_code']}: {d['last_error']}" if isinstance(d["last_error_code"], str) else ""
            lines.append(f"  CRM: waiting to be pushed (attempts so far {d['attempts']}{extra})")
        elif isinstance(status, str):
            lines.append(f"  CRM: {status}" + (f", {d['last_error_code']}: {d['last_error']}" if isinstance(d["last_error_code"], str) else ""))
    return "\n".join(lines)


def decisions_for(con: duckdb.DuckDBPyConnection, lead_id: str) -> pd.DataFrame:
    return con.execute("SELECT * FROM routing_decision WHERE lead_id = ? ORDER BY created_at", [lead_id]).df()

"""Route: lead + enrichment + matches + rules -> routing_decision and ledger rows.

Which leads are decided this tick:

- a lead seen for the first time and owned by an *intake* queue (``queues.yaml``,
  ``intake: true``) or by nobody is routed through the ``new`` flow;
- a lead seen for the first time that already has another owner (it was assigned
  before leadroute, or by hand) gets a ``keep`` decision: it is in the ledger, and
  nothing is pushed;
- converted and deleted leads are never routed.

So every extracted lead has a decision in the ledger, with an owner or a named
queue and a reason.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.ledger import decisions as decision_log
from pipelines.routing import engine, pools
from pipelines.routing.frame import build_frame
from pipelines.routing.model import RuleSet
from pipelines.stage import RunInfo, StageResult


def load_context(con: duckdb.DuckDBPyConnection, run: RunInfo) -> engine.RouteContext:
    queue_ids = dict(con.execute("SELECT developer_name, queue_id FROM crm_queue").fetchall())
    users = con.execute("SELECT user_id, name, coalesce(is_active, false) FROM crm_user").fetchall()
    return engine.RouteContext(
        now=run.now,
        queue_ids=queue_ids,
        crm_active={u for u, _, active in users if active} if users else None,
        user_names={u: n for u, n, _ in users},
        pool_states=pools.load_states(con),
    )


def undecided_leads(con: duckdb.DuckDBPyConnection, intake_queue_ids: list[str]) -> pd.DataFrame:
    """Leads with no decision yet, split into intake (route them) and already owned (keep)."""
    con.register("_intake", pd.DataFrame({"queue_id": intake_queue_ids or [None]}))
    try:
        return con.execute(
            """SELECT l.lead_id, l.owner_id,
                      (l.owner_id IS NULL OR l.owner_id IN (SELECT queue_id FROM _intake)) AS is_intake
               FROM lead l JOIN lead_enriched USING (lead_id)
               WHERE NOT coalesce(l.is_deleted, false) AND NOT coalesce(l.is_converted, false)
                 AND NOT EXISTS (SELECT 1 FROM routing_decision d WHERE d.lead_id = l.lead_id)
               ORDER BY l.created_at, l.lead_id"""
        ).df()
    finally:
        con.unregister("_intake")


def route_leads(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo) -> StageResult:
    result = StageResult("route")
    ctx = load_context(con, run)
    intake_ids = [ctx.queue_ids[q] for q in rules.intake_queues if q in ctx.queue_ids]
    missing = [q for q in rules.intake_queues if q not in ctx.queue_ids]
    if missing:
        result.warnings.append(f"intake queue(s) {missing} not found in the CRM; only unowned leads count as intake")
    todo = undecided_leads(con, intake_ids)
    routed = pd.DataFrame()
    intake = todo[todo["is_intake"]]
    if len(intake):
        frame = build_frame(con, mapping, intake["lead_id"])
        routed = engine.route(frame, rules, "new", ctx)
        decision_log.record(con, routed, entry="new", rules_version=rules.version, queue_ids=ctx.queue_ids, run=run)
    kept = todo[~todo["is_intake"]]
    if len(kept):
        keep = pd.DataFrame({
            "lead_id": kept["lead_id"],
            "step": "(already owned)",
            "action": "keep",
            "owner_id": kept["owner_id"],
            "queue": None,
            "reason": "(already owned): kept the current owner "
            + kept["owner_id"].map(lambda u: ctx.name(u)).astype(str)
            + "; only leads in an intake queue are routed",
            "trace": '{"entry": "new", "decided_by": "(already owned)"}',
        })
        decision_log.record(con, keep, entry="new", rules_version=rules.version, queue_ids=ctx.queue_ids, run=run)
    states = pools.save_states(con, ctx.pool_states, run.now)
    result.counts = {"leads_routed": len(intake), "leads_kept": len(kept)}
    if len(routed):
        per_step = routed["step"].value_counts()
        result.counts["to_queue"] = int(routed["queue"].notna().sum())
        result.details["per_step"] = {str(k): int(v) for k, v in per_step.items()}
        result.preview = routed[["lead_id", "step", "owner_id", "queue", "reason"]].head(10)
    result.details["rules_version"] = rules.version
    if len(states):
        result.details["pools"] = states[["pool", "pointer", "last_user_id"]].to_dict("records")
    return result

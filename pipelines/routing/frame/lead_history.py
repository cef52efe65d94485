"""A lead's history and activity as routing fields: who owned it, how often it moved, its meetings and tasks.

Day-2 rules need what happened to a lead after it was first routed: "back to its previous
rep if still active" needs the owner history; "never move a lead with a meeting ahead"
needs its meetings. These fields reach every flow and the reroute policy as ``lead.*``,
computed in the same query as the rest of the routing frame (:mod:`.build`), from the
ledger (owners as leadroute set or found them), the decisions, the SLA assignments and
the CRM's tasks and events:

| field | what |
|---|---|
| ``lead.owner_is_active`` | the current owner is an active CRM user (false for a rep who left; empty for a queue) |
| ``lead.last_rep_id`` | the current owner if a user, else the last user who owned it (e.g. before it was recycled) |
| ``lead.previous_owner_id`` | the last user who owned it before its current owner |
| ``lead.owner_history`` | every user who owned it, oldest first, ``;``-separated (``includes_any`` reads it) |
| ``lead.decisions``, ``lead.reroutes`` | its routing decisions, and those that replaced another |
| ``lead.sla_misses`` | first-touch SLAs its owners missed |
| ``lead.times_recycled``, ``lead.times_reopened`` | how often it was recycled, and woke up again |
| ``lead.status_since`` | when leadroute first saw its current status |
| ``lead.open_meetings`` | meetings (events) on it that had not ended at the latest extract |
| ``lead.open_tasks``, ``lead.completed_tasks`` | tasks on it, by state (``touch.completed_task`` of day2.yaml says what completed means) |

"Open" is judged at the latest extract (the warehouse is the CRM as of then), so the frame
needs no clock and a backfill sees the same values a tick would have.
"""

from __future__ import annotations

from pipelines.crm.fields import FieldMapping
from pipelines.warehouse.inputs import keyed

FIELDS = {
    "owner_is_active": "h_owner.is_active",
    "last_rep_id": "CASE WHEN h_owner.user_id IS NOT NULL THEN l.owner_id ELSE h_hist.last_user END",
    "previous_owner_id": "h_hist.previous_user",
    "owner_history": "h_hist.owner_history",
    "decisions": "coalesce(h_dec.decisions, 0)",
    "reroutes": "coalesce(h_dec.reroutes, 0)",
    "sla_misses": "coalesce(h_sla.sla_misses, 0)",
    "times_recycled": "coalesce(h_dec.times_recycled, 0)",
    "times_reopened": "coalesce(h_dec.times_reopened, 0)",
    "status_since": "h_status.status_since",
    "open_meetings": "coalesce(h_act.open_meetings, 0)",
    "open_tasks": "coalesce(h_act.open_tasks, 0)",
    "completed_tasks": "coalesce(h_act.completed_tasks, 0)",
}

# When the CRM's data was read: "open" means not ended by then.
AS_OF = "coalesce((SELECT max(extracted_at) FROM extract_log), current_timestamp::TIMESTAMP)"
DEFAULT_COMPLETED = ("Completed",)


def _text(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def activity_sql(mapping: FieldMapping, ids: str, completed: tuple[str, ...] = DEFAULT_COMPLETED) -> str:
    """Per lead of ``ids`` (a relation with lead_id): open meetings, open and completed tasks."""
    parts = []
    if "event" in mapping.objects:
        parts.append(f"""SELECT e.who_id AS lead_id, count(*) AS open_meetings, 0 AS open_tasks, 0 AS completed_tasks
                         FROM crm_event e JOIN {ids} x ON x.lead_id = e.who_id
                         WHERE NOT coalesce(e.is_deleted, false) AND coalesce(e.ends_at, e.starts_at) >= {AS_OF}
                         GROUP BY 1""")
    if "task" in mapping.objects:
        parts.append(f"""SELECT t.who_id, 0, count(*) FILTER (WHERE t.status NOT IN ({_text(completed)})),
                                count(*) FILTER (WHERE t.status IN ({_text(completed)}))
                         FROM crm_task t JOIN {ids} x ON x.lead_id = t.who_id
                         WHERE NOT coalesce(t.is_deleted, false) GROUP BY 1""")
    if not parts:
        return "SELECT NULL::VARCHAR AS lead_id, 0 AS open_meetings, 0 AS open_tasks, 0 AS completed_tasks WHERE false"
    union = " UNION ALL ".join(parts)
    return (f"SELECT lead_id, sum(open_meetings) AS open_meetings, sum(open_tasks) AS open_tasks, "
            f"sum(completed_tasks) AS completed_tasks FROM ({union}) GROUP BY lead_id")


def joins(mapping: FieldMapping, ids: str = "_route_ids", lead: str = "l") -> str:
    """The LEFT JOINs that give :data:`FIELDS` for every lead of the query (the lead table is aliased ``l``)."""
    return f"""
            LEFT JOIN crm_user h_owner ON h_owner.user_id = {lead}.owner_id
            LEFT JOIN (
                WITH owners AS (
                    SELECT g.lead_id, g.target_owner_id AS user_id, coalesce(g.pushed_at, g.created_at) AS at
                    FROM ledger g JOIN {ids} x USING (lead_id)
                    WHERE g.kind = 'owner' AND g.status IN ('pushed', 'skipped_unchanged')
                    UNION ALL
                    SELECT g.lead_id, g.previous_owner_id, g.created_at - INTERVAL 1 SECOND
                    FROM ledger g JOIN {ids} x USING (lead_id) WHERE g.kind = 'owner'),
                reps AS (
                    SELECT o.lead_id, o.user_id, min(o.at) AS first_at, max(o.at) AS last_at
                    FROM owners o JOIN crm_user u ON u.user_id = o.user_id GROUP BY ALL)
                SELECT r.lead_id, arg_max(r.user_id, r.last_at) AS last_user,
                       arg_max(r.user_id, r.last_at) FILTER (WHERE r.user_id IS DISTINCT FROM cl.owner_id) AS previous_user,
                       string_agg(r.user_id, ';' ORDER BY r.first_at, r.user_id) AS owner_history
                FROM reps r JOIN (SELECT lead_id, owner_id FROM lead WHERE lead_id IN (SELECT lead_id FROM {ids})) cl
                    USING (lead_id) GROUP BY r.lead_id
            ) h_hist ON h_hist.lead_id = {lead}.lead_id
            LEFT JOIN (
                SELECT d.lead_id, count(*) AS decisions,
                       count(*) FILTER (WHERE d.replaces_decision_id IS NOT NULL) AS reroutes,
                       count(*) FILTER (WHERE d.entry = 'recycled') AS times_recycled,
                       count(*) FILTER (WHERE d.entry = 'reopened') AS times_reopened
                FROM routing_decision d JOIN {ids} x USING (lead_id) GROUP BY 1
            ) h_dec ON h_dec.lead_id = {lead}.lead_id
            LEFT JOIN (
                SELECT a.lead_id, count(*) FILTER (WHERE a.missed_at IS NOT NULL) AS sla_misses
                FROM assignment a JOIN {ids} x USING (lead_id) GROUP BY 1
            ) h_sla ON h_sla.lead_id = {lead}.lead_id
            LEFT JOIN ({keyed("lead_status", "lead_id", f"SELECT lead_id FROM {ids}")}) h_status
                ON h_status.lead_id = {lead}.lead_id
            LEFT JOIN ({activity_sql(mapping, ids)}) h_act ON h_act.lead_id = {lead}.lead_id"""

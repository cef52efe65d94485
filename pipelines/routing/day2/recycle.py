"""Recycling and wake-the-dead: stalled leads go back to nurture, and dormant leads that engage come back.

**Recycling** (``day2.yaml`` ``recycle:``). A lead in one of a rule's ``statuses`` that has made
no progress for ``stalled_for`` (no status change, completed task, past meeting, activity or
new routing: :data:`PROGRESS`) and satisfies the rule's ``when`` is recycled, if the reroute
policy lets it move: a new decision (entry ``recycled``) sends it to the rule's queue and/or
sets its status, and it becomes *dormant*.

**Wake the dead** (``reengage:``). Dormant leads are those leadroute recycled and those in a
``dormant_statuses`` status (a rep nurtured or disqualified them). A dormant lead wakes up on a
signal seen after leadroute started watching it: its status left the dormant statuses (a form
fill reset it), the ``activity_field`` moved on, or a new task or meeting appeared on it
(leadroute's own tasks excepted). It is then routed through the ``reopened`` flow (entry
``reopened``), where ``lead.last_rep_id`` and ``lead.owner_history`` let a step send it back to
its previous rep if still active. The table ``dormant_lead`` keeps each sleep and its waking.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.day2 import decisions as day2_decisions
from pipelines.routing.day2.sla import activity_column, sql_list
from pipelines.routing.engine import policy, side_actions, trace
from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.frame.build import build_frame, frame_columns
from pipelines.routing.frame.lead_history import DEFAULT_COMPLETED
from pipelines.routing.language import words
from pipelines.routing.language.day2 import Day2Config, RecycleRule
from pipelines.routing.ruleset.model import RuleSet
from pipelines.stage import RunInfo
from pipelines.warehouse.schema import open_lead

OPEN = open_lead("l")


def _progress_sql(config: Day2Config, mapping: FieldMapping) -> tuple[str, str]:
    """The lead's last progress: status change, activity, completed task, past meeting, routing, creation."""
    completed = config.touch.completed_task if config.touch is not None and config.touch.completed_task else DEFAULT_COMPLETED
    joins = ["LEFT JOIN lead_status s USING (lead_id)",
             # a new routing is progress; leadroute finding the lead already owned is not
             "LEFT JOIN (SELECT lead_id, max(created_at) AS at FROM routing_decision "
             "WHERE NOT (entry = 'new' AND action = 'keep') GROUP BY 1) rd USING (lead_id)"]
    parts = ["s.status_since", activity_column(config, mapping), "rd.at", "l.created_at"]
    if "task" in mapping.objects:
        joins.append(f"""LEFT JOIN (SELECT who_id, max(last_modified_at) AS at FROM crm_task
                         WHERE status IN ({sql_list(completed)}) AND NOT coalesce(is_deleted, false) GROUP BY 1
                         ) tk ON tk.who_id = l.lead_id""")
        parts.append("tk.at")
    if "event" in mapping.objects:
        joins.append("""LEFT JOIN (SELECT who_id, max(coalesce(ends_at, starts_at)) AS at FROM crm_event
                         WHERE NOT coalesce(is_deleted, false) AND coalesce(ends_at, starts_at) <= ? GROUP BY 1
                         ) ev ON ev.who_id = l.lead_id""")
        parts.append("ev.at")
    return f"greatest({', '.join(parts)})", "\n".join(joins)


def stalled(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo,
            busy: set[str]) -> pd.DataFrame:
    """Leads in a recycle rule's statuses with no progress for its time (lead_id, status, progress_at, rule)."""
    config: Day2Config = rules.day2
    if not config.recycle:
        return pd.DataFrame(columns=["lead_id", "status", "progress_at", "rule"])
    progress, joins = _progress_sql(config, mapping)
    params = [run.now] if "event" in mapping.objects else []
    statuses = sorted({s for rule in config.recycle.values() for s in rule.statuses})
    # Each lead's last progress, once for every rule (it reads every task, meeting and decision).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _progress AS
            SELECT l.lead_id, l.status, {progress} AS progress_at FROM lead l {joins}
            WHERE {OPEN} AND l.status IN ({sql_list(statuses)})
              AND NOT EXISTS (SELECT 1 FROM reroute_blocked b WHERE b.lead_id = l.lead_id AND b.kind = 'recycled'
                              AND b.lead_modstamp = l._modstamp)""", params)
    out = []
    try:
        for rule in config.recycle.values():
            cutoff = run.now - timedelta(minutes=rule.stalled_for.minutes)
            found = con.execute(
                f"""SELECT lead_id, status, progress_at FROM _progress
                    WHERE status IN ({sql_list(rule.statuses)}) AND progress_at <= ? ORDER BY lead_id""", [cutoff]).df()
            found["rule"] = rule.name
            out.append(found[~found["lead_id"].isin(busy)])
    finally:
        con.execute("DROP TABLE IF EXISTS _progress")
    return pd.concat(out, ignore_index=True)


def recycle(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, ctx, run: RunInfo,
            busy: set[str]) -> tuple[pd.DataFrame, int]:
    """Decisions recycling the stalled leads the policy lets move; and how many the policy kept."""
    config: Day2Config = rules.day2
    found = stalled(con, rules, mapping, run, busy)
    if found.empty:
        return day2_decisions.concat([]), 0
    ids = found["lead_id"].drop_duplicates().reset_index(drop=True)
    # Most stalled leads fail every rule's condition, tick after tick: they are asked with only the
    # fields the conditions read, and the whole frame is built for the leads that are recycled.
    asked = {f for rule in config.recycle.values() if rule.when is not None for f in rule.when.fields()}
    whole = not asked <= frame_columns(mapping)
    frame = build_frame(con, mapping, ids, fields=None if whole else asked)
    position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    rule_of = pd.Series(None, index=frame.index, dtype=object)
    candidates = pd.DataFrame(index=frame.index, columns=["status", "progress_at"], dtype=object)
    for rule in config.recycle.values():  # each lead: the first rule whose statuses, stall and condition hold
        mine = found[found["rule"] == rule.name]
        pos = position[mine["lead_id"].to_numpy()].to_numpy()
        holds = evaluate(rule.when, frame.iloc[pos].reset_index(drop=True), rules) if len(pos) else np.zeros(0, bool)
        take = holds & rule_of.iloc[pos].isna().to_numpy()
        rule_of.iloc[pos[take]] = rule.name
        candidates.iloc[pos[take]] = mine[["status", "progress_at"]].to_numpy()[take]
    chosen = rule_of.notna().to_numpy()
    frame, candidates, rule_of = frame[chosen], candidates[chosen], rule_of[chosen]
    if frame.empty:
        return day2_decisions.concat([]), 0
    if not whole:
        frame = build_frame(con, mapping, frame["lead_id"].reset_index(drop=True)).set_axis(frame.index)
    ok, why, protection = policy.judge(frame, rules)
    kept = int((~ok).sum())
    if kept:
        policy.record_blocked(con, frame[~ok], "recycled", why[~ok], protection[~ok], run)
    out = []
    for name in pd.unique(rule_of[ok]):
        rule = config.recycle[name]
        rows = ok & (rule_of == name).to_numpy()
        out.append(_decisions(rule, frame[rows].reset_index(drop=True), candidates[rows].reset_index(drop=True),
                              rules, ctx))
    return day2_decisions.concat(out), kept


def _decisions(rule: RecycleRule, frame: pd.DataFrame, found: pd.DataFrame, rules: RuleSet, ctx) -> pd.DataFrame:
    n = len(frame)
    side = np.full(n, "", dtype=object)
    if rule.status is not None:
        side = trace.join(side, np.full(n, '{"kind": "fields", "fields": {"status": ' + trace.text(rule.status) + "}}",
                                        dtype=object))
    if rule.task is not None:
        side = trace.join(side, trace.unwrap(side_actions.render([rule.task], frame, ctx.now)))
    to = " and ".join(x for x in (f"queue {rule.queue}" if rule.queue else "",
                                   f"status {rule.status}" if rule.status else "") if x)
    since = pd.to_datetime(found["progress_at"]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    detail = ("no progress in status " + found["status"].astype(str).to_numpy(dtype=object) + " since " + since
              + f" (more than {rule.stalled_for.describe()}): recycled to {to}")
    owner = None if rule.queue else frame["lead.owner_id"].to_numpy(dtype=object)
    return day2_decisions.build(
        lead_ids=frame["lead_id"], step=rule.name, action="queue" if rule.queue else "recycle", owner_id=owner,
        queue=rule.queue, detail=detail, kind="recycled", version=rules.version, description=rule.description,
        condition=f"status is {words.listing(rule.statuses)}, no progress for {rule.stalled_for.describe()}",
        reroute={"to_queue": rule.queue, "to_status": rule.status},
        per_lead={"last_progress_at": pd.to_datetime(found["progress_at"]).dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)},
        side_actions=trace.as_list(side))


# -- dormancy and waking up ---------------------------------------------------------------------------


def mark_dormant(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo,
                 recycled: pd.DataFrame, by_status: bool = True) -> int:
    """Start watching the leads just recycled, and (``by_status``) leads newly in a dormant status."""
    config: Day2Config = rules.day2
    reengage = config.reengage
    act = activity_column(config, mapping, reengage.activity_field if reengage is not None else None)
    added = 0
    if len(recycled):
        con.register("_recycled", recycled[["lead_id", "step"]])
        try:
            added += con.execute(
                f"""INSERT OR REPLACE INTO dormant_lead (lead_id, since, why, status_at_start, activity_at_start, watched_from)
                    SELECT r.lead_id, ?::TIMESTAMP, 'recycled by ' || r.step, l.status, {act}, ?::TIMESTAMP
                    FROM _recycled r JOIN lead l USING (lead_id)""", [run.now, run.now]).fetchall()[0][0]
        finally:
            con.unregister("_recycled")
    if by_status and reengage is not None and reengage.dormant_statuses:
        added += con.execute(
            f"""INSERT OR REPLACE INTO dormant_lead (lead_id, since, why, status_at_start, activity_at_start, watched_from)
                SELECT l.lead_id, coalesce(s.status_since, l._modstamp), 'status ' || l.status, l.status, {act}, ?::TIMESTAMP
                FROM lead l LEFT JOIN lead_status s USING (lead_id)
                WHERE {OPEN} AND l.status IN ({sql_list(reengage.dormant_statuses)})
                  AND NOT EXISTS (SELECT 1 FROM dormant_lead d WHERE d.lead_id = l.lead_id
                                  AND d.woken_at IS NULL AND d.ended_at IS NULL)""", [run.now]).fetchall()[0][0]
    return int(added)


def end_dormancy(con: duckdb.DuckDBPyConnection, rules: RuleSet, run: RunInfo) -> int:
    """Leads no longer dormant for another reason: converted, deleted, routed otherwise, or (dormant by status)
    in another status without waking up."""
    reengage = rules.day2.reengage if rules.day2 is not None else None
    statuses = reengage.dormant_statuses if reengage is not None else []
    return int(con.execute(
        f"""UPDATE dormant_lead d SET ended_at = ?
            FROM lead l WHERE l.lead_id = d.lead_id AND d.woken_at IS NULL AND d.ended_at IS NULL AND (
                 coalesce(l.is_converted, false) OR coalesce(l.is_deleted, false)
                 OR EXISTS (SELECT 1 FROM routing_decision x WHERE x.lead_id = d.lead_id AND x.created_at > d.watched_from)
                 OR (d.why LIKE 'status %' AND l.status NOT IN ({sql_list(statuses)})))""", [run.now]).fetchall()[0][0])


def woken(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo,
          busy: set[str]) -> pd.DataFrame:
    """Dormant leads showing life since leadroute started watching them (lead_id, since, why, woken_by)."""
    config: Day2Config = rules.day2
    r = config.reengage
    signals = []
    if r.status_leaves and r.dormant_statuses:
        signals.append(("status", f"CASE WHEN l.status NOT IN ({sql_list(r.dormant_statuses)}) "
                                  f"AND s.status_since > d.watched_from THEN s.status_since END"))
    if r.activity_field:
        act = activity_column(config, mapping, r.activity_field)
        signals.append(("activity", f"CASE WHEN {act} > coalesce(d.activity_at_start, TIMESTAMP '1900-01-01') "
                                    f"THEN {act} END"))
    if r.new_activity:
        parts = []
        if "task" in mapping.objects:
            own = "AND t.leadroute_key IS NULL" if "leadroute_key" in mapping.objects["task"].fields else ""
            parts.append(f"""(SELECT min(t.created_at) FROM crm_task t WHERE t.who_id = d.lead_id
                              AND t.created_at > d.watched_from AND NOT coalesce(t.is_deleted, false) {own})""")
        if "event" in mapping.objects:
            parts.append("""(SELECT min(e.created_at) FROM crm_event e WHERE e.who_id = d.lead_id
                             AND e.created_at > d.watched_from AND NOT coalesce(e.is_deleted, false))""")
        if parts:
            signals.append(("new_activity", f"least({', '.join(parts)})"))
    if not signals:
        return pd.DataFrame(columns=["lead_id", "since", "why", "woken_by", "woken_on"])
    items = ", ".join(f"{sql} AS by_{name}" for name, sql in signals)
    first = f"least({', '.join('by_' + n for n, _ in signals)})"
    which = " ".join(f"WHEN by_{n} THEN '{n}'" for n, _ in signals)
    found = con.execute(
        f"""WITH sig AS (
                SELECT d.lead_id, d.since, d.why, {items}
                FROM dormant_lead d JOIN lead l USING (lead_id) LEFT JOIN lead_status s USING (lead_id)
                WHERE d.woken_at IS NULL AND d.ended_at IS NULL AND {OPEN})
            SELECT lead_id, since, why, CASE {first} {which} END AS woken_by, {first} AS woken_on
            FROM sig WHERE {first} IS NOT NULL AND {first} <= ? ORDER BY lead_id""", [run.now]).df()
    return found[~found["lead_id"].isin(busy)].reset_index(drop=True)


def wake(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo,
         busy: set[str]) -> tuple[pd.DataFrame, pd.Series, int, int]:
    """Mark the dormant leads that woke up; return the routing frame of those the policy lets move, why each
    woke up (a line per lead id), how many the policy kept, and how many woke up."""
    r = rules.day2.reengage
    found = woken(con, rules, mapping, run, busy)
    if found.empty:
        return found, pd.Series(dtype=object), 0, 0
    con.register("_woken", found[["lead_id", "since", "woken_by"]])
    try:
        con.execute("""UPDATE dormant_lead d SET woken_at = ?, woken_by = w.woken_by
                       FROM _woken w WHERE w.lead_id = d.lead_id AND w.since = d.since""", [run.now])
    finally:
        con.unregister("_woken")
    frame = build_frame(con, mapping, found["lead_id"])
    ok, why, protection = policy.judge(frame, rules)
    kept = int((~ok).sum())
    if kept:
        policy.record_blocked(con, frame[~ok], "reopened", why[~ok], protection[~ok], run)
    signal = {"status": "its status left " + "/".join(r.dormant_statuses), "activity": f"{r.activity_field} moved on",
              "new_activity": "a new task or meeting on it"}
    notes = (found["woken_by"].map(signal) + " (dormant since " + pd.to_datetime(found["since"]).dt.strftime("%Y-%m-%d")
             + ", " + found["why"].astype(str) + ")").set_axis(found["lead_id"])
    return frame[ok].reset_index(drop=True), notes, kept, len(found)

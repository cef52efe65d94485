"""First-touch SLAs: every lead given to a rep is timed until its first touch, and a miss moves it.

An *assignment* (table ``assignment``) is opened for each current decision that gives a lead to
a user (not a queue, not a lead leadroute found already owned). Its clock starts when the owner
change lands in the CRM (the ledger says pushed, or unchanged), and an SLA of ``day2.yaml``
(by the pool or the step that assigned it) sets when it falls due, counted in the rep's working
hours (:mod:`pipelines.routing.roster.working_time`). Each tick then, in SQL over all open assignments:

1. **touch**: the first of: the lead's status left the ``touch.status_leaves`` statuses after the
   clock started; the ``touch.activity_field`` moved on; the owner completed a task on the lead.
   A touch before the due time is compliant, after it late;
2. **miss**: an untouched assignment past its due time is missed, and numbered: the lead's
   consecutive misses since its last routing other than an SLA's;
3. **what a miss does**, for leads the reroute policy lets move: the ``after_misses.count``-th miss
   sends the lead to the holding queue; otherwise ``reassign`` gives it to the pool's next available
   member, skipping its previous ``skip_previous`` owners, or ``escalate`` creates a task for the
   owner's manager, sets fields and, with ``assign_manager``, makes the manager the owner.

Every move is a new decision (entry ``sla``, step = the SLA's name) replacing the one before, so
its assignment closes as ``superseded`` and a new one (same SLA) starts for the new owner.
Assignments without an SLA are tracked too: they feed time to first touch and leakage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import duckdb
import numpy as np
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.day2 import decisions as day2_decisions
from pipelines.routing.engine import actions, policy, router, side_actions, trace
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.frame.build import build_frame, load_related
from pipelines.routing.language.day2 import Day2Config, SlaRule
from pipelines.routing.pools.catalog import days_off_of
from pipelines.routing.roster import working_time
from pipelines.routing.ruleset.model import RuleSet
from pipelines.stage import RunInfo
from pipelines.warehouse import inputs
from pipelines.warehouse.db import affected, insert
from pipelines.warehouse.schema import open_lead



def sql_list(values) -> str:
    """Values as a SQL list of text literals (quotes doubled): statuses from the rules, never user input."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def activity_column(config: Day2Config | None, mapping: FieldMapping, field: str | None = None) -> str:
    """SQL for the touch activity field on the lead table ``l`` (NULL when none is configured)."""
    if field is None:
        field = config.touch.activity_field if config is not None and config.touch is not None else None
    if not field:
        return "NULL::TIMESTAMP"
    column = field.split(".", 1)[1]
    if column not in mapping.objects["lead"].fields:
        return "NULL::TIMESTAMP"
    return f'TRY_CAST(l."{column}" AS TIMESTAMP)'


def track_status(con: duckdb.DuckDBPyConnection, run: RunInfo) -> int:
    """Note every lead whose status is new to leadroute, and since when (the version that showed it)."""
    if inputs.same_versions(con, "lead", "lead_id", "lead_status", "lead_id", version="status"):
        return 0  # every lead noted at the status it has (0.05 s of CPU at 600,000 leads; the join, 0.2 s)
    before = con.execute("SELECT count(*) FROM lead_status").fetchall()[0][0]
    changed = affected(con,
        """INSERT OR REPLACE INTO lead_status
           SELECT l.lead_id, l.status, l._modstamp, s.status, ?::TIMESTAMP
           FROM lead l LEFT JOIN lead_status s USING (lead_id)
           WHERE s.lead_id IS NULL OR l.status IS DISTINCT FROM s.status""", [run.now])
    return changed if before else 0


def open_assignments(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo,
                     leads: pd.Series | None = None) -> int:
    """An assignment for every current decision that gives a lead to a user and has none yet; with
    ``leads``, of those leads only (the ones a stage decided since every lead was looked at)."""
    config: Day2Config | None = rules.day2
    with _only(con, leads) as among:
        if among is None:
            return 0
        # The decisions without an assignment are found first, from the decisions alone, and only their
        # leads are read: joined with every lead first, this read the whole lead table every tick to find
        # none (0.13-0.2 s of CPU at a million accounts; 0.05 s this way, the same rows).
        new = con.execute(
            f"""WITH todo AS (
                    SELECT cur.decision_id, cur.lead_id, cur.owner_id, cur.step, cur.pool, cur.entry
                    FROM current_decision cur JOIN crm_user u ON u.user_id = cur.owner_id
                    WHERE NOT (cur.entry = 'new' AND cur.action = 'keep') AND {among("cur")}
                      AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.decision_id = cur.decision_id))
                SELECT todo.decision_id, todo.lead_id, todo.owner_id, todo.step, todo.pool, todo.entry,
                       l.status AS status_at_start, {activity_column(config, mapping)} AS activity_at_start
                FROM todo JOIN ({inputs.keyed("lead", "lead_id", "SELECT lead_id FROM todo")}) l USING (lead_id)
                WHERE {open_lead("l")}""").df()
    if new.empty:
        return 0
    if config is not None and config.slas:
        pairs = new[["step", "pool", "entry"]].drop_duplicates()
        pairs["sla"] = [step if entry == "sla" and step in config.slas else config.sla_for(step, pool if isinstance(pool, str) else None)
                        for step, pool, entry in pairs.itertuples(index=False)]
        new = new.merge(pairs, on=["step", "pool", "entry"], how="left")
    else:
        new["sla"] = None
    new["opened_at"] = run.now
    new["outcome"] = "open"
    return insert(con, "assignment", new[["decision_id", "lead_id", "owner_id", "step", "pool", "sla", "status_at_start",
                                          "activity_at_start", "opened_at", "outcome"]])


@contextlib.contextmanager
def _only(con: duckdb.DuckDBPyConnection, leads: pd.Series | None) -> Iterator[Callable[[str], str] | None]:
    """SQL restricting a query to ``leads`` (a function of the table alias), every lead for None, or
    None when ``leads`` is empty (nothing to ask)."""
    if leads is None:
        yield lambda alias: "TRUE"
        return
    if not len(leads):
        yield None
        return
    con.register("_sla_leads", pd.DataFrame({"lead_id": pd.unique(np.asarray(leads, dtype=object))}))
    try:
        yield lambda alias: f"{alias}.lead_id IN (SELECT lead_id FROM _sla_leads)"
    finally:
        con.unregister("_sla_leads")


def start_clocks(con: duckdb.DuckDBPyConnection, rules: RuleSet, run: RunInfo) -> int:
    """Clocks start when the owner change is in the CRM; an owner change that never landed closes its assignment."""
    con.execute(
        """UPDATE assignment a SET started_at = CASE WHEN g.status = 'pushed' THEN g.pushed_at ELSE d.created_at END
           FROM ledger g, routing_decision d
           WHERE g.decision_id = a.decision_id AND g.kind = 'owner' AND d.decision_id = a.decision_id
             AND a.started_at IS NULL AND a.outcome = 'open' AND g.status IN ('pushed', 'skipped_unchanged')""")
    con.execute(
        """UPDATE assignment a SET outcome = 'not_landed', closed_at = ?, note = 'the owner change was ' || g.status
                   || coalesce(': ' || g.last_error, '')
           FROM ledger g WHERE g.decision_id = a.decision_id AND g.kind = 'owner'
             AND a.started_at IS NULL AND a.outcome = 'open' AND g.status IN ('failed', 'superseded', 'skipped_deleted')""", [run.now])
    config: Day2Config | None = rules.day2
    todo = con.execute("""SELECT decision_id, owner_id, sla, started_at FROM assignment
                          WHERE outcome = 'open' AND sla IS NOT NULL AND started_at IS NOT NULL AND due_at IS NULL""").df()
    if todo.empty or config is None:
        return 0
    known = todo["sla"].isin(list(config.slas))
    todo = todo[known]
    if todo.empty:
        return 0
    within = todo["sla"].map({name: rule.within for name, rule in config.slas.items()})
    todo["due_at"] = working_time.due_at(todo["started_at"], within.map(lambda d: d.minutes), todo["owner_id"],
                                         within.map(lambda d: d.working), rules.reps, days_off_of(rules.pools))
    con.register("_due", todo[["decision_id", "due_at"]])
    try:
        con.execute("UPDATE assignment a SET due_at = x.due_at FROM _due x WHERE x.decision_id = a.decision_id")
    finally:
        con.unregister("_due")
    return len(todo)


def close_stale(con: duckdb.DuckDBPyConnection, run: RunInfo, leads: pd.Series | None = None) -> int:
    """Open assignments that no longer stand: the lead was converted or deleted, rerouted, or reassigned by
    hand; with ``leads``, of those leads only (the ones a stage decided since every lead was looked at)."""
    with _only(con, leads) as among:
        if among is None:
            return 0
        stale = con.execute(
            f"""SELECT a.decision_id,
                       CASE WHEN coalesce(l.is_converted, false) THEN 'converted'
                            WHEN coalesce(l.is_deleted, false) OR l.lead_id IS NULL THEN 'closed'
                            WHEN cur.decision_id IS DISTINCT FROM a.decision_id THEN 'superseded'
                            ELSE 'reassigned_in_crm' END AS outcome
                FROM assignment a LEFT JOIN lead l USING (lead_id) LEFT JOIN current_decision cur USING (lead_id)
                WHERE a.outcome = 'open' AND {among("a")} AND (
                      coalesce(l.is_converted, false) OR coalesce(l.is_deleted, false) OR l.lead_id IS NULL
                      OR cur.decision_id IS DISTINCT FROM a.decision_id
                      OR (a.started_at IS NOT NULL AND l.owner_id IS DISTINCT FROM a.owner_id))""").df()
    if stale.empty:
        return 0
    con.register("_stale", stale)
    try:
        con.execute("""UPDATE assignment a SET outcome = x.outcome, closed_at = ?
                       FROM _stale x WHERE x.decision_id = a.decision_id""", [run.now])
    finally:
        con.unregister("_stale")
    return len(stale)


def touches(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo) -> int:
    """Find the first touch of every started, untouched assignment that still stands."""
    config: Day2Config | None = rules.day2
    touch = config.touch if config is not None else None
    if touch is None:
        return 0
    status = (f"CASE WHEN s.status NOT IN ({sql_list(touch.status_leaves)}) AND s.status_since > a.started_at "
              f"THEN s.status_since END") if touch.status_leaves else "NULL::TIMESTAMP"
    act = activity_column(config, mapping)
    activity = (f"CASE WHEN {act} > coalesce(a.activity_at_start, TIMESTAMP '1900-01-01') "
                f"AND {act} >= date_trunc('day', a.started_at) THEN greatest({act}, a.started_at) END")
    task = "NULL::TIMESTAMP"
    if touch.completed_task and "task" in mapping.objects:
        task = f"""(SELECT min(t.last_modified_at) FROM crm_task t
                    WHERE t.who_id = a.lead_id AND t.owner_id = a.owner_id AND NOT coalesce(t.is_deleted, false)
                      AND t.status IN ({sql_list(touch.completed_task)}) AND t.last_modified_at >= a.started_at)"""
    found = con.execute(
        f"""WITH signals AS (
                SELECT a.decision_id, a.due_at, a.outcome, {status} AS by_status, {activity} AS by_activity, {task} AS by_task
                FROM assignment a JOIN lead l USING (lead_id) JOIN current_decision cur ON cur.decision_id = a.decision_id
                LEFT JOIN lead_status s USING (lead_id)
                WHERE a.touched_at IS NULL AND a.started_at IS NOT NULL AND a.outcome IN ('open', 'missed'))
            SELECT decision_id, outcome, due_at, least(by_status, by_activity, by_task) AS touched_at,
                   CASE least(by_status, by_activity, by_task) WHEN by_task THEN 'task' WHEN by_status THEN 'status'
                        ELSE 'activity' END AS touch
            FROM signals WHERE least(by_status, by_activity, by_task) <= ?""", [run.now]).df()
    if found.empty:
        return 0
    late = found["due_at"].notna() & (found["touched_at"] > found["due_at"])
    found["new_outcome"] = np.where(found["outcome"] == "missed", "missed", np.where(late, "touched_late", "touched"))
    con.register("_touched", found[["decision_id", "touched_at", "touch", "new_outcome"]])
    try:
        con.execute("""UPDATE assignment a SET touched_at = x.touched_at, touch = x.touch, outcome = x.new_outcome,
                              closed_at = coalesce(a.closed_at, ?)
                       FROM _touched x WHERE x.decision_id = a.decision_id""", [run.now])
    finally:
        con.unregister("_touched")
    return len(found)


def misses(con: duckdb.DuckDBPyConnection, rules: RuleSet, run: RunInfo, busy: set[str]) -> pd.DataFrame:
    """Mark untouched assignments past due as missed (numbered in the lead's chain of misses) and return them."""
    missed = con.execute(
        """SELECT a.decision_id, a.lead_id, a.owner_id, a.sla, a.pool, a.step, a.started_at, a.due_at,
                  1 + (SELECT count(*) FROM assignment p WHERE p.lead_id = a.lead_id AND p.missed_at IS NOT NULL
                       AND p.opened_at >= coalesce((SELECT max(d.created_at) FROM routing_decision d
                                                    WHERE d.lead_id = a.lead_id AND d.entry <> 'sla'),
                                                   TIMESTAMP '1900-01-01')) AS miss_number
           FROM assignment a
           WHERE a.outcome = 'open' AND a.sla IS NOT NULL AND a.due_at IS NOT NULL AND a.due_at <= ?
             AND a.touched_at IS NULL
           ORDER BY a.due_at, a.lead_id""", [run.now]).df()
    missed = missed[~missed["lead_id"].isin(busy)].reset_index(drop=True)
    if missed.empty:
        return missed
    con.register("_missed", missed[["decision_id", "miss_number"]])
    try:
        con.execute("""UPDATE assignment a SET outcome = 'missed', missed_at = ?, miss_number = x.miss_number,
                              closed_at = ?
                       FROM _missed x WHERE x.decision_id = a.decision_id""", [run.now, run.now])
    finally:
        con.unregister("_missed")
    return missed


def note(con: duckdb.DuckDBPyConnection, decision_ids, notes) -> None:
    """What a miss did, on its assignment (rerouted, escalated, kept by the policy)."""
    frame = pd.DataFrame({"decision_id": np.asarray(decision_ids, dtype=object), "note": np.asarray(notes, dtype=object)})
    if frame.empty:
        return
    con.register("_notes", frame)
    try:
        con.execute("UPDATE assignment a SET note = x.note FROM _notes x WHERE x.decision_id = a.decision_id")
    finally:
        con.unregister("_notes")


def previous_owners(con: duckdb.DuckDBPyConnection, lead_ids: pd.Series) -> pd.Series:
    """Per lead, the users leadroute gave it to, most recent first (a list)."""
    con.register("_prev_ids", pd.DataFrame({"lead_id": lead_ids.to_numpy()}))
    try:
        rows = con.execute(
            """SELECT lead_id, list(owner_id ORDER BY last_at DESC) AS owners FROM (
                   SELECT a.lead_id, a.owner_id, max(a.opened_at) AS last_at
                   FROM assignment a JOIN _prev_ids USING (lead_id) GROUP BY ALL) GROUP BY lead_id""").df()
    finally:
        con.unregister("_prev_ids")
    return rows.set_index("lead_id")["owners"].reindex(lead_ids.to_numpy())


def managers(con: duckdb.DuckDBPyConnection, rules: RuleSet, owners: pd.Series) -> pd.Series:
    """Each owner's manager: reps.csv ``manager_id``, else the CRM user's."""
    roster = rules.reps.set_index("user_id")["manager_id"] if "manager_id" in rules.reps else pd.Series(dtype=object)
    crm = dict(con.execute("SELECT user_id, manager_id FROM crm_user WHERE manager_id IS NOT NULL").fetchall())
    from_roster = owners.map(roster.replace("", None).dropna())
    return from_roster.where(from_roster.notna(), owners.map(crm)).astype(object)


# -- what a miss does -------------------------------------------------------------------------------


def _missed_text(rule: SlaRule, rows: pd.DataFrame, ctx: RouteContext) -> np.ndarray:
    owner = ctx.names(rows["owner_id"]).astype(str).to_numpy(dtype=object)
    due = pd.to_datetime(rows["due_at"]).dt.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object)
    of = f" of {rule.max_misses}" if rule.max_misses else ""
    return (owner + f" did not touch it within {rule.within.describe()} (due " + due + " UTC; miss "
            + rows["miss_number"].astype(int).astype(str).to_numpy(dtype=object) + of + ")")


def act_on_misses(con: duckdb.DuckDBPyConnection, missed: pd.DataFrame, rules: RuleSet, mapping: FieldMapping,
                  ctx: RouteContext, run: RunInfo) -> tuple[pd.DataFrame, int]:
    """Decisions for the missed leads the reroute policy lets move; returns them and how many it kept."""
    config: Day2Config = rules.day2
    frame = build_frame(con, mapping, missed["lead_id"])
    ok, why, rule_of = policy.judge(frame, rules)
    kept = int((~ok).sum())
    if kept:
        policy.record_blocked(con, frame[~ok], "sla", why[~ok], rule_of[~ok], run)
        note(con, missed.loc[~ok, "decision_id"], "missed; " + why[~ok].astype(str))
    out = []
    missed, frame = missed[ok].reset_index(drop=True), frame[ok].reset_index(drop=True)
    if missed.empty:
        return day2_decisions.concat([]), kept
    ctx.accounts, ctx.opportunities = load_related(con, mapping, frame)
    for name, rows in missed.groupby("sla", sort=False):
        rule = config.slas.get(name)
        if rule is None:
            continue
        sub = frame.loc[rows.index]
        text = _missed_text(rule, rows, ctx)
        common = dict(step=rule.name, kind="sla", version=rules.version, description=rule.description,
                      condition=f"not touched within {rule.within.describe()}")
        per = {"missed_owner": rows["owner_id"].to_numpy(dtype=object),
               "due_at": pd.to_datetime(rows["due_at"]).dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object),
               "miss": rows["miss_number"].astype(int).to_numpy()}
        holding = (rows["miss_number"] >= rule.max_misses).to_numpy() if rule.max_misses else np.zeros(len(rows), bool)
        if holding.any():
            out.append(day2_decisions.build(
                lead_ids=rows.loc[holding, "lead_id"], action="queue", owner_id=None, queue=rule.holding_queue,
                detail=text[holding] + f"; {rule.max_misses} misses: to the holding queue {rule.holding_queue}",
                reroute={"outcome": "holding_queue"}, per_lead={k: v[holding] for k, v in per.items()}, **common))
            note(con, rows.loc[holding, "decision_id"], f"missed; to the holding queue {rule.holding_queue}")
        rest = ~holding
        if not rest.any():
            continue
        if rule.escalate is not None:
            out.append(_escalate(con, rule, rows[rest], sub[rest], text[rest], {k: v[rest] for k, v in per.items()},
                                 common, rules, ctx, run))
        else:
            out.append(_reassign(con, rule, rows[rest], sub[rest], text[rest], {k: v[rest] for k, v in per.items()},
                                 common, rules, ctx))
    return day2_decisions.concat(out), kept


def _reassign(con, rule: SlaRule, rows: pd.DataFrame, frame: pd.DataFrame, text: np.ndarray, per: dict, common: dict,
              rules: RuleSet, ctx: RouteContext) -> pd.DataFrame:
    pool_name = rows["pool"].where(rows["pool"].notna(), None).astype(object)
    if rule.reassign_pool is not None:
        pool_name[:] = rule.reassign_pool
    previous = previous_owners(con, rows["lead_id"]).to_numpy(dtype=object)
    excluded = [tuple((list(p) if isinstance(p, (list, np.ndarray)) else [])[:rule.skip_previous]) for p in previous]
    groups = pd.DataFrame({"pool": pool_name.to_numpy(dtype=object), "excluded": excluded}, index=rows.index)
    owner = pd.Series(None, index=rows.index, dtype=object)
    queue = pd.Series(None, index=rows.index, dtype=object)
    detail = pd.Series(None, index=rows.index, dtype=object)
    picked = pd.Series(None, index=rows.index, dtype=object)
    for (pool, skip), part in groups.groupby(["pool", "excluded"], sort=False, dropna=False):
        ix = part.index
        if not isinstance(pool, str) or pool not in rules.pools:
            detail[ix] = "no pool to reassign it in; it stays with its owner"
            continue
        res = router.pool(pool, frame.loc[ix], rules, ctx, exclude=skip)
        owner[ix] = res.owner.where(res.owner.notna(), None).to_numpy()
        queue[ix] = res.queue.where(res.queue.notna(), None).to_numpy()
        names = ", ".join(str(ctx.name(u)) for u in skip)
        detail[ix] = (res.detail.astype(str) + (f"; skipped as previous owners: {names}" if names else "")).to_numpy()
        if res.pool is not None:
            picked[ix] = res.pool.to_numpy()
    placed = (owner.notna() | queue.notna()).to_numpy()
    note(con, rows.loc[placed, "decision_id"], "missed; reassigned")
    note(con, rows.loc[~placed, "decision_id"], "missed; " + detail[~placed].astype(str))
    if not placed.any():
        return day2_decisions.concat([])
    action = np.where(owner[placed].notna(), "pool", "queue")
    return day2_decisions.build(lead_ids=rows.loc[placed, "lead_id"], action=action, owner_id=owner[placed],
                                queue=queue[placed], detail=text[placed] + "; " + detail[placed].astype(str).to_numpy(),
                                pool=picked[placed], reroute={"outcome": "reassigned"},
                                per_lead={k: v[placed] for k, v in per.items()}, **common)


def _escalate(con, rule: SlaRule, rows: pd.DataFrame, frame: pd.DataFrame, text: np.ndarray, per: dict, common: dict,
              rules: RuleSet, ctx: RouteContext, run: RunInfo) -> pd.DataFrame:
    esc = rule.escalate
    owners = rows["owner_id"].reset_index(drop=True)
    manager = managers(con, rules, owners)
    active = actions.is_valid_user(manager, ctx, rules).to_numpy()
    frame = frame.reset_index(drop=True)
    side = np.full(len(rows), "", dtype=object)
    if esc.task is not None:  # the manager's task, where there is an active manager; else the owner's
        to_manager = np.where(active, manager.to_numpy(dtype=object), None)
        side = trace.join(side, trace.unwrap(side_actions.render([esc.task], frame, ctx.now, task_owner=to_manager)))
    if esc.set is not None:
        side = trace.join(side, trace.unwrap(side_actions.render([esc.set], frame, ctx.now)))
    new_owner = owners.where(~(esc.assign_manager & active), manager).to_numpy(dtype=object)
    names = ctx.names(manager).astype(str).to_numpy(dtype=object)
    how = np.where(active, "escalated to the manager " + names, "no active manager to escalate to")
    if esc.assign_manager:
        how = np.where(active, how + ", now the owner", how + "; it stays with its owner")
    note(con, rows["decision_id"], "missed; " + pd.Series(how).astype(str))
    return day2_decisions.build(lead_ids=rows["lead_id"], action="escalate", owner_id=new_owner, queue=None,
                                detail=text + "; " + how, reroute={"outcome": "escalated"},
                                per_lead={**per, "manager": manager.to_numpy(dtype=object)},
                                side_actions=trace.as_list(side), **common)


def bookkeep(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo) -> dict[str, int]:
    """Open, start, close and touch assignments: everything but the misses."""
    return {"assignments_opened": open_assignments(con, rules, mapping, run),
            "clocks_started": start_clocks(con, rules, run),
            "assignments_closed": close_stale(con, run),
            "touches_found": touches(con, rules, mapping, run)}


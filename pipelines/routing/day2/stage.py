"""Reroute: day-2 routing, every tick between routing and the push.

Routing does not end at the first assignment. After ``routing_decision`` and before ``crm_push``,
this stage looks at the leads already routed, in this order:

1. **hold until** (:mod:`pipelines.routing.engine.hold`): held leads are routed through the ``new`` flow again; those no
   longer held get a real decision (entry ``released``);
2. **inactive owners**: open leads whose owner left (inactive in the CRM, or an owner change the
   CRM refused because the user is inactive) go through ``day2.yaml`` ``inactive_owner``
   (entry ``inactive_owner``);
3. **first-touch SLAs** (:mod:`.sla`): assignments are opened, started, touched or missed; a miss
   reassigns, escalates or holds the lead (entry ``sla``);
4. **recycling** (:mod:`.recycle`): stalled leads go back to nurture (entry ``recycled``);
5. **wake the dead**: dormant leads that engage again go through the ``reopened`` flow
   (entry ``reopened``).

Every move is a new, immutable decision recorded through :func:`pipelines.ledger.decisions.record`
with ``replaces_decision_id`` and the reason, so the push is unchanged and nothing is pushed twice.
Every kind except the release of a hold (a lead's first real routing) asks the reroute policy
(:mod:`pipelines.routing.engine.policy`) first; what it refuses is kept in ``reroute_blocked``. A lead moves at most once
per tick: leads moved earlier in the tick (by routing or a step above) are left alone.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pandas as pd

from pipelines.crm.base import INACTIVE_OWNER
from pipelines.crm.fields import FieldMapping
from pipelines.ledger import decisions as decision_log
from pipelines.routing.day2 import decisions as day2_decisions
from pipelines.routing.day2 import recycle, sla
from pipelines.routing.engine import hold, policy
from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.frame.build import build_frame
from pipelines.routing.language.model import Flow
from pipelines.routing.pools.book import save_states
from pipelines.routing.roster import overrides
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.stages.route import load_context, route_frame
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse import inputs
from pipelines.warehouse.schema import open_lead

INACTIVE_FLOW = "inactive_owner"


def decided_this_run(con: duckdb.DuckDBPyConnection, run: RunInfo) -> set[str]:
    """Leads routing moved this tick. Leads it only recorded as already owned (``keep``) did not
    move, so day 2 looks at them in the same tick: a lead found with a rep who left, or stalled
    for months, is dealt with by the first tick that sees it, and the tick after pushes nothing."""
    return {r[0] for r in con.execute(
        "SELECT DISTINCT lead_id FROM routing_decision WHERE run_id = ? AND action <> 'keep'", [run.run_id]).fetchall()}


class _Stage:
    def __init__(self, con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo):
        self.con, self.rules, self.mapping, self.run = con, rules, mapping, run
        self.ctx: RouteContext = load_context(con, run)
        self.busy = decided_this_run(con, run)
        self.result = StageResult("reroute")
        self.decided: list[pd.DataFrame] = []
        self.booked: int | None = None  # how many of ``decided`` the SLA bookkeeping saw (None: it did not run)

    def record(self, decisions: pd.DataFrame, entry: str) -> int:
        if decisions.empty:
            self.result.counts[entry] = self.result.counts.get(entry, 0)
            return 0
        decision_log.record(self.con, decisions, entry=entry, rules_version=self.rules.version,
                            queue_ids=self.ctx.queue_ids, run=self.run)
        self.busy |= set(decisions["lead_id"])
        self.decided.append(decisions.assign(entry=entry))
        self.result.counts[entry] = self.result.counts.get(entry, 0) + len(decisions)
        return len(decisions)

    @staticmethod
    def _leads(decided: list[pd.DataFrame]) -> pd.Series:
        return pd.concat([d["lead_id"] for d in decided], ignore_index=True) if decided else pd.Series(dtype=object)

    def blocked(self, kind: str, n: int) -> None:
        if n:
            self.result.counts[f"{kind}_kept_by_policy"] = self.result.counts.get(f"{kind}_kept_by_policy", 0) + n

    # -- 1. hold until ----------------------------------------------------------------------------

    def release_holds(self) -> None:
        held = self.con.execute(
            f"""SELECT cur.lead_id, cur.step, cur.created_at FROM current_decision cur JOIN lead l USING (lead_id)
                WHERE cur.action = '{hold.HOLD_ACTION}' AND {open_lead("l")} ORDER BY l.created_at, cur.lead_id""").df()
        held = held[~held["lead_id"].isin(self.busy)].reset_index(drop=True)
        self.result.counts["held_checked"] = len(held)
        if held.empty:
            return
        frame = build_frame(self.con, self.mapping, held["lead_id"])
        decided = route_frame(self.con, self.mapping, frame, self.rules, "new", self.ctx).reset_index(drop=True)
        released = decided[decided["action"] != hold.HOLD_ACTION].reset_index(drop=True)
        since = held.set_index("lead_id")
        note = ("held by step " + since.loc[released["lead_id"], "step"].astype(str) + " since "
                + pd.to_datetime(since.loc[released["lead_id"], "created_at"]).dt.strftime("%Y-%m-%d %H:%M")
                + " UTC").to_numpy(dtype=object)
        self.record(day2_decisions.with_reroute(released, "released", "released", note), "released")

    # -- 2. inactive owners -------------------------------------------------------------------------

    def inactive_owners(self) -> None:
        step = self.rules.day2.inactive_owner
        # The few leads it can be, from the few inactive users and refused writes, before joining them with
        # their decisions and ledger rows: joining every open lead with them cost 0.4 s of CPU a tick at a
        # million accounts (0.2 s this way, with 863 leads of a rep who left).
        maybe = inputs.key_table(self.con, "_inactive_owner_leads", f"""
            WITH gone AS (SELECT user_id FROM crm_user WHERE NOT coalesce(is_active, false))
            SELECT lead_id AS k FROM lead WHERE owner_id IN (SELECT user_id FROM gone)
            UNION SELECT lead_id FROM current_decision WHERE owner_id IN (SELECT user_id FROM gone)
            UNION SELECT lead_id FROM ledger WHERE kind = 'owner' AND status = 'failed'
                                             AND last_error_code = '{INACTIVE_OWNER}'""")
        if maybe is None:
            self.result.counts["inactive_owner_leads"] = 0
            return
        try:
            found = self._inactive_owner_leads(maybe)
        finally:
            inputs.forget(self.con, maybe)
        found = found[~found["lead_id"].isin(self.busy)].drop_duplicates("lead_id").reset_index(drop=True)
        self.result.counts["inactive_owner_leads"] = len(found)
        if found.empty:
            return
        self._reroute_inactive(step, found)

    def _inactive_owner_leads(self, maybe: str) -> pd.DataFrame:
        """Among ``maybe``, open leads whose owner (the one they have or are about to have) is inactive in
        the CRM, and those whose owner change the CRM refused for it."""
        # Their decisions are read first, then only those leads and owner rows: joined with the whole lead
        # and ledger tables, the query read both every tick (0.16-0.24 s of CPU at a million accounts with
        # 863 such leads; 0.08-0.1 s this way, the same rows).
        return self.con.execute(
            f"""WITH cur AS MATERIALIZED (SELECT * FROM current_decision cur WHERE {inputs.among("cur", "lead_id", maybe)}),
                eff AS (
                    SELECT cur.lead_id, l._modstamp, g.status AS push_status, g.last_error_code,
                           cur.owner_id AS target_id,
                           -- the owner the lead has or is about to have (a push newer than the extracted lead counts)
                           CASE WHEN g.status IN ('pending', 'in_flight') OR (g.status = 'pushed' AND l._modstamp < g.pushed_at)
                                THEN cur.owner_id ELSE l.owner_id END AS owner_id
                    FROM cur JOIN ({inputs.keyed("lead", "lead_id", "SELECT lead_id FROM cur")}) l USING (lead_id)
                    LEFT JOIN (SELECT * FROM ledger WHERE kind = 'owner' AND decision_id IN (SELECT decision_id FROM cur)) g
                        ON g.decision_id = cur.decision_id
                    WHERE {open_lead("l")})
                SELECT eff.lead_id, eff.owner_id AS left_owner_id, 'inactive in the CRM' AS why
                FROM eff JOIN crm_user u ON u.user_id = eff.owner_id
                WHERE NOT coalesce(u.is_active, false)
                  AND NOT EXISTS (SELECT 1 FROM reroute_blocked b WHERE b.lead_id = eff.lead_id
                                  AND b.kind = 'inactive_owner' AND b.lead_modstamp = eff._modstamp)
                UNION ALL
                SELECT eff.lead_id, eff.target_id, 'the CRM refused the owner change: inactive user'
                FROM eff WHERE eff.push_status = 'failed' AND eff.last_error_code = '{INACTIVE_OWNER}'
                ORDER BY 1""").df()

    def _reroute_inactive(self, step, found: pd.DataFrame) -> None:
        frame = build_frame(self.con, self.mapping, found["lead_id"])
        rules = dataclasses.replace(self.rules, flows={
            **self.rules.flows, INACTIVE_FLOW: Flow(where=step.where, entry=INACTIVE_FLOW, steps=[step])})
        applies = evaluate(step.when, frame, rules)
        ok, why, protection = policy.judge(frame, rules)
        kept = applies & ~ok
        if kept.any():
            policy.record_blocked(self.con, frame[kept], "inactive_owner", why[kept], protection[kept], self.run)
        self.blocked("inactive_owner", int(kept.sum()))
        considered = applies & ok
        if not considered.any():
            return
        frame, found = frame[considered].reset_index(drop=True), found[considered].reset_index(drop=True)
        decided = route_frame(self.con, self.mapping, frame, rules, INACTIVE_FLOW, self.ctx).reset_index(drop=True)
        unplaced = len(frame) - len(decided)
        if unplaced:  # the step found nobody and has no fallback: they stay where they are, and ops should know
            self.result.counts["inactive_owner_unplaced"] = unplaced
            self.result.warnings.append(f"{unplaced} lead(s) of reps who left found no new owner: give "
                                        f"inactive_owner in day2.yaml a fallback that ends in a queue")
        left = found.set_index("lead_id").loc[decided["lead_id"]]
        note = (self.ctx.names(left["left_owner_id"]).astype(str) + " left (" + left["why"] + ")").to_numpy(dtype=object)
        self.record(day2_decisions.with_reroute(decided, "inactive_owner", "owner left", note), "inactive_owner")

    # -- 3. SLAs ------------------------------------------------------------------------------------

    def slas(self) -> None:
        self.result.counts.update(sla.bookkeep(self.con, self.rules, self.mapping, self.run))
        self.booked = len(self.decided)  # every lead's assignments are current up to the decisions made so far
        if not self.rules.day2.slas:
            return
        missed = sla.misses(self.con, self.rules, self.run, self.busy)
        self.result.counts["sla_missed"] = len(missed)
        if missed.empty:
            return
        decisions, kept = sla.act_on_misses(self.con, missed, self.rules, self.mapping, self.ctx, self.run)
        self.blocked("sla", kept)
        self.record(decisions, "sla")

    # -- 4. recycling, 5. wake the dead ---------------------------------------------------------------

    def recycling(self) -> None:
        if not self.rules.day2.recycle:
            return
        decisions, kept = recycle.recycle(self.con, self.rules, self.mapping, self.ctx, self.run, self.busy)
        self.blocked("recycled", kept)
        self.record(decisions, "recycled")
        # Leads newly in a dormant status are watched from reengage, which looks for them every tick.
        self.result.counts["dormant_added"] = recycle.mark_dormant(self.con, self.rules, self.mapping, self.run,
                                                                   decisions, by_status=False)

    def reengage(self) -> None:
        if self.rules.day2.reengage is None:
            return
        self.result.counts["dormant_added"] = self.result.counts.get("dormant_added", 0) + recycle.mark_dormant(
            self.con, self.rules, self.mapping, self.run, day2_decisions.concat([]))
        frame, notes, kept, woken = recycle.wake(self.con, self.rules, self.mapping, self.run, self.busy)
        self.result.counts["woken_up"] = woken
        self.blocked("reopened", kept)
        if len(frame):
            decided = route_frame(self.con, self.mapping, frame, self.rules, self.rules.day2.reengage.flow,
                             self.ctx).reset_index(drop=True)
            note = notes.reindex(decided["lead_id"]).to_numpy(dtype=object)
            self.record(day2_decisions.with_reroute(decided, "reopened", "woke up", note), "reopened")
        recycle.end_dormancy(self.con, self.rules, self.run)

    def run_all(self) -> StageResult:
        self.result.counts["status_changes"] = sla.track_status(self.con, self.run)
        self.release_holds()
        if self.rules.day2 is not None:
            if self.rules.day2.inactive_owner is not None:
                self.inactive_owners()
            self.slas()
            self.recycling()
            self.reengage()
        # The decisions made here are assignments too: their clocks start once the push lands them, and
        # the ones they replace close. Only their leads changed since the bookkeeping looked at every lead.
        since = None if self.booked is None else self._leads(self.decided[self.booked:])
        sla.open_assignments(self.con, self.rules, self.mapping, self.run, since)
        sla.close_stale(self.con, self.run, since)
        states = save_states(self.con, self.ctx.pool_states, self.run.now)
        decided = day2_decisions.concat(self.decided)
        if len(decided):
            self.result.preview = decided[["lead_id", "entry", "step", "owner_id", "queue", "reason"]].head(10)
            self.result.details["per_kind"] = {str(k): int(v) for k, v in decided["entry"].value_counts().items()}
        if len(states):
            self.result.details["pools"] = states[["pool", "pointer", "last_user_id"]].to_dict("records")
        self.result.counts["rerouted"] = len(decided)
        return self.result


def reroute(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo) -> StageResult:
    """Day-2 routing for one tick (see the module docstring); the asset ``reroutes`` and the tests call it."""
    return _Stage(con, overrides.honoured(con, rules), mapping, run).run_all()

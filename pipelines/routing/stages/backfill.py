"""Backfill reroutes: re-evaluate the leads created on a range of days under the current rules.

Ops change a territory, then want last week's leads to follow it. A backfill takes
the leads leadroute routed (not those it only recorded as already owned) created in
the range, routes them in memory under the current rules, and compares each one's
*target* (user, queue or pool; see :mod:`.simulate`) with its current decision's:

- unchanged target: nothing happens (a pool lead keeps its rep);
- changed target, kept by the rerouting policy: recorded, not moved;
- changed target otherwise: a new decision (entry ``backfill``) replaces the current
  one, its owner write is pushed once through the ledger, like any decision.

A dry run stops after the comparison: it writes the backfill and its changes (the
diff) to ``backfill_run`` / ``backfill_change`` and nothing else, so the CRM, the
ledger and the pools' turns are untouched.
"""

from __future__ import annotations

import uuid
from datetime import date

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.ledger import decisions as decision_log
from pipelines.routing import engine
from pipelines.routing.engine import policy
from pipelines.routing.pools.book import save_states
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.stages.simulate import prepare, target
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import insert
from pipelines.warehouse.schema import open_lead


def current_decisions(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """The latest decision of each routed, open lead created between ``start`` and ``end`` (inclusive)."""
    return con.execute(
        f"""SELECT d.* FROM current_decision d JOIN lead l USING (lead_id)
            WHERE d.partition_day BETWEEN ? AND ? AND {open_lead("l")} AND d.action <> 'keep'
            ORDER BY d.partition_day, d.lead_id""",
        [start, end],
    ).df()


def backfill(con: duckdb.DuckDBPyConnection, rules: RuleSet, mapping: FieldMapping, run: RunInfo,
             start: date, end: date, *, dry_run: bool) -> StageResult:
    result = StageResult("backfill")
    current = current_decisions(con, start, end)
    backfill_id = uuid.uuid4().hex
    frame, ctx = prepare(con, mapping, current["lead_id"], run.now, rules=rules)
    proposed = (engine.route(frame, rules, "new", ctx) if len(frame)
                else pd.DataFrame(columns=["lead_id", "step", "owner_id", "queue", "pool"]))
    both = current.assign(from_target=target(current)).merge(
        proposed.assign(to_target=target(proposed))[["lead_id", "step", "to_target"]].rename(columns={"step": "to_step"}),
        on="lead_id")
    changed = both[both["from_target"] != both["to_target"]]
    may_move, why = policy.movable(frame, rules)  # a backfill is a reroute like any other
    allowed = pd.Series(may_move, index=frame["lead_id"].to_numpy())
    reasons = pd.Series(why.to_numpy(), index=frame["lead_id"].to_numpy())
    movable = changed["lead_id"].map(allowed).fillna(False).astype(bool)
    movers = changed[movable.to_numpy()]

    decision_ids = pd.Series(None, index=changed["lead_id"].to_numpy(), dtype=object)
    if not dry_run and len(movers):
        # Route the movers again with the real context, so pools take their turns and remember them.
        real_frame, real_ctx = prepare(con, mapping, movers["lead_id"], run.now, read_only=False,
                                       rules=rules)
        decided = engine.route(real_frame, rules, "new", real_ctx)
        decided["reason"] = "backfill " + f"{start}..{end}: " + decided["reason"].astype(str)
        recorded = decision_log.record(con, decided, entry="backfill", rules_version=rules.version,
                                       queue_ids=real_ctx.queue_ids, run=run)
        decision_ids.loc[recorded["lead_id"].to_numpy()] = recorded["decision_id"].to_numpy()
        save_states(con, real_ctx.pool_states, run.now)

    insert(con, "backfill_run", pd.DataFrame([dict(
        backfill_id=backfill_id, run_id=run.run_id, from_day=start, to_day=end, dry_run=dry_run,
        rules_version=rules.version, leads=len(current), moved=len(movers),
        blocked=int(len(changed) - len(movers)), started_at=run.now)]))
    insert(con, "backfill_change", pd.DataFrame({
        "backfill_id": backfill_id,
        "lead_id": changed["lead_id"].to_numpy(),
        "partition_day": changed["partition_day"].to_numpy(),
        "from_target": changed["from_target"].to_numpy(),
        "to_target": changed["to_target"].to_numpy(),
        "from_step": changed["step"].to_numpy(),
        "to_step": changed["to_step"].to_numpy(),
        "moved": (movable.to_numpy() & (not dry_run)),
        "kept_because": changed["lead_id"].map(reasons).to_numpy(),
        "decision_id": decision_ids.loc[changed["lead_id"].to_numpy()].to_numpy(),
    }))
    result.counts = {"leads": len(current), "changed": len(changed), "moved": 0 if dry_run else len(movers),
                     "would_move": len(movers), "kept_by_policy": int(len(changed) - len(movers))}
    result.details = {"backfill_id": backfill_id, "from": str(start), "to": str(end), "dry_run": dry_run,
                      "rules_version": rules.version}
    if len(changed):
        result.preview = changed[["lead_id", "partition_day", "from_target", "to_target", "step", "to_step"]].head(10)
    return result


def per_day(con: duckdb.DuckDBPyConnection, backfill_id: str, start: date, end: date) -> pd.DataFrame:
    """Per lead-creation day of a backfill: leads re-evaluated, whose target changed, moved, kept by the policy."""
    return con.execute(
        """WITH days AS (SELECT CAST(unnest(generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY)) AS DATE)
                         AS day),
                evaluated AS (SELECT partition_day AS day, count(*) AS leads FROM (
                    SELECT d.partition_day, d.action FROM current_decision d JOIN lead l USING (lead_id)
                    WHERE d.partition_day BETWEEN ? AND ?
                      AND NOT coalesce(l.is_converted, false) AND NOT coalesce(l.is_deleted, false))
                    WHERE action <> 'keep' GROUP BY 1),
                changes AS (SELECT partition_day AS day, count(*) AS changed, count(*) FILTER (WHERE moved) AS moved,
                                   count(*) FILTER (WHERE kept_because IS NOT NULL) AS kept_by_policy
                            FROM backfill_change WHERE backfill_id = ? GROUP BY 1)
           SELECT days.day, coalesce(e.leads, 0) AS leads, coalesce(c.changed, 0) AS changed,
                  coalesce(c.moved, 0) AS moved, coalesce(c.changed - c.kept_by_policy, 0) AS would_move,
                  coalesce(c.kept_by_policy, 0) AS kept_by_policy
           FROM days LEFT JOIN evaluated e USING (day) LEFT JOIN changes c USING (day) ORDER BY days.day""",
        [start, end, start, end, backfill_id]).df()

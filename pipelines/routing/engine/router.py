"""The routing engine: a flow of steps applied to a whole batch of leads at once.

For each step, in order, over the leads no earlier step decided:

1. the condition is evaluated as one boolean column (:mod:`.conditions`);
2. the action resolves an owner for every lead the condition holds for (a column
   lookup, a table merge, a pool's next members: :mod:`.actions`; a nested flow, a
   pool's fallback and a table row naming a pool are followed here, by :func:`resolve`);
3. where the action finds no valid owner (no matched account, an inactive owner,
   no table row, an empty pool), the step's fallback is tried; if that fails too,
   the lead continues to the next step.

A new lead that no step decides goes to the ``Unroutable`` queue with the reason,
so every lead ends with an owner or in a named queue; an updated lead that no step
decides keeps its decision (it is left out of the result). Each decision carries
its trace: the steps that did not apply, the steps that applied but found no owner
and why, the step that decided and its condition, the evidence (values of the
fields it used), the table line or pool state used, and the side actions. The
trace is built once per lead at the end, and is self-contained so that an
explanation stays true after the rules change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.routing.engine import actions, family, hold, side_actions, trace
from pipelines.routing.engine.actions import Resolution, merge
from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.language.model import ACCOUNT_ACTIONS, HOLD, Action, Step
from pipelines.routing.language.vocabulary import Columns
from pipelines.routing.ruleset.model import RuleSet

UNROUTABLE = "Unroutable"
NO_STEP = "(no step decided)"

__all__ = ["route", "resolve", "pool", "used_columns", "step_evidence", "UNROUTABLE", "NO_STEP"]


def route(frame: pd.DataFrame, rules: RuleSet, entry: str, ctx: RouteContext, *, keep_index: bool = False) -> pd.DataFrame:
    """Decide every lead of ``frame`` under ``rules.flows[entry]``.

    Returns one row per decided lead: lead_id, step, action, owner_id, queue, reason,
    trace (JSON) and side_actions (JSON list or None). Under the ``new`` flow every lead
    is decided (the Unroutable queue catches the rest); under ``updated`` only the leads
    a step decided are returned.
    """
    index = frame.index
    keep, missing = used_columns(frame, rules)
    frame = frame[keep].reset_index(drop=True)
    if missing:
        frame = pd.concat([frame, pd.DataFrame(None, index=frame.index, columns=missing, dtype=object)], axis=1)
    n = len(frame)
    steps: list[Step] = rules.flows[entry].steps if entry in rules.flows else []
    remaining = np.ones(n, dtype=bool)
    out_owner = np.full(n, None, dtype=object)
    out_queue = np.full(n, None, dtype=object)
    out_detail = np.full(n, None, dtype=object)
    out_side = np.full(n, None, dtype=object)
    out_via = np.full(n, None, dtype=object)
    out_pool = np.full(n, None, dtype=object)
    out_action = np.full(n, None, dtype=object)  # set where a step held the lead (action "hold")
    decided_at = np.full(n, len(steps), dtype=int)
    tried = np.zeros((n, len(steps)), dtype=bool)  # steps that applied but found nobody
    attempts = np.full(n, "", dtype=object)  # their JSON, in order
    columns = Columns(frame)  # each field normalised once, shared by every step
    views: dict[int, pd.DataFrame] = {}  # steps routed as a parent: the frame as they saw it
    for i, step in enumerate(steps):
        if not remaining.any():
            break
        view, view_columns, candidates, routed_as = frame, columns, remaining, None
        if step.route_as is not None:
            view, has, routed_as = family.as_ancestor(step.route_as, frame, rules, ctx, _step_fields(step))
            view_columns, candidates = Columns(view), remaining & has
            views[i] = view
        applies = candidates & evaluate(step.when, view, rules, view_columns)
        if step.hold is not None and applies.any():
            applies = _hold(step, i, view, applies, rules, ctx, view_columns, remaining, decided_at, out_queue,
                            out_detail, out_action, tried, attempts)
            if step.action.assign == HOLD:
                continue  # a step that only holds: the leads it lets go move on to the next step
        if not applies.any():
            continue
        sub = view[applies]
        sub_columns = view_columns.subset(applies, sub)
        res = resolve(step.action, sub, rules, ctx, sub_columns)
        if step.fallback is not None and not res.resolved.all():
            res = merge(res, resolve(step.fallback, sub[~res.resolved], rules, ctx), "fallback: ")
        if routed_as is not None:
            res.detail = routed_as[applies].to_numpy(dtype=object) + "; " + res.detail.astype(str)
            res.failure = (routed_as[applies].to_numpy(dtype=object) + "; " + res.failure.astype(str)).where(
                res.failure.notna(), None)
        ok = res.resolved
        pos = np.flatnonzero(applies)
        done, failed = pos[ok], pos[~ok]
        out_owner[done] = res.owner[ok].where(res.owner[ok].notna(), None).to_numpy()
        out_queue[done] = res.queue[ok].where(res.queue[ok].notna(), None).to_numpy()
        out_detail[done] = res.detail[ok].to_numpy()
        out_side[done] = _side(step, sub[ok], res, ok, ctx)
        if res.pool is not None:
            out_pool[done] = res.pool[ok].where(res.pool[ok].notna(), None).to_numpy()
        if res.via is not None:
            out_via[done] = res.via[ok].to_numpy()
        decided_at[done] = i
        remaining[done] = False
        if len(failed):
            tried[failed, i] = True
            why = trace.encode(("applied, but " + res.failure[~ok].astype(str)).to_numpy(dtype=object))
            attempts[failed] = trace.join(attempts[failed], '{"step": ' + trace.text(step.name) + ', "outcome": ' + why + "}")
    decided = ~remaining
    if entry == "new":
        # Nothing lost: whatever no step decided goes to the Unroutable queue, with the reason.
        rest = np.flatnonzero(remaining)
        out_queue[rest] = UNROUTABLE
        out_detail[rest] = f"queue {UNROUTABLE}: no step found an owner"
        decided[:] = True
    step_names = np.array([s.name for s in steps] + [NO_STEP], dtype=object)[decided_at]
    actions = np.array([s.action.assign for s in steps] + ["queue"], dtype=object)[decided_at]
    actions = np.where(pd.isna(out_action), actions, out_action).astype(object)
    traces = trace.build(
        n, entry=entry, version=rules.version, step_names=[s.name for s in steps],
        conditions=[s.when.describe() if s.when else None for s in steps] + [None],
        descriptions=[s.description for s in steps] + [""], decided_at=decided_at, tried=tried, attempts=attempts,
        evidence_json=step_evidence(frame, steps, decided_at, views), detail=out_detail, side=out_side, via=out_via,
        decided_by=step_names)
    out = pd.DataFrame({
        "lead_id": frame["lead_id"].to_numpy(),
        "step": step_names,
        "action": actions,
        "owner_id": out_owner,
        "queue": out_queue,
        "reason": step_names + ": " + out_detail.astype(str),
        "trace": traces,
        "side_actions": out_side,
        "pool": out_pool,
    }, index=index if keep_index else None)
    return out[decided] if not decided.all() else out


def resolve(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, columns: Columns | None = None
            ) -> Resolution:
    """Resolve ``action`` for every row of ``frame`` (``columns``: its normalised text, when known).

    Actions that lead to another are followed here: a nested flow routes the leads through
    that flow (its step, side actions and trace come along), a pool's leads nobody can take
    go to the pool's fallback, and a table row naming a pool gives its leads to that pool.
    """
    match action.assign:
        case "flow":
            return _nested_flow(action.params["flow"], frame, rules, ctx)
        case "pool":
            return pool(action.params["pool"], frame, rules, ctx)
        case "table":
            return _table(action, frame, rules, ctx, columns)
    return actions.resolve_direct(action, frame, rules, ctx)


def pool(name: str, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, *, exclude: tuple[str, ...] = ()
         ) -> Resolution:
    """The pool's next available members, leaving out ``exclude`` (an SLA's previous owners); the leads
    nobody can take go to the pool's fallback."""
    idx = frame.index
    res = actions.pool_members(name, frame, rules, ctx, exclude=exclude)
    if ctx.pools_as_targets:
        return res
    decl = rules.pools[name]
    if decl.fallback is not None and res.owner.isna().any():
        fb = resolve(decl.fallback, frame[res.owner.isna().to_numpy()], rules, ctx)
        res = merge(res, fb, f"pool {name} fallback: ")
    # The pool the rules chose, also for leads its fallback placed: where the rules send a lead is
    # what a diff or a backfill compares, not what the pool could do with it that day.
    res.pool = pd.Series(name, index=idx, dtype=object)
    return res


def _table(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, columns: Columns | None
           ) -> Resolution:
    res, pools = actions.table(action, frame, rules, ctx, columns)
    for pool_name in pools.dropna().unique():
        rows = pools.eq(pool_name).fillna(False).to_numpy(dtype=bool)
        sub = pool(pool_name, frame[rows], rules, ctx)
        res.owner[rows] = sub.owner.values
        res.queue[rows] = sub.queue.values
        res.failure[rows] = sub.failure.values
        res.detail[rows] = (res.detail[rows] + " -> " + sub.detail.astype(str)).values
        if sub.pool is not None:
            if res.pool is None:
                res.pool = pd.Series(None, index=res.owner.index, dtype=object)
            res.pool[rows] = sub.pool.values
    return res


def _nested_flow(entry: str, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    """Route through another flow (e.g. an activated lead as a new one); its step, side actions and trace come along."""
    decided = route(frame.drop(columns=[c for c in frame.columns if c.startswith(("prior.", "last_decision."))]),
                    rules, entry, ctx, keep_index=True)
    owner = decided["owner_id"].where(decided["owner_id"].notna(), pd.NA)
    queue = decided["queue"].where(decided["queue"].notna(), pd.NA)
    return Resolution(owner=owner, queue=queue, detail=f"routed as a {entry} lead: " + decided["reason"].astype(str),
                      failure=pd.Series(None, index=frame.index, dtype=object), side=decided["side_actions"],
                      via=decided["trace"])


# Fields actions read without the rules naming them.
IMPLICIT = ("lead_id", "lead.owner_id", "account.account_id", "account.master_id", "account.name", "account.owner_id",
            "account.ultimate_parent_owner_id", "account.hierarchy_path", "match.reason", "match.matched_lead_owner_id")


def used_columns(frame: pd.DataFrame, rules: RuleSet) -> tuple[list[str], list[str]]:
    """The frame's columns the rules can read (every field any flow names, what actions read, and all lead fields,
    which pools may weigh), and the named fields the frame lacks. Each step copies the rows it applies to, so
    narrower is faster."""
    named = set(IMPLICIT)
    for flow in rules.flows.values():
        named.update(flow.watch, (f"prior.{w}" for w in flow.watch))
        for step in flow.steps:
            named.update(step.when.fields() if step.when else [])
            if step.hold is not None:
                named.update(step.hold.fields())
            for action in (step.action, step.fallback):
                if action is not None:
                    named.update(action.fields())
                    if action.parent_where is not None:
                        named.update(action.parent_where.fields())
            if step.route_as is not None:
                named.update(step.route_as.fields())
            for side in step.side_actions:
                named.update(side.fields())
    keep = [c for c in frame.columns if c in named or c.startswith(("lead.", "last_decision.", "prior."))]
    # A hand-made frame (a test, a CSV simulation) may lack fields the real one always has
    # (the validator sees to that): they count as empty. prior.* stays absent for new leads.
    missing = sorted(c for c in named - set(frame.columns) if not c.startswith(("prior.", "last_decision.")))
    return keep, missing


def _hold(step: Step, i: int, frame: pd.DataFrame, applies: np.ndarray, rules: RuleSet, ctx: RouteContext,
          columns: Columns,
          remaining: np.ndarray, decided_at: np.ndarray, out_queue: np.ndarray, out_detail: np.ndarray,
          out_action: np.ndarray, tried: np.ndarray, attempts: np.ndarray) -> np.ndarray:
    """Decide the leads ``step`` holds (action hold, in their queue); return the leads it lets go on."""
    held, why = hold.holding(step.hold, frame, applies, rules, ctx, columns)
    rows = np.flatnonzero(held)
    if len(rows):
        out_queue[rows] = hold.queue_of(step.hold, frame, rules, rows)
        out_detail[rows] = why[rows]
        out_action[rows] = hold.HOLD_ACTION
        decided_at[rows] = i
        remaining[rows] = False
    going = applies & ~held
    if step.action.assign == HOLD and going.any():
        tried[going, i] = True
        note = trace.text(f"holds leads {step.hold.describe()}; this one may go on")
        item = np.full(int(going.sum()), '{"step": ' + trace.text(step.name) + ', "outcome": ' + note + "}", dtype=object)
        attempts[going] = trace.join(attempts[going], item)
    return going


def _side(step: Step, rows: pd.DataFrame, res: Resolution, ok: np.ndarray, ctx: RouteContext) -> np.ndarray:
    """The step's own side actions, plus any a nested flow's step decided, per decided lead (JSON list text)."""
    own = side_actions.render(step.side_actions, rows, ctx.now, to_person=res.owner[ok].notna().to_numpy(),
                              crm_notify=step.notify is not None and step.notify.crm)
    if res.side is None:
        return own
    inner = res.side[ok].to_numpy(dtype=object)
    return trace.as_list(trace.join(trace.unwrap(own), trace.unwrap(inner)))


def _step_fields(step: Step) -> list[str]:
    """The fields a step looks at: its condition, action, hold and fallback."""
    cols = (step.when.fields() if step.when else []) + step.action.fields()
    if step.hold is not None and step.hold.until is not None:
        cols += step.hold.until.fields()
    if step.fallback:
        cols += step.fallback.fields()
    return cols


def step_evidence(frame: pd.DataFrame, steps: list[Step], decided_at: np.ndarray,
                  views: dict[int, pd.DataFrame] | None = None) -> np.ndarray:
    """Per lead, the values of the fields its deciding step looked at, as JSON text (a step routed as a
    parent: the parent's, as in ``views``)."""
    out = np.full(len(frame), "{}", dtype=object)
    for i, step in enumerate(steps):
        rows = np.flatnonzero(decided_at == i)
        if not len(rows):
            continue
        cols = _step_fields(step)
        if step.action.assign in ACCOUNT_ACTIONS or any(c.startswith("account.") for c in cols):
            cols += ["account.account_id", "account.name", "match.reason"]
        cols = [c for c in dict.fromkeys(cols) if c in frame.columns]
        out[rows] = trace.evidence((views or {}).get(i, frame), rows, cols)
    return out

"""The routing engine: a flow of steps applied to a whole batch of leads at once.

For each step, in order, over the leads no earlier step decided:

1. the condition is evaluated as one boolean column (:mod:`.vocabulary`);
2. the action resolves an owner for every lead the condition holds for (a column
   lookup, a table merge, a pool's next members);
3. where the action finds no valid owner (no matched account, an inactive owner,
   no table row, an empty pool), the step's fallback is tried; if that fails too,
   the lead continues to the next step.

A lead that no step decides goes to the ``Unroutable`` queue with the reason, so
every lead ends with an owner or in a named queue. Each decision carries its
trace: the steps that did not apply, the steps that applied but found no owner
and why, the step that decided, the evidence (values of the fields it used) and
the table line or pool state it used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from pipelines.routing import pools as pool_mod
from pipelines.routing import tables as table_mod
from pipelines.routing.model import Action, Condition, FieldCondition, GroupCondition, InTableCondition, NotCondition, RuleSet, Step
from pipelines.routing.vocabulary import OPERATORS, to_mask

UNROUTABLE = "Unroutable"


@dataclass
class RouteContext:
    """What the engine needs besides the rules and the leads."""

    now: datetime
    queue_ids: dict[str, str]  # queue developer name -> CRM id
    crm_active: set[str] | None = None  # active CRM users; None when unknown (e.g. CSV simulations)
    user_names: dict[str, str] = field(default_factory=dict)
    pool_states: pool_mod.PoolBook = field(default_factory=pool_mod.PoolBook)  # what pools remember (pools.load_states)

    def state(self, pool: str) -> pool_mod.PoolState:
        return self.pool_states.state(pool)

    def name(self, user_id) -> str:
        return self.user_names.get(user_id, user_id)


@dataclass
class Resolution:
    """An action's answer for a batch: owner or queue per lead, a detail line, or why not."""

    owner: pd.Series  # user id, or NA
    queue: pd.Series  # queue name, or NA
    detail: pd.Series  # one line per lead
    failure: pd.Series  # why no owner, where unresolved

    @property
    def resolved(self) -> np.ndarray:
        return (self.owner.notna() | self.queue.notna()).to_numpy()


def evaluate(cond: Condition | None, frame: pd.DataFrame, rules: RuleSet) -> np.ndarray:
    """The condition as a boolean array over the frame's rows."""
    if cond is None:
        return np.ones(len(frame), dtype=bool)
    if isinstance(cond, FieldCondition):
        return to_mask(OPERATORS[cond.op].apply(frame[cond.field], cond.value))
    if isinstance(cond, GroupCondition):
        masks = [evaluate(c, frame, rules) for c in cond.items]
        return np.logical_and.reduce(masks) if cond.kind == "all" else np.logical_or.reduce(masks)
    if isinstance(cond, NotCondition):
        return ~evaluate(cond.item, frame, rules)
    if isinstance(cond, InTableCondition):
        found = table_mod.lookup(rules.tables[cond.table], rules.table_rows[cond.table], frame, cond.lookup)
        return found["line"].notna().to_numpy()
    raise TypeError(f"unknown condition {cond!r}")


def _is_valid_user(owner: pd.Series, ctx: RouteContext, rules: RuleSet) -> pd.Series:
    if ctx.crm_active is not None:
        return owner.isin(ctx.crm_active)
    return owner.isin(set(rules.reps.loc[rules.reps["active"], "user_id"]))


def _owner_column(values: pd.Series, what: str, ctx: RouteContext, rules: RuleSet) -> Resolution:
    owner = values.astype(object).where(values.notna(), None)
    valid = _is_valid_user(owner, ctx, rules)
    names = owner.map(lambda u: ctx.name(u) if u else None)
    failure = pd.Series(f"no {what}", index=values.index, dtype=object)
    failure = failure.where(owner.isna(), f"{what} " + names.astype(str) + " is not an active user")
    return Resolution(
        owner=owner.where(valid, pd.NA),
        queue=pd.Series(pd.NA, index=values.index, dtype=object),
        detail=f"{what} " + names.astype(str),
        failure=failure.where(~valid, None),
    )


def resolve(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    """Resolve ``action`` for every row of ``frame``."""
    idx = frame.index
    na = pd.Series(pd.NA, index=idx, dtype=object)
    p = action.params
    match action.assign:
        case "account_owner":
            return _owner_column(frame["account.owner_id"], "account owner", ctx, rules)
        case "ultimate_parent_owner":
            return _owner_column(frame["account.ultimate_parent_owner_id"], "ultimate parent's owner", ctx, rules)
        case "account_field":
            return _owner_column(frame[f"account.{p['field']}"], f"account's {p['field']}", ctx, rules)
        case "lead_owner":
            return _owner_column(frame["match.matched_lead_owner_id"], "owner of the company's existing lead", ctx, rules)
        case "keep":
            return _owner_column(frame["lead.owner_id"], "current owner", ctx, rules)
        case "user":
            return _owner_column(pd.Series(p["user"], index=idx, dtype=object), "user", ctx, rules)
        case "queue":
            queue = rules.queues.get(p["queue"])
            return Resolution(owner=na, queue=pd.Series(p["queue"], index=idx, dtype=object),
                              detail=pd.Series(f"queue {p['queue']}" + (f": {queue.purpose}" if queue and queue.purpose else ""), index=idx),
                              failure=pd.Series(None, index=idx, dtype=object))
        case "pool":
            return _pool(p["pool"], frame, rules, ctx)
        case "table":
            return _table(action, frame, rules, ctx)
    raise ValueError(f"unknown action {action.assign!r}")


def _pool(name: str, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    idx = frame.index
    pool = rules.pools[name]
    owner, detail = pool_mod.assign(pool, frame, rules, ctx)
    res = Resolution(owner=owner, queue=pd.Series(pd.NA, index=idx, dtype=object),
                     detail=detail, failure=detail.where(owner.isna(), None))
    if pool.fallback is not None and owner.isna().any():
        fb = resolve(pool.fallback, frame[owner.isna().to_numpy()], rules, ctx)
        res = _merge(res, fb, f"pool {name} fallback: ")
    return res


def _table(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    idx = frame.index
    name = action.params["table"]
    decl = rules.tables[name]
    found = table_mod.lookup(decl, rules.table_rows[name], frame, action.params["lookup"])
    value = found["value"].astype(object)
    keys = ", ".join(action.params["lookup"])
    where_line = f"{decl.file} line " + found["line"].astype("string").fillna("?")
    is_queue = value.astype("string").str.startswith("queue:").fillna(False)
    is_pool = value.astype("string").str.startswith("pool:").fillna(False)
    users = value.where(~is_queue & ~is_pool, None)
    res = _owner_column(users, "table owner", ctx, rules)
    queue = value.where(is_queue, pd.NA).astype("string").str.removeprefix("queue:").astype(object)
    res.queue = queue.where(queue.notna(), pd.NA)
    res.detail = f"table {name} ({keys}), " + where_line + ": " + value.astype(str)
    res.failure = res.failure.where(found["line"].notna(), f"no row of table {name} matches ({keys})")
    res.failure = res.failure.where(~is_queue, None)
    if is_pool.any():
        for pool_name in value[is_pool].str.removeprefix("pool:").unique():
            rows = (value == f"pool:{pool_name}").to_numpy()
            sub = _pool(pool_name, frame[rows], rules, ctx)
            res.owner[rows] = sub.owner.values
            res.failure[rows] = sub.failure.values
            res.detail[rows] = (res.detail[rows] + " -> " + sub.detail).values
    return res


def _merge(first: Resolution, second: Resolution, prefix: str) -> Resolution:
    """Fill ``first``'s unresolved rows from ``second`` (indexed by a subset of the same index)."""
    owner, queue = first.owner.copy(), first.queue.copy()
    detail, failure = first.detail.copy(), first.failure.copy()
    ix = second.owner.index
    take = pd.Series(second.resolved, index=ix)
    owner.loc[ix] = second.owner.where(take, owner.loc[ix])
    queue.loc[ix] = second.queue.where(take, queue.loc[ix])
    detail.loc[ix] = (prefix + second.detail).where(take, detail.loc[ix])
    failure.loc[ix] = failure.loc[ix].where(~take, None)
    failure.loc[ix] = failure.loc[ix].where(take, failure.loc[ix].astype(str) + "; fallback: " + second.failure.astype(str))
    return Resolution(owner, queue, detail, failure)


def route(frame: pd.DataFrame, rules: RuleSet, entry: str, ctx: RouteContext) -> pd.DataFrame:
    """Decide every lead of ``frame`` under ``rules.flows[entry]``.

    Returns one row per lead: lead_id, step, action, owner_id, queue, reason, trace (JSON).
    """
    n = len(frame)
    frame = frame.reset_index(drop=True)
    steps: list[Step] = rules.flows[entry].steps if entry in rules.flows else []
    remaining = np.ones(n, dtype=bool)
    out_step = np.full(n, None, dtype=object)
    out_action = np.full(n, None, dtype=object)
    out_owner = np.full(n, None, dtype=object)
    out_queue = np.full(n, None, dtype=object)
    out_detail = np.full(n, None, dtype=object)
    decided_at = np.full(n, len(steps), dtype=int)
    attempts: dict[int, list[dict]] = {}
    for i, step in enumerate(steps):
        if not remaining.any():
            break
        applies = remaining & evaluate(step.when, frame, rules)
        if not applies.any():
            continue
        sub = frame[applies]
        res = resolve(step.action, sub, rules, ctx)
        if step.fallback is not None and not res.resolved.all():
            fb = resolve(step.fallback, sub[~res.resolved], rules, ctx)
            res = _merge(res, fb, "fallback: ")
        ok = res.resolved
        pos = np.flatnonzero(applies)
        done, failed = pos[ok], pos[~ok]
        out_step[done] = step.name
        out_action[done] = step.action.assign
        out_owner[done] = res.owner[ok].where(res.owner[ok].notna(), None).to_numpy()
        out_queue[done] = res.queue[ok].where(res.queue[ok].notna(), None).to_numpy()
        out_detail[done] = res.detail[ok].to_numpy()
        decided_at[done] = i
        remaining[done] = False
        for p, why in zip(failed, res.failure[~ok]):
            attempts.setdefault(int(p), []).append({"step": step.name, "outcome": f"applied, but {why}"})
    # Nothing lost: whatever no step decided goes to the Unroutable queue, with the reason.
    rest = np.flatnonzero(remaining)
    out_step[rest] = "(no step decided)"
    out_action[rest] = "queue"
    out_queue[rest] = UNROUTABLE
    out_detail[rest] = f"queue {UNROUTABLE}: no step found an owner"

    evidence = _evidence(frame, steps, decided_at)
    trace = [
        json.dumps(
            {
                "entry": entry,
                "rules_version": rules.version,
                "not_applicable": [s.name for s in steps[: decided_at[k]] if s.name not in {a["step"] for a in attempts.get(k, [])}],
                "attempts": attempts.get(k, []),
                "decided_by": out_step[k],
                "condition": steps[decided_at[k]].when.describe() if decided_at[k] < len(steps) and steps[decided_at[k]].when else None,
                "evidence": evidence[k],
                "detail": out_detail[k],
            },
            default=str,
        )
        for k in range(n)
    ]
    return pd.DataFrame(
        {
            "lead_id": frame["lead_id"].to_numpy(),
            "step": out_step,
            "action": out_action,
            "owner_id": out_owner,
            "queue": out_queue,
            "reason": [f"{s}: {d}" for s, d in zip(out_step, out_detail)],
            "trace": trace,
        }
    )


def _evidence(frame: pd.DataFrame, steps: list[Step], decided_at: np.ndarray) -> list[dict]:
    """Per lead, the values of the fields its deciding step looked at."""
    out: list[dict] = [{} for _ in range(len(frame))]
    for i, step in enumerate(steps):
        rows = np.flatnonzero(decided_at == i)
        if not len(rows):
            continue
        cols = list(dict.fromkeys((step.when.fields() if step.when else []) + step.action.fields()))
        if step.action.assign in ("account_owner", "ultimate_parent_owner", "account_field"):
            cols += ["account.account_id", "account.name", "match.reason"]
        cols = [c for c in dict.fromkeys(cols) if c in frame.columns]
        if not cols:
            continue
        values = frame.loc[rows, cols].astype(object).where(frame.loc[rows, cols].notna(), None).to_dict("records")
        for r, v in zip(rows, values):
            out[r] = v
    return out

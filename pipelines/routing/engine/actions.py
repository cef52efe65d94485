"""Actions: who gets the leads a step's condition holds for, resolved for the whole batch.

Each action returns a :class:`Resolution`: per lead an owner (a user id) or a queue,
a line saying how (the detail stored in the trace), or why nobody was found (no
matched account, an inactive owner, no table row, an empty pool). The engine then
tries the step's fallback, or moves the lead on to the next step.

Here are the actions that find an owner by themselves (:func:`resolve_direct`), a table's
rows (:func:`table`) and a pool's next members (:func:`pool_members`). What leads to another
action (a nested flow, a pool's fallback, a table row naming a pool) is followed by the
engine itself (:func:`pipelines.routing.engine.router.resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.engine.family import account_values, ancestors
from pipelines.routing.engine.trace import words
from pipelines.routing.language.model import DEFAULT_TIE_BREAK, TIE_BREAKS, Action
from pipelines.routing.pools.allocation import assign
from pipelines.routing.pools.membership import members
from pipelines.routing.ruleset.model import RuleSet
from pipelines.routing.tables.lookup import lookup


@dataclass
class Resolution:
    """An action's answer for a batch: owner or queue per lead, a detail line, or why not."""

    owner: pd.Series  # user id, or NA
    queue: pd.Series  # queue name, or NA
    detail: pd.Series  # one line per lead
    failure: pd.Series  # why no owner, where unresolved
    side: pd.Series | None = None  # side actions decided inside the action (a nested flow's step), per lead
    via: pd.Series | None = None  # a nested flow's trace, per lead
    pool: pd.Series | None = None  # the distribution pool that picked the owner, per lead (diff and backfill
    # compare "pool X" rather than the member a round-robin turn happened to give)

    @property
    def resolved(self) -> np.ndarray:
        return (self.owner.notna() | self.queue.notna()).to_numpy()


def _na(idx: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=idx, dtype=object)


def is_valid_user(owner: pd.Series, ctx: RouteContext, rules: RuleSet) -> pd.Series:
    """Active in the CRM (when its users are known), else active in the roster."""
    if ctx.crm_active is not None:
        return owner.isin(ctx.crm_active)
    return owner.isin(set(rules.reps.loc[rules.reps["active"], "user_id"]))


def owner_column(values: pd.Series, what: str, ctx: RouteContext, rules: RuleSet, detail: pd.Series | None = None
                 ) -> Resolution:
    """Owners named in a column: valid where the user is active, else a failure saying who and why."""
    owner = values.astype(object).where(values.notna(), None)
    valid = is_valid_user(owner, ctx, rules)
    names = ctx.names(owner)
    failure = pd.Series(None, index=values.index, dtype=object)
    invalid = ~valid
    if invalid.any():
        failure[invalid] = f"no {what}"
        inactive = invalid & owner.notna()
        failure[inactive] = words(f"{what} ", names[inactive], " is not an active user")
    return Resolution(
        owner=owner.where(valid, pd.NA),
        queue=_na(values.index),
        detail=words(f"{what} ", names) if detail is None else detail + ": " + names.astype(str),
        failure=failure,
    )


def resolve_direct(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    """Resolve an action that finds its owner by itself (not ``flow``, ``pool`` or ``table``) for every row of ``frame``."""
    idx = frame.index
    p = action.params
    match action.assign:
        case "account_owner":
            return owner_column(frame["account.owner_id"], "account owner", ctx, rules)
        case "ultimate_parent_owner":
            return owner_column(frame["account.ultimate_parent_owner_id"], "ultimate parent's owner", ctx, rules)
        case "hierarchy_owner":
            return _hierarchy(action, frame, rules, ctx)
        case "opportunity_owner":
            return _opportunity(action, frame, rules, ctx)
        case "user_in_field":
            return owner_column(frame[p["field"]], f"user in {p['field']}", ctx, rules)
        case "lead_owner" if action.lead_where is not None:
            return _company_lead(action, frame, rules, ctx)
        case "lead_owner":
            return owner_column(frame["match.matched_lead_owner_id"], "owner of the company's existing lead", ctx, rules)
        case "keep":
            return owner_column(frame["lead.owner_id"], "current owner", ctx, rules)
        case "user":
            return owner_column(pd.Series(str(p["user"]), index=idx, dtype=object), "user", ctx, rules)
        case "queue":
            queue = rules.queues.get(p["queue"])
            return Resolution(owner=_na(idx), queue=pd.Series(p["queue"], index=idx, dtype=object),
                              detail=pd.Series(f"queue {p['queue']}" + (f": {queue.purpose}" if queue and queue.purpose else ""), index=idx),
                              failure=pd.Series(None, index=idx, dtype=object))
    raise ValueError(f"action {action.assign!r} is resolved by the engine (engine.router.resolve), not directly")


def merge(first: Resolution, second: Resolution, prefix: str) -> Resolution:
    """Fill ``first``'s unresolved rows from ``second`` (indexed by a subset of the same index)."""
    owner, queue = first.owner.copy(), first.queue.copy()
    detail, failure = first.detail.copy(), first.failure.copy()
    ix = second.owner.index
    take = pd.Series(second.resolved, index=ix)
    owner.loc[ix] = second.owner.where(take, owner.loc[ix])
    queue.loc[ix] = second.queue.where(take, queue.loc[ix])
    # Keep why the first action found nobody (e.g. who the pool skipped) before what the fallback did.
    why_first = failure.loc[ix].astype("string").fillna("").str.cat(pd.Series("; ", index=ix)).where(
        failure.loc[ix].notna(), "")
    detail.loc[ix] = (why_first + prefix + second.detail.astype(str)).where(take, detail.loc[ix])
    failure.loc[ix] = failure.loc[ix].where(~take, None)
    failure.loc[ix] = failure.loc[ix].where(take, failure.loc[ix].astype(str) + "; " + prefix + second.failure.astype(str))
    side, via, pool_of = first.side, first.via, first.pool
    if second.side is not None:
        side = (first.side.copy() if first.side is not None else pd.Series(None, index=first.owner.index, dtype=object))
        side.loc[ix] = second.side.where(take, side.loc[ix])
    if second.via is not None:
        via = (first.via.copy() if first.via is not None else pd.Series(None, index=first.owner.index, dtype=object))
        via.loc[ix] = second.via.where(take, via.loc[ix])
    if second.pool is not None or first.pool is not None:
        pool_of = first.pool.copy() if first.pool is not None else pd.Series(None, index=first.owner.index, dtype=object)
        taken = second.pool if second.pool is not None else pd.Series(None, index=ix, dtype=object)
        pool_of.loc[ix] = taken.where(take, pool_of.loc[ix])
    return Resolution(owner, queue, detail, failure, side, via, pool_of)


def pool_members(name: str, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, *,
                 exclude: tuple[str, ...] = ()) -> Resolution:
    """The pool's next available member for each lead (NA where nobody can take it: the engine then
    tries the pool's fallback), leaving out the members in ``exclude`` (an SLA's previous owners)."""
    idx = frame.index
    if ctx.pools_as_targets:
        label = pd.Series(f"pool:{name}", index=idx, dtype=object)
        return Resolution(owner=label, queue=_na(idx), detail=pd.Series(f"pool {name} (no member chosen)", index=idx),
                          failure=pd.Series(None, index=idx, dtype=object), pool=pd.Series(name, index=idx, dtype=object))
    decl = rules.pools[name]
    if exclude:
        keep = [u for u in members(decl, rules.reps)["user_id"] if u not in exclude]
        decl = decl.model_copy(update={"members": keep, "member_filter": {}})
    if exclude and not decl.members:
        owner = pd.Series(pd.NA, index=idx, dtype=object)
        detail = pd.Series(f"pool {name}: nobody but its previous owners", index=idx, dtype=object)
    else:
        owner, detail = assign(decl, frame, rules, ctx)
    return Resolution(owner=owner, queue=_na(idx), detail=detail, failure=detail.where(owner.isna(), None),
                      pool=pd.Series(name, index=idx, dtype=object).where(owner.notna(), None))


def table(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, columns=None
          ) -> tuple[Resolution, pd.Series]:
    """The owner or queue each lead's table row names, and per lead the pool a row names instead (NA for none:
    the engine gives those leads to the pool)."""
    name = action.params["table"]
    decl = rules.tables[name]
    found = lookup(decl, rules.table_rows[name], frame, action.params["lookup"], columns)
    value = found["value"].astype(object)
    keys = ", ".join(action.params["lookup"])
    where_line = words(f"{decl.file} line ", found["line"].astype("string").fillna("?"))
    text = value.astype("string")
    is_queue = text.str.startswith("queue:").fillna(False).astype(bool)
    is_pool = text.str.startswith("pool:").fillna(False).astype(bool)
    users = value.where(~is_queue & ~is_pool, None)
    res = owner_column(users, "table owner", ctx, rules)
    queue = text.where(is_queue).str.removeprefix("queue:").astype(object)
    res.queue = queue.where(queue.notna(), pd.NA)
    res.detail = words(f"table {name} ({keys}), ", where_line + ": " + ctx.names(value).astype(str))
    res.failure = res.failure.where(found["line"].notna(), f"no row of table {name} matches ({keys})")
    res.failure = res.failure.where(~is_queue, None)
    pools = text.where(is_pool).str.removeprefix("pool:").astype(object)
    return res, pools.where(pools.notna(), pd.NA)


def _hierarchy(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    """The owner of an account above the matched one, found on each account's own hierarchy path."""
    idx = frame.index
    level = action.params.get("level")
    if level is not None:
        what = f"owner of the level-{level} account in the hierarchy"
    else:
        what = f"owner of the nearest parent where {action.parent_where.describe()}"
    chosen = ancestors(frame, rules, ctx, level=level, parent_where=action.parent_where).dropna()
    owners = account_values(ctx, chosen, "account.owner_id")
    names = account_values(ctx, chosen, "account.name")
    owner = pd.Series(None, index=idx, dtype=object)
    owner.loc[chosen.index] = owners.to_numpy()
    label = pd.Series("", index=idx, dtype=object)
    label.loc[chosen.index] = names.astype(str).to_numpy() + " (" + chosen.astype(str).to_numpy() + ")"
    res = owner_column(owner, what, ctx, rules, detail=what + " " + label)
    res.failure = res.failure.where(owner.notna() | res.failure.isna(),
                                    "no matched account" if level is not None else f"no parent account where {action.parent_where.describe()}")
    return res


def _company_lead(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    """The owner of the company's most recent earlier lead whose fields satisfy ``lead_where`` (same
    domain before same name, then the newest, as lead-to-lead matching ranks them)."""
    idx = frame.index
    what = f"owner of the company's latest lead where {action.lead_where.describe()}"
    peers = ctx.company_leads if ctx.company_leads is not None else pd.DataFrame(columns=["_for", "_by", "lead_id"])
    peers = peers[peers["_for"].isin(frame["lead_id"])].reset_index(drop=True)
    ok = evaluate(action.lead_where, peers, rules) if len(peers) else np.zeros(0, dtype=bool)
    found = peers[ok]
    if len(found):
        created = found["lead.created_at"] if "lead.created_at" in found else pd.Series(None, index=found.index)
        found = (found.assign(_domain=found["_by"].eq("domain"), _created=pd.to_datetime(created))
                 .sort_values(["_for", "_domain", "_created", "lead_id"], ascending=[True, False, False, True],
                              na_position="last")
                 .drop_duplicates("_for"))
    per_lead = found.set_index("_for") if len(found) else pd.DataFrame(columns=["lead_id", "lead.owner_id", "_by"])
    ids = frame["lead_id"]
    owner = ids.map(per_lead["lead.owner_id"]) if len(per_lead) else pd.Series(None, index=idx, dtype=object)
    label = (what + " " + ids.map(per_lead["lead_id"]).astype(str) + " (same company "
             + ids.map(per_lead["_by"]).astype(str) + ")") if len(per_lead) else pd.Series(what, index=idx)
    res = owner_column(owner.astype(object), what, ctx, rules, detail=label.astype(object))
    res.failure = res.failure.where(owner.notna() | res.failure.isna(),
                                    f"no earlier lead of the company where {action.lead_where.describe()}")
    return res


def _opportunity(action: Action, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext) -> Resolution:
    """The owner of an open opportunity of the matched account's master entity, in the listed stages."""
    idx = frame.index
    stages = [str(s).lower() for s in action.params.get("stages") or []]
    opps = ctx.opportunities if ctx.opportunities is not None else pd.DataFrame(
        columns=["opportunity_id", "master_id", "stage", "owner_id", "name", "close_date"])
    key = frame["account.master_id"].where(frame["account.master_id"].notna(), frame["account.account_id"])
    probe = pd.DataFrame({"_pos": np.arange(len(frame)), "master_id": key.to_numpy()}).dropna()
    cand = probe.merge(opps, on="master_id")
    stage = cand["stage"].astype("string").str.lower()
    if stages:
        cand = cand[stage.isin(stages).fillna(False).to_numpy()]
        cand = cand.assign(_rank=cand["stage"].astype("string").str.lower().map({s: i for i, s in enumerate(stages)}))
    else:
        cand = cand.assign(_rank=0)
    tie_break = action.params.get("tie_break", DEFAULT_TIE_BREAK)
    column, larger, words_of = TIE_BREAKS[tie_break]
    if column not in cand:
        cand = cand.assign(**{column: None})
    best = cand.sort_values(["_pos", "_rank", column], ascending=[True, True, not larger])
    tied = best.groupby(["_pos", "_rank"], sort=False)["opportunity_id"].transform("size")
    best = best.assign(_tied=tied.to_numpy()).drop_duplicates("_pos")
    owner = pd.Series(None, index=idx, dtype=object)
    label = pd.Series("", index=idx, dtype=object)
    rows = idx[best["_pos"].to_numpy(dtype=int)]
    owner.loc[rows] = best["owner_id"].to_numpy()
    # two or more open in the stage that won: say which key told them apart
    tie = pd.Series("", index=idx, dtype=object)
    tie.loc[rows] = np.where(best["_tied"].to_numpy() > 1, " (" + best["_tied"].astype(str).to_numpy(dtype=object)
                             + f" open in the stage: the {words_of} won)", "")
    label.loc[rows] = ("opportunity " + best["name"].astype(str) + " (" + best["opportunity_id"].astype(str) + ", "
                       + best["stage"].astype(str) + ") owner").to_numpy()
    res = owner_column(owner, "opportunity owner", ctx, rules, detail=label)
    res.detail = res.detail + tie
    what = f"in stage {', '.join(action.params['stages'])}" if stages else ""
    res.failure = res.failure.where(owner.notna() | res.failure.isna(), f"no open opportunity {what}".strip())
    return res

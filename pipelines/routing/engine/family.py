"""The account family: which account above the matched one a lead stands for, and the lead seen as it.

Two things read the accounts above a lead's matched account (each account's own
``hierarchy_path``, ultimate parent first, and ``RouteContext.accounts``):

- ``hierarchy_owner`` gives the lead to the owner of an ancestor (:func:`ancestors`);
- ``route_as`` on a step routes the lead *as* an ancestor (:func:`as_ancestor`): the step's
  condition, table lookups and action read the ancestor's ``account.*`` fields (its country,
  employees, owner), while ``lead.*`` and ``match.*`` stay the lead's own. That is the
  Openprise "route by hierarchy": a subsidiary's lead lands in the parent's territory.

"Nearest parent where" means strictly above the matched account, nearest first, in both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.language.model import Condition, RouteAs
from pipelines.routing.ruleset.model import RuleSet


def ancestors(frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, *, level: int | None = None,
              parent_where: Condition | None = None) -> pd.Series:
    """Per lead (indexed like ``frame``), the account id at hierarchy ``level`` (an account at or above
    the level stands for itself), or of the nearest parent where ``parent_where`` holds; None for none."""
    out = pd.Series(None, index=frame.index, dtype=object)
    paths = frame["account.hierarchy_path"].astype("string").str.split(" > ")
    chain = paths.explode().dropna().rename("ancestor").to_frame()
    if chain.empty:
        return out
    chain["level"] = chain.groupby(level=0).cumcount()
    chain["depth"] = chain.index.map(paths.str.len()) - 1
    if level is not None:
        wanted = chain[chain["level"] == np.minimum(int(level), chain["depth"])]
    else:
        parents = chain[chain["level"] < chain["depth"]]  # strictly above the matched account
        accounts = ctx.accounts if ctx.accounts is not None else pd.DataFrame()
        rows = parents.join(accounts, on="ancestor") if len(accounts) else parents
        ok = evaluate(parent_where, rows.reset_index(drop=True), rules) if len(rows) else np.zeros(0, bool)
        # nearest first: the deepest ancestor that satisfies the condition
        wanted = rows[ok].sort_values("level", ascending=False).groupby(level=0).head(1)
    out.loc[wanted.index] = wanted["ancestor"].to_numpy(dtype=object)
    return out


def account_values(ctx: RouteContext, ids: pd.Series, column: str) -> pd.Series:
    """``column`` of the accounts ``ids`` (positionally; None where unknown)."""
    if ctx.accounts is None or column not in ctx.accounts.columns:
        return pd.Series([None] * len(ids), dtype=object)
    return ctx.accounts[column].reindex(ids.to_numpy()).reset_index(drop=True)


def as_ancestor(route_as: RouteAs, frame: pd.DataFrame, rules: RuleSet, ctx: RouteContext, shown: list[str]
                ) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """The frame with each lead's ``account.*`` fields taken from the ancestor ``route_as`` picks.

    Returns the frame as the step sees it, which leads have such an ancestor (the others skip the
    step), and per lead the line the trace gives: "routed as Globex (001G): account.billing_country
    DE, account.employees 10000" with the ``shown`` fields the step reads.
    """
    if route_as.kind == "ultimate_parent":
        chosen = ancestors(frame, rules, ctx, level=0)
    else:
        chosen = ancestors(frame, rules, ctx, parent_where=route_as.parent_where)
    has = chosen.notna().to_numpy()
    view = frame.copy()
    accounts = ctx.accounts if ctx.accounts is not None else pd.DataFrame()
    rows = np.flatnonzero(has)
    ids = chosen.iloc[rows]
    for column in [c for c in frame.columns if c.startswith("account.") and c in accounts.columns]:
        values = view[column].astype(object).to_numpy(copy=True)
        values[rows] = account_values(ctx, ids, column).to_numpy(dtype=object)
        view[column] = values
    if "account.account_id" in view.columns:  # an ancestor is its own account, whatever ctx.accounts holds
        values = view["account.account_id"].astype(object).to_numpy(copy=True)
        values[rows] = ids.to_numpy(dtype=object)
        view["account.account_id"] = values
    label = pd.Series("", index=frame.index, dtype=object)
    if len(rows):
        names = account_values(ctx, ids, "account.name").fillna("?").astype(str).to_numpy(dtype=object)
        text = "routed as " + names + " (" + ids.astype(str).to_numpy(dtype=object) + ")"
        parts = []
        for column in dict.fromkeys(shown):
            if column.startswith("account.") and column in view.columns and column not in ("account.name",
                                                                                               "account.account_id"):
                value = pd.Series(view[column].to_numpy(dtype=object)[rows]).astype("string").fillna("(empty)")
                parts.append(column + " " + value.to_numpy(dtype=object))
        if parts:
            text = text + ": " + _joined(parts)
        label.iloc[rows] = text
    return view, has, label


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    out = parts[0]
    for part in parts[1:]:
        out = out + ", " + part
    return out

"""Account hierarchy from ParentId chains: parent, ultimate parent, depth and path per account.

Walks all chains one level at a time, vectorised (one pandas ``map`` per level, so
cost is depth x accounts, and real hierarchies are shallow). Every record stands
alone: it carries its own ultimate parent and full path, so routing never walks a
tree. Bad data is reported, never looped on: a parent that does not exist is
"dangling" (the account is treated as top-level), and accounts on a cycle are
flagged and treated as their own top.
"""

from __future__ import annotations

import pandas as pd

MAX_DEPTH = 64


def build_hierarchy(accounts: pd.DataFrame) -> pd.DataFrame:
    """``accounts`` has account_id, parent_id; returns one row per account with its place in the tree."""
    ids = accounts["account_id"].astype(object)
    known = set(ids)
    raw_parent = accounts["parent_id"].astype(object).where(accounts["parent_id"].notna(), None)
    dangling = raw_parent.notna() & ~raw_parent.isin(known)
    self_parent = raw_parent == ids
    parent = raw_parent.where(~dangling & ~self_parent, None)
    parent_of = pd.Series(parent.values, index=ids.values)

    cur = parent.copy()
    top = ids.copy()
    depth = pd.Series(0, index=ids.index)
    path = ids.astype(str)
    for _ in range(MAX_DEPTH):
        live = cur.notna()
        if not live.any():
            break
        top = top.where(~live, cur)
        depth = depth + live.astype(int)
        path = path.where(~live, cur.astype(str) + " > " + path)
        cur = cur.map(parent_of).where(live, None)
        cur = cur.astype(object).where(cur.notna(), None)
    on_cycle = cur.notna()  # still climbing after MAX_DEPTH levels: a cycle above (or at) this account

    issue = pd.Series(None, index=ids.index, dtype=object)
    issue = issue.where(~dangling, "dangling parent " + raw_parent.astype(str) + " (not in the CRM)")
    issue = issue.where(~self_parent, "account is its own parent")
    issue = issue.where(~on_cycle, "parent chain has a cycle")
    return pd.DataFrame(
        {
            "account_id": ids.values,
            "parent_id": parent.values,
            "ultimate_parent_id": top.where(~on_cycle, ids).values,
            "depth": depth.where(~on_cycle, 0).astype(int).values,
            "hierarchy_path": path.where(~on_cycle, ids.astype(str)).values,
            "hierarchy_issue": issue.values,
        }
    )

"""Account hierarchy from ParentId chains: parent, domestic and global ultimate, depth and path.

Walks all chains one level at a time, vectorised over integer codes (one numpy
gather per level, so cost is depth x accounts, and real hierarchies are shallow).
Every record stands alone: it carries its own ultimates and full path, so routing
never walks a tree. Bad data is reported, never looped on: a parent that does not
exist is "dangling" (the account is treated as top-level), and accounts on or
below a cycle are flagged and treated as their own top.

The *domestic ultimate* is the highest account reached from this one through
parents in the same country (D&B's notion): "IBM Japan Services" under "IBM Japan"
under "IBM" (US) has "IBM Japan" as domestic and "IBM" as global ultimate. An
account without a known country is its own domestic ultimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_DEPTH = 64


def build_hierarchy(accounts: pd.DataFrame) -> pd.DataFrame:
    """``accounts`` has account_id, parent_id and optionally country; one row per account out."""
    ids = accounts["account_id"].astype(object).to_numpy()
    n = len(ids)
    lookup = pd.Index(ids)
    raw_parent = accounts["parent_id"].astype(object).to_numpy()
    has_parent = pd.notna(raw_parent) & (raw_parent != "")
    pcode = np.full(n, -1, dtype=np.int64)
    pcode[has_parent] = lookup.get_indexer(raw_parent[has_parent])
    dangling = has_parent & (pcode < 0)
    self_parent = pcode == np.arange(n)
    pcode[self_parent] = -1

    top = np.arange(n)
    depth = np.zeros(n, dtype=np.int64)
    cur = pcode.copy()
    for _ in range(MAX_DEPTH):
        live = cur >= 0
        if not live.any():
            break
        top = np.where(live, cur, top)
        depth += live
        cur = np.where(live, pcode[np.maximum(cur, 0)], -1)
    on_cycle = cur >= 0  # still climbing after MAX_DEPTH levels: a cycle above (or at) this account
    top = np.where(on_cycle, np.arange(n), top)
    depth = np.where(on_cycle, 0, depth)

    country = (accounts["country"].astype(object).to_numpy() if "country" in accounts
               else np.full(n, None, dtype=object))
    known = pd.notna(country)
    domestic = np.arange(n)
    cur = np.where(on_cycle, -1, pcode)
    for _ in range(MAX_DEPTH):
        same = (cur >= 0) & known
        same[same] = country[cur[same]] == country[same]
        if not same.any():
            break
        domestic = np.where(same, cur, domestic)
        cur = np.where(same, pcode[np.maximum(cur, 0)], -1)

    # Paths grow only where a chain still climbs: most accounts have no parent, and writing a
    # million strings per level cost seconds at every master build.
    path = pd.Series(ids, dtype=object).astype(str).to_numpy(dtype=object)
    cur = np.where(on_cycle, -1, pcode)
    for _ in range(int(depth.max()) if n else 0):
        live = np.flatnonzero(cur >= 0)
        if not len(live):
            break
        path[live] = (pd.Series(ids[cur[live]], dtype=object).astype(str) + " > "
                      + pd.Series(path[live], dtype=object)).to_numpy(dtype=object)
        cur[live] = pcode[cur[live]]  # the rest stay -1: their chains have ended

    issue = np.full(n, None, dtype=object)
    issue[dangling] = [f"dangling parent {p} (not in the CRM)" for p in raw_parent[dangling]]
    issue[self_parent] = "account is its own parent"
    issue[on_cycle] = "parent chain has a cycle"
    parent = np.where(pcode >= 0, ids[np.maximum(pcode, 0)], None)
    return pd.DataFrame(
        {
            "account_id": ids,
            "parent_id": parent,
            "ultimate_parent_id": ids[top],
            "global_ultimate_id": ids[top],
            "domestic_ultimate_id": ids[domestic],
            "depth": depth.astype(int),
            "hierarchy_path": path,
            "hierarchy_issue": issue,
        }
    )

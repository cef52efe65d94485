"""Clusters of duplicate records that do not chain.

Joining every pair above the threshold (connected components) merges chains: A~B
and B~C put A and C together though they share nothing, and one wrong link can
merge two companies of a hundred records each. Master-data tools refuse such
merges; here clustering maximises the total evidence of the pairs it puts together
(correlation clustering), solved greedily as in GAEC (greedy additive edge
contraction, Keuper et al. 2015): start from single records, and repeatedly merge
the two clusters whose pairs between them carry the most evidence in total (the
sum of their scores in bits), as long as that sum reaches the threshold. A chain's
far ends score strongly against each other, so the merge that would join them is
refused; a company's name variants all score for each other, so they gather.

Only pairs scored are counted. Within a group of records linked by duplicate pairs
(a connected component) every pair is scored (``complete``), so that the far ends
of a chain are compared even when no blocking rule proposed them; a group larger
than ``max_complete`` records counts the pairs blocking proposed only.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

MAX_COMPLETE = 1000  # records in a group whose every pair is scored (half a million pairs)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``n`` nodes with edges ``a[i]``-``b[i]``: a label per node."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def greedy_clusters(n: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
    """GAEC over ``n`` nodes with scored pairs ``(a, b, score)``: a cluster label per node.

    Two clusters merge when the scores of the pairs between them sum to ``threshold`` or
    more, best sum first; pairs never scored count as no evidence.
    """
    labels = np.arange(n)
    if n == 0 or len(a) == 0:
        return labels
    adj: list[dict[int, float]] = [dict() for _ in range(n)]
    for x, y, s in zip(a.tolist(), b.tolist(), score.tolist()):
        if x == y:
            continue
        adj[x][y] = adj[x].get(y, 0.0) + s
        adj[y][x] = adj[y].get(x, 0.0) + s
    heap = [(-w, x, y) for x in range(n) for y, w in adj[x].items() if x < y and w >= threshold]
    heapq.heapify(heap)
    parent = list(range(n))
    alive = [True] * n
    while heap:
        neg, x, y = heapq.heappop(heap)
        if not (alive[x] and alive[y]) or adj[x].get(y) != -neg:
            continue  # stale: one side merged since, or the sum between them changed
        # Merge the smaller neighbourhood into the larger one.
        if len(adj[x]) < len(adj[y]):
            x, y = y, x
        alive[y] = False
        parent[y] = x
        del adj[x][y]
        for z, w in adj[y].items():
            if z == x:
                continue
            total = adj[x].get(z, 0.0) + w
            adj[x][z] = total
            adj[z][x] = total
            del adj[z][y]
            if total >= threshold:
                heapq.heappush(heap, (-total, min(x, z), max(x, z)))
        adj[y] = {}
    for i in range(n):  # follow merges to each node's surviving cluster
        root = i
        while parent[root] != root:
            root = parent[root]
        labels[i] = root
    return labels


def resolve(n: int, edges: pd.DataFrame, threshold: float,
            complete: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
            max_complete: int = MAX_COMPLETE) -> np.ndarray:
    """Cluster labels for ``n`` records from duplicate ``edges`` (columns ``a``, ``b``, ``score``:
    positions and bits, pairs of any score).

    Pairs at or above ``threshold`` define the groups; a group of two is one cluster; in a
    larger group, ``complete(a, b)`` scores its missing pairs (when given and the group has
    at most ``max_complete`` records) and :func:`greedy_clusters` decides.
    """
    labels = np.arange(n)
    if n == 0 or edges.empty:
        return labels
    a, b = edges["a"].to_numpy(dtype=np.int64), edges["b"].to_numpy(dtype=np.int64)
    s = edges["score"].to_numpy(dtype=float)
    strong = s >= threshold
    group = components(n, a[strong], b[strong])
    sizes = np.bincount(group, minlength=n)
    pairs_of = group[a] == group[b]
    a, b, s = a[pairs_of], b[pairs_of], s[pairs_of]
    big = sizes[group] >= 3
    # Every pair inside a group of three or more that no rule proposed is scored now, in one batch.
    if complete is not None:
        members = np.flatnonzero(big & (sizes[group] <= max_complete))
        order = members[np.argsort(group[members], kind="stable")]
        starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
        bounds = np.r_[starts, len(order)]
        pa, pb = [], []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            i, j = np.triu_indices(hi - lo, 1)
            pa.append(order[lo:hi][i])
            pb.append(order[lo:hi][j])
        if pa:
            pa, pb = np.concatenate(pa), np.concatenate(pb)
            known = pd.MultiIndex.from_arrays([np.minimum(a, b), np.maximum(a, b)])
            new = ~pd.MultiIndex.from_arrays([np.minimum(pa, pb), np.maximum(pa, pb)]).isin(known)
            if new.any():
                a = np.concatenate([a, pa[new]])
                b = np.concatenate([b, pb[new]])
                s = np.concatenate([s, complete(pa[new], pb[new])])
    # A group of two is one cluster, named by its first record (set-wise: one pass, not one per group).
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, group, np.arange(n))
    two = sizes[group] == 2
    labels[two] = first[group[two]]
    # Each group's records in order, found once (a scan of all records per group is quadratic at 1M),
    # and each record's place among them, so a pair's ends are numbered within its group in one pass
    # (an index per group cost seconds over the tens of thousands of groups of a million accounts).
    by_group = np.argsort(group, kind="stable")
    start = np.r_[0, np.cumsum(np.bincount(group, minlength=n))]
    local = np.empty(n, dtype=np.int64)
    local[by_group] = np.arange(n) - start[group[by_group]]
    inside = np.flatnonzero(big[a])
    inside = inside[np.argsort(group[a[inside]], kind="stable")]
    g_of, la, lb, ls = group[a[inside]], local[a[inside]], local[b[inside]], s[inside]
    cuts = np.flatnonzero(np.r_[True, g_of[1:] != g_of[:-1], True]) if len(g_of) else np.zeros(1, dtype=np.int64)
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        g = g_of[lo]
        members = by_group[start[g]:start[g + 1]]
        sub = greedy_clusters(len(members), la[lo:hi], lb[lo:hi], ls[lo:hi], threshold)
        labels[members] = members[sub]
    # Name each cluster by its smallest position.
    return pd.Series(np.arange(n)).groupby(labels).transform("min").to_numpy()

"""Whose turn is it? One vectorised answer for round robin, weights, ramping, load and caps.

Every member has a *next turn* (a number) and a *step* (``1 / weight``): their k-th
next lead comes at ``next_turn + k * step``. The pool's n leads, oldest first, go to
the n earliest turns of all members together, a tie going to the member earlier in
roster order. This is stride scheduling, and it covers every method with one
mechanism:

- **round robin**: every step is 1 and turns are kept between runs, so members
  alternate exactly and a run resumes where the last one stopped;
- **weighted round robin**: step ``1 / weight``: a weight-2 rep has twice the turns;
- **ramping**: a new rep's weight is scaled down for the first weeks;
- **load balancing**: a member's next turn is their open workload divided by their
  weight, so the least loaded go first and a new rep with an empty book catches up
  until level with the others, and no further;
- **caps**: a member has at most ``capacity`` turns.

No Python loop per lead: the earliest n turns are found by a binary search on the
turn value (a loop over a few dozen members), then one sort of at most n + members
candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Turns:
    """The result of :func:`take_turns` for n leads."""

    member: np.ndarray  # per lead, the index of the member it goes to; -1 when nobody has capacity left
    turn: np.ndarray  # per lead, the turn value it was given (NaN when unassigned)
    nth: np.ndarray  # per lead, 1 for the member's first lead in this call, 2 for the second, ...
    counts: np.ndarray  # per member, how many leads they got


def _count(threshold: float, start: np.ndarray, step: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Per member, how many of their turns are at or before ``threshold`` (within their capacity)."""
    k = np.floor((threshold - start) / step + 1e-9) + 1
    return np.minimum(np.clip(k, 0, None), capacity).astype(np.int64)


def take_turns(start: np.ndarray, step: np.ndarray, capacity: np.ndarray, n: int) -> Turns:
    """Give ``n`` leads, in order, to the members with the earliest turns.

    Args:
        start: per member, the value of their next turn.
        step: per member, the distance between their turns (``1 / weight``; ``inf`` never gets a lead).
        capacity: per member, the most leads they may take (0: none).
        n: the number of leads, oldest first.

    On equal turns the member given first goes first (the pool passes them in roster order).

    Example:
        >>> take_turns(np.array([0., 0., 0.]), np.array([1., 1., .5]), np.array([9, 9, 9]), 4).member.tolist()
        [0, 1, 2, 2]
    """
    m = len(start)
    start = np.asarray(start, dtype=float)
    step = np.asarray(step, dtype=float)
    capacity = np.where(np.isfinite(step) & (step > 0), np.minimum(np.asarray(capacity, dtype=np.int64), n), 0)
    member = np.full(n, -1, dtype=np.int64)
    turn = np.full(n, np.nan)
    nth = np.zeros(n, dtype=np.int64)
    counts = np.zeros(m, dtype=np.int64)
    take = int(min(n, capacity.sum())) if m else 0
    if take == 0:
        return Turns(member, turn, nth, counts)
    live = capacity > 0
    s, d = start[live], step[live]
    lo = float(s.min())
    hi = float((s + d * take).max())  # every member has `take` turns by then: count(hi) >= take
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if _count(mid, start[live], step[live], capacity[live]).sum() >= take:
            hi = mid
        else:
            lo = mid
    per = np.zeros(m, dtype=np.int64)
    per[live] = _count(hi, s, d, capacity[live])
    owner = np.repeat(np.arange(m), per)
    k = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    value = start[owner] + k * step[owner]
    order = np.lexsort((k, owner, value))[:take]  # by turn, then member order
    member[:take] = owner[order]
    turn[:take] = value[order]
    nth[:take] = k[order] + 1
    counts = np.bincount(member[:take], minlength=m)
    return Turns(member, turn, nth, counts)

"""Whose turn a lead passed over: the members a decision's "skipped" list names.

A member who cannot take leads today (out of office, outside their hours, capped) keeps their
place in the rotation (:mod:`.turns`): their k-th turn would come at ``start + k * step``.
A lead given at turn ``v`` to member ``j`` passed over a member when one of that member's
turns falls between the previous lead's turn ``u`` (given to ``i``) and ``v``: in round
robin, the members between the last one served and the one chosen, once per round, not
every member away that day. Equal turns go in rotation order, as :func:`.turns.take_turns`
breaks them.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-9


def passed_over(start: np.ndarray, step: np.ndarray, members: np.ndarray, turn: np.ndarray, chosen: np.ndarray,
                after: tuple[float, int]) -> np.ndarray:
    """Per lead (rows, in turn order) and candidate member (columns, positions ``members``), whether the
    lead passed over that member's turn.

    Args:
        start, step: per member of the pool, their next turn and the distance between turns.
        members: positions of the members who could not take leads (the candidates).
        turn, chosen: per lead, the turn it was given at and the position of the member it went to.
        after: (turn, member) of the lead before the first one (member -1: none; its turn counts).
    """
    out = np.zeros((len(turn), len(members)), dtype=bool)
    if not len(turn) or not len(members):
        return out
    prev_turn = np.concatenate([[after[0]], turn[:-1]])
    prev_member = np.concatenate([[after[1]], chosen[:-1]])
    for c, k in enumerate(members):
        s, d = float(start[k]), float(step[k])
        if not (np.isfinite(s) and np.isfinite(d) and d > 0):
            continue  # paused (weight 0): out of the rotation, their turn never comes
        n = np.maximum(np.ceil((prev_turn - s) / d - EPS), 0)
        first = s + n * d  # their first turn at or after the previous lead's
        taken = (np.abs(first - prev_turn) <= EPS) & (k <= prev_member)  # the previous lead came first
        first = np.where(taken, first + d, first)
        out[:, c] = (first < turn - EPS) | ((np.abs(first - turn) <= EPS) & (k < chosen))
    return out

"""Checks of the pools against the roster and the CRM, for ``leadroute validate``.

Filters on unknown columns, fallback chains that loop or do
not end in a queue, pools nobody can serve today, and company days off for nobody.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipelines.routing.language.pools import PoolDecl, fallback_chain, fallback_ends
from pipelines.routing.pools.catalog import days_off_of
from pipelines.routing.pools.membership import members
from pipelines.routing.roster.availability import member_status
from pipelines.routing.roster.holidays import HOLIDAYS_FILE
from pipelines.sourcefile import ConfigProblem, SourceRef


CHAIN_SHOWN = 6  # pools of a fallback chain named in a message


def check_pools(pools: dict[str, PoolDecl], roster: pd.DataFrame, crm_users: pd.DataFrame | None, now: datetime
                ) -> list[ConfigProblem]:
    """Filters on unknown columns, fallback chains, pools nobody can serve today, days off for nobody.

    Member ids and fallback actions name reps, queues and pools: the rule set's checks
    (:mod:`pipelines.routing.ruleset.checks`) look those up with every other reference.
    """
    problems = []
    active = None if crm_users is None else set(crm_users.loc[crm_users["is_active"].astype(bool), "user_id"])
    days_off = days_off_of(pools)
    known = {"everyone"} | set(roster.get("team", pd.Series(dtype=object))) | set(roster.get("user_id", pd.Series(dtype=object)))
    for line, who in zip(days_off["_line"], days_off["applies_to"]):
        if who not in known:
            problems.append(ConfigProblem(SourceRef(getattr(pools, "days_off_file", HOLIDAYS_FILE), int(line)),
                                          f"applies_to {who!r} is not 'everyone', a team or a user id in reps.csv"))
    ends = fallback_ends(pools)
    selections: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    status_today: pd.DataFrame | None = None
    for pool in pools.values():
        bad = [c for c in pool.member_filter if c not in roster.columns]
        for column in bad:
            problems.append(ConfigProblem(pool.where, f"pool {pool.name!r} filters on {column!r}, which is not a reps.csv column"))
        end, loops = ends[pool.name]
        if loops or end is None or end.assign != "queue":
            chain, _, _ = fallback_chain(pool, pools, limit=CHAIN_SHOWN)  # only to name the first pools
            shown = " -> ".join(chain) + (" -> ..." if len(chain) == CHAIN_SHOWN and chain[-1] not in chain[:-1] else "")
        if loops:
            problems.append(ConfigProblem(pool.where, f"pool {pool.name!r}: the fallback chain loops "
                                                      f"({shown}); end it in a queue"))
        elif end is None or end.assign != "queue":
            problems.append(ConfigProblem(pool.where, f"pool {pool.name!r}: the fallback chain ({shown}) "
                                                      f"does not end in a queue; leads nobody can take move on to the "
                                                      f"next step, and end in Unroutable", "warning"))
        if bad:
            continue
        # Pools often share their members (a filter on a team): each distinct selection is made
        # once, and each rep's status today once, so a thousand pools check as fast as a few.
        key = repr((pool.members, sorted(pool.member_filter.items(), key=lambda kv: str(kv[0]))))
        if key not in selections:
            rows = members(pool, roster)
            if not rows.empty and status_today is None:
                status_today = member_status(roster, now, active, days_off, hours=False)
            selections[key] = (rows, None if rows.empty else status_today.loc[rows.index])
        rows, status = selections[key]
        if rows.empty:
            problems.append(ConfigProblem(pool.where, f"pool {pool.name!r} has no members"))
            continue
        if status["reason"].notna().all():
            problems.append(ConfigProblem(
                pool.where,
                f"pool {pool.name!r} has no member available today: "
                + "; ".join(f"{n} {w}" for n, w in zip(rows["name"], status["reason"])),
                "warning" if pool.fallback else "error"))
    return problems

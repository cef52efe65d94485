"""Distribution pools as ops declare them (``routing_rules/pools.yaml``), and their checks.

A pool has members (a list of roster user ids, or a filter on roster columns such as
``{role: SDR, team: SDR Inbound}``), a distribution method and an optional fallback
action for when nobody in it can take a lead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.routing.model import Action, Node
from pipelines.sourcefile import ConfigProblem, LineDict, SourceRef, load_yaml

POOLS_FILE = "pools.yaml"
METHODS = ("round_robin",)


class PoolDecl(Node):
    name: str
    description: str = ""
    members: list[str] = []  # explicit roster user ids
    member_filter: dict[str, Any] = {}  # or roster columns -> value(s)
    method: str = "round_robin"
    fallback: Action | None = None


def parse_pools(path: Path, display: str, parse_action: Callable[[str, Any, str], Action | None]
                ) -> tuple[dict[str, PoolDecl], list[ConfigProblem]]:
    problems: list[ConfigProblem] = []
    if not path.exists():
        return {}, problems
    data = load_yaml(path, display) or {}
    pools = {}
    for name, node in (data.get("pools") or {}).items():
        where = SourceRef(display, data["pools"].line_of(name) if isinstance(data["pools"], LineDict) else None)
        if not isinstance(node, dict):
            problems.append(ConfigProblem(where, f"pool {name!r} must be a mapping"))
            continue
        members = node.get("members", [])
        explicit, filt = ([str(m) for m in members], {}) if isinstance(members, list) else ([], dict(members))
        unknown = set(node) - {"members", "method", "fallback", "description"}
        if unknown:
            problems.append(ConfigProblem(where, f"pool {name!r}: unknown key(s) {sorted(unknown)}"))
        method = str(node.get("method", "round_robin"))
        if method not in METHODS:
            problems.append(ConfigProblem(where, f"pool {name!r}: unknown method {method!r}; expected one of {', '.join(METHODS)}"))
        fallback = parse_action(display, node["fallback"], f"the fallback of pool {name!r}") if "fallback" in node else None
        pools[str(name)] = PoolDecl(where=where, name=str(name), description=str(node.get("description", "")),
                                    members=explicit, member_filter=filt, method=method, fallback=fallback)
    return pools, problems


def check_pools(pools: dict[str, PoolDecl], roster: pd.DataFrame, crm_users: pd.DataFrame | None, now: datetime,
                user_ref: Callable[[SourceRef, str, str], None], check_action: Callable[[Action], None]
                ) -> list[ConfigProblem]:
    """Members that are not reps, filters on unknown columns, pools nobody can serve today."""
    from pipelines.routing import pools as pool_mod

    problems = []
    active = None if crm_users is None else set(crm_users.loc[crm_users["is_active"].astype(bool), "user_id"])
    for pool in pools.values():
        for uid in pool.members:
            user_ref(pool.where, uid, f"member of pool {pool.name!r}")
        bad = [c for c in pool.member_filter if c not in roster.columns]
        for column in bad:
            problems.append(ConfigProblem(pool.where, f"pool {pool.name!r} filters on {column!r}, which is not a reps.csv column"))
        if pool.fallback:
            check_action(pool.fallback)
        if bad:
            continue
        rows = pool_mod.members(pool, roster)
        if rows.empty:
            problems.append(ConfigProblem(pool.where, f"pool {pool.name!r} has no members"))
            continue
        why = pool_mod.availability(rows, now, active)
        if why.notna().all():
            problems.append(ConfigProblem(
                pool.where,
                f"pool {pool.name!r} has no member available today: " + "; ".join(f"{n} {w}" for n, w in zip(rows["name"], why)),
                "warning" if pool.fallback else "error"))
    return problems

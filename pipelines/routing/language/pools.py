"""Distribution pools as ops declare them (``routing_rules/pools.yaml``).

A pool reads like a sentence::

    pools:
      hot_inbound:
        description: Demo and contact-us requests; only reps at their desk get them.
        members: {role: SDR, team: SDR Inbound}   # a roster filter, or a list of user ids
        method: round_robin                       # or weighted_round_robin, load_balanced
        working_hours: respect                    # only members inside their working hours
        outside_hours: next_to_start              # nobody working: the next member to start
        language: prefer                          # or require
        caps: {daily: 25, weekly: 100}            # per member, from this pool
        sticky: {by: [lead.domain, lead.company_norm], days: 30}
        ramp: {weeks: 6, start_share: 0.25}       # new reps: a quarter of a share, rising to a full one
        fallback: {assign: queue, queue: Shark_Tank}

Every key is validated once, when the rules load, and a mistake is reported at its
line; :mod:`pipelines.routing.pools.checks` then checks pools against the roster and the
CRM, and :mod:`pipelines.routing.pools.allocation` distributes leads among the members.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from pipelines.routing.language.model import Action
from pipelines.routing.language.node import Node, Written, at
from pipelines.routing.language.notify import Notify
from pipelines.sourcefile import labelled, problem

POOLS_FILE = "pools.yaml"
METHODS = ("round_robin", "weighted_round_robin", "load_balanced")
METHOD_DOCS = {
    "round_robin": "each available member in turn; resumes after the member who got the last lead",
    "weighted_round_robin": "in turn, each member's share proportional to reps.csv `weight`",
    "load_balanced": "the member with the fewest open leads in the CRM (relative to weight) first, so a new rep catches up",
}
OUTSIDE_HOURS = {
    "next_to_start": "nobody is working: the member(s) whose working hours start next get the leads",
    "anyone": "nobody is working: every otherwise available member shares the leads",
    "fallback": "nobody is working: the leads go to the pool's fallback (e.g. a queue)",
}
MAX_STICKY_DAYS = 365


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Caps(_Strict):
    """The most leads one member takes from this pool per local day and ISO week."""

    daily: int | None = Field(None, ge=0)
    weekly: int | None = Field(None, ge=0)


class Sticky(_Strict):
    """Leads of the same company within ``days`` go to the member who had the company's last one."""

    by: list[str]
    days: int = Field(30, ge=1, le=MAX_STICKY_DAYS)

    @field_validator("by", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("by")
    @classmethod
    def _lead_fields(cls, v: list[str]) -> list[str]:
        wrong = [f for f in v if not f.startswith("lead.")]
        if not v or wrong:
            raise ValueError(f"sticky `by` names lead fields such as lead.domain or lead.company_norm, got {wrong or v}")
        return v


class Ramp(_Strict):
    """A new rep's share starts at ``start_share`` of a full one and grows linearly for ``weeks``."""

    weeks: int = Field(ge=1, le=52)
    start_share: float = Field(0.25, gt=0, le=1)


POOL_KEYS = ("description", "members", "method", "caps", "working_hours", "outside_hours", "language", "sticky",
             "ramp", "open_statuses", "fallback", "notify")


class PoolDecl(Node):
    """One pool of ``pools.yaml``; read from ``Written(node, where, name)``, every problem named by its pool."""

    name: str
    description: str = ""
    members: list[str] = []  # explicit roster user ids
    member_filter: dict[str, Any] = {}  # or roster columns -> value(s)
    method: Literal["round_robin", "weighted_round_robin", "load_balanced"] = "round_robin"
    caps: Caps = Caps()
    working_hours: Literal["respect", "ignore"] = "ignore"
    outside_hours: Literal["next_to_start", "anyone", "fallback"] = "next_to_start"
    language: Literal["prefer", "require"] | None = None
    sticky: Sticky | None = None
    ramp: Ramp | None = None
    open_statuses: list[str] = ["New", "Working"]  # what counts as open workload (load_balanced)
    fallback: Action | None = None
    notify: Notify | None = None  # who hears of the leads it gives out (see pipelines.routing.language.notify)

    @model_validator(mode="wrap")
    @classmethod
    def _read(cls, data: Any, handler: Any, info: ValidationInfo) -> PoolDecl:
        if not isinstance(data, Written):
            return handler(data)
        node, where, name = data
        if not isinstance(node, dict):
            raise problem(f"pool {name!r} must be a mapping", where)
        unknown = set(node) - set(POOL_KEYS)
        if unknown:
            raise problem(f"pool {name!r}: unknown key(s) {sorted(unknown)}; a pool takes {', '.join(sorted(POOL_KEYS))}",
                          where)
        if "method" in node and node["method"] not in METHODS:
            raise problem(f"pool {name!r}: unknown method {node['method']!r}; expected one of {', '.join(METHODS)}",
                          at(info, node, "method"))
        members = node.get("members")
        if not isinstance(members, (list, dict)) or not members:
            raise problem(f"pool {name!r} has no members: list reps.csv user ids (members: [005...]) or filter the "
                          f"roster (members: {{role: SDR, team: SDR Inbound}})",
                          at(info, node, "members") if "members" in node else where)
        if isinstance(members, list) and not all(isinstance(m, (str, int)) and not isinstance(m, bool) for m in members):
            raise problem(f"pool {name!r}: members must be reps.csv user ids", at(info, node, "members"))
        explicit, filt = ([str(m) for m in members], {}) if isinstance(members, list) else ([], dict(members))
        fields = {k: node[k] for k in POOL_KEYS if k in node and k not in ("members", "fallback", "notify")}
        if "notify" in node:
            fields["notify"] = Written(node["notify"], at(info, node, "notify"))
        if "fallback" in node:
            fields["fallback"] = Written(node["fallback"], at(info, node, "fallback"), "its fallback")
        try:
            return handler({"where": where, "name": name, "members": explicit, "member_filter": filt, **fields})
        except ValidationError as exc:
            raise labelled(exc, f"pool {name!r}: ") from None

    def describe(self) -> str:
        """One line on how the pool distributes, for details and the CLI."""
        parts = [self.method.replace("_", " ")]
        if self.working_hours == "respect":
            parts.append(f"working hours (outside: {self.outside_hours.replace('_', ' ')})")
        if self.language:
            parts.append(f"{self.language}s the lead's language")
        if self.caps.daily is not None or self.caps.weekly is not None:
            caps = [f"{k} {v}" for k, v in (("daily", self.caps.daily), ("weekly", self.caps.weekly)) if v is not None]
            parts.append("caps " + ", ".join(caps))
        if self.sticky:
            parts.append(f"sticky by {'/'.join(self.sticky.by)} for {self.sticky.days} days")
        if self.ramp:
            parts.append(f"ramp {self.ramp.weeks} weeks from {self.ramp.start_share:g}")
        return "; ".join(parts)


class PoolsFile(BaseModel):
    """``pools.yaml``: the pools by name."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    pools: dict[str, PoolDecl] = {}

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        declared = data.get("pools") or {} if isinstance(data, dict) else {}
        if not isinstance(declared, dict):
            raise problem("`pools` must be a mapping of named pools", at(info, data, "pools"))
        return {**data, "pools": {str(name): Written(node, at(info, declared, name), str(name))
                                  for name, node in declared.items()}}


def fallback_chain(pool: PoolDecl, pools: dict[str, PoolDecl], limit: int | None = None
                   ) -> tuple[list[str], Action | None, bool]:
    """The pools a lead passes through when nobody can take it, the action it ends with, and whether it loops.

    ``limit``: follow at most that many pools (for a message; the end is then the last action seen).
    """
    seen, names, action = [pool.name], {pool.name}, pool.fallback
    while action is not None and action.assign == "pool" and (limit is None or len(seen) < limit):
        nxt = pools.get(action.params.get("pool"))
        if nxt is None:
            return seen, action, False
        if nxt.name in names:
            return seen + [nxt.name], action, True
        seen.append(nxt.name)
        names.add(nxt.name)
        action = nxt.fallback
    return seen, action, False


def fallback_ends(pools: dict[str, PoolDecl]) -> dict[str, tuple[Action | None, bool]]:
    """Where every pool's fallback chain ends (its last action) and whether it loops, in linear time.

    Each pool is followed once: chains that join share their tail's answer, so a fallback
    loop through thousands of pools is found as fast as one through two.
    """
    done: dict[str, tuple[Action | None, bool]] = {}
    for start in pools:
        path: list[str] = []
        on_path: set[str] = set()
        name = start
        while True:
            if name in done:
                result = done[name]
                break
            if name in on_path:  # back on this walk's own path: a loop
                result = (pools[name].fallback, True)
                break
            path.append(name)
            on_path.add(name)
            action = pools[name].fallback
            nxt = action.params.get("pool") if action is not None and action.assign == "pool" else None
            if nxt not in pools:
                result = (action, False)
                break
            name = nxt
        for name in path:
            done[name] = result
    return done

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

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.routing.language.model import Action, Node
from pipelines.routing.language.parse import Parser
from pipelines.sourcefile import ConfigProblem, LineDict, SourceRef, load_yaml, problems_from_validation

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


class PoolDecl(Node):
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


_KEYS = {"description", "members", "method", "caps", "working_hours", "outside_hours", "language", "sticky",
         "ramp", "open_statuses", "fallback"}


def parse_pools(path: Path, display: str, parser: Parser) -> tuple[dict[str, PoolDecl], list[ConfigProblem]]:
    """The pools of ``pools.yaml`` (none without the file), with every problem; fallbacks read by ``parser``."""
    problems: list[ConfigProblem] = []
    if not path.exists():
        return {}, problems
    data = load_yaml(path, display) or {}
    pools: dict[str, PoolDecl] = {}
    declared = data.get("pools") or {}
    for name, node in declared.items():
        where = SourceRef(display, declared.line_of(name) if isinstance(declared, LineDict) else None)
        if not isinstance(node, dict):
            problems.append(ConfigProblem(where, f"pool {name!r} must be a mapping"))
            continue
        unknown = set(node) - _KEYS
        if unknown:
            problems.append(ConfigProblem(where, f"pool {name!r}: unknown key(s) {sorted(unknown)}; "
                                                 f"a pool takes {', '.join(sorted(_KEYS))}"))
        members = node.get("members", [])
        explicit, filt = ([str(m) for m in members], {}) if isinstance(members, list) else ([], dict(members or {}))
        fields = {k: node[k] for k in _KEYS - {"members", "fallback"} if k in node}
        if "method" in fields and fields["method"] not in METHODS:
            problems.append(ConfigProblem(
                SourceRef(display, node.line_of("method") if isinstance(node, LineDict) else where.line),
                f"pool {name!r}: unknown method {fields.pop('method')!r}; expected one of {', '.join(METHODS)}"))
        fallback = parser.action(display, node["fallback"], f"the fallback of pool {name!r}") if "fallback" in node else None
        try:
            pools[str(name)] = PoolDecl(where=where, name=str(name), members=explicit, member_filter=filt,
                                        fallback=fallback, **fields)
        except ValidationError as exc:
            for p in problems_from_validation(exc, node, display):
                problems.append(ConfigProblem(p.where if p.where.line else where, f"pool {name!r}: {p.message}"))
    return pools, problems


def fallback_chain(pool: PoolDecl, pools: dict[str, PoolDecl]) -> tuple[list[str], Action | None, bool]:
    """The pools a lead passes through when nobody can take it, the action it ends with, and whether it loops."""
    seen, action = [pool.name], pool.fallback
    while action is not None and action.assign == "pool":
        nxt = pools.get(action.params.get("pool"))
        if nxt is None:
            return seen, action, False
        if nxt.name in seen:
            return seen + [nxt.name], action, True
        seen.append(nxt.name)
        action = nxt.fallback
    return seen, action, False

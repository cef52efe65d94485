"""Day-2 routing as ops declare it (``routing_rules/day2.yaml``): what happens after the first assignment.

Routing does not end when a rep gets a lead. ``day2.yaml`` says, as data::

    touch:                                   # what counts as the first touch of an assigned lead (any of)
      status_leaves: [New, Open]             #   the rep moved its status on from one of these
      activity_field: lead.last_activity_at  #   this field moved on (a logged call, email or meeting)
      completed_task: [Completed]            #   the owner completed a task on it (task statuses)
    leakage_after: {days: 7}                 # an assigned lead nobody touched this long has leaked

    slas:                                    # time to first touch, per pool or step, in the owner's working hours
      hot_inbound_first_touch:
        applies_to: {pools: [hot_inbound]}
        within: {working_minutes: 60}
        on_miss:
          reassign: {skip_previous: 2}       # the pool's next available member, not one of the last 2 owners
        after_misses: {count: 3, queue: Shark_Tank}

    recycle:                                 # stalled leads go back to nurture
      stalled_working:
        statuses: [Working]
        stalled_for: {days: 30}
        to: {queue: Nurture, status: Nurture}

    reengage:                                # wake the dead: dormant leads that show life again
      dormant_statuses: [Nurture, Disqualified]
      signals: {status_leaves: true, activity_field: lead.last_activity_at, new_activity: true}

    inactive_owner:                          # a rep left: their open leads are routed again
      assign: flow
      flow: new

Everything is read once, when the rules load, into the models below (file and line on every node);
:mod:`pipelines.routing.ruleset.checks` then checks names against the flows, pools,
queues and fields, and :mod:`pipelines.routing.day2` does it every tick. The
file is optional: without it, leads keep their first assignment. Which leads may move
at all is the ``reroute_policy:`` of ``flow.yaml`` (:mod:`pipelines.routing.engine.policy`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from pipelines.routing.language.model import CALENDAR_UNITS, Condition, SideAction, Step, duration_text
from pipelines.routing.language.node import Node, Written, at
from pipelines.routing.language.notify import Notify
from pipelines.sourcefile import LineDict, problem

DAY2_FILE = "day2.yaml"
WORKING_UNITS = {"working_minutes": 1, "working_hours": 60}
TOP_KEYS = {"version", "touch", "leakage_after", "slas", "recycle", "reengage", "inactive_owner"}


class Duration(Node):
    """A time allowed: calendar minutes, or minutes counted in the owner's working hours."""

    minutes: float
    working: bool = False

    def describe(self) -> str:
        return duration_text(self.minutes, self.working)


def _mapping(info: ValidationInfo, node: Any, allowed: set[str], what: str) -> None:
    """``node`` is a mapping of the ``allowed`` keys, or a problem naming ``what`` it is."""
    if not isinstance(node, dict):
        raise problem(f"{what} must be a mapping", at(info, node))
    unknown = set(node) - allowed
    if unknown:
        raise problem(f"{what}: unknown key(s) {sorted(unknown)}; expected {', '.join(sorted(allowed))}", at(info, node))


def _duration(info: ValidationInfo, node: Any, what: str, working_ok: bool) -> Duration:
    """``{days: 30}`` (or, where ``working_ok``, ``{working_hours: 4}``) as a :class:`Duration`."""
    units = CALENDAR_UNITS | (WORKING_UNITS if working_ok else {})
    example = "{working_hours: 4}" if working_ok else "{days: 30}"
    if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in units:
        raise problem(f"{what} needs one of {', '.join(units)} with a number, e.g. {example}", at(info, node))
    unit, value = next(iter(node.items()))
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise problem(f"{what}: {unit} must be a number above 0, got {value!r}", at(info, node, unit))
    return Duration(where=at(info, node), minutes=float(value) * units[unit], working=unit in WORKING_UNITS)


def _statuses(info: ValidationInfo, node: Any, key: str, what: str, required: bool = False) -> list[str]:
    """``node[key]``: a status or a list of them."""
    value = node.get(key)
    if value is None:
        if required:
            raise problem(f"{what} needs `{key}: [statuses]`", at(info, node))
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, float)) for v in value):
        raise problem(f"{what}: `{key}` needs a list of values, e.g. [New, Working]", at(info, node, key))
    return [str(v) for v in value]


class Touch(Node):
    """What counts as the first touch of an assigned lead (any of the signals given)."""

    status_leaves: list[str] = []
    activity_field: str | None = None
    completed_task: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and not isinstance(data, LineDict):
            return data
        _mapping(info, data, {"status_leaves", "activity_field", "completed_task"}, "touch")
        activity = data.get("activity_field")
        if activity is not None and not isinstance(activity, str):
            raise problem("touch: `activity_field` names one field, e.g. lead.last_activity_at",
                          at(info, data, "activity_field"))
        return {"where": at(info, data), "status_leaves": _statuses(info, data, "status_leaves", "touch"),
                "activity_field": activity, "completed_task": _statuses(info, data, "completed_task", "touch")}

    def describe(self) -> str:
        parts = []
        if self.status_leaves:
            parts.append(f"its status leaves {', '.join(self.status_leaves)}")
        if self.activity_field:
            parts.append(f"{self.activity_field} moves on")
        if self.completed_task:
            parts.append(f"its owner completes a task on it ({', '.join(self.completed_task)})")
        return " or ".join(parts) or "never (no touch signal configured)"


class Escalate(Node):
    """An SLA miss escalates: a task for the owner's manager, fields set, optionally the manager as owner."""

    task: SideAction | None = None
    set: SideAction | None = None
    assign_manager: bool = False


class SlaRule(Node):
    """One first-touch SLA of ``slas:``; read from ``Written(node, where, name)``."""

    name: str
    description: str = ""
    pools: list[str] = []
    steps: list[str] = []
    within: Duration
    reassign_pool: str | None = None  # None: the pool that assigned the lead
    skip_previous: int = 1
    escalate: Escalate | None = None
    max_misses: int | None = None  # the max_misses-th miss sends the lead to holding_queue
    holding_queue: str | None = None
    notify: Notify | None = None  # who hears of a miss's new decision (on_miss.reassign/escalate.notify)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, name = data
        what = f"SLA {name!r}"
        _mapping(info, node, {"description", "applies_to", "within", "on_miss", "after_misses"}, what)
        applies = node.get("applies_to")
        if not applies:
            raise problem(f"{what} needs `applies_to: {{pools: [..]}}` or `{{steps: [..]}}`: the assignments it times",
                          where)
        _mapping(info, applies, {"pools", "steps"}, f"{what}: applies_to")
        names = {k: applies.get(k, []) for k in ("pools", "steps")}
        names = {k: [v] if isinstance(v, str) else v for k, v in names.items()}
        if not all(isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v) for v in names.values()):
            raise problem(f"{what}: applies_to takes lists of pool and step names", at(info, applies))
        if "within" not in node:
            raise problem(f"{what} needs `within:`, the time allowed until the first touch, e.g. {{working_hours: 4}}",
                          where)
        rule: dict[str, Any] = {"where": where, "name": name, "description": str(node.get("description", "")),
                                "pools": [str(p) for p in names["pools"]], "steps": [str(s) for s in names["steps"]],
                                "within": _duration(info, node["within"], f"{what}: within", working_ok=True)}
        miss = node.get("on_miss")
        if not isinstance(miss, dict) or len(miss) != 1 or next(iter(miss)) not in ("reassign", "escalate"):
            raise problem(f"{what} needs `on_miss:` with either `reassign: {{skip_previous: N}}` or "
                          f"`escalate: {{task: .., set: .., assign_manager: true}}`",
                          at(info, node, "on_miss") if "on_miss" in node else where)
        kind, body = next(iter(miss.items()))
        body = body if body is not None else LineDict()
        if kind == "reassign":
            _mapping(info, body, {"pool", "skip_previous", "notify"}, f"{what}: reassign")
            skip = body.get("skip_previous", 1)
            if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
                raise problem(f"{what}: skip_previous must be a whole number, 0 or more", at(info, body, "skip_previous"))
            rule.update(reassign_pool=str(body["pool"]) if body.get("pool") else None, skip_previous=skip)
            if rule["reassign_pool"] is None and rule["steps"] and not rule["pools"]:
                raise problem(f"{what}: reassign needs `pool:` when the SLA applies to steps (a step's lead may not "
                              f"come from a pool)", at(info, miss, "reassign"))
        else:
            _mapping(info, body, {"task", "set", "assign_manager", "notify"}, f"{what}: escalate")
            manager = body.get("assign_manager", False)
            if not isinstance(manager, bool):
                raise problem(f"{what}: assign_manager is true or false", at(info, body, "assign_manager"))
            if "task" not in body and "set" not in body and not manager and "notify" not in body:
                raise problem(f"{what}: escalate needs a task, fields to set, assign_manager: true or notify",
                              at(info, miss, "escalate"))
            rule["escalate"] = {"where": at(info, miss, "escalate"), "assign_manager": manager,
                                **{k: Written(body[k], at(info, body, k), k) for k in ("task", "set") if k in body}}
        if "notify" in body:
            rule["notify"] = Written(body["notify"], at(info, body, "notify"), f"{what}: {kind}")
        after = node.get("after_misses")
        if after is not None:
            if not isinstance(after, dict) or set(after) - {"count", "queue"} or not {"count", "queue"} <= set(after):
                raise problem(f"{what}: after_misses needs `count: K` and `queue: <holding queue>`",
                              at(info, node, "after_misses"))
            count = after["count"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise problem(f"{what}: after_misses.count must be a whole number, 1 or more", at(info, after, "count"))
            rule.update(max_misses=count, holding_queue=str(after["queue"]))
        return rule

    @property
    def on_miss(self) -> str:
        return "escalate" if self.escalate is not None else "reassign"


class RecycleRule(Node):
    """One rule of ``recycle:``; read from ``Written(node, where, name)``."""

    name: str
    description: str = ""
    statuses: list[str]
    when: Condition | None = None
    stalled_for: Duration
    queue: str | None = None
    status: str | None = None
    task: SideAction | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, name = data
        what = f"recycle rule {name!r}"
        _mapping(info, node, {"description", "statuses", "when", "stalled_for", "to", "task"}, what)
        to = node.get("to")
        if not isinstance(to, dict) or not to or set(to) - {"queue", "status"}:
            raise problem(f"{what} needs `to: {{queue: Nurture, status: Nurture}}` (a queue, a status or both)",
                          at(info, node, "to") if "to" in node else where)
        rule = {"where": where, "name": name, "description": str(node.get("description", "")),
                "statuses": _statuses(info, node, "statuses", what, required=True),
                "stalled_for": _duration(info, node.get("stalled_for"), f"{what}: stalled_for", working_ok=False),
                "queue": str(to["queue"]) if to.get("queue") else None,
                "status": str(to["status"]) if to.get("status") else None}
        if "when" in node:
            rule["when"] = node["when"]
        if "task" in node:
            rule["task"] = Written(node["task"], at(info, node, "task"), "task")
        return rule


class Reengage(Node):
    """``reengage:``: which dormant leads wake up, on which signals, through which flow."""

    description: str = ""
    dormant_statuses: list[str] = []
    status_leaves: bool = False
    activity_field: str | None = None
    new_activity: bool = False
    flow: str = "reopened"

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and not isinstance(data, LineDict):
            return data
        _mapping(info, data, {"description", "dormant_statuses", "signals", "flow"}, "reengage")
        signals = data.get("signals")
        if not signals:
            raise problem("reengage needs `signals:` (status_leaves, activity_field, new_activity): what shows a "
                          "dormant lead is alive again", at(info, data))
        _mapping(info, signals, {"status_leaves", "activity_field", "new_activity"}, "reengage: signals")
        for key in ("status_leaves", "new_activity"):
            if key in signals and not isinstance(signals[key], bool):
                raise problem(f"reengage: signals.{key} is true or false", at(info, signals, key))
        activity = signals.get("activity_field")
        if activity is not None and not isinstance(activity, str):
            raise problem("reengage: activity_field names one field", at(info, signals, "activity_field"))
        return {"where": at(info, data), "description": str(data.get("description", "")),
                "dormant_statuses": _statuses(info, data, "dormant_statuses", "reengage"),
                "status_leaves": bool(signals.get("status_leaves", False)), "activity_field": activity,
                "new_activity": bool(signals.get("new_activity", False)), "flow": str(data.get("flow", "reopened"))}


class Day2Config(BaseModel):
    """Everything day2.yaml declares; empty (nothing happens after the first assignment) without the file."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    touch: Touch | None = None
    leakage_after: Duration | None = None
    slas: dict[str, SlaRule] = {}
    recycle: dict[str, RecycleRule] = {}
    reengage: Reengage | None = None
    inactive_owner: Step | None = None
    file: str = DAY2_FILE

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, LineDict):
            return data
        _mapping(info, LineDict.like({k: v for k, v in data.items() if k != "file"}, data), TOP_KEYS, "day2.yaml")
        out: dict[str, Any] = {k: data[k] for k in ("touch", "reengage", "file") if k in data}
        if "leakage_after" in data:
            out["leakage_after"] = _duration(info, data["leakage_after"], "leakage_after", working_ok=False)
        for section in ("slas", "recycle"):
            declared = data.get(section) or {}
            if not isinstance(declared, dict):
                raise problem(f"`{section}` must be a mapping of named rules", at(info, data, section))
            out[section] = {str(name): Written(node, at(info, declared, name), str(name))
                            for name, node in declared.items()}
        if out["slas"] and "touch" not in data:
            raise problem("SLAs need `touch:`: what counts as the first touch of a lead", at(info, data, "slas"))
        if "inactive_owner" in data:
            node = data["inactive_owner"]
            if not isinstance(node, dict):
                raise problem("inactive_owner needs an action, e.g. `assign: flow` and `flow: new`",
                              at(info, data, "inactive_owner"))
            out["inactive_owner"] = LineDict.like({"step": "inactive_owner", **node}, node)
        return out

    def sla_for(self, step: str | None, pool: str | None) -> str | None:
        """The SLA a decision by ``step`` (or through ``pool``) falls under: pools first, then steps, in file order."""
        for rule in self.slas.values():
            if pool is not None and pool in rule.pools:
                return rule.name
        for rule in self.slas.values():
            if step is not None and step in rule.steps:
                return rule.name
        return None

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

Everything is parsed once, when the rules load, with the file and line of every node;
:mod:`pipelines.routing.ruleset.checks` then checks names against the flows, pools,
queues and fields, and :mod:`pipelines.routing.day2` does it every tick. The
file is optional: without it, leads keep their first assignment. Which leads may move
at all is the ``reroute_policy:`` of ``flow.yaml`` (:mod:`pipelines.routing.engine.policy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.routing.language.model import CALENDAR_UNITS, Condition, Node, SideAction, Step, duration_text
from pipelines.routing.language.parse import Parser
from pipelines.routing.language.problems import where as where_of
from pipelines.sourcefile import ConfigError, LineDict, SourceRef, load_yaml

DAY2_FILE = "day2.yaml"
WORKING_UNITS = {"working_minutes": 1, "working_hours": 60}
TOP_KEYS = {"version", "touch", "leakage_after", "slas", "recycle", "reengage", "inactive_owner"}


class Duration(Node):
    """A time allowed: calendar minutes, or minutes counted in the owner's working hours."""

    minutes: float
    working: bool = False

    def describe(self) -> str:
        return duration_text(self.minutes, self.working)


class Touch(Node):
    """What counts as the first touch of an assigned lead (any of the signals given)."""

    status_leaves: list[str] = []
    activity_field: str | None = None
    completed_task: list[str] = []

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

    @property
    def on_miss(self) -> str:
        return "escalate" if self.escalate is not None else "reassign"


class RecycleRule(Node):
    name: str
    description: str = ""
    statuses: list[str]
    when: Condition | None = None
    stalled_for: Duration
    queue: str | None = None
    status: str | None = None
    task: SideAction | None = None


class Reengage(Node):
    description: str = ""
    dormant_statuses: list[str] = []
    status_leaves: bool = False
    activity_field: str | None = None
    new_activity: bool = False
    flow: str = "reopened"


@dataclass
class Day2Config:
    """Everything day2.yaml declares; empty (nothing happens after the first assignment) without the file."""

    touch: Touch | None = None
    leakage_after: Duration | None = None
    slas: dict[str, SlaRule] = field(default_factory=dict)
    recycle: dict[str, RecycleRule] = field(default_factory=dict)
    reengage: Reengage | None = None
    inactive_owner: Step | None = None
    file: str = DAY2_FILE

    def sla_for(self, step: str | None, pool: str | None) -> str | None:
        """The SLA a decision by ``step`` (or through ``pool``) falls under: pools first, then steps, in file order."""
        for rule in self.slas.values():
            if pool is not None and pool in rule.pools:
                return rule.name
        for rule in self.slas.values():
            if step is not None and step in rule.steps:
                return rule.name
        return None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    return None


class _Day2Parser:
    """Reads day2.yaml with the rules loader's parser, so conditions, side actions and steps read as in flow.yaml."""

    def __init__(self, parser: Parser, file: str):
        self.p, self.file = parser, file

    def at(self, node: Any, key: Any = None) -> SourceRef:
        return where_of(self.file, node, key)

    def problem(self, where: SourceRef, message: str) -> None:
        self.p.problem(where, message)

    def keys(self, node: Any, allowed: set[str], what: str) -> bool:
        if not isinstance(node, dict):
            self.problem(self.at(node), f"{what} must be a mapping")
            return False
        unknown = set(node) - allowed
        if unknown:
            self.problem(self.at(node), f"{what}: unknown key(s) {sorted(unknown)}; expected {', '.join(sorted(allowed))}")
        return True

    def duration(self, node: Any, what: str, working_ok: bool) -> Duration | None:
        units = CALENDAR_UNITS | (WORKING_UNITS if working_ok else {})
        example = "{working_hours: 4}" if working_ok else "{days: 30}"
        if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in units:
            self.problem(self.at(node), f"{what} needs one of {', '.join(units)} with a number, e.g. {example}")
            return None
        unit, value = next(iter(node.items()))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            self.problem(self.at(node, unit), f"{what}: {unit} must be a number above 0, got {value!r}")
            return None
        return Duration(where=self.at(node), minutes=float(value) * units[unit], working=unit in WORKING_UNITS)

    def statuses(self, node: Any, key: str, what: str, required: bool = False) -> list[str]:
        value = node.get(key)
        if value is None:
            if required:
                self.problem(self.at(node), f"{what} needs `{key}: [statuses]`")
            return []
        out = _strings(value)
        if out is None or not out:
            self.problem(self.at(node, key), f"{what}: `{key}` needs a list of values, e.g. [New, Working]")
            return []
        return out

    # -- sections ---------------------------------------------------------------------------------

    def touch(self, node: Any) -> Touch | None:
        if not self.keys(node, {"status_leaves", "activity_field", "completed_task"}, "touch"):
            return None
        activity = node.get("activity_field")
        if activity is not None and not isinstance(activity, str):
            self.problem(self.at(node, "activity_field"), "touch: `activity_field` names one field, e.g. lead.last_activity_at")
            activity = None
        return Touch(where=self.at(node), status_leaves=self.statuses(node, "status_leaves", "touch"),
                     activity_field=activity, completed_task=self.statuses(node, "completed_task", "touch"))

    def sla(self, name: str, node: Any, where: SourceRef) -> SlaRule | None:
        what = f"SLA {name!r}"
        if not self.keys(node, {"description", "applies_to", "within", "on_miss", "after_misses"}, what):
            return None
        applies = node.get("applies_to")
        if not self.keys(applies, {"pools", "steps"}, f"{what}: applies_to") or not applies:
            self.problem(where, f"{what} needs `applies_to: {{pools: [..]}}` or `{{steps: [..]}}`: the assignments it times")
            return None
        pools, steps = _strings(applies.get("pools", [])), _strings(applies.get("steps", []))
        if pools is None or steps is None:
            self.problem(self.at(applies), f"{what}: applies_to takes lists of pool and step names")
            return None
        within = self.duration(node.get("within"), f"{what}: within", working_ok=True) if "within" in node else None
        if within is None:
            if "within" not in node:
                self.problem(where, f"{what} needs `within:`, the time allowed until the first touch, e.g. {{working_hours: 4}}")
            return None
        rule: dict[str, Any] = {}
        miss = node.get("on_miss")
        if not isinstance(miss, dict) or len(miss) != 1 or next(iter(miss)) not in ("reassign", "escalate"):
            self.problem(self.at(node, "on_miss") if "on_miss" in node else where,
                         f"{what} needs `on_miss:` with either `reassign: {{skip_previous: N}}` or "
                         f"`escalate: {{task: .., set: .., assign_manager: true}}`")
            return None
        kind, body = next(iter(miss.items()))
        body = body if body is not None else LineDict()
        if kind == "reassign":
            if not self.keys(body, {"pool", "skip_previous"}, f"{what}: reassign"):
                return None
            skip = body.get("skip_previous", 1)
            if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
                self.problem(self.at(body, "skip_previous"), f"{what}: skip_previous must be a whole number, 0 or more")
                return None
            rule.update(reassign_pool=str(body["pool"]) if body.get("pool") else None, skip_previous=skip)
            if rule["reassign_pool"] is None and steps and not pools:
                self.problem(self.at(miss, "reassign"), f"{what}: reassign needs `pool:` when the SLA applies to "
                                                        f"steps (a step's lead may not come from a pool)")
        else:
            if not self.keys(body, {"task", "set", "assign_manager"}, f"{what}: escalate"):
                return None
            task = self.p.side_action(self.file, "task", body["task"], self.at(body, "task")) if "task" in body else None
            fields = self.p.side_action(self.file, "set", body["set"], self.at(body, "set")) if "set" in body else None
            manager = body.get("assign_manager", False)
            if not isinstance(manager, bool):
                self.problem(self.at(body, "assign_manager"), f"{what}: assign_manager is true or false")
                manager = False
            if task is None and fields is None and not manager:
                self.problem(self.at(miss, "escalate"), f"{what}: escalate needs a task, fields to set or assign_manager: true")
            rule["escalate"] = Escalate(where=self.at(miss, "escalate"), task=task, set=fields, assign_manager=manager)
        after = node.get("after_misses")
        if after is not None:
            if not self.keys(after, {"count", "queue"}, f"{what}: after_misses") or not {"count", "queue"} <= set(after):
                self.problem(self.at(node, "after_misses"), f"{what}: after_misses needs `count: K` and `queue: <holding queue>`")
                return None
            count = after["count"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                self.problem(self.at(after, "count"), f"{what}: after_misses.count must be a whole number, 1 or more")
                return None
            rule.update(max_misses=count, holding_queue=str(after["queue"]))
        return SlaRule(where=where, name=name, description=str(node.get("description", "")), pools=pools, steps=steps,
                       within=within, **rule)

    def recycle(self, name: str, node: Any, where: SourceRef) -> RecycleRule | None:
        what = f"recycle rule {name!r}"
        if not self.keys(node, {"description", "statuses", "when", "stalled_for", "to", "task"}, what):
            return None
        statuses = self.statuses(node, "statuses", what, required=True)
        stalled = self.duration(node.get("stalled_for"), f"{what}: stalled_for", working_ok=False)
        when = self.p.condition(self.file, node["when"]) if "when" in node else None
        to = node.get("to")
        if not self.keys(to, {"queue", "status"}, f"{what}: to") or not to:
            self.problem(self.at(node, "to") if "to" in node else where,
                         f"{what} needs `to: {{queue: Nurture, status: Nurture}}` (a queue, a status or both)")
            return None
        task = self.p.side_action(self.file, "task", node["task"], self.at(node, "task")) if "task" in node else None
        if not statuses or stalled is None or ("when" in node and when is None):
            return None
        return RecycleRule(where=where, name=name, description=str(node.get("description", "")), statuses=statuses,
                           when=when, stalled_for=stalled, queue=str(to["queue"]) if to.get("queue") else None,
                           status=str(to["status"]) if to.get("status") else None, task=task)

    def reengage(self, node: Any) -> Reengage | None:
        if not self.keys(node, {"description", "dormant_statuses", "signals", "flow"}, "reengage"):
            return None
        signals = node.get("signals")
        if not self.keys(signals, {"status_leaves", "activity_field", "new_activity"}, "reengage: signals") or not signals:
            self.problem(self.at(node), "reengage needs `signals:` (status_leaves, activity_field, new_activity): "
                                        "what shows a dormant lead is alive again")
            return None
        for key in ("status_leaves", "new_activity"):
            if key in signals and not isinstance(signals[key], bool):
                self.problem(self.at(signals, key), f"reengage: signals.{key} is true or false")
                return None
        activity = signals.get("activity_field")
        if activity is not None and not isinstance(activity, str):
            self.problem(self.at(signals, "activity_field"), "reengage: activity_field names one field")
            return None
        return Reengage(where=self.at(node), description=str(node.get("description", "")),
                        dormant_statuses=self.statuses(node, "dormant_statuses", "reengage"),
                        status_leaves=bool(signals.get("status_leaves", False)), activity_field=activity,
                        new_activity=bool(signals.get("new_activity", False)), flow=str(node.get("flow", "reopened")))

    def inactive_owner(self, node: Any) -> Step | None:
        if not isinstance(node, dict):
            self.problem(self.at(node), "inactive_owner needs an action, e.g. `assign: flow` and `flow: new`")
            return None
        step = LineDict({"step": "inactive_owner", **node})
        step.line, step.key_lines = getattr(node, "line", None), getattr(node, "key_lines", {})
        return self.p.step(self.file, step)


def parse_day2(path: Path, file: str, parser: Parser) -> Day2Config:
    """``day2.yaml`` at ``path`` (shown as ``file``) as a :class:`Day2Config`; problems go to ``parser``'s log."""
    config = Day2Config(file=file)
    if not path.exists():
        return config
    try:
        data = load_yaml(path, file) or LineDict()
    except ConfigError as exc:
        parser.log.extend(exc.problems)
        return config
    d = _Day2Parser(parser, file)
    if not d.keys(data, TOP_KEYS, "day2.yaml"):
        return config
    if "touch" in data:
        config.touch = d.touch(data["touch"])
    if "leakage_after" in data:
        config.leakage_after = d.duration(data["leakage_after"], "leakage_after", working_ok=False)
    for section, parse, target in (("slas", d.sla, config.slas), ("recycle", d.recycle, config.recycle)):
        declared = data.get(section) or {}
        if not isinstance(declared, dict):
            d.problem(d.at(data, section), f"`{section}` must be a mapping of named rules")
            continue
        for name, node in declared.items():
            parsed = parse(str(name), node, d.at(declared, name))
            if parsed is not None:
                target[parsed.name] = parsed
    if "reengage" in data:
        config.reengage = d.reengage(data["reengage"])
    if "inactive_owner" in data:
        config.inactive_owner = d.inactive_owner(data["inactive_owner"])
    if config.slas and config.touch is None:
        d.problem(d.at(data, "slas"), "SLAs need `touch:`: what counts as the first touch of a lead")
    return config

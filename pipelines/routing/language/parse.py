"""Reading the rules language: ``flow.yaml``'s flows, steps, conditions, actions, holds and policy.

The parser reports every problem it finds in one go into a :class:`ProblemLog` (an ops
person fixing a pull request wants the full list, not one error per CI run). Structural
problems (unknown keys, operators, actions; malformed values) are found here;
cross-references (does that pool, table, queue or rep exist?) in
:mod:`pipelines.routing.ruleset.checks`. ``pools.yaml`` and ``day2.yaml`` reuse the same
grammar for their actions, conditions, side actions and steps
(:mod:`.pools`, :mod:`.day2`).
"""

from __future__ import annotations

from typing import Any

from pipelines.routing.language.model import (
    ACTIONS,
    CALENDAR_UNITS,
    ENTRIES,
    HOLD,
    SIDE_ACTIONS,
    Action,
    ChangedCondition,
    Condition,
    FieldCondition,
    Flow,
    GroupCondition,
    Hold,
    InTableCondition,
    NotCondition,
    PolicyRule,
    SideAction,
    Step,
)
from pipelines.routing.language.problems import ProblemLog, suggest
from pipelines.routing.language.problems import where as where_of
from pipelines.routing.language.templates import parse_template
from pipelines.routing.language.vocabulary import OPERATORS, check_value
from pipelines.sourcefile import LineDict, SourceRef


class Parser:
    """The grammar of flow.yaml, writing every problem into ``log``."""

    def __init__(self, log: ProblemLog):
        self.log = log

    def problem(self, where: SourceRef, message: str, severity: str = "error") -> None:
        self.log.problem(where, message, severity)

    def where(self, file: str, node: Any, key: Any = None) -> SourceRef:
        return where_of(file, node, key)

    # -- conditions ---------------------------------------------------------------------------

    def condition(self, file: str, node: Any) -> Condition | None:
        where = self.where(file, node)
        if not isinstance(node, dict):
            self.problem(where, f"a condition must be a mapping, got {node!r}")
            return None
        for group in ("all", "any"):
            if group in node:
                items = node[group]
                if not isinstance(items, list) or not items:
                    self.problem(where, f"`{group}` needs a non-empty list of conditions")
                    return None
                parsed = [self.condition(file, i) for i in items]
                if any(p is None for p in parsed):
                    return None
                return GroupCondition(where=where, kind=group, items=parsed)
        if "not" in node:
            inner = self.condition(file, node["not"])
            return NotCondition(where=where, item=inner) if inner else None
        if "changed" in node:
            unknown = set(node) - {"changed", "from", "to"}
            if unknown:
                self.problem(where, f"unknown key(s) {sorted(unknown)} in `changed`; expected from and to")
            values = {}
            for key in ("from", "to"):
                v = node.get(key)
                if v is not None and not isinstance(v, list):
                    v = [v]
                values[key] = v
            return ChangedCondition(where=where, field=str(node["changed"]), from_values=values["from"],
                                    to_values=values["to"])
        if "in_table" in node:
            lookup = node.get("lookup")
            if not isinstance(lookup, dict) or not lookup:
                self.problem(where, "`in_table` needs `lookup: {table_column: field, ...}`")
                return None
            return InTableCondition(where=where, table=str(node["in_table"]), lookup=dict(lookup))
        if "field" not in node:
            self.problem(where, f"unknown condition {dict(node)!r}; expected field/op/value, in_table, changed, all, any or not")
            return None
        rest = {k: v for k, v in node.items() if k != "field"}
        if "op" in rest:
            op, value = rest.pop("op"), rest.pop("value", None)
        else:  # shorthand: {field: lead.country_code, in: [US, CA]}
            ops = [k for k in rest if k in OPERATORS]
            if len(ops) != 1:
                unknown = [k for k in rest if k not in OPERATORS]
                hint = suggest(unknown[0], OPERATORS) if unknown else ""
                self.problem(where, f"condition on {node['field']!r} needs exactly one operator{hint}")
                return None
            op = ops[0]
            value = rest.pop(op)
        if rest:
            self.problem(where, f"unknown key(s) {sorted(rest)} in condition on {node['field']!r}")
        if op not in OPERATORS:
            self.problem(where, f"unknown operator {op!r}{suggest(op, OPERATORS)}")
            return None
        why = check_value(OPERATORS[op], value)
        if why:
            self.problem(where, why)
            return None
        return FieldCondition(where=where, field=str(node["field"]), op=op, value=value)

    # -- actions ------------------------------------------------------------------------------

    def action(self, file: str, node: Any, owner: str) -> Action | None:
        where = self.where(file, node)
        if isinstance(node, str):
            node = {"assign": node}
        if not isinstance(node, dict) or "assign" not in node:
            self.problem(where, f"{owner} needs `assign:` (one of {', '.join(ACTIONS)})")
            return None
        name = str(node["assign"])
        spec = ACTIONS.get(name)
        if spec is None:
            self.problem(self.where(file, node, "assign"), f"unknown action {name!r}{suggest(name, ACTIONS)}")
            return None
        where = self.where(file, node, "assign")
        params = {k: v for k, v in node.items() if k != "assign"}
        for req in spec.required:
            if req not in params:
                self.problem(where, f"action {name!r} needs `{req}`")
                return None
        extra = set(params) - set(spec.required) - set(spec.optional)
        if extra:
            self.problem(where, f"action {name!r} does not take {sorted(extra)}")
        params = {k: params[k] for k in params if k not in extra}
        parent_where = None
        if name == "hierarchy_owner":
            if ("level" in params) == ("parent_where" in params):
                self.problem(where, "action 'hierarchy_owner' needs either `level: N` (0 = the ultimate parent) "
                                    "or `parent_where: <condition on account fields>`")
                return None
            if "level" in params and not (isinstance(params["level"], int) and params["level"] >= 0):
                self.problem(where, f"`level` must be a whole number, 0 or more (0 = the ultimate parent), got {params['level']!r}")
                return None
            if "parent_where" in params:
                parent_where = self.condition(file, params.pop("parent_where"))
                if parent_where is None:
                    return None
        if name == "opportunity_owner" and "stages" in params and not isinstance(params["stages"], list):
            self.problem(where, "`stages` needs a list, e.g. [Scoping, Negotiation]")
            return None
        if name == "flow" and params.get("flow") not in ENTRIES:
            self.problem(where, f"unknown flow {params.get('flow')!r}{suggest(params.get('flow'), ENTRIES)}")
            return None
        param_where = {k: self.where(file, node, k) for k in node if k != "assign"}
        return Action(where=where, assign=name, params=params, parent_where=parent_where, param_where=param_where)

    def side_action(self, file: str, kind: str, node: Any, where: SourceRef) -> SideAction | None:
        spec = SIDE_ACTIONS[kind]
        if kind == "convert" and node is True:
            node = {}
        if not isinstance(node, dict) or (kind == "set" and not node):
            self.problem(where, f"`{kind}` needs a mapping, e.g. {spec.example}")
            return None
        where = self.where(file, node) if isinstance(node, LineDict) else where
        if kind != "set":
            unknown = set(node) - set(spec.keys)
            if unknown:
                self.problem(where, f"`{kind}` does not take {sorted(unknown)}; it takes {', '.join(spec.keys)}")
                return None
        if kind == "task":
            for key in ("due_in_hours", "due_in_days"):
                if key in node and not (isinstance(node[key], (int, float)) and node[key] >= 0):
                    self.problem(where, f"`{key}` must be a number of {key[7:]}, got {node[key]!r}")
                    return None
            if "subject" not in node:
                self.problem(where, "`task` needs a `subject`")
                return None
        if kind == "campaign" and not node.get("campaign_id"):
            self.problem(where, "`campaign` needs a `campaign_id`: the CRM id of the campaign (701...)")
            return None
        texts = {k: v for k, v in node.items() if kind == "set" or k in ("subject", "description")}
        templates = {k: parse_template(str(v), where) for k, v in texts.items()}
        params = {k: v for k, v in node.items() if k not in templates}
        return SideAction(where=where, kind=kind, params=params, templates=templates)

    # -- files --------------------------------------------------------------------------------

    def flows(self, data: LineDict, file: str) -> dict[str, Flow]:
        flows = {}
        raw = data.get("flows")
        if not isinstance(raw, dict):
            self.problem(self.where(file, data), "flow.yaml needs `flows:` with a `new:` list of steps")
            return {}
        for entry, steps in raw.items():
            if entry not in ENTRIES:
                self.problem(self.where(file, raw, entry), f"unknown flow {entry!r}{suggest(entry, ENTRIES)}")
                continue
            watch: list[str] = []
            if isinstance(steps, dict):
                unknown = set(steps) - {"watch", "steps"}
                if unknown:
                    self.problem(self.where(file, steps), f"flow {entry!r}: unknown key(s) {sorted(unknown)}; expected watch and steps")
                watch = [str(w) for w in (steps.get("watch") or [])]
                if entry == "updated" and not watch:
                    self.problem(self.where(file, steps), "flow 'updated' needs `watch: [fields]`: the fields whose "
                                                          "change sends an already routed lead through it")
                if entry != "updated" and watch:
                    self.problem(self.where(file, steps, "watch"), f"`watch` only applies to the updated flow, not {entry!r}")
                steps = steps.get("steps")
            if not isinstance(steps, list):
                self.problem(self.where(file, raw, entry), f"flow {entry!r} must be a list of steps")
                continue
            parsed, names = [], set()
            for node in steps:
                step = self.step(file, node)
                if step is None:
                    continue
                if step.name in names:
                    self.problem(step.where, f"step name {step.name!r} is used twice in flow {entry!r}")
                names.add(step.name)
                parsed.append(step)
            flows[entry] = Flow(where=self.where(file, raw, entry), entry=entry, steps=parsed, watch=watch)
        if "new" not in flows and not any(p.message.startswith("flow") for p in self.log.problems):
            self.problem(self.where(file, raw), "flows need a `new:` entry (how new leads are routed)")
        return flows

    def step(self, file: str, node: Any) -> Step | None:
        where = self.where(file, node)
        if not isinstance(node, dict) or "step" not in node:
            self.problem(where, "each step needs a name: `- step: some_name`")
            return None
        known = {"step", "description", "when", "fallback", "hold", *SIDE_ACTIONS}
        action_node = LineDict({k: v for k, v in node.items() if k not in known})
        action_node.line, action_node.key_lines = node.line, node.key_lines
        when = None
        if "when" in node:
            when = self.condition(file, node["when"])
            if when is None:
                return None
        hold = None
        if "hold" in node:
            hold = self.hold(file, node["hold"], self.where(file, node, "hold"), str(node["step"]))
            if hold is None:
                return None
        if hold is not None and not action_node:
            # A step that only holds: the leads it releases go on to the next step.
            if "fallback" in node or any(k in node for k in SIDE_ACTIONS):
                self.problem(where, f"step {node['step']!r} only holds (no assign:), so it takes no fallback or side actions")
            action = Action(where=self.where(file, node, "hold"), assign=HOLD)
        else:
            action = self.action(file, action_node, f"step {node['step']!r}")
        if action is None:
            return None
        fallback = None
        if "fallback" in node:
            fallback = self.action(file, node["fallback"], f"the fallback of step {node['step']!r}")
        side = []
        for kind in SIDE_ACTIONS:
            if kind in node:
                parsed = self.side_action(file, kind, node[kind], self.where(file, node, kind))
                if parsed is not None:
                    side.append(parsed)
        return Step(where=where, name=str(node["step"]), description=str(node.get("description", "")),
                    when=when, action=action, fallback=fallback, side_actions=side, hold=hold)

    def hold(self, file: str, node: Any, where: SourceRef, step: str) -> Hold | None:
        """``hold: {until: <condition>, at_most: {hours: 2}, until_working_hours: <pool>, queue: <queue>}``."""
        allowed = {"until", "at_most", "until_working_hours", "queue"}
        if not isinstance(node, dict) or not node or set(node) - allowed:
            extra = sorted(set(node) - allowed) if isinstance(node, dict) else []
            self.problem(where, f"step {step!r}: `hold` takes {', '.join(sorted(allowed))}"
                                + (f", not {extra}" if extra else "")
                                + "; e.g. hold: {until: {field: lead.country_code, is_not_empty}, at_most: {hours: 2}}")
            return None
        where = self.where(file, node)
        until = None
        if "until" in node:
            until = self.condition(file, node["until"])
            if until is None:
                return None
        minutes = None
        if "at_most" in node:
            at_most = node["at_most"]
            unit = next(iter(at_most), None) if isinstance(at_most, dict) and len(at_most) == 1 else None
            value = at_most.get(unit) if unit else None
            if unit not in CALENDAR_UNITS or not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                self.problem(self.where(file, node, "at_most"), f"step {step!r}: `hold.at_most` needs one of "
                                                                f"{', '.join(CALENDAR_UNITS)} with a number, e.g. {{hours: 2}}")
                return None
            minutes = float(value) * CALENDAR_UNITS[unit]
        if until is None and minutes is None and "until_working_hours" not in node:
            self.problem(where, f"step {step!r}: `hold` needs `until`, `at_most` or `until_working_hours`, "
                                f"or it would hold leads forever")
            return None
        return Hold(where=where, until=until, at_most_minutes=minutes,
                    until_working_hours=str(node["until_working_hours"]) if node.get("until_working_hours") else None,
                    queue=str(node["queue"]) if node.get("queue") else None)

    def reroute_policy(self, data: LineDict, file: str) -> list[PolicyRule]:
        """``reroute_policy:``: a list of protections ``{name, description, keep_when: <condition>}``."""
        raw = data.get("reroute_policy")
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(self.where(file, data, "reroute_policy"),
                         "`reroute_policy` needs a list of protections: - {name: .., description: .., keep_when: <condition>}")
            return []
        out, names = [], set()
        for node in raw:
            where = self.where(file, node)
            if not isinstance(node, dict) or not {"name", "keep_when"} <= set(node):
                self.problem(where, "each protection of the reroute policy needs `name` and `keep_when: <condition>` "
                                    "(a lead for which it holds is never rerouted)")
                continue
            unknown = set(node) - {"name", "description", "keep_when"}
            if unknown:
                self.problem(where, f"reroute policy {node['name']!r}: unknown key(s) {sorted(unknown)}")
            if str(node["name"]) in names:
                self.problem(where, f"reroute policy name {node['name']!r} is used twice")
            names.add(str(node["name"]))
            cond = self.condition(file, node["keep_when"])
            if cond is not None:
                out.append(PolicyRule(where=where, name=str(node["name"]), description=str(node.get("description", "")),
                                      keep_when=cond))
        return out

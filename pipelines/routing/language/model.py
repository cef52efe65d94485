"""The rules language as typed models, each node knowing the file and line it came from.

What ops write in ``flow.yaml`` (and reuse in ``pools.yaml`` and ``day2.yaml``):

- **flows**: per entry point (``new`` leads, ``updated`` leads), an ordered list of
  **steps**; the first step whose condition holds *and* whose action finds an owner
  decides. A step may name a **fallback** action, tried when its action finds no owner;
  otherwise the lead goes on to the next step. A new lead no step decides lands in the
  ``Unroutable`` queue with the reason; an updated lead no step decides keeps its decision.
- **conditions**: ``{field, op, value}`` over the closed vocabulary in
  :mod:`pipelines.routing.language.vocabulary`, ``{in_table, lookup}``, ``{changed, from, to}``
  (updated leads), and ``all`` / ``any`` / ``not`` around them.
- **actions** (``assign``): see :data:`ACTIONS`; **side actions** on a step
  (``convert``, ``task``, ``set``, ``campaign``): see :data:`SIDE_ACTIONS`.
- **queues** (``queues.yaml``); tables are declared in :mod:`.tables`, pools in
  :mod:`.pools`, day-2 routing in :mod:`.day2`; the files as a whole in :mod:`.parse`.

Each model reads what ops wrote (its validators) and words every mistake for them, at
the line they wrote it (:func:`pipelines.sourcefile.problem`): a misspelt operator or
action gets a "did you mean". Names that point elsewhere (fields, tables, pools, queues,
reps) are checked once the whole rule set is loaded (:mod:`pipelines.routing.ruleset.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Field, Tag, ValidationInfo, model_validator

from pipelines.routing.language import words
from pipelines.routing.language.node import Node, Written, at, repeated
from pipelines.routing.language.notify import Notify
from pipelines.routing.language.problems import suggest
from pipelines.routing.language.templates import Template, parse_template
from pipelines.routing.language.vocabulary import OPERATORS, check_value
from pipelines.sourcefile import LineDict, SourceRef, problem

FIELD_NAMESPACES = ("lead", "account", "match", "prior", "last_decision")
ENTRIES = ("new", "updated", "reopened")  # the flows; reopened: dormant leads that engage again (day2.yaml)
# Calendar time units a rule may give a duration in (hold.at_most, day2.yaml): minutes in each.
CALENDAR_UNITS = {"minutes": 1, "hours": 60, "days": 1440}


# -- conditions -------------------------------------------------------------------------------------


class FieldCondition(Node):
    """``{field: lead.country_code, in: [US, CA]}`` or ``{field: .., op: in, value: [..]}``."""

    field: str
    op: str
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, LineDict):
            return data
        name = data["field"]
        rest = {k: v for k, v in data.items() if k != "field"}
        if "op" in rest:
            op, value = rest.pop("op"), rest.pop("value", None)
        else:  # shorthand: {field: lead.country_code, in: [US, CA]}
            ops = [k for k in rest if k in OPERATORS]
            if len(ops) != 1:
                unknown = [k for k in rest if k not in OPERATORS]
                hint = suggest(unknown[0], OPERATORS) if unknown else ""
                raise problem(f"condition on {name!r} needs exactly one operator{hint}", at(info, data))
            op = ops[0]
            value = rest.pop(op)
        if rest:
            raise problem(f"unknown key(s) {sorted(rest)} in condition on {name!r}", at(info, data))
        if op not in OPERATORS:
            raise problem(f"unknown operator {op!r}{suggest(op, OPERATORS)}", at(info, data))
        why = check_value(OPERATORS[op], value)
        if why:
            raise problem(why, at(info, data))
        return {"where": at(info, data), "field": str(name), "op": op, "value": value}

    def describe(self) -> str:
        return words.condition(self.field, self.op, self.value)

    def fields(self) -> list[str]:
        return [self.field]


class InTableCondition(Node):
    """``{in_table: bay_area_zips, lookup: {zip: lead.postal_code_norm}}``: a row of the table matches."""

    table: str
    lookup: dict[str, Any]  # table key column -> field (or {latitude, longitude} for an area key)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, LineDict):
            return data
        lookup = data.get("lookup")
        if not _is_lookup(lookup):
            raise problem("`in_table` needs `lookup: {table_column: field, ...}`", at(info, data))
        return {"where": at(info, data), "table": str(data["in_table"]), "lookup": dict(lookup)}

    def describe(self) -> str:
        keys = ", ".join(f"{k}={v}" for k, v in self.lookup.items())
        return f"a row of table {self.table} matches ({keys})"

    def fields(self) -> list[str]:
        return lookup_fields(self.lookup)


class ChangedCondition(Node):
    """An updated lead's field changed since leadroute last looked (optionally from/to given values)."""

    field: str
    from_values: list[Any] | None = None
    to_values: list[Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, LineDict):
            return data
        unknown = set(data) - {"changed", "from", "to"}
        if unknown:
            raise problem(f"unknown key(s) {sorted(unknown)} in `changed`; expected from and to", at(info, data))
        values = {k: (v if v is None or isinstance(v, list) else [v]) for k, v in
                  (("from", data.get("from")), ("to", data.get("to")))}
        return {"where": at(info, data), "field": str(data["changed"]), "from_values": values["from"],
                "to_values": values["to"]}

    def describe(self) -> str:
        text = f"{self.field} changed"
        if self.from_values is not None:
            text += f" from {words.listing(self.from_values)}"
        if self.to_values is not None:
            text += f" to {words.listing(self.to_values)}"
        return text

    def fields(self) -> list[str]:
        return [self.field, f"prior.{self.field}"]


class GroupCondition(Node):
    """``all:`` / ``any:`` around a non-empty list of conditions."""

    kind: str  # all | any
    items: list[Condition]

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, LineDict):
            return data
        kind = "all" if "all" in data else "any"
        if not isinstance(data[kind], list) or not data[kind]:
            raise problem(f"`{kind}` needs a non-empty list of conditions", at(info, data))
        return {"where": at(info, data), "kind": kind, "items": data[kind]}

    def describe(self) -> str:
        joiner = " and " if self.kind == "all" else " or "
        return "(" + joiner.join(i.describe() for i in self.items) + ")"

    def fields(self) -> list[str]:
        return [f for i in self.items for f in i.fields()]


class NotCondition(Node):
    item: Condition

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        return {"where": at(info, data), "item": data["not"]} if isinstance(data, LineDict) else data

    def describe(self) -> str:
        return f"not {self.item.describe()}"

    def fields(self) -> list[str]:
        return self.item.fields()


class _NotACondition(BaseModel):
    """What no kind of condition reads: never valid, it only words the mistake."""

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            raise problem(f"a condition must be a mapping, got {data!r}")
        raise problem(f"unknown condition {dict(data)!r}; expected field/op/value, in_table, changed, all, any or not",
                      at(info, data))


_KIND_TAG = {GroupCondition: "~group", NotCondition: "~not", ChangedCondition: "~changed",
             InTableCondition: "~in_table", FieldCondition: "~field"}


def _condition_kind(value: Any) -> str:
    """Which kind of condition a mapping is, by its keys (in this order of precedence)."""
    if isinstance(value, Node):
        return _KIND_TAG.get(type(value), "~bad")
    if isinstance(value, dict):
        for keys, tag in ((("all", "any"), "~group"), (("not",), "~not"), (("changed",), "~changed"),
                          (("in_table",), "~in_table"), (("field",), "~field")):
            if any(k in value for k in keys):
                return tag
    return "~bad"


Condition = Annotated[
    Union[Annotated[GroupCondition, Tag("~group")], Annotated[NotCondition, Tag("~not")],
          Annotated[ChangedCondition, Tag("~changed")], Annotated[InTableCondition, Tag("~in_table")],
          Annotated[FieldCondition, Tag("~field")], Annotated[_NotACondition, Tag("~bad")]],
    Discriminator(_condition_kind),
]
GroupCondition.model_rebuild()
NotCondition.model_rebuild()


def _shown(value: Any) -> str:
    """A value as a message quotes it: short, whatever its type."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_lookup(lookup: Any) -> bool:
    """A table lookup as written: key column -> field, or (an area key) -> {latitude: .., longitude: ..}."""
    return isinstance(lookup, dict) and bool(lookup) and all(
        isinstance(f, str) or isinstance(f, dict) and all(isinstance(v, str) for v in f.values())
        for f in lookup.values())


def lookup_fields(lookup: dict[str, Any]) -> list[str]:
    """The frame fields a table lookup reads (an area key reads a latitude and a longitude)."""
    out: list[str] = []
    for f in lookup.values():
        out += list(f.values()) if isinstance(f, dict) else [f]
    return out


# -- actions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """What an action needs and what it does, for validation and docs."""

    name: str
    doc: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    example: str = ""


ACTIONS: dict[str, ActionSpec] = {
    a.name: a
    for a in [
        ActionSpec("account_owner", "the owner of the matched account", example="assign: account_owner"),
        ActionSpec("ultimate_parent_owner", "the owner of the matched account's ultimate parent (top of its hierarchy)",
                   example="assign: ultimate_parent_owner"),
        ActionSpec("hierarchy_owner",
                   "the owner of an account above the matched one: at hierarchy `level` (0 = the ultimate parent, "
                   "1 = the level below it...), or the nearest parent whose fields satisfy `parent_where`",
                   optional=("level", "parent_where"),
                   example="assign: hierarchy_owner, parent_where: {field: account.employees, at_least: 5000}"),
        ActionSpec("opportunity_owner",
                   "the owner of an open opportunity of the matched account (or its duplicates), in the listed "
                   "`stages` (earlier stages in the list win); two open in the same stage go by `tie_break` "
                   "(default latest_close_date; or earliest_close_date, largest_amount, smallest_amount)",
                   optional=("stages", "tie_break"),
                   example="assign: opportunity_owner, stages: [Scoping, Negotiation], tie_break: largest_amount"),
        ActionSpec("user_in_field", "the user named in a field, e.g. account.csm_id or account.adr_id",
                   required=("field",), example="assign: user_in_field, field: account.adr_id"),
        ActionSpec("lead_owner", "the owner of an existing lead of the same company (lead-to-lead match); with "
                   "`lead_where`, of the company's most recent lead whose fields (lead.*) satisfy it, e.g. the "
                   "latest ADR-owned lead even when a newer one has another owner",
                   optional=("lead_where",),
                   example="assign: lead_owner, lead_where: {field: lead.owner_role, equals: ADR}"),
        ActionSpec("table", "the owner found by looking the lead up in a table (a user id, queue:<name> or pool:<name>)",
                   required=("table", "lookup"),
                   example="assign: table, table: territories, lookup: {country: lead.country_code}"),
        ActionSpec("pool", "the next available member of a distribution pool", required=("pool",),
                   example="assign: pool, pool: hot_inbound"),
        ActionSpec("queue", "a named queue (e.g. a shark tank where reps claim leads)", required=("queue",),
                   example="assign: queue, queue: Shark_Tank"),
        ActionSpec("user", "a named user from the roster", required=("user",), example="assign: user, user: '005...'"),
        ActionSpec("keep", "keep the lead's current owner", example="assign: keep"),
        ActionSpec("flow", "route the lead through another flow's steps (e.g. an activated lead as a new lead)",
                   required=("flow",), example="assign: flow, flow: new"),
    ]
}

# How two open opportunities in the same stage are told apart (opportunity_owner's tie_break):
# the column of the opportunity, whether the larger wins, and the words the trace uses.
TIE_BREAKS: dict[str, tuple[str, bool, str]] = {
    "latest_close_date": ("close_date", True, "latest close date"),
    "earliest_close_date": ("close_date", False, "earliest close date"),
    "largest_amount": ("amount", True, "largest amount"),
    "smallest_amount": ("amount", False, "smallest amount"),
}
DEFAULT_TIE_BREAK = "latest_close_date"

# Actions whose owner comes from the matched account: their evidence includes which account.
ACCOUNT_ACTIONS = ("account_owner", "ultimate_parent_owner", "hierarchy_owner", "opportunity_owner")


class Action(Node):
    """``assign: <action>`` and its parameters (written inline in a step, or as a fallback mapping)."""

    assign: str
    params: dict[str, Any] = {}
    parent_where: Condition | None = None  # hierarchy_owner: evaluated on each parent account
    lead_where: Condition | None = None  # lead_owner: evaluated on each earlier lead of the company
    param_where: dict[str, SourceRef] = {}  # where each parameter was written, for errors

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        owner = "an action"
        if isinstance(data, Written):  # from a step or a pool, which knows what to call it
            owner, data = data.label, (LineDict.like({"assign": data.node}, None, data.where.line)
                                       if isinstance(data.node, str) else data.node)
        elif isinstance(data, str):
            data = LineDict.like({"assign": data}, None)
        if not isinstance(data, LineDict):
            return data  # built in code
        if "assign" not in data:
            raise problem(f"{owner} needs `assign:` (one of {', '.join(ACTIONS)})", at(info, data))
        name = str(data["assign"])
        where = at(info, data, "assign")
        spec = ACTIONS.get(name)
        if spec is None:
            raise problem(f"unknown action {name!r}{suggest(name, ACTIONS)}", where)
        params = {k: v for k, v in data.items() if k != "assign"}
        missing = [r for r in spec.required if r not in params]
        if missing:
            raise problem(f"action {name!r} needs `{missing[0]}`", where)
        extra = set(params) - set(spec.required) - set(spec.optional)
        if extra:
            raise problem(f"action {name!r} does not take {sorted(extra)}", where)
        for key in ("table", "pool", "queue", "user", "field", "flow"):
            value = params.get(key)
            if key in params and (not isinstance(value, (str, int)) or isinstance(value, bool) or value == ""):
                raise problem(f"action {name!r}: `{key}` needs one name, got {_shown(value)}", at(info, data, key))
        if "lookup" in params and not _is_lookup(params["lookup"]):
            raise problem(f"action {name!r}: `lookup` maps each key column of the table to a field, e.g. "
                          f"{{country: lead.country_code}}", at(info, data, "lookup"))
        if name == "hierarchy_owner":
            if ("level" in params) == ("parent_where" in params):
                raise problem("action 'hierarchy_owner' needs either `level: N` (0 = the ultimate parent) "
                              "or `parent_where: <condition on account fields>`", where)
            level = params.get("level", 0)
            if not (isinstance(level, int) and not isinstance(level, bool) and level >= 0):
                raise problem(f"`level` must be a whole number, 0 or more (0 = the ultimate parent), got {level!r}",
                              where)
        if name == "opportunity_owner" and "stages" in params and not isinstance(params["stages"], list):
            raise problem("`stages` needs a list, e.g. [Scoping, Negotiation]", where)
        if name == "opportunity_owner" and "tie_break" in params and params["tie_break"] not in TIE_BREAKS:
            raise problem(f"unknown tie_break {params['tie_break']!r}{suggest(str(params['tie_break']), TIE_BREAKS)}; "
                          f"one of {', '.join(TIE_BREAKS)}", at(info, data, "tie_break"))
        if name == "flow" and params.get("flow") not in ENTRIES:
            raise problem(f"unknown flow {params.get('flow')!r}{suggest(params.get('flow'), ENTRIES)}", where)
        return {"where": where, "assign": name,
                "params": {k: v for k, v in params.items() if k not in ("parent_where", "lead_where")},
                "parent_where": params.get("parent_where"), "lead_where": params.get("lead_where"),
                "param_where": {k: at(info, data, k) for k in params}}

    def at(self, param: str) -> SourceRef:
        return self.param_where.get(param, self.where)

    def describe(self) -> str:
        p = self.params
        match self.assign:
            case "table":
                return f"look up table {p['table']}"
            case "pool":
                return f"pool {p['pool']}"
            case "queue":
                return f"queue {p['queue']}"
            case "user":
                return f"user {p['user']}"
            case "user_in_field":
                return f"the user in {p['field']}"
            case "flow":
                return f"the {p['flow']} flow"
            case "lead_owner" if self.lead_where is not None:
                return f"the owner of the company's latest lead where {self.lead_where.describe()}"
            case _:
                return self.assign.replace("_", " ")

    def fields(self) -> list[str]:
        if self.assign == "table":
            return lookup_fields(self.params["lookup"])
        if self.assign == "user_in_field":
            return [self.params["field"]]
        return []


@dataclass(frozen=True)
class SideActionSpec:
    name: str
    doc: str
    keys: tuple[str, ...]
    example: str


SIDE_ACTIONS: dict[str, SideActionSpec] = {
    s.name: s
    for s in [
        SideActionSpec("convert", "convert the lead into a contact under the matched account (owned by the new owner); "
                       "create_opportunity adds an opportunity, assign_account makes the new owner the account's owner too",
                       ("converted_status", "create_opportunity", "opportunity_name", "assign_account"),
                       "convert: {converted_status: Qualified, create_opportunity: true}   # or convert: true"),
        SideActionSpec("task", "a follow-up task for the new owner, due within a time; text may name fields in {braces}",
                       ("subject", "due_in_hours", "due_in_days", "priority", "description"),
                       "task: {subject: 'Call {lead.company}', due_in_hours: 4, priority: High}"),
        SideActionSpec("set", "set lead fields (names under writes: in fields.yaml); text may name fields in {braces}",
                       (), "set: {routing_reason: 'Customer account {account.name}'}"),
        SideActionSpec("campaign", "add the lead to a CRM campaign (a member with a status; once, however often retried)",
                       ("campaign_id", "status"), "campaign: {campaign_id: '701000000000001AAA', status: Responded}"),
    ]
}


class SideAction(Node):
    """What a deciding step asks for besides the owner; read from ``Written(body, where, kind)``."""

    kind: str  # convert | task | set | campaign
    params: dict[str, Any] = {}
    templates: dict[str, Template] = {}  # param name -> template (task subject/description, set values)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, kind = data
        spec = SIDE_ACTIONS[kind]
        if kind == "convert" and node is True:
            node = {}
        if not isinstance(node, dict) or (kind == "set" and not node):
            raise problem(f"`{kind}` needs a mapping, e.g. {spec.example}", where)
        where = at(info, node) if isinstance(node, LineDict) else where
        unknown = set(node) - set(spec.keys) if kind != "set" else set()
        if unknown:
            raise problem(f"`{kind}` does not take {sorted(unknown)}; it takes {', '.join(spec.keys)}", where)
        if kind == "task":
            for key in ("due_in_hours", "due_in_days"):
                if key in node and not (isinstance(node[key], (int, float)) and node[key] >= 0):
                    raise problem(f"`{key}` must be a number of {key[7:]}, got {node[key]!r}", where)
            if "subject" not in node:
                raise problem("`task` needs a `subject`", where)
        if kind == "campaign" and not node.get("campaign_id"):
            raise problem("`campaign` needs a `campaign_id`: the CRM id of the campaign (701...)", where)
        texts = {k: v for k, v in node.items() if kind == "set" or k in ("subject", "description")}
        return {"where": where, "kind": kind, "templates": {k: parse_template(str(v), where) for k, v in texts.items()},
                "params": {k: v for k, v in node.items() if k not in texts}}

    def fields(self) -> list[str]:
        return [f for t in self.templates.values() for f in t.fields()]


# -- steps and flows --------------------------------------------------------------------------------


class Hold(Node):
    """A step's ``hold:``: the leads it applies to wait (no owner yet) until they may go on.

    A lead is held while ``until`` does not hold yet, the pool ``until_working_hours`` names
    has nobody in working hours, and it is less than ``at_most_minutes`` old (counted from
    ``lead.created_at``). Holding is stateless: each tick the held leads are routed again
    (:mod:`pipelines.routing.engine.hold`), and a lead the step no longer holds takes the step's
    action, or goes on to the next step when the step only holds.
    """

    until: Condition | None = None
    at_most_minutes: float | None = None
    until_working_hours: str | None = None  # a pool: held while none of its members is in working hours
    queue: str | None = None  # where held leads wait; by default where they are (the intake queue)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        """``hold: {until: <condition>, at_most: {hours: 2}, until_working_hours: <pool>, queue: <queue>}``."""
        if not isinstance(data, Written):
            return data
        node, where, step = data
        allowed = {"until", "at_most", "until_working_hours", "queue"}
        if not isinstance(node, dict) or not node or set(node) - allowed:
            extra = sorted(set(node) - allowed) if isinstance(node, dict) else []
            raise problem(f"step {step!r}: `hold` takes {', '.join(sorted(allowed))}"
                          + (f", not {extra}" if extra else "")
                          + "; e.g. hold: {until: {field: lead.country_code, is_not_empty}, at_most: {hours: 2}}", where)
        minutes = None
        if "at_most" in node:
            at_most = node["at_most"]
            unit = next(iter(at_most), None) if isinstance(at_most, dict) and len(at_most) == 1 else None
            value = at_most.get(unit) if unit else None
            if unit not in CALENDAR_UNITS or not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise problem(f"step {step!r}: `hold.at_most` needs one of {', '.join(CALENDAR_UNITS)} with a number, "
                              f"e.g. {{hours: 2}}", at(info, node, "at_most"))
            minutes = float(value) * CALENDAR_UNITS[unit]
        if "until" not in node and minutes is None and "until_working_hours" not in node:
            raise problem(f"step {step!r}: `hold` needs `until`, `at_most` or `until_working_hours`, "
                          f"or it would hold leads forever", at(info, node))
        return {"where": at(info, node), "until": node.get("until"), "at_most_minutes": minutes,
                "until_working_hours": str(node["until_working_hours"]) if node.get("until_working_hours") else None,
                "queue": str(node["queue"]) if node.get("queue") else None}

    def describe(self) -> str:
        parts = []
        if self.until is not None:
            parts.append(self.until.describe())
        if self.until_working_hours:
            parts.append(f"a member of pool {self.until_working_hours} is in working hours")
        text = "until " + " and ".join(parts) if parts else "for a while"
        if self.at_most_minutes is not None:
            text += f", at most {duration_text(self.at_most_minutes)} after the lead came in"
        return text

    def fields(self) -> list[str]:
        return (self.until.fields() if self.until is not None else []) + ["lead.created_at", "lead.owner_queue"]


def duration_text(minutes: float, working: bool = False) -> str:
    """``90`` -> "90 minutes", ``120`` -> "2 hours", ``1440`` -> "1 day" (working: "2 working hours")."""
    kind = "working " if working else ""
    if minutes % 1440 == 0 and not working:
        value, unit = minutes / 1440, "day"
    elif minutes % 60 == 0:
        value, unit = minutes / 60, f"{kind}hour"
    else:
        value, unit = minutes, f"{kind}minute"
    return f"{value:g} {unit}{'' if value == 1 else 's'}"


class RouteAs(Node):
    """A step's (or a flow's) ``route_as:``: the step reads the lead's account family from above.

    ``route_as: ultimate_parent`` or ``route_as: {parent_where: <condition on account fields>}``
    (the nearest account *above* the matched one for which it holds, like ``hierarchy_owner``'s
    ``parent_where``). The step's condition, its table lookups and its action then read that
    ancestor's fields as ``account.*`` (country, state, employees, owner...): the subsidiary's
    lead routes "as if it were" the parent, while ``lead.*`` and ``match.*`` stay the lead's own.
    A lead with no such ancestor (no matched account, no parent where...) skips the step.
    """

    kind: str  # ultimate_parent | parent_where
    parent_where: Condition | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, label = data
        example = ("route_as: ultimate_parent, or route_as: {parent_where: {field: account.employees, "
                   "at_least: 5000}}")
        if node == "ultimate_parent":
            return {"where": where, "kind": "ultimate_parent"}
        if isinstance(node, dict) and set(node) == {"parent_where"}:
            return {"where": at(info, node) if isinstance(node, LineDict) else where, "kind": "parent_where",
                    "parent_where": node["parent_where"]}
        got = sorted(node) if isinstance(node, dict) else repr(node)
        raise problem(f"{label}: `route_as` takes ultimate_parent or {{parent_where: <condition>}}, not {got}; "
                      f"e.g. {example}", where)

    def describe(self) -> str:
        if self.kind == "ultimate_parent":
            return "routed as the ultimate parent"
        return f"routed as the nearest parent where {self.parent_where.describe()}"

    def fields(self) -> list[str]:
        return self.parent_where.fields() if self.parent_where is not None else []


HOLD = "hold"  # the action of a step that only holds (no assign:): released leads go on to the next step
STEP_KEYS = ("step", "description", "when", "fallback", "hold", "route_as", "notify", *SIDE_ACTIONS)  # the rest of a step is its action


class Step(Node):
    """``- step: name``, its ``when``, its action (``assign:`` and parameters, inline), fallback, side actions, hold."""

    name: str
    description: str = ""
    when: Condition | None = None
    action: Action
    fallback: Action | None = None
    side_actions: list[SideAction] = []
    hold: Hold | None = None
    route_as: RouteAs | None = None
    notify: Notify | None = None  # who hears of its decisions once the owner change is in the CRM

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Step) or (isinstance(data, dict) and "where" in data):
            return data  # built in code
        if not isinstance(data, dict) or "step" not in data:
            raise problem("each step needs a name: `- step: some_name`", at(info, data))
        where = at(info, data)
        name = str(data["step"])
        action = LineDict.like({k: v for k, v in data.items() if k not in STEP_KEYS}, data)
        out: dict[str, Any] = {"where": where, "name": name, "description": str(data.get("description", ""))}
        if "when" in data:
            out["when"] = data["when"]
        if "hold" in data:
            out["hold"] = Written(data["hold"], at(info, data, "hold"), name)
        if data.get("route_as") is not None:
            out["route_as"] = Written(data["route_as"], at(info, data, "route_as"), f"step {name!r}")
        if "hold" in data and not action:  # a step that only holds: the leads it releases go on to the next step
            if "fallback" in data or "notify" in data or any(k in data for k in SIDE_ACTIONS):
                raise problem(f"step {name!r} only holds (no assign:), so it takes no fallback, side actions or "
                              f"notify", where)
            out["action"] = Action.model_construct(where=at(info, data, "hold"), assign=HOLD, params={},
                                                   parent_where=None, param_where={})
        else:
            out["action"] = Written(action, where, f"step {name!r}")
        if "fallback" in data:
            out["fallback"] = Written(data["fallback"], at(info, data, "fallback"), f"the fallback of step {name!r}")
        out["side_actions"] = [Written(data[k], at(info, data, k), k) for k in SIDE_ACTIONS if k in data]
        if "notify" in data:
            out["notify"] = Written(data["notify"], at(info, data, "notify"), f"step {name!r}")
        return out


class PolicyRule(Node):
    """One protection of the reroute policy: a lead for which ``keep_when`` holds is never rerouted."""

    name: str
    description: str = ""
    keep_when: Condition

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, LineDict) and isinstance(data, dict):
            return data
        if not isinstance(data, dict) or not {"name", "keep_when"} <= set(data):
            raise problem("each protection of the reroute policy needs `name` and `keep_when: <condition>` "
                          "(a lead for which it holds is never rerouted)", at(info, data))
        unknown = set(data) - {"name", "description", "keep_when"}
        if unknown:
            raise problem(f"reroute policy {data['name']!r}: unknown key(s) {sorted(unknown)}", at(info, data))
        return {"where": at(info, data), "name": str(data["name"]), "description": str(data.get("description", "")),
                "keep_when": data["keep_when"]}


class Flow(Node):
    """The steps of one entry point; read from ``Written(steps or {watch, steps}, where, entry)``."""

    entry: str
    steps: list[Step]
    watch: list[str] = []  # updated flow: the fields whose change re-routes a lead

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node, where, entry = data
        if entry not in ENTRIES:
            raise problem(f"unknown flow {entry!r}{suggest(entry, ENTRIES)}", where)
        watch: list[str] = []
        steps = node
        if isinstance(node, dict):
            unknown = set(node) - {"watch", "steps", "route_as"}
            if unknown:
                raise problem(f"flow {entry!r}: unknown key(s) {sorted(unknown)}; expected watch, steps and route_as",
                              at(info, node))
            watch = [str(w) for w in (node.get("watch") or [])]
            if entry == "updated" and not watch:
                raise problem("flow 'updated' needs `watch: [fields]`: the fields whose change sends an already "
                              "routed lead through it", at(info, node))
            if entry != "updated" and watch:
                raise problem(f"`watch` only applies to the updated flow, not {entry!r}", at(info, node, "watch"))
            steps = node.get("steps")
            if node.get("route_as") is not None and isinstance(steps, list):
                # a flow's route_as is every step's that does not say otherwise (route_as: null: its own account)
                steps = [_with_route_as(s, node) if isinstance(s, LineDict) and "route_as" not in s else s
                         for s in steps]
        if not isinstance(steps, list):
            raise problem(f"flow {entry!r} must be a list of steps", where)
        return {"where": where, "entry": entry, "steps": steps, "watch": watch}

    @model_validator(mode="after")
    def _names_once(self) -> Flow:
        step = repeated(self.steps)
        if step is not None:
            raise problem(f"step name {step.name!r} is used twice in flow {self.entry!r}", step.where)
        return self


def _with_route_as(step: LineDict, flow: LineDict) -> LineDict:
    """A step as written, given its flow's ``route_as`` (errors point at the flow's line)."""
    out = LineDict.like({**step, "route_as": flow["route_as"]}, step)
    if "route_as" in getattr(flow, "key_lines", {}):
        out.key_lines["route_as"] = flow.key_lines["route_as"]
    return out


class QueueDecl(Node):
    """A named queue of ``queues.yaml``; read from ``Written(node, where, name)``."""

    name: str
    label: str
    intake: bool = False
    purpose: str = ""
    alert_over: int | None = Field(default=None, ge=0)  # open leads past which engineers are alerted (ops/watch)

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Written):
            return data
        node = data.node if data.node is not None else {}
        if not isinstance(node, dict):
            raise problem(f"queue {data.label!r} must be a mapping: {{label: .., intake: true|false, purpose: ..}}",
                          data.where)
        # intake is read by the model as a boolean (true/false, yes/no): never Python's truth of a string
        return {"where": data.where, "name": data.label, "label": str(node.get("label", data.label)),
                "intake": node.get("intake", False), "purpose": str(node.get("purpose", "")),
                "alert_over": node.get("alert_over")}

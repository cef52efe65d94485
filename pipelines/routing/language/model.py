"""The rules language as typed models, each node knowing the file and line it came from.

What ops write in ``flow.yaml`` (and reuse in ``pools.yaml`` and ``day2.yaml``):

- **flows** (``flow.yaml``): per entry point (``new`` leads, ``updated`` leads), an
  ordered list of **steps**; the first step whose condition holds *and* whose
  action finds an owner decides. A step may name a **fallback** action, tried when
  its action finds no owner; otherwise the lead goes on to the next step. A new lead
  no step decides lands in the ``Unroutable`` queue with the reason; an updated lead
  no step decides keeps its decision.
- **conditions**: ``{field, op, value}`` over the closed vocabulary in
  :mod:`pipelines.routing.language.vocabulary`, ``{in_table, lookup}``, ``{changed, from, to}``
  (updated leads), and ``all`` / ``any`` / ``not`` around them.
- **actions** (``assign``): see :data:`ACTIONS`; **side actions** on a step
  (``convert``, ``task``, ``set``): see :data:`SIDE_ACTIONS`.
- **queues** (``queues.yaml``); tables are declared in :mod:`.tables`, pools in
  :mod:`.pools`, day-2 routing in :mod:`.day2`; the whole rule set is
  :class:`pipelines.routing.ruleset.model.RuleSet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel, ConfigDict

from pipelines.routing.language import words
from pipelines.sourcefile import SourceRef

FIELD_NAMESPACES = ("lead", "account", "match", "prior", "last_decision")
ENTRIES = ("new", "updated", "reopened")  # the flows; reopened: dormant leads that engage again (day2.yaml)
# Calendar time units a rule may give a duration in (hold.at_most, day2.yaml): minutes in each.
CALENDAR_UNITS = {"minutes": 1, "hours": 60, "days": 1440}


class Node(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")
    where: SourceRef


class FieldCondition(Node):
    field: str
    op: str
    value: Any = None

    def describe(self) -> str:
        return words.condition(self.field, self.op, self.value)

    def fields(self) -> list[str]:
        return [self.field]


class InTableCondition(Node):
    table: str
    lookup: dict[str, Any]  # table key column -> field (or {latitude, longitude} for an area key)

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
    kind: str  # all | any
    items: list[Condition]

    def describe(self) -> str:
        joiner = " and " if self.kind == "all" else " or "
        return "(" + joiner.join(i.describe() for i in self.items) + ")"

    def fields(self) -> list[str]:
        return [f for i in self.items for f in i.fields()]


class NotCondition(Node):
    item: Condition

    def describe(self) -> str:
        return f"not {self.item.describe()}"

    def fields(self) -> list[str]:
        return self.item.fields()


Condition = Union[FieldCondition, InTableCondition, ChangedCondition, GroupCondition, NotCondition]
GroupCondition.model_rebuild()
NotCondition.model_rebuild()


def lookup_fields(lookup: dict[str, Any]) -> list[str]:
    """The frame fields a table lookup reads (an area key reads a latitude and a longitude)."""
    out: list[str] = []
    for f in lookup.values():
        out += list(f.values()) if isinstance(f, dict) else [f]
    return out


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
                   "`stages` (earlier stages in the list win, then the latest close date)",
                   optional=("stages",), example="assign: opportunity_owner, stages: [Scoping, Negotiation]"),
        ActionSpec("user_in_field", "the user named in a field, e.g. account.csm_id or account.adr_id",
                   required=("field",), example="assign: user_in_field, field: account.adr_id"),
        ActionSpec("lead_owner", "the owner of an existing lead of the same company (lead-to-lead match)",
                   example="assign: lead_owner"),
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

# Actions whose owner comes from the matched account: their evidence includes which account.
ACCOUNT_ACTIONS = ("account_owner", "ultimate_parent_owner", "hierarchy_owner", "opportunity_owner")


class Action(Node):
    assign: str
    params: dict[str, Any] = {}
    parent_where: Condition | None = None  # hierarchy_owner: evaluated on each parent account
    param_where: dict[str, SourceRef] = {}  # where each parameter was written, for errors

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


class Template(Node):
    """Text with ``{namespace.field}`` placeholders, filled per lead (vectorised)."""

    text: str
    parts: list[tuple[str, str]]  # ("text", "..."), ("field", "lead.company")

    def fields(self) -> list[str]:
        return [v for k, v in self.parts if k == "field"]


class SideAction(Node):
    kind: str  # convert | task | set | campaign
    params: dict[str, Any] = {}
    templates: dict[str, Template] = {}  # param name -> template (task subject/description, set values)

    def fields(self) -> list[str]:
        return [f for t in self.templates.values() for f in t.fields()]


class Hold(Node):
    """A step's ``hold:``: the leads it applies to wait (no owner yet) until they may go on.

    A lead is held while ``until`` does not hold yet, the pool ``until_working_hours`` names
    has nobody in working hours, and it is less than ``at_most_minutes`` old (counted from
    ``lead.created_at``). Holding is stateless: each tick the held leads are routed again
    (:mod:`pipelines.routing.hold`), and a lead the step no longer holds takes the step's
    action, or goes on to the next step when the step only holds.
    """

    until: Condition | None = None
    at_most_minutes: float | None = None
    until_working_hours: str | None = None  # a pool: held while none of its members is in working hours
    queue: str | None = None  # where held leads wait; by default where they are (the intake queue)

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


HOLD = "hold"  # the action of a step that only holds (no assign:): released leads go on to the next step


class Step(Node):
    name: str
    description: str = ""
    when: Condition | None = None
    action: Action
    fallback: Action | None = None
    side_actions: list[SideAction] = []
    hold: Hold | None = None


class PolicyRule(Node):
    """One protection of the reroute policy: a lead for which ``keep_when`` holds is never rerouted."""

    name: str
    description: str = ""
    keep_when: Condition


class Flow(Node):
    entry: str
    steps: list[Step]
    watch: list[str] = []  # updated flow: the fields whose change re-routes a lead


class QueueDecl(Node):
    name: str
    label: str
    intake: bool = False
    purpose: str = ""

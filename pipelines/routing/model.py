"""The routing rules as typed models, each node knowing the file and line it came from.

A rule set is:

- **flows** (``flow.yaml``): per entry point (``new`` leads, ``updated`` leads), an
  ordered list of **steps**; the first step whose condition holds *and* whose
  action finds an owner decides. A step may name a **fallback** action, tried when
  its action finds no owner; otherwise the lead goes on to the next step. A lead no
  step decides lands in the ``Unroutable`` queue with the reason.
- **conditions**: ``{field, op, value}`` over the closed vocabulary in
  :mod:`pipelines.routing.vocabulary`, ``{in_table, lookup}``, and ``all`` / ``any``
  / ``not`` around them.
- **actions** (``assign``): see :data:`ACTIONS`.
- **tables** (CSV), **pools** (``pools.yaml``), **queues** (``queues.yaml``) and the
  **roster** (``reps.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from pydantic import BaseModel, ConfigDict

from pipelines.sourcefile import SourceRef

FIELD_NAMESPACES = ("lead", "account", "match")


class Node(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")
    where: SourceRef


class FieldCondition(Node):
    field: str
    op: str
    value: Any = None

    def describe(self) -> str:
        value = "" if self.value is None else f" {self.value}"
        return f"{self.field} {self.op.replace('_', ' ')}{value}"

    def fields(self) -> list[str]:
        return [self.field]


class InTableCondition(Node):
    table: str
    lookup: dict[str, str]  # table key column -> field

    def describe(self) -> str:
        keys = ", ".join(f"{k}={v}" for k, v in self.lookup.items())
        return f"a row of table {self.table} matches ({keys})"

    def fields(self) -> list[str]:
        return list(self.lookup.values())


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


Condition = Union[FieldCondition, InTableCondition, GroupCondition, NotCondition]
GroupCondition.model_rebuild()
NotCondition.model_rebuild()


@dataclass(frozen=True)
class ActionSpec:
    """What an action needs and what it does, for validation and docs."""

    name: str
    doc: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


ACTIONS: dict[str, ActionSpec] = {
    a.name: a
    for a in [
        ActionSpec("account_owner", "the owner of the matched account"),
        ActionSpec("ultimate_parent_owner", "the owner of the matched account's ultimate parent"),
        ActionSpec("account_field", "the user named in a field of the matched account, e.g. csm_id or adr_id",
                   required=("field",)),
        ActionSpec("lead_owner", "the owner of an existing lead of the same company (lead-to-lead match)"),
        ActionSpec("table", "the owner found by looking the lead up in a table", required=("table", "lookup")),
        ActionSpec("pool", "the next available member of a distribution pool", required=("pool",)),
        ActionSpec("queue", "a named queue", required=("queue",)),
        ActionSpec("user", "a named user from the roster", required=("user",)),
        ActionSpec("keep", "keep the lead's current owner"),
    ]
}


class Action(Node):
    assign: str
    params: dict[str, Any] = {}

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
            case "account_field":
                return f"the user in the account's {p['field']}"
            case _:
                return self.assign.replace("_", " ")

    def fields(self) -> list[str]:
        if self.assign == "table":
            return list(self.params["lookup"].values())
        return []


class Step(Node):
    name: str
    description: str = ""
    when: Condition | None = None
    action: Action
    fallback: Action | None = None


class Flow(Node):
    entry: str
    steps: list[Step]


class TableDecl(Node):
    name: str
    file: str
    keys: dict[str, str]  # column -> match kind (exact, range, prefix, suffix)
    value: str  # column holding the owner (a roster user id, queue:<name> or pool:<name>)


class QueueDecl(Node):
    name: str
    label: str
    intake: bool = False
    purpose: str = ""


@dataclass
class RuleSet:
    """Everything the router needs, loaded once per run."""

    root: str
    version: str
    flows: dict[str, Flow]
    tables: dict[str, TableDecl]
    table_rows: dict[str, Any]  # name -> pandas DataFrame with a `_line` column
    pools: dict[str, Any]  # name -> pool_config.PoolDecl
    queues: dict[str, QueueDecl]
    reps: Any  # pandas DataFrame, one row per roster entry, with `_line`
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    @property
    def intake_queues(self) -> list[str]:
        return [q.name for q in self.queues.values() if q.intake]

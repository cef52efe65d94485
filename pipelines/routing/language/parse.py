"""The rules files as models: ``flow.yaml`` (flows, tables, the reroute policy) and ``queues.yaml``.

Every file of ``routing_rules/`` is read the one way settings are read
(:func:`pipelines.sourcefile.read_settings`): YAML with the line of every node, validated by
its model, every problem at ``file:line`` and all of them at once (an ops person fixing a
pull request wants the full list, not one error per CI run). Structural problems (unknown
keys, operators, actions; malformed values) are found here and in the models of
:mod:`.model`, :mod:`.tables`, :mod:`.pools` and :mod:`.day2`; cross-references (does that
pool, table, queue or rep exist?) in :mod:`pipelines.routing.ruleset.checks`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from pipelines.routing.language.model import ENTRIES, Flow, PolicyRule, QueueDecl
from pipelines.routing.language.node import Written, at, repeated
from pipelines.routing.language.tables import TableDecl
from pipelines.sourcefile import problem

FLOW_FILE = "flow.yaml"
QUEUES_FILE = "queues.yaml"


class FlowFile(BaseModel):
    """``flow.yaml``: the flows by entry point, the lookup tables, the reroute policy."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    version: int = 1
    flows: dict[str, Flow]
    tables: dict[str, TableDecl] = {}
    reroute_policy: list[PolicyRule] = []

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        flows = data.get("flows")
        if not isinstance(flows, dict):
            raise problem("flow.yaml needs `flows:` with a `new:` list of steps", at(info, data))
        if "new" not in flows and set(flows) <= set(ENTRIES):
            raise problem("flows need a `new:` entry (how new leads are routed)", at(info, flows))
        policy = data.get("reroute_policy")
        if policy is not None and not isinstance(policy, list):
            raise problem("`reroute_policy` needs a list of protections: - {name: .., description: .., keep_when: "
                          "<condition>}", at(info, data, "reroute_policy"))
        tables = data.get("tables") or {}
        if not isinstance(tables, dict):
            raise problem("`tables` needs a mapping of named tables: <name>: {file: tables/<name>.csv, keys: {..}, "
                          "value: ..}", at(info, data, "tables"))
        return {**data, "flows": {str(e): Written(steps, at(info, flows, e), str(e)) for e, steps in flows.items()},
                "tables": {str(n): Written(node, at(info, tables, n), str(n)) for n, node in tables.items()},
                "reroute_policy": policy or []}

    @model_validator(mode="after")
    def _policy_names_once(self) -> FlowFile:
        rule = repeated(self.reroute_policy)
        if rule is not None:
            raise problem(f"reroute policy name {rule.name!r} is used twice", rule.where)
        return self


class QueuesFile(BaseModel):
    """``queues.yaml``: the named queues (``intake: true`` where new leads land)."""

    version: int = 1
    queues: dict[str, QueueDecl] = {}

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        queues = data.get("queues") or {}
        if not isinstance(queues, dict):
            raise problem("`queues` needs a mapping of named queues: <name>: {label: .., intake: true|false}",
                          at(info, data, "queues"))
        return {**data, "queues": {str(n): Written(node, at(info, queues, n), str(n)) for n, node in queues.items()}}

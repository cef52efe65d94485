"""The rule set: everything in ``routing_rules/`` the router needs, loaded once per run into typed models.

One object carries the flows, tables (declarations and rows), pools, queues, roster and
day-2 settings, with the content hash of every file (:attr:`RuleSet.version`). A run loads
it once, the blocking ``rules_valid`` check validates it, and every stage routes with that
same object, so the version that was checked is the version that routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipelines.routing.language.day2 import Day2Config
from pipelines.routing.language.model import Flow, PolicyRule, QueueDecl
from pipelines.routing.language.tables import TableDecl
from pipelines.routing.pools.catalog import PoolCatalog


@dataclass
class RuleSet:
    """Everything the router needs, loaded once per run."""

    root: str
    version: str  # content hash of every file under root (rules_version)
    flows: dict[str, Flow]
    tables: dict[str, TableDecl]
    table_rows: dict[str, pd.DataFrame]  # name -> the table's rows, with a `_line` column
    pools: PoolCatalog  # name -> PoolDecl, with the company days off of holidays.csv
    queues: dict[str, QueueDecl]
    reps: pd.DataFrame  # one row per roster entry (reps.csv), typed columns, with `_line`
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    # Which leads may be rerouted at all (flow.yaml `reroute_policy:`), applied to every kind of reroute.
    reroute_policy: list[PolicyRule] = field(default_factory=list)
    day2: Day2Config = field(default_factory=Day2Config)  # day2.yaml: SLAs, recycling, re-engagement, inactive owners

    @property
    def intake_queues(self) -> list[str]:
        return [q.name for q in self.queues.values() if q.intake]

    @property
    def watched_fields(self) -> list[str]:
        """Fields whose change sends an already decided lead through the ``updated`` flow."""
        flow = self.flows.get("updated")
        return list(flow.watch) if flow else []

    @property
    def reads_company_leads(self) -> bool:
        """Whether an action asks for the company's earlier leads (``lead_owner`` with ``lead_where``)."""
        actions = [a for flow in self.flows.values() for step in flow.steps for a in (step.action, step.fallback)]
        actions += [p.fallback for p in self.pools.values()]
        return any(a is not None and a.assign == "lead_owner" and a.lead_where is not None for a in actions)

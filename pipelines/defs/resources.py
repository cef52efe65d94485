"""Resources: the warehouse, the CRM, the rules and the clock, each a typed ConfigurableResource."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines.crm.base import CrmAdapter
from pipelines.crm.fields import FieldMapping, load_field_mapping
from pipelines.crm.local import LocalCrm
from pipelines.matching.settings import MatchingSettings, load_matching_settings
from pipelines.routing.loader import load_rules
from pipelines.routing.model import RuleSet
from pipelines.settings import Settings
from pipelines.warehouse import db


class ClockResource(dg.ConfigurableResource):
    """Now, in UTC. ``frozen_at`` (ISO 8601) pins it, so tests and replays control time."""

    frozen_at: str | None = None

    def now(self) -> datetime:
        if self.frozen_at:
            ts = datetime.fromisoformat(self.frozen_at)
            return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts
        return datetime.now(UTC).replace(tzinfo=None)


class RulesResource(dg.ConfigurableResource):
    """The ops-owned folder: field mapping, matching settings and routing rules."""

    path: str = "routing_rules"

    def mapping(self) -> FieldMapping:
        return load_field_mapping(f"{self.path}/fields.yaml")

    def matching(self) -> MatchingSettings:
        return load_matching_settings(f"{self.path}/matching.yaml")

    def rules(self) -> RuleSet:
        return load_rules(self.path)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse, held open for the whole run.

    With the in-process executor a run initialises its resources once, so the run
    holds the file from its first stage to its last: DuckDB's own lock then keeps
    any second writer (another tick, a backfill) out for the whole run, not just
    between stages.
    """

    path: str = "data/warehouse.duckdb"
    _con: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        with db.connect(self.path, wait_seconds=30) as con:
            self._con = con
            try:
                yield self
            finally:
                self._con = None

    def connection(self, mapping: FieldMapping) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("WarehouseResource used outside a run")
        db.migrate(self._con, mapping.mapped_columns())
        return self._con


class CrmResource(dg.ConfigurableResource):
    """The CRM behind the adapter contract. ``kind`` picks the implementation.

    One adapter serves the whole run, so its call counter is the run's API usage.
    """

    kind: str = "local"
    local_path: str = "data/crm.sqlite"
    _adapter: CrmAdapter | None = PrivateAttr(default=None)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[CrmResource]:
        try:
            yield self
        finally:
            if self._adapter is not None:
                self._adapter.close()
            self._adapter = None

    def adapter(self, clock: ClockResource) -> CrmAdapter:
        if self._adapter is None:
            self._adapter = self._build(clock)
        return self._adapter

    def _build(self, clock: ClockResource) -> CrmAdapter:
        if self.kind == "local":
            return LocalCrm(self.local_path, clock=clock.now)
        raise ValueError(f"Unknown CRM kind {self.kind!r}; set LEADROUTE_CRM to 'local' or 'salesforce'.")


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    settings = settings or Settings.from_env()
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse)),
        "crm": CrmResource(kind=settings.crm, local_path=str(settings.crm_path)),
        "rules": RulesResource(path=str(settings.rules)),
        "clock": ClockResource(),
    }

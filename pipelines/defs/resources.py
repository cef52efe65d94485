"""Resources: the warehouse, the CRM, the rules and the clock, each a typed ConfigurableResource."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr, field_validator

from pipelines.crm.base import CrmAdapter
from pipelines.crm.fields import FieldMapping, load_field_mapping
from pipelines.crm.local import LocalCrm
from pipelines.enrich.settings import EnrichmentSettings, load_enrichment_settings
from pipelines.matching.settings import MatchingSettings, load_matching_settings
from pipelines.quality.settings import QualitySettings, load_quality_settings
from pipelines.routing.ruleset.load import load_rules, rules_version
from pipelines.routing.ruleset.model import RuleSet
from pipelines.settings import Settings
from pipelines.sourcefile import ConfigError
from pipelines.warehouse import db, writer

if TYPE_CHECKING:  # requests loads only with the Salesforce connector: 0.1 s a local-CRM tick does not pay
    import requests


class ClockResource(dg.ConfigurableResource):
    """Now, in UTC. ``frozen_at`` (ISO 8601) pins it, so tests and replays control time."""

    frozen_at: str | None = None

    def now(self) -> datetime:
        if self.frozen_at:
            ts = datetime.fromisoformat(self.frozen_at)
            return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts
        return datetime.now(UTC).replace(tzinfo=None)


class NotifyResource(dg.ConfigurableResource):
    """Sends notifications through apprise; where to is read from the environment only (never this
    config, never the logs): ``LEADROUTE_NOTIFY_EMAIL_URL`` and ``LEADROUTE_NOTIFY_CHANNEL_<NAME>``."""

    tries: int = 3  # within one send; the outbox retries on later ticks
    retry_wait_seconds: float = 1.0  # the first wait between tries, doubling; tests set 0

    def courier(self):
        from pipelines.notify.channels import Courier

        return Courier(tries=self.tries, wait_seconds=self.retry_wait_seconds)


class RulesChanged(dg.Failure):
    """The rules folder changed on disk during the run: the version that was checked is no longer what is there."""


class RulesResource(dg.ConfigurableResource):
    """The ops-owned folder: field mapping, matching, enrichment and quality settings, routing rules.

    Loaded once per run (:meth:`setup_for_execution`) and pinned: the blocking ``rules_valid``
    check validates the rule set this resource holds, and every stage routes with that same
    object. Before routing, :meth:`rules_to_route` makes sure the folder on disk still is the
    version that was checked: an edit landing mid-run (a ``git pull`` on the tick machine) is
    reported and nothing new is routed on rules nobody checked; the next tick checks and routes
    with the new version. A file that cannot be loaded fails the stages that need it, with its
    problems at file:line, as if it were read there.
    """

    path: str = "routing_rules"
    _pinned: dict[str, object] = PrivateAttr(default_factory=dict)  # what -> loaded value, or its ConfigError

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._pinned = {}
        for what, load in self._loaders().items():
            try:
                self._pinned[what] = load()
            except ConfigError as exc:
                self._pinned[what] = exc

    def _loaders(self) -> dict[str, Callable[[], object]]:
        root = Path(self.path)
        return {
            "mapping": lambda: load_field_mapping(root / "fields.yaml"),
            "matching": lambda: load_matching_settings(root / "matching.yaml"),
            "enrichment": lambda: load_enrichment_settings(root / "enrichment.yaml"),
            # quality.yaml's identity groups name columns of the field mapping: checked against it.
            "quality": lambda: load_quality_settings(root / "quality.yaml", {
                obj: set(m.fields) for obj, m in self.mapping().objects.items()}),
            "rules": lambda: load_rules(root),
        }

    def _get(self, what: str):
        value = self._pinned[what] if what in self._pinned else self._loaders()[what]()  # outside a run: read now
        if isinstance(value, ConfigError):
            raise value
        return value

    def mapping(self) -> FieldMapping:
        return self._get("mapping")

    def matching(self) -> MatchingSettings:
        return self._get("matching")

    def enrichment(self) -> EnrichmentSettings:
        return self._get("enrichment")

    def quality(self) -> QualitySettings:
        return self._get("quality")

    def rules(self) -> RuleSet:
        """The routing rules pinned for this run (the version ``rules_valid`` checks)."""
        return self._get("rules")

    def rules_to_route(self) -> RuleSet:
        """The pinned rules, after making sure the folder still holds the version that was checked."""
        ruleset = self.rules()
        now, _ = rules_version(Path(self.path))
        if now != ruleset.version:
            raise RulesChanged(
                f"{self.path}/ changed during this run: rules version {ruleset.version} was checked, the folder "
                f"now holds {now}. Nothing new was routed on rules nobody checked; the next tick checks and "
                f"routes with the new version.", allow_retries=False)
        return ruleset


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse, held open for the whole run.

    With the in-process executor a run initialises its resources once, so the run
    holds the file from its first stage to its last: DuckDB's own lock then keeps
    any second writer (another tick, a backfill) out for the whole run, not just
    between stages.
    """

    path: str = "data/warehouse.duckdb"
    _con: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _migrated: bool = PrivateAttr(default=False)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        # The writer lock (re-entrant: `leadroute tick` took it before starting the run), and the run's
        # process in its tags, so a run that dies is recognised as dead rather than busy.
        run_id = context.run.run_id if context.run is not None else None
        if context.instance is not None and run_id:
            context.instance.add_run_tags(run_id, writer.process_tags(run_id))
        with writer.hold(self.path, what=f"run {(run_id or '')[:8]}"), \
                db.connect(self.path, wait_seconds=30) as con:
            self._con, self._migrated = con, False
            try:
                yield self
            finally:
                self._con = None

    def checkpoint_if_grown(self) -> bool:
        """At the end of a stage: its writes checkpointed when they grew the log past
        :data:`pipelines.warehouse.db.STAGE_CHECKPOINT_WAL_BYTES` (:func:`pipelines.warehouse.db.checkpoint_if_grown`)."""
        return self._con is not None and db.checkpoint_if_grown(self._con, self.path)

    def connection(self, mapping: FieldMapping) -> duckdb.DuckDBPyConnection:
        """The run's connection; the first call of a run brings the schema up to date (once per run)."""
        if self._con is None:
            raise RuntimeError("WarehouseResource used outside a run")
        if not self._migrated:
            db.migrate(self._con, mapping.mapped_columns())
            self._migrated = True
        return self._con


class CrmResource(dg.ConfigurableResource):
    """The CRM behind the adapter contract. ``kind`` picks the implementation.

    One adapter serves the whole run, so its call counter is the run's API usage.
    Salesforce credentials arrive only as ``dg.EnvVar`` (see :func:`default_resources`),
    so the run's stored config names the variables, never their values; the fields are
    kept out of ``repr`` too. Tuning fields left ``None`` take the connector's defaults
    (``pipelines.crm.salesforce.settings``).
    """

    kind: Literal["local", "salesforce"] = "local"
    local_path: str = "data/crm.sqlite"
    # Salesforce credentials (SALESFORCE_* environment variables, through dg.EnvVar only).
    sf_username: str | None = Field(default=None, repr=False)
    sf_password: str | None = Field(default=None, repr=False)
    sf_security_token: str | None = Field(default=None, repr=False)
    sf_consumer_key: str | None = Field(default=None, repr=False)
    sf_consumer_secret: str | None = Field(default=None, repr=False)
    sf_private_key: str | None = Field(default=None, repr=False)
    sf_private_key_file: str | None = Field(default=None, repr=False)
    sf_instance_url: str | None = Field(default=None, repr=False)
    sf_session_id: str | None = Field(default=None, repr=False)
    sf_domain: str | None = None
    sf_auth: str | None = None
    # Salesforce tuning (SALESFORCE_* variables; None = the connector's default).
    sf_api_version: str | None = None
    sf_timeout_seconds: float | None = None
    sf_max_retries: int | None = None
    sf_retry_backoff_seconds: float | None = None
    sf_max_reauth: int | None = None
    sf_api_budget_share: float | None = None
    sf_bulk_update_threshold: int | None = None
    sf_bulk_query_threshold: int | None = None
    sf_bulk_poll_seconds: float | None = None
    sf_task_external_id_field: str | None = None
    _adapter: CrmAdapter | None = PrivateAttr(default=None)

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, kind: object) -> object:
        if kind not in ("local", "salesforce"):
            raise ValueError(f"Unknown CRM kind {kind!r}; set LEADROUTE_CRM to 'local' or 'salesforce'.")
        return kind

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
        return LocalCrm(self.local_path, clock=clock.now) if self.kind == "local" else self._salesforce()

    def _salesforce(self) -> CrmAdapter:
        """Log in now. Settings that cannot work, or a login Salesforce refuses, fail the step without
        the retry policy's retries: Salesforce locks a user out after a few failed logins."""
        from pipelines.crm.base import CrmUnavailable
        from pipelines.crm.salesforce import SalesforceCrm, SalesforceSettingsError, load_settings

        values = {name.removeprefix("sf_"): getattr(self, name) for name in type(self).model_fields
                  if name.startswith("sf_")}
        try:
            crm = SalesforceCrm(load_settings(values), http=self.http_session())
            crm.connect()
        except SalesforceSettingsError as exc:
            raise dg.Failure(str(exc), allow_retries=False) from None
        except CrmUnavailable as exc:
            if exc.code != "LOGIN_FAILED":
                raise
            raise dg.Failure(f"{exc} Not retried within this tick: Salesforce locks a user out after a few "
                             f"failed logins.", allow_retries=False) from None
        return crm

    def http_session(self) -> requests.Session | None:
        """The session under the Salesforce connector; None means a standard ``requests.Session``
        (so ``REQUESTS_CA_BUNDLE`` and proxy variables apply). Tests return the emulator's."""
        return None


@contextlib.contextmanager
def open_crm(settings: Settings | None = None) -> Iterator[CrmAdapter]:
    """The configured CRM's adapter outside a run (``leadroute crm check``), with its
    dg.EnvVar credentials resolved the way a run resolves them."""
    from pipelines.crm.base import CrmUnavailable

    resources = default_resources(settings)
    with dg.build_resources({"crm": resources["crm"], "clock": resources["clock"]}) as built:
        try:
            adapter = built.crm.adapter(built.clock)
        except dg.Failure as exc:
            raise CrmUnavailable("NOT_CONNECTED", exc.description or str(exc)) from None
        yield adapter


def salesforce_config(environ: dict[str, str] | None = None) -> dict[str, object]:
    """CrmResource fields from SALESFORCE_* variables: credentials as dg.EnvVar (only those set,
    so unset optional ones never break a run), tuning as checked values."""
    from pipelines.crm.salesforce import CREDENTIAL_VARS, tuning_from_env

    env = os.environ if environ is None else environ
    config: dict[str, object] = {f"sf_{field}": dg.EnvVar(var)
                                 for field, var in CREDENTIAL_VARS.items() if env.get(var, "").strip()}
    config |= {f"sf_{field}": value for field, value in tuning_from_env(env).items()}
    return config


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    settings = settings or Settings.from_env()
    crm_config = salesforce_config() if settings.crm == "salesforce" else {}
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse)),
        "crm": CrmResource(kind=settings.crm, local_path=str(settings.crm_path), **crm_config),
        "rules": RulesResource(path=str(settings.rules)),
        "clock": ClockResource(),
        "notify": NotifyResource(),
    }

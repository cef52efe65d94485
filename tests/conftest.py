"""Shared fixtures: a small CRM built record by record, and a pipeline that runs real ticks on it."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

# The local Salesforce API emulator's fixtures: `sf_emulator` (a running org), `sf_client`.
from tests.sf_emulator.fixtures import sf_client, sf_emulator  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "routing_rules"
NOW = datetime(2026, 11, 20, 15, 0, 0)  # a Friday afternoon, UTC

# Roster ids used across tests (routing_rules/reps.csv).
MORGAN = "005000000000001AAA"
AVA = "005000000000010AAA"  # AE West (California)
DIEGO = "005000000000011AAA"
HANNAH = "005000000000012AAA"  # AE Central
MARCUS = "005000000000013AAA"  # AE East
LUKAS = "005000000000015AAA"  # AE EMEA (DACH)
KENJI = "005000000000017AAA"  # AE APAC
LIAM = "005000000000040AAA"  # SDR Inbound
ZOE = "005000000000041AAA"  # SDR Inbound
MATEO = "005000000000042AAA"  # SDR Inbound, out of office 2026-11-16 .. 2026-11-30
ELLA = "005000000000043AAA"  # SDR Inbound
BRAD = "005000000000090AAA"  # AE who left: inactive, still owns records


def pytest_collection_modifyitems(items):
    """Tests marked ``starts_first`` (the production topology: minutes of wall time) run first, so
    with several workers the others' tests overlap it instead of waiting for it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("starts_first") is None)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped rules, safe to edit in a test."""
    target = tmp_path / "routing_rules"
    shutil.copytree(RULES, target)
    return target


@pytest.fixture
def crm(tmp_path: Path, rules_dir: Path):
    from tests.crm_builder import CrmBuilder

    builder = CrmBuilder(tmp_path / "crm.sqlite", NOW - timedelta(minutes=1), rules_dir=rules_dir)
    yield builder
    builder.close()


class Pipeline:
    """Runs the real tick job (in-process, ephemeral Dagster instance) against temp files."""

    def __init__(self, tmp_path: Path, rules_dir: Path, crm_path: Path):
        import dagster as dg

        self.warehouse = tmp_path / "warehouse.duckdb"
        self.rules_dir = rules_dir
        self.crm_path = crm_path
        self.instance = dg.DagsterInstance.ephemeral()
        self.now = NOW

    def resources(self, now: datetime, crm=None):
        from pipelines.defs.resources import ClockResource, CrmResource, NotifyResource, RulesResource, WarehouseResource

        return {
            "notify": NotifyResource(retry_wait_seconds=0),
            "warehouse": WarehouseResource(path=str(self.warehouse)),
            "crm": crm or CrmResource(kind="local", local_path=str(self.crm_path)),
            "rules": RulesResource(path=str(self.rules_dir)),
            "clock": ClockResource(frozen_at=now.isoformat()),
        }

    def tick(self, now: datetime | None = None, *, expect_success: bool = True, crm=None):
        from pipelines.runner import run_tick

        self.now = now or self.now + timedelta(minutes=5)
        outcome = run_tick(resources=self.resources(self.now, crm), instance=self.instance, log_level="WARNING")
        if expect_success:
            assert outcome.success, outcome.failures
        return outcome

    def backfill(self, start, end, *, dry_run: bool, now: datetime | None = None, expect_success: bool = True):
        """One backfill run over lead-creation days start..end, through the reroute_backfill job."""
        from pipelines.runner import run_backfill

        self.now = now or self.now + timedelta(minutes=5)
        outcome = run_backfill(start, end, dry_run=dry_run, resources=self.resources(self.now),
                               instance=self.instance, log_level="WARNING")
        if expect_success:
            assert outcome.success, outcome.failures
        return outcome

    def query(self, sql: str, params=None):
        from pipelines.warehouse import db

        with db.connect(self.warehouse, read_only=True) as con:
            return con.execute(sql, params or []).df()


def copy_world(world: Path, to: Path) -> Path:
    """A test's own copy of a world one module built and ticked once (its CRM, warehouse and
    rules folder, git history included): the tick costs seconds, the copy milliseconds. Returns
    the copied rules folder."""
    for path in [*world.glob("crm.sqlite*"), *world.glob("warehouse.duckdb*")]:
        shutil.copy(path, to / path.name)
    return shutil.copytree(world / "routing_rules", to / "routing_rules")


@pytest.fixture
def pipeline(tmp_path: Path, rules_dir: Path, crm) -> Pipeline:
    return Pipeline(tmp_path, rules_dir, crm.path)


# -- One world, two CRMs: the local CRM and an emulated Salesforce org (tests/sf_emulator/twin.py) --


@pytest.fixture(params=["local", "salesforce"])
def crm_twin(request, tmp_path: Path, rules_dir: Path):
    """A CrmBuilder world on the local CRM, or on an emulated org loaded from it before the first tick."""
    from tests.crm_builder import CrmBuilder
    from tests.sf_emulator.twin import CrmTwin

    builder = CrmBuilder(tmp_path / "crm.sqlite", NOW - timedelta(minutes=1), rules_dir=rules_dir)
    emu = request.getfixturevalue("sf_emulator") if request.param == "salesforce" else None
    twin = CrmTwin(builder, request.param, emu)
    yield twin
    twin.close()
    builder.close()


class TwinPipeline(Pipeline):
    """Ticks against a CrmTwin: the same job, on whichever CRM the twin stands for."""

    def __init__(self, tmp_path: Path, rules_dir: Path, twin):
        super().__init__(tmp_path, rules_dir, twin.path)
        self.twin = twin

    def tick(self, now: datetime | None = None, *, expect_success: bool = True, crm=None):
        now = now or self.now + timedelta(minutes=5)
        self.twin.before_tick(now)
        return super().tick(now, expect_success=expect_success, crm=crm or self.twin.resource)


@pytest.fixture
def twin_pipeline(tmp_path: Path, rules_dir: Path, crm_twin) -> TwinPipeline:
    return TwinPipeline(tmp_path, rules_dir, crm_twin)

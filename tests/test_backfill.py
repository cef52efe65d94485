"""Backfill reroutes: re-evaluate a range of lead-creation days under the current rules, from the UI or the CLI."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta

import dagster as dg
import pytest

from pipelines.defs.policy import WRITER_TAG
from tests.conftest import HANNAH, MARCUS, NOW, RULES, Pipeline, copy_world
from tests.crm_builder import CrmBuilder

pytestmark = pytest.mark.slow
GMAIL = dict(email="someone@gmail.com")
DAY = NOW.date()


@pytest.fixture(scope="module")
def routed_world(tmp_path_factory):
    """Texas leads created over several days, routed by the state table to Hannah; pool leads too.

    Routed once for the module (a tick costs seconds); each test works on its own copy."""
    base = tmp_path_factory.mktemp("routed")
    rules = shutil.copytree(RULES, base / "routing_rules")
    crm = CrmBuilder(base / "crm.sqlite", NOW - timedelta(minutes=1), rules_dir=rules)
    leads = {
        "texas_recent": [crm.lead(company=f"Lone Star {i}", country="US", state="TX", created=NOW - timedelta(days=i),
                                  **GMAIL) for i in range(3)],
        "texas_old": crm.lead(company="Alamo", country="US", state="TX", created=NOW - timedelta(days=10), **GMAIL),
        "pool": [crm.lead(company=f"Demo {i}", LeadSource="Web - Demo Request", **GMAIL) for i in range(3)],
    }
    crm.close()
    Pipeline(base, rules, base / "crm.sqlite").tick(NOW + timedelta(minutes=1))
    return base, leads


@pytest.fixture
def rules_dir(routed_world, tmp_path):
    return copy_world(routed_world[0], tmp_path)


@pytest.fixture
def crm(rules_dir, tmp_path):
    builder = CrmBuilder.reopen(tmp_path / "crm.sqlite", NOW - timedelta(minutes=1))
    yield builder
    builder.close()


@pytest.fixture
def pipeline(tmp_path, rules_dir, crm):
    pipeline = Pipeline(tmp_path, rules_dir, crm.path)
    pipeline.now = NOW + timedelta(minutes=1)  # where the world's tick left the clock
    return pipeline


@pytest.fixture
def world(routed_world, pipeline):
    return routed_world[1]


def move_texas(rules_dir):
    table = rules_dir / "tables" / "us_states.csv"
    table.write_text(table.read_text().replace(f"\nTX,{HANNAH}\n", f"\nTX,{MARCUS}\n"))


def owners(crm) -> dict[str, str]:
    with sqlite3.connect(crm.path) as con:
        return dict(con.execute("SELECT Id, OwnerId FROM Lead").fetchall())


def test_a_dry_run_backfill_changes_nothing_in_the_crm_and_writes_the_diff(pipeline, crm, rules_dir, world):
    move_texas(rules_dir)
    before_crm = owners(crm)
    before = {t: pipeline.query(f"SELECT * FROM {t} ORDER BY ALL") for t in ("routing_decision", "ledger", "pool_state")}
    out = pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=True)

    assert owners(crm) == before_crm
    for table, frame in before.items():
        assert pipeline.query(f"SELECT * FROM {table} ORDER BY ALL").equals(frame), table
    assert out.metadata["rerouted_leads"]["would_move"] == 3 and out.metadata["rerouted_leads"]["moved"] == 0
    changes = pipeline.query("SELECT lead_id, from_target, to_target, moved FROM backfill_change ORDER BY lead_id")
    assert changes.to_dict("records") == [
        {"lead_id": lead, "from_target": f"user:{HANNAH}", "to_target": f"user:{MARCUS}", "moved": False}
        for lead in sorted(world["texas_recent"])]


def test_a_dry_run_marks_no_day_materialized_and_each_day_shows_its_own_counts(pipeline, crm, rules_dir, world):
    """The dry run is its own job; it observes the days. A real run materializes each day with that day's counts."""
    move_texas(rules_dir)
    key = dg.AssetKey("rerouted_leads")
    pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=True)
    assert pipeline.instance.get_materialized_partitions(key) == set(), "a dry run materializes nothing"
    observed = {}
    for record in pipeline.instance.fetch_observations(key, limit=50).records:
        obs = record.asset_observation
        observed[obs.partition] = {k: v.value for k, v in obs.metadata.items()}
    days = [str(DAY - timedelta(days=i)) for i in range(4)]
    assert sorted(observed) == sorted(days)
    # One Texas lead was created on each of the last three days (and the pool leads today): each day its own.
    assert [observed[d]["would_move"] for d in days] == [1, 1, 1, 0]
    assert observed[days[0]]["leads"] == 1 + 3 and observed[days[1]]["leads"] == 1 and observed[days[3]]["leads"] == 0
    assert all(o["moved"] == 0 and o["dry_run"] is True for o in observed.values())

    pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=False)
    assert pipeline.instance.get_materialized_partitions(key) == set(days)
    per_day = {}
    for d in days:
        event = pipeline.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[d]), limit=1).records[0]
        per_day[d] = event.asset_materialization.metadata["moved"].value
    assert [per_day[d] for d in days] == [1, 1, 1, 0]


def test_a_real_backfill_pushes_each_moved_lead_once(pipeline, crm, rules_dir, world):
    move_texas(rules_dir)
    out = pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=False)
    meta = out.metadata["rerouted_leads"]
    assert (meta["moved"], meta["range_push_pushed"]) == (3, 3)
    now = owners(crm)
    assert {now[lead] for lead in world["texas_recent"]} == {MARCUS}
    assert now[world["texas_old"]] == HANNAH, "a lead created outside the range is not touched"
    assert {now[lead] for lead in world["pool"]} != {None}

    moved = pipeline.query("""SELECT d.lead_id, d.entry, d.replaces_decision_id IS NOT NULL AS replaces, g.status,
                                     g.attempts FROM routing_decision d JOIN ledger g USING (decision_id)
                              WHERE d.entry = 'backfill'""")
    assert sorted(moved["lead_id"]) == sorted(world["texas_recent"])
    assert moved[["replaces", "status", "attempts"]].drop_duplicates().to_dict("records") == [
        {"replaces": True, "status": "pushed", "attempts": 1}]

    again = pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=False)
    assert again.metadata["rerouted_leads"]["changed"] == 0, "the same rules move nothing the second time"
    assert pipeline.tick().metadata["crm_push"]["due"] == 0, "and the next tick pushes nothing"


def test_pool_leads_stay_with_their_reps_when_the_rules_still_send_them_to_the_pool(pipeline, world):
    out = pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=False)
    assert out.metadata["rerouted_leads"]["changed"] == 0


def test_a_backfill_does_not_start_while_a_tick_is_running(pipeline, world):
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.runner import TickBusy

    pipeline.instance.add_run(DagsterRun(job_name="tick", run_id="running-tick", status=dg.DagsterRunStatus.STARTED,
                                         tags=WRITER_TAG))
    with pytest.raises(TickBusy, match="one writer at a time"):
        pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=True)


def test_the_backfill_job_is_one_run_per_range_and_holds_the_warehouse():
    from pipelines.definitions import defs

    d = defs()
    asset = d.resolve_assets_def("rerouted_leads")
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()
    assert isinstance(asset.partitions_def, dg.DailyPartitionsDefinition)
    job = d.resolve_job_def("reroute_backfill")
    assert job.executor_def.name == "in_process" and job.tags.items() >= WRITER_TAG.items()


def test_the_command_line_backfill(pipeline, crm, rules_dir, world, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli import cli

    monkeypatch.setenv("LEADROUTE_RULES", str(rules_dir))
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_CRM_PATH", str(crm.path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    move_texas(rules_dir)
    args = ["backfill", "--from", f"{DAY - timedelta(days=3)}", "--to", f"{DAY}", "--now", f"{NOW + timedelta(hours=1)}"]
    dry = CliRunner().invoke(cli, args + ["--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 would move" in dry.output and "Hannah Brooks" in dry.output and "Nothing was pushed" in dry.output
    real = CliRunner().invoke(cli, args)
    assert real.exit_code == 0, real.output
    assert "3 moved" in real.output
    bad = CliRunner().invoke(cli, ["backfill", "--from", f"{DAY}", "--to", f"{DAY - timedelta(days=1)}"])
    assert bad.exit_code == 2 and "is before --from" in bad.output


def test_a_backfill_leaves_a_lead_the_reroute_policy_protects(pipeline, crm, rules_dir, world):
    ranch = crm.account("Lone Star Ranch", website="lonestarranch.com", owner=HANNAH, state="TX")
    crm.opportunity(ranch, owner=HANNAH, stage="Prospecting")
    deal = crm.lead(company="Lone Star Ranch", email="joe@lonestarranch.com", country="US", state="TX",
                    created=NOW - timedelta(days=1))
    crm.update("Lead", deal, NOW + timedelta(minutes=5), Rating="Warm")  # entered yesterday, synced just now
    pipeline.tick(NOW + timedelta(minutes=6))
    first = pipeline.query("SELECT step, owner_id FROM routing_decision WHERE lead_id = ?", [deal]).iloc[0]
    assert (first["step"], first["owner_id"]) == ("us_state", HANNAH)
    pipeline.tick(NOW + timedelta(minutes=11))  # reads Hannah back as its owner in the CRM

    move_texas(rules_dir)
    out = pipeline.backfill(DAY - timedelta(days=3), DAY, dry_run=False)
    assert out.metadata["rerouted_leads"]["moved"] == 3, "the three other Texas leads move"
    (kept,) = pipeline.query("SELECT moved, kept_because FROM backfill_change WHERE lead_id = ?", [deal]).itertuples()
    assert not kept.moved and kept.kept_because.startswith("the reroute policy keeps it (open_opportunity)")
    assert owners(crm)[deal] == HANNAH

"""Quarantine, not loss, and the Great Expectations checks every tick runs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from pipelines.defs.resources import ClockResource
from pipelines.quality.suites import CHECKS
from tests.conftest import LUKAS, NOW

pytestmark = pytest.mark.slow


def test_broken_leads_wait_in_quarantine_while_the_rest_routes_and_return_when_fixed(pipeline, crm):
    good = crm.lead(company="Globex", email="hans@globex.de", country="Deutschland")
    broken = {
        crm.lead(company="Initech", email="jane@", country="US", state="TX"): "malformed_email",
        crm.lead(company="Lorem Ipsum " * 100, email=None, Phone="+1 415 555 0100", country="US"): "value_too_long",
        crm.lead(company=None, email=None, last_name=None, country="US"): "no_identity",
        crm.lead(company="Hooli", email="gavin@hooli.com", Employees__c="lots"): "malformed_value",
    }
    out = pipeline.tick()

    decided = set(pipeline.query("SELECT lead_id FROM routing_decision")["lead_id"])
    assert decided == {good}, "the rest of the batch routes"
    assert crm.owner_of(good) == LUKAS
    q = pipeline.query("SELECT record_id, stage, reason FROM quarantine WHERE resolved_at IS NULL")
    assert dict(zip(q["record_id"], q["reason"])) == broken
    assert out.metadata["unified"]["lead_quarantined"] == 4
    checks = pipeline.query("SELECT check_name, passed FROM quality_check WHERE run_id = ?", [out.run_id])
    assert dict(zip(checks["check_name"], checks["passed"]))["every_lead_decided_or_quarantined"]
    assert "crm_push" not in out.skipped

    fixed = next(lead for lead, reason in broken.items() if reason == "malformed_email")
    crm.update("Lead", fixed, NOW + timedelta(minutes=2), Email="jane@initech.com")
    pipeline.tick()
    row = pipeline.query("SELECT resolved_at FROM quarantine WHERE record_id = ?", [fixed])
    assert pd.notna(row.iloc[0]["resolved_at"]), "fixed in the CRM: it leaves quarantine by itself"
    assert fixed in set(pipeline.query("SELECT lead_id FROM routing_decision")["lead_id"])
    assert crm.owner_of(fixed) != crm.queue_ids["Inbound_Leads"]


def test_a_lead_broken_after_it_was_enriched_is_held_out_of_routing_until_fixed(pipeline, crm):
    lead = crm.lead(company="Initech", email="jane@initech.com", country="US", state="TX")
    other = crm.lead(company="Globex", email="hans@globex.de", country="DE")
    pipeline.tick()
    enriched = lambda: set(pipeline.query("SELECT lead_id FROM lead_enriched")["lead_id"])  # noqa: E731
    assert enriched() == {lead, other}

    crm.update("Lead", lead, NOW + timedelta(minutes=2), Email="jane@")
    out = pipeline.tick()
    assert enriched() == {other}, "its new version is quarantined: its old enrichment leaves routing with it"
    assert out.metadata["enriched"]["leads_held_in_quarantine"] == 1

    crm.update("Lead", lead, NOW + timedelta(minutes=4), Email="jane.doe@initech.com")
    pipeline.tick()
    assert enriched() == {lead, other}
    assert pipeline.query("SELECT domain FROM lead_enriched WHERE lead_id = ?", [lead]).iloc[0, 0] == "initech.com"


def test_a_lead_the_router_loses_blocks_the_push(pipeline, crm, monkeypatch):
    from pipelines.routing.stages import route

    leads = [crm.lead(company="Globex", email=f"h{i}@globex.de", country="DE") for i in range(3)]
    real = route.undecided_leads
    monkeypatch.setattr(route, "undecided_leads", lambda con, ids: real(con, ids).iloc[1:])  # a bug drops one
    out = pipeline.tick(expect_success=False)

    assert "crm_push" in out.skipped, "a blocking check failed: nothing is pushed"
    assert all(crm.owner_of(lead) == crm.queue_ids["Inbound_Leads"] for lead in leads)
    row = pipeline.query("""SELECT passed, failing_rows, outcomes FROM quality_check
                            WHERE run_id = ? AND check_name = 'every_lead_decided_or_quarantined'""", [out.run_id])
    assert not row.iloc[0]["passed"] and row.iloc[0]["failing_rows"] == 1
    assert leads[0] in row.iloc[0]["outcomes"], "the example names the lost lead"


def test_every_tick_records_every_check(pipeline, crm):
    crm.lead(company="Globex", email="hans@globex.de", country="DE")
    out = pipeline.tick()
    got = pipeline.query("SELECT check_name, blocking, passed, error FROM quality_check WHERE run_id = ?",
                         [out.run_id])
    assert sorted(got["check_name"]) == sorted(c.name for c in CHECKS)
    assert got["error"].isna().all()
    assert got["passed"].all()


_CALLS = itertools.count()


class TickingClock(ClockResource):
    """Not frozen, and a second later at every call: two stages that each asked it would never agree."""

    def now(self) -> datetime:
        return NOW + timedelta(seconds=next(_CALLS))


def test_an_unfrozen_tick_checks_the_rows_its_own_stages_wrote(pipeline, crm, monkeypatch):
    """Without --now (production, the schedule) every stage and check of a run shares the run's instant,
    so the checks of "this tick's rows" find them, and catch the bad one."""
    from pipelines.defs.metadata import STAGE_ROWS

    before_the_run = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    for i in range(3):
        crm.lead(company="Globex", email=f"h{i}@globex.de", country="DE", created=before_the_run)
    huge = crm.lead(company="Hooli", email="gavin@hooli.com", country="US", state="CA", Employees__c=9_000_000,
                    created=before_the_run)
    real = pipeline.resources
    monkeypatch.setattr(pipeline, "resources", lambda now, crm=None: {**real(now, crm), "clock": TickingClock()})
    out = pipeline.tick()

    assert out.check_metadata["unified_leads_valid"][STAGE_ROWS] == 4
    assert out.check_metadata["enriched_leads_valid"][STAGE_ROWS] == 4
    got = pipeline.query("SELECT check_name, passed, failing_rows, outcomes FROM quality_check WHERE run_id = ?",
                         [out.run_id]).set_index("check_name")
    assert not got.loc["unified_leads_valid", "passed"] and got.loc["unified_leads_valid", "failing_rows"] == 1
    assert huge in got.loc["unified_leads_valid", "outcomes"], "the example names the implausible headcount"
    assert got.loc["enriched_leads_valid", "passed"]
    stamps = pipeline.query("""SELECT (SELECT list(DISTINCT _unified_at) FROM lead) AS unified,
                                      (SELECT list(DISTINCT _enriched_at) FROM lead_enriched) AS enriched,
                                      (SELECT list(DISTINCT checked_at) FROM quality_check) AS checked""").iloc[0]
    assert len(stamps["unified"]) == 1, "one instant for the whole run"
    assert list(stamps["unified"]) == list(stamps["enriched"]) == list(stamps["checked"])


def test_an_owner_that_is_not_an_active_user_fails_the_owner_check(tmp_path):
    from datetime import datetime

    import duckdb

    from pipelines.enrich.settings import EnrichmentSettings
    from pipelines.quality.run import run_check
    from pipelines.quality.settings import QualitySettings
    from pipelines.quality.suites import CheckContext
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db
    from pipelines.crm.fields import load_field_mapping
    from tests.conftest import RULES

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    db.migrate(con, load_field_mapping(RULES / "fields.yaml").mapped_columns())
    db.insert(con, "crm_user", pd.DataFrame({"user_id": ["005A", "005B"], "is_active": [True, False]}))
    db.insert(con, "crm_queue", pd.DataFrame({"queue_id": ["00GQ"], "developer_name": ["Unroutable"]}))
    db.insert(con, "ledger", pd.DataFrame({"decision_id": ["d1", "d2", "d3"], "kind": "owner", "status": "pending",
                                           "lead_id": ["L1", "L2", "L3"], "target_owner_id": ["005A", "005B", "00GQ"]}))
    check = next(c for c in CHECKS if c.name == "owners_are_active")
    ctx = CheckContext(RunInfo("r", datetime(2026, 11, 20)), QualitySettings(), EnrichmentSettings())
    result = run_check(con, check, ctx)
    assert not result.passed and result.failing_rows == 1
    assert result.outcomes[0].examples == [{"owner_is_active": False, "lead_id": "L2"}]


@pytest.mark.parametrize(("check", "asset", "blocking"), [
    ("extracted_records_valid", "raw_crm", False),
    ("unified_leads_valid", "unified", False),
    ("enriched_leads_valid", "enriched", False),
    ("every_lead_decided_or_quarantined", "routing_decision", True),
    ("owners_are_active", "reroutes", True),
    ("decisions_explained", "reroutes", False),
])
def test_checks_on_what_the_push_depends_on_block_it_and_the_rest_warn(check, asset, blocking):
    import dagster as dg

    from pipelines.definitions import defs

    d = defs()
    key = dg.AssetCheckKey(dg.AssetKey(asset), check)
    assert key in d.resolve_asset_graph().asset_check_keys
    node = d.resolve_asset_graph().get_check_spec(key) if hasattr(d.resolve_asset_graph(), "get_check_spec") else None
    spec = node or next(s for c in d.asset_checks or [] for s in c.check_specs if s.key == key)
    assert spec.blocking is blocking


@pytest.mark.parametrize(("country", "state", "failing"), [
    ("US", "US-CA", {}),
    ("DE", "DE-BY", {}),
    ("US", None, {}),
    ("US", "US-ZZ", {"column_values_to_be_in_set(subdivision_code)": 1}),
    ("SE", "US-CA", {"column_pair_values_to_be_equal": 1}),
    ("XX", None, {"column_values_to_be_in_set(country_code)": 1}),
])
def test_enriched_states_are_iso_subdivisions_of_their_country(tmp_path, country, state, failing):
    from datetime import datetime

    import duckdb

    from pipelines.crm.fields import load_field_mapping
    from pipelines.enrich.settings import EnrichmentSettings
    from pipelines.quality.run import run_check
    from pipelines.quality.settings import QualitySettings
    from pipelines.quality.suites import CheckContext
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db
    from tests.conftest import RULES

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    db.migrate(con, load_field_mapping(RULES / "fields.yaml").mapped_columns())
    good = [("L1", "US", "US-NY"), ("L2", "GB", None)]  # the rest of the batch, always fine
    rows = good + [("L9", country, state)]
    db.insert(con, "lead_enriched", pd.DataFrame(rows, columns=["lead_id", "country_code", "subdivision_code"]))
    check = next(c for c in CHECKS if c.name == "enriched_leads_valid")
    ctx = CheckContext(RunInfo("r", datetime(2026, 11, 20)), QualitySettings(checks={"country_code_mostly": 1.0}),
                       EnrichmentSettings())
    result = run_check(con, check, ctx)
    assert {o.expectation: o.failing for o in result.outcomes if o.failing} == failing
    for o in result.outcomes:
        assert all(e["lead_id"] == "L9" for e in o.examples)


def test_a_retry_checks_the_rows_its_parent_run_stamped(tmp_path):
    """A retry re-executes only the failed steps: a check it re-runs finds the rows the parent's unify wrote
    (stamped with the parent's instant), and every step of the retry reads one instant of its own."""
    from types import SimpleNamespace

    import dagster as dg
    import duckdb
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.crm.fields import load_field_mapping
    from pipelines.defs.metadata import run_info
    from pipelines.enrich.settings import EnrichmentSettings
    from pipelines.quality.run import run_check
    from pipelines.quality.settings import QualitySettings
    from pipelines.quality.suites import CheckContext
    from pipelines.warehouse import db
    from tests.conftest import RULES

    instance = dg.DagsterInstance.ephemeral()
    instance.add_run(DagsterRun(job_name="tick", run_id="parent"))
    instance.add_run(DagsterRun(job_name="tick", run_id="retry", parent_run_id="parent", root_run_id="parent"))
    parent = run_info(SimpleNamespace(run=instance.get_run_by_id("parent"), instance=instance), TickingClock())
    step = SimpleNamespace(run=instance.get_run_by_id("retry"), instance=instance)
    retry = run_info(step, TickingClock())
    assert run_info(step, TickingClock()) == retry, "every step of the run: the same instant, whatever the clock says"
    assert retry.now != parent.now and retry.ancestor_nows == (parent.now,)
    frozen = run_info(step, ClockResource(frozen_at=NOW.isoformat()))
    assert (frozen.now, frozen.lineage_nows) == (NOW, (NOW,)), "a frozen clock is the instant, as before"

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    db.migrate(con, load_field_mapping(RULES / "fields.yaml").mapped_columns())
    db.insert(con, "lead", pd.DataFrame({
        "lead_id": ["L1", "L2", "L3"], "email": "jo@acme.com", "owner_id": "00GQ", "created_at": NOW,
        "employees": [10, 9_000_000, 10],
        "_unified_at": [parent.now, parent.now, NOW - timedelta(days=1)]}))  # L3: an earlier tick's row
    check = next(c for c in CHECKS if c.name == "unified_leads_valid")
    result = run_check(con, check, CheckContext(retry, QualitySettings(), EnrichmentSettings(), scope="delta"))
    assert (result.rows, result.failing_rows) == (2, 1)

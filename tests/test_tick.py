"""End-to-end ticks on a small CRM: conservation, idempotence, trickle, retries, blocking rules.

Every test runs twice: on the local CRM and on an emulated Salesforce org seeded the
same way, which the pipeline reaches through simple-salesforce as it would a real org
(``crm_twin`` in conftest, ``tests/sf_emulator/twin.py``).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import AVA, BRAD, HANNAH, LUKAS, NOW

GRACE = "005000000000018AAA"  # AE Rest of World, company names A-H

pytestmark = pytest.mark.slow


@pytest.fixture
def crm(crm_twin):
    """The builder API on either CRM (parametrised: local, salesforce)."""
    return crm_twin


@pytest.fixture
def pipeline(twin_pipeline):
    return twin_pipeline


def seed_world(crm) -> dict[str, str]:
    """A few accounts and leads that take the main kinds of step of the shipped rules."""
    acme = crm.account("Acme Corp", website="https://www.acme.com", type="Customer", owner=AVA, state="CA")
    crm.account("Globex GmbH", website="globex.de", owner=LUKAS, country="Germany")
    crm.account("Acme Japan K.K.", website="acme.co.jp", type="Customer", owner=BRAD, parent=acme, country="Japan")
    return {
        "acme": crm.lead(company="ACME", email="jo@us.acme.com", country="USA", state="California"),
        "globex": crm.lead(company="Globex", email="hans@globex.de", country="Germany"),
        "texas": crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX"),
        "nowhere": crm.lead(company="Nobody Ltd", email="x@nobody.io", country="Atlantis"),
        "acme_japan": crm.lead(company="Acme Japan", email="k@acme.co.jp", country="Japan"),
        "owned": crm.lead(company="Old Co", email="o@old.com", owner=HANNAH, status="Working"),
    }


def test_a_tick_decides_every_lead_and_the_crm_matches_the_ledger(pipeline, crm):
    leads = seed_world(crm)
    pipeline.tick()

    decisions = pipeline.query("SELECT lead_id, owner_id, queue, reason, step FROM routing_decision")
    assert set(decisions["lead_id"]) == set(leads.values()), "every extracted lead has a decision"
    assert decisions["lead_id"].is_unique
    assert (decisions["owner_id"].notna() | decisions["queue"].notna()).all(), "an owner or a named queue"
    assert decisions["reason"].str.len().gt(10).all()

    ledger = pipeline.query("SELECT lead_id, kind, target_owner_id, previous_owner_id, status FROM ledger")
    assert set(ledger["lead_id"]) == set(leads.values())
    assert set(ledger.loc[ledger["lead_id"] == leads["acme"], "kind"]) == {"owner", "convert", "task", "fields"}
    owners = crm.owners()
    for row in ledger.itertuples():
        assert owners[row.lead_id] == row.target_owner_id, f"{row.lead_id}: CRM owner differs from the ledger"
    assert set(ledger["status"]) <= {"pushed", "skipped_unchanged"}

    by_lead = decisions.set_index("lead_id")
    assert by_lead.loc[leads["acme"], "owner_id"] == AVA  # customer account: no CSM, so the account owner
    assert by_lead.loc[leads["acme"], "step"] == "customer_account"
    assert by_lead.loc[leads["globex"], "owner_id"] == LUKAS  # Europe by country: DE
    assert by_lead.loc[leads["globex"], "step"] == "europe_country"
    assert by_lead.loc[leads["texas"], "owner_id"] == HANNAH  # US by state: TX (free mail never matches)
    assert by_lead.loc[leads["texas"], "step"] == "us_state"
    # Customer account owned by an inactive rep, no CSM: falls through to the company-name alphabet.
    assert by_lead.loc[leads["acme_japan"], "owner_id"] == GRACE
    assert "account owner Brad Keller is not an active user" in pipeline.query(
        "SELECT trace FROM routing_decision WHERE lead_id = ?", [leads["acme_japan"]]).iloc[0]["trace"]
    assert by_lead.loc[leads["nowhere"], "step"] == "inbound_round_robin"  # no known country: the inbound SDRs
    assert by_lead.loc[leads["owned"], "step"] == "(already owned)"
    assert ledger.query("kind == 'owner'").set_index("lead_id").loc[leads["owned"], "status"] == "skipped_unchanged"


def test_a_second_tick_with_nothing_new_pushes_nothing(pipeline, crm):
    seed_world(crm)
    first = pipeline.tick()
    assert first.metadata["crm_push"]["pushed"] == 5
    before = pipeline.query("SELECT * FROM ledger ORDER BY decision_id")

    second = pipeline.tick()
    assert second.metadata["crm_push"]["pushed"] == 0
    assert second.metadata["crm_push"]["crm_api_calls"] == 0
    assert second.metadata["routing_decision"]["leads_routed"] == 0
    pd.testing.assert_frame_equal(before, pipeline.query("SELECT * FROM ledger ORDER BY decision_id"))


def test_a_trickle_of_new_leads_is_picked_up_and_nothing_older_is_pushed_again(pipeline, crm):
    seed_world(crm)
    pipeline.tick()
    before = pipeline.query("SELECT decision_id, status, attempts, updated_at FROM ledger")

    crm.now = pipeline.now + timedelta(minutes=2)
    new = [crm.lead(company="Globex", email=f"new{i}@globex.de", country="DE") for i in range(3)]
    second = pipeline.tick()

    decided = pipeline.query("SELECT lead_id FROM routing_decision WHERE run_id = ?", [second.run_id])
    assert sorted(decided["lead_id"]) == sorted(new)
    assert second.metadata["crm_push"]["pushed"] == 3
    after = pipeline.query("SELECT decision_id, status, attempts, updated_at FROM ledger")
    pd.testing.assert_frame_equal(
        before.sort_values("decision_id").reset_index(drop=True),
        after[after["decision_id"].isin(before["decision_id"])].sort_values("decision_id").reset_index(drop=True),
    )
    assert all(crm.owner_of(lead) == LUKAS for lead in new)


def test_a_push_that_fails_for_some_records_retries_them_next_tick(pipeline, crm):
    leads = seed_world(crm)
    crm.lock(leads["acme"], leads["globex"])
    first = pipeline.tick()
    assert first.metadata["crm_push"]["retry_later"] == 2
    pending = pipeline.query("SELECT lead_id, status, attempts, last_error_code FROM ledger "
                             "WHERE status = 'pending' AND kind = 'owner'")
    assert set(pending["lead_id"]) == {leads["acme"], leads["globex"]}
    assert set(pending["last_error_code"]) == {"UNABLE_TO_LOCK_ROW"}
    assert crm.owner_of(leads["acme"]) == crm.queue_ids["Inbound_Leads"], "nothing written while locked"

    crm.unlock(leads["acme"], leads["globex"])
    second = pipeline.tick(NOW + timedelta(minutes=6))  # past the first backoff (1 minute)
    assert second.metadata["crm_push"]["pushed"] == 2
    rows = pipeline.query("SELECT lead_id, status, attempts FROM ledger WHERE kind = 'owner' AND lead_id IN (?, ?)",
                          [leads["acme"], leads["globex"]])
    assert set(rows["status"]) == {"pushed"} and set(rows["attempts"]) == {2}
    assert crm.owner_of(leads["acme"]) == AVA and crm.owner_of(leads["globex"]) == LUKAS

    third = pipeline.tick()
    assert third.metadata["crm_push"]["pushed"] == 0, "pushed once, never again"


def test_a_retry_waits_for_its_backoff(pipeline, crm):
    leads = seed_world(crm)  # globex: an owner write only (acme's convert and task would wait on its owner)
    crm.lock(leads["globex"])
    pipeline.tick(NOW)
    crm.unlock(leads["globex"])
    early = pipeline.tick(NOW + timedelta(seconds=30))
    assert early.metadata["crm_push"]["due"] == 0, "not due before its backoff"
    later = pipeline.tick(NOW + timedelta(minutes=2))
    assert later.metadata["crm_push"]["pushed"] == 1


def test_a_lead_deleted_before_its_push_is_skipped_as_deleted_not_failed_and_not_retried(pipeline, crm):
    leads = seed_world(crm)
    crm.lock(leads["texas"])
    pipeline.tick(NOW)
    crm.update("Lead", leads["texas"], NOW + timedelta(minutes=1), IsDeleted=1)
    crm.unlock(leads["texas"])
    second = pipeline.tick(NOW + timedelta(minutes=5))
    row = pipeline.query("SELECT status, last_error_code, last_error FROM ledger WHERE lead_id = ?", [leads["texas"]])
    assert row.iloc[0]["status"] == "skipped_deleted", "nobody has anything to do: not a failure for a person"
    assert row.iloc[0]["last_error_code"] == "ENTITY_IS_DELETED"
    assert second.metadata["crm_push"]["failed"] == 0
    third = pipeline.tick()
    assert third.metadata["crm_push"]["due"] == 0


def test_watermarks_advance_only_after_the_push_is_reconciled(pipeline, crm):
    seed_world(crm)
    crm.refuse_writes("REQUEST_LIMIT_EXCEEDED")
    first = pipeline.tick()
    assert "REQUEST_LIMIT_EXCEEDED" in first.metadata["crm_push"]["details"]["stopped"]
    wm = pipeline.query("SELECT object, value, pending_value FROM watermark WHERE object = 'lead'")
    assert wm.iloc[0]["value"] is None or pd.isna(wm.iloc[0]["value"]), "watermark held back"
    assert set(pipeline.query("SELECT status FROM ledger")["status"]) <= {"pending", "skipped_unchanged"}

    crm.accept_writes()
    second = pipeline.tick()
    assert second.metadata["crm_push"]["pushed"] == 5
    wm = pipeline.query("SELECT value FROM watermark WHERE object = 'lead'")
    assert pd.notna(wm.iloc[0]["value"])


def test_a_retry_from_the_failed_step_commits_the_watermarks_its_parents_extract_left_pending(pipeline, crm):
    """Dagster's run retry re-executes only the failed steps: the extract it reuses was its parent's."""
    from pipelines.defs.resources import ClockResource
    from pipelines.ledger.push import push
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db

    seed_world(crm)
    crm.refuse_writes("REQUEST_LIMIT_EXCEEDED")
    parent = pipeline.tick()
    crm.accept_writes()
    res = pipeline.resources(pipeline.now)
    mapping = res["rules"].mapping()
    pending = "SELECT count(*) AS n FROM watermark WHERE pending_value IS NOT NULL"
    with db.connect(pipeline.warehouse) as con:
        stranger = push(con, res["crm"].adapter(ClockResource(frozen_at=pipeline.now.isoformat())), mapping,
                        RunInfo("another-tick", pipeline.now))
    assert stranger.details["watermarks_advanced"] == [], "a run that did not extract them leaves them alone"
    assert pipeline.query(pending).iloc[0]["n"] > 0
    with db.connect(pipeline.warehouse) as con:
        retry = push(con, res["crm"].adapter(ClockResource(frozen_at=pipeline.now.isoformat())), mapping,
                     RunInfo("its-retry", pipeline.now, ancestors=(parent.run_id,)))
    assert "lead" in retry.details["watermarks_advanced"]
    assert pipeline.query(pending).iloc[0]["n"] == 0


def test_rules_that_fail_validation_stop_routing_and_leads_wait(pipeline, crm, rules_dir):
    leads = seed_world(crm)
    flow = rules_dir / "flow.yaml"
    good = flow.read_text()
    flow.write_text(good.replace("pool: inbound_sdr", "pool: inbound_sdrs"))

    blocked = pipeline.tick(expect_success=False)
    assert "routing_decision" in blocked.skipped and "crm_push" in blocked.skipped
    assert pipeline.query("SELECT count(*) AS n FROM routing_decision").iloc[0]["n"] == 0
    assert crm.owner_of(leads["acme"]) == crm.queue_ids["Inbound_Leads"]

    flow.write_text(good)
    fixed = pipeline.tick()
    assert fixed.metadata["routing_decision"]["leads_routed"] == 5
    assert crm.owner_of(leads["acme"]) == AVA


def test_a_record_without_a_readable_modstamp_is_quarantined_not_dropped(pipeline, crm):
    leads = seed_world(crm)
    with sqlite3.connect(crm.path) as con:
        con.execute("UPDATE Lead SET SystemModstamp = 'yesterday-ish' WHERE Id = ?", [leads["nowhere"]])
    out = pipeline.tick()
    assert out.metadata["raw_crm"]["lead_quarantined"] == 1
    q = pipeline.query("SELECT record_id, reason, stage FROM quarantine")
    assert q.to_dict("records") == [{"record_id": leads["nowhere"], "reason": "bad_modstamp", "stage": "extract"}]
    decided = set(pipeline.query("SELECT lead_id FROM routing_decision")["lead_id"])
    assert decided == set(leads.values()) - {leads["nowhere"]}, "the rest of the batch routes"

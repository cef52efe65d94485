"""Nothing lost by construction: bad records never stop the batch, a decided lead always has its ledger
row, ids compare as Salesforce compares them, and a push that stops says why."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.crm import ids
from pipelines.ledger.decisions import owner_rows
from pipelines.stage import RunInfo
from tests.conftest import AVA, LUKAS, NOW


@pytest.mark.parametrize("id15, id18", [
    ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),  # published examples of Salesforce's algorithm
    ("001A000010khO8J", "001A000010khO8JIAU"),
    ("00Q000000000001", "00Q000000000001EAA"),  # the demo's first lead: upper-case Q sets a bit of chunk one
])
def test_the_case_safe_suffix_is_salesforces(id15, id18):
    assert ids.case_safe(id15) == id18 and ids.is_valid(id18) and ids.is_valid(id15)
    assert not ids.is_valid(id15 + "AAB"), "an 18-character id must end in its own suffix"


def test_demo_ids_are_distinct_on_their_first_15_characters():
    from pipelines.demo.text import make_ids

    leads = make_ids("Lead", 1, 2000)
    assert all(ids.is_valid(i) for i in leads)
    assert len({i[:15] for i in leads}) == 2000, "Salesforce compares ids on 15 characters"


def test_an_owner_named_by_its_15_character_id_is_the_same_user_as_its_18_character_id():
    d = pd.DataFrame({"decision_id": ["d1", "d2"], "lead_id": ["L1", "L2"], "queue": [None, None],
                      "owner_id": [AVA[:15], LUKAS[:15]], "previous_owner_id": [AVA, AVA]})
    rows = owner_rows(d, RunInfo("r", NOW))
    assert rows["status"].tolist() == ["skipped_unchanged", "pending"]


@pytest.mark.parametrize("page", [100_000, 2], ids=["one page", "pages of 2"])
def test_records_that_cannot_be_keyed_or_are_from_the_future_are_quarantined_and_the_batch_goes_on(
        pipeline, crm, page, monkeypatch):
    from pipelines.crm import local

    monkeypatch.setattr(local, "EXTRACT_PAGE_ROWS", page)  # bad records in any page: each quarantined, none lost
    good = [crm.lead(company="Globex", email=f"h{i}@globex.de", country="Germany") for i in range(2)]
    empty, spaced, future = (crm.lead(company="Globex", email=f"x{i}@globex.de", country="Germany") for i in range(3))
    with sqlite3.connect(crm.path) as con:
        con.execute("UPDATE Lead SET Id = '' WHERE Id = ?", [empty])
        con.execute("UPDATE Lead SET Id = ? WHERE Id = ?", [f" {spaced[:15]} ", spaced])
        con.execute("UPDATE Lead SET SystemModstamp = '2099-01-01T00:00:00.000+0000' WHERE Id = ?", [future])
    first = pipeline.tick(NOW)
    assert first.metadata["raw_crm"]["lead_quarantined"] == 3
    q = pipeline.query("SELECT record_id, reason FROM quarantine WHERE stage = 'extract' ORDER BY reason")
    assert q.to_dict("records") == [{"record_id": future, "reason": "future_modstamp"},
                                    {"record_id": f" {spaced[:15]} ", "reason": "malformed_id"},
                                    {"record_id": "(empty id)", "reason": "missing_id"}]
    assert first.metadata["crm_push"]["pushed"] == 2 and all(crm.owner_of(lead) == LUKAS for lead in good)
    wm = pipeline.query("SELECT value FROM watermark WHERE object = 'lead'").iloc[0]["value"]
    assert wm <= pd.Timestamp(NOW), "the watermark never moves past the tick's clock"

    crm.now = NOW + timedelta(minutes=2)
    later = crm.lead(company="Globex", email="late@globex.de", country="Germany")
    second = pipeline.tick(NOW + timedelta(minutes=5))
    assert second.metadata["crm_push"]["pushed"] == 1 and crm.owner_of(later) == LUKAS, \
        "extraction goes on past the record stamped in 2099"


def test_a_record_an_older_version_landed_without_a_usable_id_is_set_aside_and_ticks_go_on(pipeline, crm):
    """Before extract checked ids, a lead with an empty Id could land in raw_lead; it then failed
    every tick at the unified table's key, even after it was deleted in the CRM."""
    from pipelines.warehouse import db

    crm.lead(company="Globex", email="h@globex.de", country="Germany")
    pipeline.tick(NOW)
    with db.connect(pipeline.warehouse) as con:
        con.execute("INSERT INTO raw_lead SELECT * REPLACE ('' AS \"Id\", now() AS _modstamp) FROM raw_lead LIMIT 1")
        con.execute("INSERT INTO raw_lead SELECT * REPLACE ('00Q 12' AS \"Id\", now() AS _modstamp) FROM raw_lead LIMIT 1")
    later = crm.lead(company="Globex", email="late@globex.de", country="Germany")
    second = pipeline.tick(NOW + timedelta(minutes=5))
    assert second.metadata["unified"]["lead_unkeyed"] == 2
    assert crm.owner_of(later) == LUKAS, "the batch goes on"
    q = pipeline.query("SELECT record_id, reason, payload FROM quarantine WHERE stage = 'unify' ORDER BY reason")
    assert q[["record_id", "reason"]].to_dict("records") == [{"record_id": "00Q 12", "reason": "malformed_id"},
                                                            {"record_id": "(empty id)", "reason": "missing_id"}]
    assert q["payload"].str.contains("Globex").all(), "the record is kept, not dropped"
    assert pipeline.tick(NOW + timedelta(minutes=10)).metadata["unified"].get("lead_unkeyed", 0) == 0


@pytest.mark.parametrize("stray_row", [False, True], ids=["missing", "missing, with a stray row keeping the count"])
def test_a_lead_decided_without_its_ledger_row_is_repaired_and_pushed(pipeline, crm, stray_row):
    leads = [crm.lead(company="Globex", email=f"h{i}@globex.de", country="Germany") for i in range(2)]
    crm.lock(*leads)  # nothing pushed by the first tick
    pipeline.tick(NOW)
    from pipelines.warehouse import db

    with db.connect(pipeline.warehouse) as con:  # what a crash between the two inserts left behind, before 0.x
        con.execute("DELETE FROM ledger WHERE lead_id = ?", [leads[0]])
        if stray_row:  # an owner row of no decision: as many owner rows as decisions, not the same ones
            con.execute("INSERT INTO ledger SELECT * REPLACE ('no-such-decision' AS decision_id, 'pushed' AS status) "
                        "FROM ledger WHERE lead_id = ? AND kind = 'owner'", [leads[1]])
    crm.unlock(*leads)
    second = pipeline.tick(NOW + timedelta(minutes=5))
    assert second.metadata["routing_decision"]["ledger_rows_repaired"] == 1
    assert second.metadata["crm_push"]["pushed"] == 2
    assert [crm.owner_of(lead) for lead in leads] == [LUKAS, LUKAS]


def test_a_tick_whose_push_stopped_exits_non_zero_with_the_cause_and_report_shows_the_last_error(
        pipeline, crm, cli_env, monkeypatch):
    from pipelines.cli import cli
    from pipelines.crm.base import CrmUnavailable, WriteResult
    from pipelines.crm.local import LocalCrm

    crm.lead(company="Globex", email="h@globex.de", country="Germany")
    crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX")

    def limit_after_first(self, sobject, updates):  # the first record is answered, then the org's allowance is gone
        raise CrmUnavailable("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                             partial=[WriteResult(updates[0].record_id, False, "UNABLE_TO_LOCK_ROW", "locked")])

    monkeypatch.setattr(LocalCrm, "update_records", limit_after_first)
    out = CliRunner().invoke(cli, ["tick", "--now", NOW.isoformat()], env=cli_env)
    assert out.exit_code == 1
    last = out.output.strip().splitlines()[-1]
    assert last.startswith("Push stopped early: REQUEST_LIMIT_EXCEEDED") and "wait for the next tick" in last

    report = CliRunner().invoke(cli, ["report"], env=cli_env)
    assert report.exit_code == 0, report.output
    waiting = report.output.split("Waiting to be pushed")[1].split("\n\n")[0]
    assert "UNABLE_TO_LOCK_ROW" in waiting and "REQUEST_LIMIT_EXCEEDED" in waiting, "each with its own last error"
    assert waiting.count("pending") == 2, waiting


def test_a_tick_without_a_dagster_home_leaves_no_folder_in_the_temporary_directory(pipeline, crm, cli_env,
                                                                                   tmp_path, monkeypatch):
    """Without DAGSTER_HOME each tick's Dagster instance is ephemeral, its artifacts in a temporary folder; a
    tick every five minutes must not leave one behind each time (the process ends without teardown)."""
    import tempfile

    from pipelines.cli import cli

    crm.lead(company="Globex", email="h@globex.de", country="Germany")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    out = CliRunner().invoke(cli, ["tick", "--now", NOW.isoformat()], env=cli_env)
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in temp.iterdir()) == []


@pytest.fixture
def cli_env(pipeline, crm):
    return {"LEADROUTE_CRM": "local", "LEADROUTE_CRM_PATH": str(crm.path), "LEADROUTE_WAREHOUSE": str(pipeline.warehouse),
            "LEADROUTE_RULES": str(pipeline.rules_dir), "DAGSTER_HOME": None}

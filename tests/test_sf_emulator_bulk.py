"""Bulk API 2.0 through simple-salesforce's ``sf.bulk2``, end to end.

``wait=0`` because simple-salesforce sleeps ``wait`` seconds (default 5)
before its first poll; the emulator still answers ``InProgress`` once per job
so the polling loop runs.
"""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceOperationError

from tests.sf_emulator.fixtures import connect
from tests.sf_emulator.sample import L, Q_INBOUND, TASK_KEY, U_AVA, U_DIEGO, U_GONE, write_sample_crm


@pytest.fixture(scope="module")
def crm_file(tmp_path_factory):
    return write_sample_crm(tmp_path_factory.mktemp("crm") / "local_crm.sqlite")


@pytest.fixture
def emu(sf_emulator, crm_file):
    return sf_emulator.load_sqlite(crm_file)


@pytest.fixture
def sf(emu):
    return connect(emu)


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_query_pages_csv_with_locators(emu, sf):
    pages = list(sf.bulk2.Lead.query(
        "SELECT Id, LastName, IsConverted, Lead_Score__c, SystemModstamp FROM Lead ORDER BY SystemModstamp",
        max_records=2, wait=0))
    assert len(pages) == 3
    assert pages[0].splitlines()[0] == '"Id","LastName","IsConverted","Lead_Score__c","SystemModstamp"'
    assert pages[0].splitlines()[1] == f'"{L[1]}","Lovelace","false","80.0","2026-01-01T10:00:00.000Z"'
    turing = rows(pages[1])[0]
    assert turing["LastName"] == "Turing" and turing["Lead_Score__c"] == ""  # null is an empty cell
    assert [r["Id"] for page in pages for r in rows(page)] == [L[n] for n in (1, 2, 3, 4, 5, 7)]
    results = [r for r in emu.requests if r.path.endswith("/results")]
    assert [r.query for r in results] == ["maxRecords=2", "maxRecords=2&locator=Mg", "maxRecords=2&locator=NA"]
    job_polls = [r for r in emu.requests if r.method == "GET" and r.path.rsplit("/", 1)[-1].startswith("750")]
    assert len(job_polls) == 2  # InProgress once, then JobComplete


def test_bulk_query_all_includes_deleted(sf):
    [page] = sf.bulk2.Lead.query_all("SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", wait=0)
    assert rows(page) == [{"Id": L[6], "IsDeleted": "true"}]


def test_bulk_update_with_failed_rows_keyed_by_sf_id(emu, sf):
    records = [{"Id": L[1], "OwnerId": U_AVA, "Routing_Reason__c": "territory"},
               {"Id": L[2], "OwnerId": U_GONE, "Routing_Reason__c": "territory"},
               {"Id": L[5], "OwnerId": U_DIEGO, "Routing_Reason__c": ""},
               {"Id": L[4], "OwnerId": U_DIEGO, "Routing_Reason__c": ""}]
    [result] = sf.bulk2.Lead.update(records=records, wait=0)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"], result["numberRecordsTotal"]) == (4, 2, 4)
    failed = {r["sf__Id"]: r for r in rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))}
    assert set(failed) == {L[2], L[5]}
    assert failed[L[2]]["sf__Error"].startswith("INACTIVE_OWNER_OR_USER:operation performed with inactive user")
    assert failed[L[5]]["sf__Error"] == "CANNOT_UPDATE_CONVERTED_LEAD:cannot reference converted lead:--"
    assert failed[L[2]]["OwnerId"] == U_GONE  # the original columns come back too
    ok = rows(sf.bulk2.Lead.get_successful_records(result["job_id"]))
    assert {(r["sf__Id"], r["sf__Created"]) for r in ok} == {(L[1], "false"), (L[4], "false")}
    assert emu.get(L[1])["Routing_Reason__c"] == "territory"
    assert emu.get(L[4])["OwnerId"] == U_DIEGO and emu.get(L[4])["Routing_Reason__c"] is None  # empty = unchanged
    assert rows(sf.bulk2.Lead.get_unprocessed_records(result["job_id"])) == []


def test_bulk_upsert_tasks_by_external_id(emu, sf):
    records = [{"LeadRoute_Key__c": TASK_KEY, "Subject": "Call (retried)"},
               {"LeadRoute_Key__c": "route:L4:1", "Subject": "Intro", "WhoId": L[4], "OwnerId": U_DIEGO}]
    [result] = sf.bulk2.Task.upsert(records=records, external_id_field="LeadRoute_Key__c", wait=0)
    assert result["numberRecordsFailed"] == 0
    created = {r["LeadRoute_Key__c"]: r["sf__Created"] for r in rows(sf.bulk2.Task.get_successful_records(result["job_id"]))}
    assert created == {TASK_KEY: "false", "route:L4:1": "true"}
    assert sorted(t["Subject"] for t in emu.records("Task")) == ["Call (retried)", "Intro"]


def test_bulk_insert_then_delete(emu, sf):
    [ins] = sf.bulk2.Lead.insert(records=[{"LastName": f"Bulk{i}", "Company": "B", "OwnerId": Q_INBOUND}
                                          for i in range(3)], wait=0)
    ids = [r["sf__Id"] for r in rows(sf.bulk2.Lead.get_successful_records(ins["job_id"]))]
    assert len(ids) == 3 and all(i.startswith("00Q") for i in ids)
    [dele] = sf.bulk2.Lead.delete(records=[{"Id": i} for i in ids], wait=0)
    assert dele["numberRecordsFailed"] == 0
    assert all(emu.get(i)["IsDeleted"] for i in ids)


def test_unknown_column_fails_the_job(emu, sf):
    with pytest.raises(SalesforceOperationError, match="InvalidBatch : Field name not found : Colour__c"):
        sf.bulk2.Lead.update(records=[{"Id": L[1], "Colour__c": "red"}], wait=0)
    assert emu.get(L[1])["OwnerId"] == Q_INBOUND
    [job_id] = [j for j in emu.jobs if emu.jobs[j].state == "Failed"]
    assert rows(sf.bulk2.Lead.get_unprocessed_records(job_id))[0]["Id"] == L[1]


def test_concurrent_bulk_jobs(emu, sf):
    records = [{"LastName": f"C{i}", "Company": "Co", "OwnerId": Q_INBOUND} for i in range(10)]
    results = sf.bulk2.Lead.insert(records=records, batch_size=2, concurrency=3, wait=0)
    assert len(results) == 5 and sum(r["numberRecordsProcessed"] for r in results) == 10
    assert sum(1 for r in emu.records("Lead") if r["Company"] == "Co") == 10


def test_job_paths_are_case_insensitive(emu, sf):
    [result] = sf.bulk2.Lead.update(records=[{"Id": L[1], "Rating": "Hot"}], wait=0)
    session = emu.requests_session()
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    for name in ("unprocessedrecords", "unprocessedRecords", "FAILEDRESULTS", "successfulResults"):
        resp = session.get(f"{emu.instance_url}/services/data/v59.0/jobs/Ingest/{result['job_id']}/{name}/",
                           headers=headers)
        assert resp.status_code == 200, name

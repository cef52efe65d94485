"""The CRM adapter contract (pipelines/crm/base.py), on both CRMs built from the same SQLite file.

``local`` is LocalCrm on the file; ``salesforce`` is SalesforceCrm talking through
simple-salesforce to the emulator loaded from that file. Every test runs on both
and asserts the same answers, so the pipeline cannot tell them apart.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pandas as pd
import pytest

from pipelines.crm.base import Conversion, CrmAdapter, RecordUpdate, TaskSpec, extract_all
from pipelines.crm.fields import load_field_mapping
from tests.conftest import RULES
from tests.sf_emulator.sample import (A_ACME, L, Q_INBOUND, Q_UNROUTABLE, T_ONE, TASK_KEY, U_AVA, U_DIEGO, U_GONE,
                                      write_sample_crm)

MAPPING = load_field_mapping(RULES / "fields.yaml")


class Side:
    """An adapter plus a way to read the CRM behind it directly."""

    def __init__(self, kind: str, adapter: CrmAdapter, path, emu=None):
        self.kind, self.adapter, self.path, self.emu = kind, adapter, path, emu

    def record(self, record_id: str) -> dict:
        if self.emu is not None:
            return self.emu.get(record_id)
        con = sqlite3.connect(self.path)
        con.row_factory = sqlite3.Row
        try:
            for table in ("Lead", "Contact", "Task", "Opportunity", "Account"):
                row = con.execute(f'SELECT * FROM "{table}" WHERE Id = ?', [record_id]).fetchone()
                if row:
                    return dict(row)
        finally:
            con.close()
        return None

    def tasks(self, key: str) -> list[dict]:
        if self.emu is not None:
            return [t for t in self.emu.records("Task") if t["LeadRoute_Key__c"] == key]
        with sqlite3.connect(self.path) as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM Task WHERE LeadRoute_Key__c = ?", [key])]


@pytest.fixture(params=["local", "salesforce"])
def side(request, tmp_path):
    path = write_sample_crm(tmp_path / "crm.sqlite")
    if request.param == "local":
        from pipelines.crm.local import LocalCrm

        yield Side("local", LocalCrm(path, clock=lambda: datetime(2026, 2, 1, 12, 0)), path)
        return
    from pipelines.crm.salesforce import SalesforceCrm, load_settings
    from tests.sf_emulator import PASSWORD, SECURITY_TOKEN, USERNAME

    emu = request.getfixturevalue("sf_emulator").load_sqlite(path)
    emu.clock.set(datetime(2026, 2, 1, 12, 0))
    emu.converted_statuses.add("Qualified")
    settings = load_settings({"username": USERNAME, "password": PASSWORD, "security_token": SECURITY_TOKEN,
                              "bulk_poll_seconds": 0, "retry_backoff_seconds": 0})
    adapter = SalesforceCrm(settings, http=emu.requests_session())
    yield Side("salesforce", adapter, path, emu)
    adapter.close()


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Booleans read true/false (Salesforce) or 1/0 (local); unify reads both. Nothing else may differ."""
    out = df.replace({"true": "1", "false": "0"})
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True)


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """What the file holds, read straight from SQLite: the answer both adapters must give."""
    path = write_sample_crm(tmp_path_factory.mktemp("crm") / "crm.sqlite")
    out = {}
    with sqlite3.connect(path) as con:
        for obj, m in MAPPING.objects.items():
            cols = ", ".join(f'CAST("{f}" AS TEXT) AS "{f}"' for f in m.source_fields())
            where = " AND ".join(f"\"{k}\" = '{v}'" for k, v in m.filter.items()) or "1=1"
            out[obj] = pd.read_sql_query(f'SELECT {cols} FROM "{m.sobject}" WHERE {where}', con, dtype=object)
    return out


@pytest.mark.parametrize("obj", ["lead", "account", "user", "opportunity", "queue"])
def test_a_full_extract_returns_every_record_with_only_the_mapped_fields(side, expected, obj):
    m = MAPPING.objects[obj]
    got = extract_all(side.adapter, m, None)
    assert list(got.columns) == m.source_fields()
    want = expected[obj].astype(object).where(expected[obj].notna(), None)
    pd.testing.assert_frame_equal(canonical(got), canonical(want), check_dtype=False)


def test_a_load_larger_than_a_page_is_read_and_landed_a_page_at_a_time(side, expected, monkeypatch, tmp_path):
    """A first load comes in pages and the extract lands each before reading the next (a million accounts
    as one frame peaked at 4.2 GiB). Every record lands once, at its version, and the watermark is the
    newest record's, as if it had come in one piece."""
    from pipelines.crm import extract as stage
    from pipelines.crm import local
    from pipelines.crm.salesforce import extract as sf_extract
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db

    monkeypatch.setattr(local, "EXTRACT_PAGE_ROWS", 3)
    monkeypatch.setattr(sf_extract, "EXTRACT_PAGE_ROWS", 3)
    if side.emu is not None:
        side.emu.page_size = 2  # REST pages of 2, gathered until a page holds 3 or more
    m = MAPPING.objects["lead"]
    pages = list(side.adapter.extract_pages(m, None))
    assert len(pages) >= 2 and max(map(len, pages)) <= 4
    assert sum(map(len, pages)) == len(expected["lead"])

    with db.connect(tmp_path / "warehouse.duckdb") as con:
        db.migrate(con, MAPPING.mapped_columns())
        result = stage.extract(con, side.adapter, MAPPING, RunInfo("r1", datetime(2026, 2, 1, 12, 0)))
        landed = con.execute('SELECT "Id", _modstamp FROM raw_lead ORDER BY "Id"').df()
        mark = con.execute("SELECT pending_value FROM watermark WHERE object = 'lead'").fetchall()
    want = expected["lead"]
    assert sorted(landed["Id"]) == sorted(want["Id"]) and result.counts["lead_new_versions"] == len(want)
    newest = pd.to_datetime(want["SystemModstamp"], utc=True).max().tz_localize(None)
    assert landed["_modstamp"].max() == newest
    assert mark == [(newest,)], "the watermark (pending until the tick ends) is the newest record's"


@pytest.mark.parametrize(("since", "leads"), [
    (datetime(2026, 1, 4, 10, 0), [4, 5, 6, 7]),   # SystemModstamp >= since: the boundary is included
    (datetime(2026, 1, 4, 10, 0, 1), [5, 6, 7]),
    (datetime(2026, 1, 8), []),
])
def test_an_incremental_extract_returns_records_changed_since_including_deleted(side, since, leads):
    got = extract_all(side.adapter, MAPPING.objects["lead"], since)
    assert sorted(got["Id"]) == [L[n] for n in leads]
    if 6 in leads:
        assert got.set_index("Id").loc[L[6], "IsDeleted"] in ("true", "1"), "deletions reach the warehouse"


def test_updates_answer_once_per_record_matched_by_id(side):
    updates = [
        RecordUpdate(L[7], {"OwnerId": U_AVA}, group_key=A_ACME),        # held by another transaction
        RecordUpdate(L[1], {"OwnerId": U_AVA, "Routing_Reason__c": "territory"}, group_key=A_ACME),
        RecordUpdate(L[2], {"OwnerId": U_GONE}),                          # inactive owner
        RecordUpdate(L[6], {"OwnerId": U_AVA}),                           # deleted
        RecordUpdate(L[4], {"OwnerId": Q_UNROUTABLE}),                    # a queue may own a lead
    ]
    results = {r.record_id: r for r in side.adapter.update_records("Lead", updates)}
    assert set(results) == {u.record_id for u in updates}
    assert {rid: (r.ok, r.error_code) for rid, r in results.items()} == {
        L[7]: (False, "UNABLE_TO_LOCK_ROW"),
        L[1]: (True, None),
        L[2]: (False, "INACTIVE_OWNER_OR_USER"),
        L[6]: (False, "ENTITY_IS_DELETED"),
        L[4]: (True, None),
    }
    assert results[L[7]].retryable and not results[L[2]].retryable
    assert side.record(L[1])["OwnerId"] == U_AVA and side.record(L[1])["Routing_Reason__c"] == "territory"
    assert side.record(L[4])["OwnerId"] == Q_UNROUTABLE
    assert side.record(L[2])["OwnerId"] == Q_INBOUND and side.record(L[7])["OwnerId"] == Q_INBOUND, "failures write nothing"
    assert side.adapter.update_records("Lead", []) == []


@pytest.mark.parametrize("create_opportunity", [False, True])
def test_converting_a_lead_makes_a_contact_under_the_account(side, create_opportunity):
    [result] = side.adapter.convert_leads([Conversion(L[1], A_ACME, owner_id=U_DIEGO, converted_status="Qualified",
                                                      create_opportunity=create_opportunity)])
    assert result.ok and result.record_id == L[1]
    contact = side.record(result.crm_id)
    assert (contact["AccountId"], contact["OwnerId"], contact["LastName"]) == (A_ACME, U_DIEGO, "Lovelace")
    lead = side.record(L[1])
    assert lead["IsConverted"] in (1, True) and lead["ConvertedContactId"] == result.crm_id
    assert (lead["ConvertedOpportunityId"] is not None) == create_opportunity


def test_conversion_failures_are_per_lead_and_a_repeat_names_the_first_contact(side):
    [first] = side.adapter.convert_leads([Conversion(L[4], A_ACME, owner_id=U_AVA, converted_status="Qualified")])
    results = {r.record_id: r for r in side.adapter.convert_leads([
        Conversion(L[4], A_ACME, owner_id=U_AVA, converted_status="Qualified"),   # a retried push
        Conversion(L[7], A_ACME, owner_id=U_AVA, converted_status="Qualified"),   # locked
        Conversion(L[6], A_ACME, owner_id=U_AVA, converted_status="Qualified"),   # deleted
        Conversion(L[2], A_ACME, owner_id=U_GONE, converted_status="Qualified"),  # inactive owner
    ])}
    assert {rid: r.error_code for rid, r in results.items()} == {
        L[4]: "CANNOT_UPDATE_CONVERTED_LEAD", L[7]: "UNABLE_TO_LOCK_ROW", L[6]: "ENTITY_IS_DELETED",
        L[2]: "INACTIVE_OWNER_OR_USER"}
    assert results[L[4]].crm_id == first.crm_id, "the retry points at the contact the first conversion made"


def test_tasks_are_upserted_on_their_external_key_so_a_retry_never_duplicates(side):
    spec = TaskSpec("route:L2:2026-02-01", who_id=L[2], owner_id=U_AVA, subject="Call the new lead",
                    due_date="2026-02-02")
    [first] = side.adapter.upsert_tasks([spec])
    [again] = side.adapter.upsert_tasks([TaskSpec(**{**spec.__dict__, "subject": "Call the new lead today"})])
    assert first.ok and again.ok and again.crm_id == first.crm_id
    [task] = side.tasks(spec.external_key)
    assert (task["Subject"], task["OwnerId"], task["WhoId"]) == ("Call the new lead today", U_AVA, L[2])
    [existing, inactive] = side.adapter.upsert_tasks([TaskSpec(TASK_KEY, L[1], U_DIEGO, "Call"),
                                                      TaskSpec("k-gone", L[1], U_GONE, "Call")])
    assert existing.ok and existing.crm_id == T_ONE
    assert (inactive.ok, inactive.error_code, inactive.record_id) == (False, "INACTIVE_OWNER_OR_USER", "k-gone")


def test_open_workload_counts_open_unconverted_leads_per_owner(side):
    assert side.adapter.open_workload([U_AVA, U_DIEGO, U_GONE], ["New", "Working"]) == {U_AVA: 1, U_DIEGO: 0, U_GONE: 0}
    assert side.adapter.open_workload([], ["New"]) == {}


def test_describe_tells_which_fields_exist_and_which_can_be_written(side):
    described = side.adapter.describe(["Lead", "Task", "NoSuchThing__c"])
    lead = described["Lead"]
    assert described["NoSuchThing__c"] is None
    assert set(MAPPING.objects["lead"].source_fields()) <= set(lead)
    assert {n: lead[n].updateable for n in ("OwnerId", "Routing_Reason__c", "IsConverted", "SystemModstamp")} == {
        "OwnerId": True, "Routing_Reason__c": True, "IsConverted": False, "SystemModstamp": False}
    assert described["Task"]["LeadRoute_Key__c"].external_id


def test_every_call_is_counted(side):
    before = side.adapter.counter.calls
    extract_all(side.adapter, MAPPING.objects["lead"], datetime(2026, 1, 8))
    side.adapter.update_records("Lead", [RecordUpdate(L[1], {"OwnerId": U_AVA})])
    assert side.adapter.counter.calls - before == 2
    assert side.adapter.counter.by_kind["query"] >= 1

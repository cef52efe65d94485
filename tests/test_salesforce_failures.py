"""Every failure mode of the Salesforce push, through real ticks against the emulator.

Each test provokes one failure the way an org produces it, then shows the two
guarantees: nothing is lost (every lead ends pushed, or pending to be retried, and
the org holds what the ledger says) and nothing is pushed twice (the emulator's
write log has at most one owner write per lead).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import AVA, HANNAH, LUKAS, NOW
from tests.sf_emulator import PASSWORD, SECURITY_TOKEN, USERNAME
from tests.sf_emulator.resource import emulated_resource

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("crm_twin", ["salesforce"], indirect=True)]


@pytest.fixture
def org(crm_twin):
    return crm_twin


def seed(org, n: int = 4) -> list[str]:
    org.account("Acme Corp", website="acme.com", type="Customer", owner=AVA, state="CA")
    leads = [org.lead(company="ACME", email=f"jo{i}@acme.com", country="USA", state="California") for i in range(n - 2)]
    leads.append(org.lead(company="Globex", email="hans@globex.de", country="Germany"))
    leads.append(org.lead(company="Initech", email="bob@gmail.com", country="US", state="TX"))
    return leads


def owner_writes(emu) -> Counter:
    """Owner updates per lead (a conversion, which the shipped rules ask for on customer leads, is not one)."""
    return Counter(w.record_id for w in emu.writes("Lead", field="OwnerId", op="update"))


def assert_conserved(pipeline, org, leads):
    """Nothing lost: every lead is in the ledger, and where the ledger says pushed the org agrees."""
    ledger = pipeline.query("SELECT lead_id, target_owner_id, status FROM ledger WHERE kind = 'owner'")
    assert set(ledger["lead_id"]) == set(leads)
    assert set(ledger["status"]) <= {"pushed", "pending", "skipped_unchanged"}
    owners = org.owners()
    for row in ledger.itertuples():
        if row.status == "pushed":
            assert owners[row.lead_id] == row.target_owner_id


def assert_pushed_once(pipeline, org, leads):
    ledger = pipeline.query("SELECT lead_id, status FROM ledger WHERE kind = 'owner'")
    assert set(ledger["status"]) == {"pushed"}
    assert_conserved(pipeline, org, leads)
    writes = owner_writes(org.emu)
    assert set(writes) == set(leads) and max(writes.values()) == 1, f"pushed twice: {writes}"
    conversions = Counter(w.record_id for w in org.emu.writes("Lead", op="convert"))
    assert all(n == 1 for n in conversions.values()), f"converted twice: {conversions}"
    tasks = Counter(t["LeadRoute_Key__c"] for t in org.emu.records("Task"))
    assert all(n == 1 for n in tasks.values()), f"a task created twice: {tasks}"


def test_a_locked_row_stays_pending_and_is_retried_after_its_backoff_then_written_once(twin_pipeline, org):
    leads = seed(org)
    org.lock(leads[0])
    first = twin_pipeline.tick(NOW)
    row = twin_pipeline.query("SELECT status, last_error_code, next_attempt_at FROM ledger "
                              "WHERE lead_id = ? AND kind = 'owner'", [leads[0]])
    assert (row.iloc[0]["status"], row.iloc[0]["last_error_code"]) == ("pending", "UNABLE_TO_LOCK_ROW")
    assert row.iloc[0]["next_attempt_at"] == pd.Timestamp(NOW + timedelta(minutes=1))
    assert first.metadata["crm_push"]["retry_later"] == 1
    assert_conserved(twin_pipeline, org, leads)

    org.unlock(leads[0])
    assert twin_pipeline.tick(NOW + timedelta(minutes=2)).metadata["crm_push"]["pushed"] == 1
    assert_pushed_once(twin_pipeline, org, leads)
    converted = {w.record_id for w in org.emu.writes("Lead", op="convert")}
    assert leads[0] in converted, "its conversion (the shipped rules' side action) waited for the owner, then ran once"


def test_the_api_limit_reached_mid_push_stops_the_tick_and_keeps_the_rest_pending(twin_pipeline, org):
    leads = [org.lead(company=f"Globex {i}", email=f"p{i}@globex.de", country="Germany") for i in range(230)]
    # The first sObject Collections call (200 records) goes through, then the org's allowance is gone.
    org.emu.faults.fail_next(status=403, error_code="REQUEST_LIMIT_EXCEEDED", message="TotalRequests Limit exceeded.",
                             times=None, path_contains="/composite/sobjects", after=1)
    first = twin_pipeline.tick(NOW)
    meta = first.metadata["crm_push"]
    assert meta["details"]["stopped"].startswith("REQUEST_LIMIT_EXCEEDED")
    assert meta["pushed"] == 200, "the first call's records are recorded, so they are never pushed again"
    status = twin_pipeline.query("SELECT status, attempts, count(*) AS n FROM ledger GROUP BY ALL ORDER BY status")
    assert status.to_dict("records") == [{"status": "pending", "attempts": 0, "n": 30},
                                         {"status": "pushed", "attempts": 1, "n": 200}]
    wm = twin_pipeline.query("SELECT value FROM watermark WHERE object = 'lead'")
    assert pd.isna(wm.iloc[0]["value"]), "the watermark waits for a push that completed"
    assert_conserved(twin_pipeline, org, leads)

    org.emu.faults.clear()
    assert twin_pipeline.tick(NOW + timedelta(minutes=5)).metadata["crm_push"]["pushed"] == 30
    assert_pushed_once(twin_pipeline, org, leads)
    assert set(org.owners().values()) == {LUKAS}


def test_a_session_that_keeps_expiring_is_renewed_a_bounded_number_of_times(twin_pipeline, org, monkeypatch):
    leads = seed(org)
    twin_pipeline.twin.before_tick(NOW)  # loads the org
    for name, value in {"SALESFORCE_USERNAME": USERNAME, "SALESFORCE_PASSWORD": PASSWORD,
                        "SALESFORCE_SECURITY_TOKEN": SECURITY_TOKEN, "SALESFORCE_MAX_REAUTH": "2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SALESFORCE_SESSION_ID")  # a password login, which can be renewed
    crm = emulated_resource(org.emu)
    org.emu.faults.expire_session(times=None, path_contains="/composite/sobjects")
    push = twin_pipeline.tick(NOW, crm=crm).metadata["crm_push"]
    assert push["details"]["stopped"].startswith("INVALID_SESSION_ID") and push["pushed"] == 0
    assert push["details"]["crm_api_this_tick"]["logins"] == 1 + 2, \
        "bounded: the first login and two renewals, no endless recursion (simple-salesforce issue #804)"
    assert_conserved(twin_pipeline, org, leads)

    org.emu.faults.clear()
    org.emu.faults.expire_session(times=1, path_contains="/composite/sobjects")  # expires once: renewed, carries on
    push = twin_pipeline.tick(NOW + timedelta(minutes=5), crm=crm).metadata["crm_push"]
    assert push["pushed"] == 4 and push["details"]["crm_api_this_tick"]["logins"] == 2
    assert_pushed_once(twin_pipeline, org, leads)


def test_server_errors_are_retried_with_backoff_then_left_pending(twin_pipeline, org):
    leads = seed(org)
    org.emu.faults.fail_next(status=503, times=None, path_contains="/composite/sobjects")
    first = twin_pipeline.tick(NOW)
    assert first.metadata["crm_push"]["details"]["stopped"].startswith("SERVER_UNAVAILABLE")
    patches = [r.status for r in org.emu.requests if r.method == "PATCH" and "composite/sobjects" in r.path]
    assert patches == [503] * 4, "one call and three retries (SALESFORCE_MAX_RETRIES), then stop"
    assert set(twin_pipeline.query("SELECT status FROM ledger WHERE kind = 'owner'")["status"]) <= {
        "pending", "skipped_unchanged"}
    assert_conserved(twin_pipeline, org, leads)

    org.emu.faults.clear()
    org.emu.faults.fail_next(status=503, times=2, path_contains="/composite/sobjects")  # a blip, within one call
    second = twin_pipeline.tick(NOW + timedelta(minutes=5))
    assert second.metadata["crm_push"]["pushed"] == 4
    assert_pushed_once(twin_pipeline, org, leads)


def test_a_malformed_answer_is_a_clear_error_and_nothing_is_marked_pushed(twin_pipeline, org):
    leads = seed(org)
    org.emu.faults.malformed_next(path_contains="/composite/sobjects", body="<html>Service maintenance</html>",
                                  content_type="text/html")
    first = twin_pipeline.tick(NOW)
    stopped = first.metadata["crm_push"]["details"]["stopped"]
    assert stopped.startswith("MALFORMED_RESPONSE") and "maintenance" in stopped
    assert twin_pipeline.query("SELECT count(*) AS n FROM ledger WHERE status = 'pushed'").iloc[0]["n"] == 0

    assert twin_pipeline.tick(NOW + timedelta(minutes=5)).metadata["crm_push"]["pushed"] == 4
    assert_pushed_once(twin_pipeline, org, leads)


def test_the_api_budget_ceiling_stops_the_push_and_says_so(twin_pipeline, org, monkeypatch):
    leads = seed(org)
    twin_pipeline.twin.before_tick(NOW)  # loads the org
    monkeypatch.setenv("SALESFORCE_BULK_QUERY_THRESHOLD", "10000")  # the extract is seven REST queries
    monkeypatch.setenv("SALESFORCE_API_BUDGET_SHARE", "0.5")
    org.emu.daily_api_limit = 1000
    org.emu.api_usage = 500 - 7  # the tick's seven extract queries reach the ceiling; the push may not start
    blocked = twin_pipeline.tick(NOW)
    push = blocked.metadata["crm_push"]
    assert push["details"]["stopped"].startswith("API_BUDGET_REACHED") and push["crm_api_calls"] == 0
    assert "SALESFORCE_API_BUDGET_SHARE" in push["details"]["stopped"]
    assert push["details"]["crm_api_this_tick"]["org_usage"] == "500 of 1,000 in the last 24 h"
    assert push["details"]["crm_api_this_tick"]["leadroute_ceiling"] == 500
    pending = twin_pipeline.query("SELECT lead_id FROM ledger WHERE status = 'pending'")
    assert set(pending["lead_id"]) == set(leads)

    org.emu.api_usage = 0  # the rolling 24 hours moved on
    assert twin_pipeline.tick(NOW + timedelta(minutes=5)).metadata["crm_push"]["pushed"] == 4
    assert_pushed_once(twin_pipeline, org, leads)


def test_a_quiet_tick_costs_one_query_per_object_and_a_trickle_pages_through_rest(twin_pipeline, org, monkeypatch):
    seed(org)
    twin_pipeline.tick(NOW)
    bulk_reads = {job.object for job in org.emu.jobs.values() if job.kind == "query"}
    assert {"Lead", "User"} <= bulk_reads and not {"Account", "Opportunity"} & bulk_reads, \
        "the full load reads objects above the threshold (3 here) in bulk, the others through REST"

    monkeypatch.setenv("SALESFORCE_BULK_QUERY_THRESHOLD", "10000")  # the default
    org.emu.requests.clear()
    quiet = twin_pipeline.tick(NOW + timedelta(minutes=5))
    calls = quiet.metadata["crm_push"]["details"]["crm_api_this_tick"]
    # seven objects: leads, accounts, users, opportunities, queues, and tasks and events (day-2 touches, meetings)
    assert calls["by_kind"] == {"query": 7} and calls["calls"] == 7
    assert quiet.metadata["raw_crm"]["details"]["crm_api_calls"] == 7
    assert [(r.method, r.path.rsplit("/", 2)[-2]) for r in org.emu.requests] == [("GET", "queryAll")] * 7
    assert quiet.metadata["crm_push"]["crm_api_calls"] == 0

    org.emu.page_size = 2
    org.now = NOW + timedelta(minutes=7)
    new = [org.lead(company="Initech", email=f"t{i}@initech.com", country="US", state="TX") for i in range(5)]
    org.emu.requests.clear()
    tick = twin_pipeline.tick(NOW + timedelta(minutes=10))
    assert tick.metadata["crm_push"]["pushed"] == 5
    extracted = tick.metadata["raw_crm"]
    pages = sum(max(1, -(-extracted[f"{obj}_extracted"] // 2)) for obj in ("lead", "account", "user", "opportunity",
                                                                           "queue", "task", "event"))
    firsts = org.emu.requests.count(method="GET", path_contains="/queryAll/")
    nexts = sum(1 for r in org.emu.requests if r.method == "GET" and "/query/01g" in r.path)
    assert (firsts, firsts + nexts) == (7, pages), "one query per object, then its nextRecordsUrl pages of two"
    assert extracted["lead_extracted"] >= 5 and nexts >= 2
    assert all(org.owner_of(lead) == HANNAH for lead in new)
    assert org.emu.requests.count(method="PATCH", path_contains="/composite/sobjects") == 1

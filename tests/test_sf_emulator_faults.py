"""Fault injection, seen through simple-salesforce: what the pipeline must survive."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceGeneralError,
                                          SalesforceRefusedRequest)

from tests.sf_emulator.fixtures import connect
from tests.sf_emulator.sample import L, Q_UNROUTABLE, U_AVA, write_sample_crm


@pytest.fixture(scope="module")
def crm_file(tmp_path_factory):
    return write_sample_crm(tmp_path_factory.mktemp("crm") / "local_crm.sqlite")


@pytest.fixture
def emu(sf_emulator, crm_file):
    return sf_emulator.load_sqlite(crm_file)


@pytest.fixture
def sf(emu):
    return connect(emu)


def owner_batch(*ids, owner=U_AVA) -> dict:
    return {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "id": i, "OwnerId": owner} for i in ids]}


def test_locked_records_fail_per_record_then_succeed_on_retry(emu, sf):
    emu.faults.lock_records({L[1]}, times=1)
    first = sf.restful("composite/sobjects", method="PATCH", json=owner_batch(L[1], L[2]))
    assert [r["success"] for r in first] == [False, True]
    assert first[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    retry = sf.restful("composite/sobjects", method="PATCH", json=owner_batch(L[1]))
    assert retry[0]["success"] is True and emu.get(L[1])["OwnerId"] == U_AVA


def test_locks_apply_to_bulk_rows(sf, emu):
    emu.faults.lock_records({L[2]}, times=1)
    [result] = sf.bulk2.Lead.update(records=[{"Id": L[1], "OwnerId": U_AVA}, {"Id": L[2], "OwnerId": U_AVA}], wait=0)
    assert result["numberRecordsFailed"] == 1
    assert sf.bulk2.Lead.get_failed_records(result["job_id"]).splitlines()[1].startswith(
        f'"{L[2]}","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access')


def test_record_lock_rows_from_the_local_crm_hold_until_cleared(emu, sf):
    for _ in range(2):
        [res] = sf.restful("composite/sobjects", method="PATCH", json=owner_batch(L[7]))
        assert res["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    emu.faults.unlock_records({L[7]})
    assert sf.restful("composite/sobjects", method="PATCH", json=owner_batch(L[7]))[0]["success"] is True


def test_exhausted_api_limit(emu, sf):
    emu.faults.exhaust_api_limit()
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.status == 403
    assert exc.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED",
                                  "fields": []}]


def test_expired_session_once_is_refreshed_by_a_password_client(emu, sf):
    emu.faults.expire_session(times=1)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 6
    assert [(r.method, r.status) for r in emu.requests[1:]] == [("GET", 401), ("POST", 200), ("GET", 200)]


def test_session_that_stays_expired_stops_a_password_client(emu, sf):
    emu.faults.expire_session(times=None)
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")  # Salesforce._call_salesforce gives up after max_retries
    assert emu.requests.count(method="POST", path_contains="/Soap/u/") == 1 + 4


def test_expired_session_stops_a_session_id_client(emu):
    sf = connect(emu, auth="session")
    emu.faults.expire_session(times=1)
    with pytest.raises(SalesforceExpiredSession):
        sf.Lead.get(L[1])  # no login to refresh with: SFType raises instead of recursing
    assert sf.Lead.get(L[1])["Id"] == L[1]


def test_fail_next_then_recover(emu, sf):
    emu.faults.fail_next(status=503, times=2, path_contains="/query")
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM Lead")
        assert exc.value.status == 503 and exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 6
    sf.Lead.update(L[1], {"OwnerId": Q_UNROUTABLE})  # other paths were never affected


def test_slow_responses_meet_client_timeouts(emu, sf):
    emu.faults.slow(0.3, path_contains="/limits", times=1)
    with pytest.raises(requests.ReadTimeout):
        sf.limits(timeout=0.05)
    assert sf.limits(timeout=2)["DailyApiRequests"]["Max"] == emu.daily_api_limit


def test_malformed_body(emu, sf):
    emu.faults.malformed_next(path_contains="/query")
    with pytest.raises(KeyError):
        sf.query_all("SELECT Id FROM Lead")
    emu.faults.malformed_next(body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(requests.JSONDecodeError):
        sf.query("SELECT Id FROM Lead")


def test_request_log_counts_api_calls(emu, sf):
    emu.requests.clear()
    sf.query("SELECT Id FROM Lead")
    sf.Lead.get(L[1])
    sf.Lead.update(L[1], {"Rating": "Warm"})
    assert [(r.method, r.status) for r in emu.requests] == [("GET", 200), ("GET", 200), ("PATCH", 204)]
    assert emu.requests.count(method="GET") == 2 and emu.requests.count(path_contains="/sobjects/Lead/") == 2


def test_faults_are_per_emulator(emu):
    emu.faults.fail_next(status=500, times=None)
    emu.faults.clear()
    sf = Salesforce(instance_url=emu.instance_url, session_id=emu.new_session(), session=emu.requests_session())
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 6

"""The Salesforce adapter against the emulator, one behaviour at a time (no Dagster, fast).

Logins of every kind, timeouts on every call, the standard CA handling, SOQL built
only with format_soql, REST paging and the switch to Bulk API 2.0, Collections
batching by parent account, Bulk API 2.0 updates read by sf__Id, malformed answers,
and the rule that no secret ever leaves the adapter in a message.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import requests

from pipelines.crm.base import CrmResponseError, CrmUnavailable, RecordUpdate, extract_all
from pipelines.crm.fields import load_field_mapping
from pipelines.crm.salesforce import SalesforceCrm, SalesforceRefused, SalesforceSettingsError, load_settings
from pipelines.crm.salesforce.push import group_chunks
from pipelines.crm.salesforce.soql import select_changed
from tests.conftest import RULES
from tests.sf_emulator import MY_DOMAIN, PASSWORD, SECURITY_TOKEN, USERNAME
from tests.sf_emulator.sample import A_ACME, L, Q_INBOUND, U_AVA, U_DIEGO, U_GONE, write_sample_crm

MAPPING = load_field_mapping(RULES / "fields.yaml")
LEAD, QUEUE = MAPPING.objects["lead"], MAPPING.objects["queue"]
PASSWORD_LOGIN = {"username": USERNAME, "password": PASSWORD, "security_token": SECURITY_TOKEN}
FAST = {"bulk_poll_seconds": 0, "retry_backoff_seconds": 0}


@pytest.fixture(scope="module")
def crm_file(tmp_path_factory):
    return write_sample_crm(tmp_path_factory.mktemp("crm") / "crm.sqlite")


@pytest.fixture
def emu(sf_emulator, crm_file):
    return sf_emulator.load_sqlite(crm_file)


@pytest.fixture
def connect(emu):
    """SalesforceCrm on the emulator's session; password login unless told otherwise."""
    made = []

    def make(http="emulator", **values):
        crm = SalesforceCrm(load_settings({**PASSWORD_LOGIN, **FAST, **values}),
                            http=emu.requests_session() if http == "emulator" else http)
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()


# -- logging in ----------------------------------------------------------------------------------

def _private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(("credentials", "mode", "login_path"), [
    (PASSWORD_LOGIN, "password", "/services/Soap/u/59.0"),
    ({"username": USERNAME, "password": PASSWORD, "consumer_key": "key", "consumer_secret": "secret"},
     "oauth_password", "/services/oauth2/token"),
    ({"consumer_key": "key", "consumer_secret": "secret", "domain": MY_DOMAIN}, "client_credentials",
     "/services/oauth2/token"),
    ({"username": USERNAME, "consumer_key": "key", "private_key": "PEM"}, "jwt", "/services/oauth2/token"),
])
def test_every_login_simple_salesforce_supports(emu, credentials, mode, login_path):
    if credentials.get("private_key") == "PEM":
        credentials = {**credentials, "private_key": _private_key()}
    crm = SalesforceCrm(load_settings({**credentials, **FAST}), http=emu.requests_session())
    assert crm.settings.mode() == mode
    assert len(extract_all(crm, QUEUE, None)) == 2
    assert crm.counter.logins == 1 and crm.counter.calls == 1
    assert emu.requests[0].path == login_path


def test_an_existing_session_and_the_standard_ca_handling(emu, monkeypatch):
    settings = load_settings({"instance_url": emu.instance_url, "session_id": emu.new_session(), **FAST,
                              "max_retries": 0})
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with pytest.raises(CrmUnavailable) as refused:
        extract_all(SalesforceCrm(settings), QUEUE, None)  # a plain session: the emulator's test CA is not trusted
    assert refused.value.code == "SERVER_UNAVAILABLE" and "SSLError" in str(refused.value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle_path)
    crm = SalesforceCrm(settings)
    assert len(extract_all(crm, QUEUE, None)) == 2 and crm.counter.logins == 0


@pytest.mark.parametrize(("values", "message"), [
    ({}, "SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN"),
    ({"username": USERNAME, "password": PASSWORD}, "Set now: SALESFORCE_PASSWORD, SALESFORCE_USERNAME"),
    ({"auth": "jwt", "username": USERNAME, "consumer_key": "k"}, "SALESFORCE_AUTH=jwt needs SALESFORCE_PRIVATE_KEY_FILE"),
    ({"auth": "client_credentials", "consumer_key": "k", "consumer_secret": "s"}, "needs SALESFORCE_DOMAIN"),
])
def test_missing_credentials_name_the_variables_to_set(values, message):
    with pytest.raises(SalesforceSettingsError) as exc:
        SalesforceCrm(load_settings(values))
    assert message in str(exc.value)


@pytest.mark.parametrize(("values", "message"), [
    ({"api_budget_share": "1.5"}, "SALESFORCE_API_BUDGET_SHARE='1.5': Input should be less than or equal to 1"),
    ({"timeout_seconds": "soon"}, "SALESFORCE_TIMEOUT_SECONDS='soon'"),
    ({"password": ""}, None),
    ({"auth": "kerberos"}, "SALESFORCE_AUTH='kerberos'"),
])
def test_bad_settings_name_the_variable_and_never_show_a_secret(values, message):
    if message is None:  # an empty secret is simply "not set"
        assert load_settings(values).password is not None
        return
    with pytest.raises(SalesforceSettingsError) as exc:
        load_settings(values)
    assert message in str(exc.value)


def test_no_secret_leaves_the_adapter(emu, connect):
    secrets = [PASSWORD, SECURITY_TOKEN]
    bad = load_settings({**PASSWORD_LOGIN, "password": "not-the-" + PASSWORD, **FAST})
    with pytest.raises(CrmUnavailable) as refused:
        extract_all(SalesforceCrm(bad, http=emu.requests_session()), QUEUE, None)
    assert refused.value.code == "LOGIN_FAILED" and "INVALID_LOGIN" in str(refused.value)
    crm = connect()
    extract_all(crm, QUEUE, None)
    session = crm.client.session_id
    emu.faults.expire_session(times=None)
    with pytest.raises(CrmUnavailable) as expired:
        extract_all(crm, QUEUE, None)
    shown = [str(refused.value), str(expired.value), repr(crm), repr(crm.settings), repr(crm.client._login),
             str(crm.counter.summary())]
    for text in shown:
        for secret in [*secrets, session, "not-the-" + PASSWORD]:
            assert secret not in text


# -- timeouts, retries, re-login ------------------------------------------------------------------

def test_every_call_has_a_timeout_and_a_timed_out_read_is_retried(emu, connect):
    crm = connect(timeout_seconds=0.2)
    emu.faults.slow(0.6, path_contains="/queryAll", times=1)
    assert len(extract_all(crm, QUEUE, None)) == 2
    assert crm.counter.by_kind["query"] == 2, "timed out once, answered on the retry"
    emu.faults.slow(0.6, path_contains="/queryAll", times=None)
    started = time.monotonic()
    with pytest.raises(CrmUnavailable) as exc:
        extract_all(crm, QUEUE, None)
    assert exc.value.code == "TIMEOUT" and "4 time(s)" in str(exc.value)
    assert time.monotonic() - started < 4 * 0.6, "no call waits longer than its timeout"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_waiting_longer_each_time(emu, status):
    waits = []
    crm = SalesforceCrm(load_settings({**PASSWORD_LOGIN, "retry_backoff_seconds": 1.5, "max_retries": 3}),
                        http=emu.requests_session(), sleep=waits.append)
    emu.faults.fail_next(status=status, times=3, path_contains="/queryAll")
    assert len(extract_all(crm, QUEUE, None)) == 2
    assert waits == [1.5, 3.0, 6.0]
    emu.faults.fail_next(status=status, times=4, path_contains="/queryAll")
    with pytest.raises(CrmUnavailable) as exc:
        extract_all(crm, QUEUE, None)
    assert exc.value.code == "SERVER_UNAVAILABLE" and f"HTTP {status}" in str(exc.value)


def test_a_session_that_keeps_expiring_is_renewed_a_bounded_number_of_times(emu, connect):
    crm = connect(max_reauth=2)
    emu.faults.expire_session(times=None)
    with pytest.raises(CrmUnavailable) as exc:
        crm.update_records("Lead", [RecordUpdate(L[1], {"OwnerId": U_AVA})])
    assert exc.value.code == "INVALID_SESSION_ID" and exc.value.partial == []
    assert crm.counter.logins == 3 and emu.requests.count(method="PATCH") == 3
    assert emu.get(L[1])["OwnerId"] == Q_INBOUND


def test_an_expired_session_id_cannot_be_renewed_and_says_what_to_do(emu):
    crm = SalesforceCrm(load_settings({"instance_url": emu.instance_url, "session_id": emu.new_session(), **FAST}),
                        http=emu.requests_session())
    emu.faults.expire_session(times=1)
    with pytest.raises(CrmUnavailable) as exc:
        extract_all(crm, QUEUE, None)
    assert exc.value.code == "INVALID_SESSION_ID" and "set a fresh one" in str(exc.value)


def test_soap_conversions_log_in_again_and_stop_at_the_api_limit(emu, connect):
    from pipelines.crm.base import Conversion

    emu.converted_statuses.add("Qualified")
    crm = connect()
    emu.faults.expire_session(times=1, path_contains="/Soap/u/")
    extract_all(crm, QUEUE, None)  # logged in
    [ok] = crm.convert_leads([Conversion(L[1], A_ACME, U_AVA)])
    assert ok.ok and crm.counter.logins == 2
    emu.faults.exhaust_api_limit()
    with pytest.raises(CrmUnavailable) as exc:
        crm.convert_leads([Conversion(L[2], A_ACME, U_AVA)])
    assert exc.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert not emu.get(L[2])["IsConverted"]


def test_a_refusal_a_person_must_fix_is_a_clear_error_not_a_retry(emu, connect):
    crm = connect()
    with pytest.raises(SalesforceRefused) as exc:
        crm.update_records("Lead", [RecordUpdate(L[1], {"Lead_Grade__c": "A"})])
    assert exc.value.code == "INVALID_FIELD" and "Lead_Grade__c" in str(exc.value)
    assert "leadroute crm check" in str(exc.value) and emu.requests.count(method="PATCH") == 1


# -- SOQL ----------------------------------------------------------------------------------------

def test_the_watermark_is_utc_whatever_the_machine_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        soql = select_changed("Lead", ["Id"], "SystemModstamp", datetime(2026, 11, 20, 14, 55, 0, 999000))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert soql == "SELECT Id FROM Lead WHERE SystemModstamp >= 2026-11-20T14:55:00+00:00"


@pytest.mark.parametrize(("filters", "fields", "expected"), [
    ({"Type": "Queue"}, ["Id"], "SELECT Id FROM Group WHERE Type = 'Queue'"),
    ({"Type": "Queue' OR Name != '"}, ["Id"], "SELECT Id FROM Group WHERE Type = 'Queue\\' OR Name != \\''"),
    ({}, ["Id", "Name FROM User --"], ValueError),
    ({"Type = 'x' OR Id": "y"}, ["Id"], ValueError),
])
def test_soql_takes_values_only_through_format_soql(filters, fields, expected):
    if expected is ValueError:
        with pytest.raises(ValueError, match="not a Salesforce API name"):
            select_changed("Group", fields, "SystemModstamp", None, filters)
    else:
        assert select_changed("Group", fields, "SystemModstamp", None, filters) == expected


# -- extract -------------------------------------------------------------------------------------

def test_rest_pages_follow_next_records_url_and_a_large_read_goes_to_bulk(emu, connect):
    emu.page_size = 2
    rest = connect(bulk_query_threshold=100)
    by_rest = extract_all(rest, LEAD, datetime(2026, 1, 1))
    assert rest.counter.by_kind == {"query": 4}, "7 leads in pages of 2"
    bulk = connect(bulk_query_threshold=5)
    by_bulk = extract_all(bulk, LEAD, datetime(2026, 1, 1))
    assert bulk.counter.by_kind["query"] == 1, "the first page's totalSize decides; its cursor is dropped"
    assert bulk.counter.by_kind["bulk_query"] == 4  # create, two polls (InProgress, then JobComplete), results
    assert by_bulk.equals(by_rest)
    assert set(by_rest["IsDeleted"]) == {"true", "false"} and by_rest["SystemModstamp"].str.endswith("+0000").all()


def test_extracted_rows_are_deduplicated_on_id_and_modstamp(emu, connect, monkeypatch):
    from simple_salesforce import Salesforce

    real = Salesforce.query

    def twice(self, soql, include_deleted=False, **kw):  # a record edited while the pages were read
        page = real(self, soql, include_deleted=include_deleted, **kw)
        return {**page, "records": page["records"] + page["records"][:1]}

    monkeypatch.setattr(Salesforce, "query", twice)
    rows = extract_all(connect(), LEAD, datetime(2026, 1, 1))
    assert rows["Id"].is_unique and len(rows) == 7


@pytest.mark.parametrize(("path", "body", "content_type"), [
    ("/queryAll", "<html>Down for maintenance</html>", "text/html"),
    ("/queryAll", '{"records": "not a list"}', "application/json"),
    ("/results", '"Id","Name"\n"00G000000000001EAA"\n', "text/csv"),
])
def test_an_unreadable_answer_is_a_clear_error(emu, connect, path, body, content_type):
    crm = connect(bulk_query_threshold=1)
    emu.faults.malformed_next(path_contains=path, body=body, content_type=content_type)
    with pytest.raises(CrmResponseError) as exc:
        extract_all(crm, QUEUE, None)
    assert exc.value.code == "MALFORMED_RESPONSE" and "Group" in str(exc.value) and "not readable" in str(exc.value)


# -- push ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("groups", "size", "expected"), [
    ([("a", 3), ("b", 3)], 4, [["a"] * 3, ["b"] * 3]),              # a group that fits is never split
    ([("a", 2), ("b", 2)], 4, [["a", "a", "b", "b"]]),
    ([("a", 5)], 2, [["a", "a"], ["a", "a"], ["a"]]),                 # larger than a batch: consecutive batches
    ([(None, 3), ("a", 1)], 2, [["a", None], [None, None]]),         # leads without an account fill the gaps last
])
def test_updates_are_batched_by_parent_account(groups, size, expected):
    updates = [RecordUpdate(f"{g}{i}", {}, g) for g, n in groups for i in range(n)]
    assert [[u.group_key for u in chunk] for chunk in group_chunks(updates[::-1], size)] == expected


def test_collections_take_200_records_a_call_and_every_result_is_read(emu, connect):
    leads = [emu.insert("Lead", LastName=f"L{i}", Company="C", OwnerId=Q_INBOUND) for i in range(449)]
    crm = connect()
    updates = [RecordUpdate(lead, {"OwnerId": U_AVA}, A_ACME if i < 250 else None) for i, lead in enumerate(leads)]
    updates += [RecordUpdate(L[2], {"OwnerId": U_GONE})]
    results = crm.update_records("Lead", updates[::-1])
    assert len(results) == 450 and {r.record_id for r in results} == {u.record_id for u in updates}
    assert [r.error_code for r in results if not r.ok] == ["INACTIVE_OWNER_OR_USER"]
    assert crm.counter.by_kind["update"] == 3 and emu.requests.count(method="PATCH") == 3
    assert all(w.values == {"OwnerId": U_AVA} for w in emu.writes("Lead"))


def test_bulk_updates_above_the_threshold_are_read_by_sf_id(emu, connect):
    crm = connect(bulk_update_threshold=5)
    updates = [RecordUpdate(L[n], {"OwnerId": U_DIEGO, "Routing_Reason__c": None}, A_ACME if n % 2 else None)
               for n in (1, 2, 3, 4, 7)] + [RecordUpdate(L[6], {"OwnerId": U_DIEGO})]
    results = {r.record_id: r for r in crm.update_records("Lead", updates)}
    assert {k: (r.ok, r.error_code) for k, r in results.items()} == {
        L[1]: (True, None), L[2]: (True, None), L[3]: (True, None), L[4]: (True, None),
        L[7]: (False, "UNABLE_TO_LOCK_ROW"), L[6]: (False, "ENTITY_IS_DELETED")}
    assert "unable to obtain exclusive access" in results[L[7]].message
    [job] = [j for j in emu.jobs.values() if j.kind == "ingest"]
    assert job.header == ["Id", "OwnerId", "Routing_Reason__c"]
    assert [row[0] for row in job.successful + job.failed][:2] == [L[1], L[3]], "rows ordered by parent account"
    assert emu.get(L[1])["OwnerId"] == U_DIEGO and emu.get(L[1])["Routing_Reason__c"] is None  # #N/A = null


def test_a_bulk_job_that_stops_part_way_reports_the_rest_as_not_attempted(emu, connect):
    crm = connect(bulk_update_threshold=2)
    emu.faults.stop_bulk_job(after_rows=2)
    results = crm.update_records("Lead", [RecordUpdate(L[n], {"OwnerId": U_DIEGO}) for n in (1, 2, 3, 4)])
    assert [(r.record_id, r.ok, r.error_code) for r in results] == [
        (L[1], True, None), (L[2], True, None), (L[3], False, "NOT_ATTEMPTED"), (L[4], False, "NOT_ATTEMPTED")]
    assert results[2].retryable and [w.record_id for w in emu.writes("Lead")] == [L[1], L[2]]


def test_a_bulk_upload_that_fails_starts_a_new_job_never_uploads_twice(emu, connect):
    crm = connect(bulk_update_threshold=2)
    emu.faults.fail_next(status=503, times=1, path_contains="/batches")
    results = crm.update_records("Lead", [RecordUpdate(L[n], {"OwnerId": U_DIEGO}) for n in (1, 2)])
    assert all(r.ok for r in results)
    jobs = [j for j in emu.jobs.values() if j.kind == "ingest"]
    assert [j.state for j in jobs] == ["Aborted", "JobComplete"] and [len(j.uploads) for j in jobs] == [0, 1]
    assert len(emu.writes("Lead", field="OwnerId")) == 2


def test_a_stop_after_some_batches_carries_their_results(emu, connect):
    crm = connect(collection_size=2)
    emu.faults.fail_next(status=403, error_code="REQUEST_LIMIT_EXCEEDED", times=None,
                         path_contains="/composite/sobjects", after=1)
    with pytest.raises(CrmUnavailable) as exc:
        crm.update_records("Lead", [RecordUpdate(L[n], {"OwnerId": U_AVA}) for n in (1, 2, 3, 4)])
    assert exc.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert [(r.record_id, r.ok) for r in exc.value.partial] == [(L[1], True), (L[2], True)]
    assert [w.record_id for w in emu.writes("Lead")] == [L[1], L[2]], "the refused batch wrote nothing"


@pytest.mark.parametrize("body", ['{"unexpected": "shape"}', '[{"id": "00Q000000000009EAA", "success": true}]'])
def test_a_malformed_save_result_marks_nothing_pushed(emu, connect, body):
    crm = connect(collection_size=1)
    emu.faults.malformed_next(path_contains="/composite/sobjects", body=body, after=1)
    with pytest.raises(CrmResponseError) as exc:
        crm.update_records("Lead", [RecordUpdate(L[1], {"OwnerId": U_AVA}), RecordUpdate(L[2], {"OwnerId": U_AVA})])
    assert [r.record_id for r in exc.value.partial] == [L[1]], "only the batch answered properly counts"


def test_budget_stops_calls_at_the_share_of_the_daily_allowance(emu, connect):
    emu.daily_api_limit, emu.api_usage = 100, 9
    crm = connect(api_budget_share=0.1)
    extract_all(crm, QUEUE, None)  # the answer says 10 of 100 used: the ceiling (10) is reached
    with pytest.raises(CrmUnavailable) as exc:
        extract_all(crm, QUEUE, None)
    assert exc.value.code == "API_BUDGET_REACHED" and "10 of its 100" in str(exc.value)
    assert crm.counter.summary()["leadroute_ceiling"] == 10 and emu.api_usage == 10


def test_sessions_are_passed_through_unchanged(emu):
    """The connector keeps the caller's transport (adapters, CA) and adds only timeouts and counting."""
    base = emu.requests_session()
    crm = SalesforceCrm(load_settings({**PASSWORD_LOGIN, **FAST}), http=base)
    assert crm.client.http.verify == base.verify and crm.client.http.adapters == base.adapters
    assert isinstance(crm.client.http, requests.Session) and crm.client.http.timeout == (10.0, 120.0)


def test_ids_are_compared_on_15_characters_as_salesforce_compares_them(emu, connect):
    crm = connect()
    # An owner and a lead named by their 15-character ids (copied from the address bar): the org answers
    # with 18 characters, and the answer is still the one for the record sent.
    [result] = crm.update_records("Lead", [RecordUpdate(L[2][:15], {"OwnerId": U_DIEGO[:15]})])
    assert result.ok and result.record_id == L[2][:15] and result.crm_id == L[2]
    read = crm.read_records("Lead", "Id", [L[2][:15]], ["Id", "OwnerId"])
    assert read.to_dict("records") == [{"Id": L[2], "OwnerId": U_DIEGO}]
    # An 18-character id whose suffix is not the case-safe suffix of its first 15 names no record.
    [bad] = crm.update_records("Lead", [RecordUpdate(L[2][:15] + "ZZZ", {"OwnerId": U_DIEGO})])
    assert not bad.ok and bad.error_code == "MALFORMED_ID"

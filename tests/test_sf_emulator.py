"""The Salesforce emulator, driven only through simple-salesforce (unmodified).

Covers login (SOAP password through the redirecting session, session id with
REQUESTS_CA_BUNDLE, OAuth grants), SOQL through query/queryAll with paging,
sObject REST, describe, sObject Collections, convertLead over SOAP, and limits.
Bulk API 2.0 and fault injection have their own files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from html import escape

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceAuthenticationFailed, SalesforceExpiredSession,
                                          SalesforceMalformedRequest, SalesforceResourceNotFound)

from tests.sf_emulator import USERNAME
from tests.sf_emulator.fixtures import connect
from tests.sf_emulator.sample import (A_ACME, G_PUBLIC, L, Q_INBOUND, Q_UNROUTABLE, TASK_KEY, U_AVA, U_DIEGO, U_GONE,
                                      write_sample_crm)


@pytest.fixture(scope="module")
def crm_file(tmp_path_factory):
    return write_sample_crm(tmp_path_factory.mktemp("crm") / "local_crm.sqlite")


@pytest.fixture
def emu(sf_emulator, crm_file):
    return sf_emulator.load_sqlite(crm_file)


@pytest.fixture
def sf(emu):
    return connect(emu)


def error_code(exc_info) -> str:
    return exc_info.value.content[0]["errorCode"]


# ----- connecting -----

def test_password_login_goes_through_the_redirected_login_host(emu):
    sf = connect(emu)
    assert sf.sf_instance == emu.netloc  # serverUrl from the SOAP login answer
    login = emu.requests[0]
    assert (login.method, login.path, login.host) == ("POST", "/services/Soap/u/59.0", "login.salesforce.com")
    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_wrong_password_is_refused_like_salesforce(emu):
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(username=USERNAME, password="wrong", security_token="x", session=emu.requests_session())
    assert exc.value.code == "INVALID_LOGIN"


def test_session_id_login_with_ca_bundle_from_the_environment(emu, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle_path)
    sf = Salesforce(instance_url=emu.instance_url, session_id=emu.new_session())  # plain requests.Session
    assert sf.query("SELECT Id FROM Account")["records"][0]["Id"] == A_ACME


def test_unknown_session_id_answers_401(emu):
    sf = Salesforce(instance_url=emu.instance_url, session_id="not-a-session", session=emu.requests_session())
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID",
                                  "fields": []}]


def test_client_credentials_login_at_my_domain(emu):
    sf = connect(emu, auth="client_credentials")
    assert sf.auth_type == "client-credentials" and sf.sf_instance == emu.netloc
    assert emu.requests[0].host == "leadroute.my.salesforce.com"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 6


def test_jwt_bearer_login(emu):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    sf = Salesforce(username=USERNAME, consumer_key="emulator-key", privatekey=pem, domain="test",
                    session=emu.requests_session())
    assert sf.auth_type == "jwt-bearer" and sf.sf_instance == emu.netloc
    assert emu.requests[0].host == "test.salesforce.com"


@pytest.mark.parametrize("form, error", [
    ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "abc"}, "invalid_grant"),
    ({"grant_type": "password", "client_id": "k", "client_secret": "s", "username": USERNAME, "password": "x"},
     "invalid_grant"),
])
def test_token_endpoint_rejects_bad_grants(emu, form, error):
    resp = emu.requests_session().post("https://login.salesforce.com/services/oauth2/token", data=form)
    assert resp.status_code == 400 and resp.json()["error"] == error


def test_the_session_refuses_every_other_host(emu):
    with pytest.raises(requests.ConnectionError, match="must not use the network"):
        emu.requests_session().get("https://na1.salesforce.com/services/data/")


# ----- SOQL -----

@pytest.mark.parametrize("where, expected", [
    ("IsConverted = false", {1, 2, 3, 4, 7}),
    ("IsConverted = TRUE", {5}),
    ("SystemModstamp > 2026-01-03T00:00:00Z", {3, 4, 5, 7}),
    ("SystemModstamp > 2026-01-03T10:00:00.000+0000", {4, 5, 7}),
    ("SystemModstamp >= 2026-01-03T12:00:00+02:00", {3, 4, 5, 7}),
    ("SystemModstamp < 2026-01-02T10:00:00.001Z", {1, 2}),
    ("Country IN ('us', 'GB')", {1, 2, 3, 5, 7}),
    ("Country NOT IN ('US')", {3, 4}),
    ("Company LIKE 'b%'", {3, 7}),
    ("LastName LIKE '_uring'", {3}),
    ("Lead_Score__c >= 80", {1, 4}),
    ("Lead_Score__c = null", {3}),
    ("Industry != 'Software'", {2, 3, 4, 5, 7}),
    ("(Country = 'US' OR Country = 'NL') AND NOT Lead_Score__c < 60", {1, 4, 5, 7}),
    ("OwnerId = '00G000000000001EAA'", {1, 2, 4, 7}),
    ("Owner.Name = 'Inbound Leads' AND Lead_Score__c > 50.5", {1, 2, 4, 7}),
    ("ConvertedDate = 2026-01-05", {5}),
    ("lastname = 'TURING'", {3}),
])
def test_where_forms(sf, where, expected):
    rows = sf.query_all(f"SELECT Id FROM Lead WHERE {where}")["records"]
    assert {r["Id"] for r in rows} == {L[n] for n in expected}


@pytest.mark.parametrize("where, expected", [
    ("SystemModstamp = TODAY", {4}),
    ("SystemModstamp = LAST_N_DAYS:1", {3, 4}),
    ("SystemModstamp < YESTERDAY", {1, 2}),
    ("SystemModstamp >= TOMORROW", {5, 7}),
])
def test_date_literals_follow_the_emulator_clock(emu, sf, where, expected):
    emu.clock.set(datetime(2026, 1, 4, 12, 0, tzinfo=timezone.utc))
    rows = sf.query(f"SELECT Id FROM Lead WHERE {where}")["records"]
    assert {r["Id"] for r in rows} == {L[n] for n in expected}


def test_queues_by_developer_name(sf):
    rows = sf.query("SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue' ORDER BY DeveloperName")["records"]
    assert [(r["Id"], r["DeveloperName"]) for r in rows] == [(Q_INBOUND, "Inbound_Leads"),
                                                             (Q_UNROUTABLE, "Unroutable")]


def test_loaded_records_keep_their_types(emu, crm_file):
    import sqlite3

    con = sqlite3.connect(crm_file)
    raw = dict(zip(("IsActive", "SystemModstamp"), con.execute(
        f"SELECT IsActive, SystemModstamp FROM User WHERE Id = '{U_GONE}'").fetchone()))
    con.close()
    user = emu.get(U_GONE)
    assert (raw["IsActive"], user["IsActive"]) == (0, False)
    assert user["SystemModstamp"] == raw["SystemModstamp"]
    assert len(emu.records("Lead")) == 6 and len(emu.records("Lead", include_deleted=True)) == 7


def test_collections_retrieve(sf):
    out = sf.restful("composite/sobjects/Lead", params={"ids": f"{L[1]},{L[6]}", "fields": "Id,LastName"})
    assert out[0] == {"attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{L[1]}"},
                      "Id": L[1], "LastName": "Lovelace"}
    assert out[1] is None  # deleted


def test_records_use_canonical_names_and_json_types(sf):
    rec = sf.query("select id, lastname, isconverted, lead_score__c, systemmodstamp, owner.name "
                   "from lead where id = '00Q000000000001EAA'")["records"][0]
    assert list(rec) == ["attributes", "Id", "LastName", "IsConverted", "Lead_Score__c", "SystemModstamp", "Owner"]
    assert rec["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{L[1]}"}
    assert rec["IsConverted"] is False and rec["Lead_Score__c"] == 80.0
    assert rec["SystemModstamp"] == "2026-01-01T10:00:00.000+0000"
    assert rec["Owner"] == {"attributes": {"type": "Group", "url": f"/services/data/v59.0/sobjects/Group/{Q_INBOUND}"},
                            "Name": "Inbound Leads"}


def test_paging_with_next_records_url(emu, sf):
    emu.page_size = 2
    first = sf.query("SELECT Id FROM Lead ORDER BY SystemModstamp")
    assert (first["totalSize"], first["done"], len(first["records"])) == (6, False, 2)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2")
    everything = sf.query_all("SELECT Id FROM Lead ORDER BY SystemModstamp")["records"]
    assert [r["Id"] for r in everything] == [L[n] for n in (1, 2, 3, 4, 5, 7)]
    assert emu.requests.count(path_contains="/query/01g") == 2  # query_all followed nextRecordsUrl twice


def test_query_all_includes_deleted_records(sf):
    rows = sf.query_all("SELECT Id, IsDeleted FROM Lead WHERE Company = 'Gone Inc'", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(L[6], True)]
    assert sf.query_all("SELECT Id FROM Lead WHERE Company = 'Gone Inc'")["totalSize"] == 0


@pytest.mark.parametrize("order, expected", [
    ("Lead_Score__c", [3, 2, 7, 5, 1, 4]),
    ("Lead_Score__c DESC", [4, 1, 5, 7, 2, 3]),
    ("Lead_Score__c ASC NULLS LAST", [2, 7, 5, 1, 4, 3]),
    ("Country DESC, LastName LIMIT 3", [2, 5, 1]),
    ("LastName LIMIT 2 OFFSET 1", [2, 5]),
])
def test_order_by_limit_offset(sf, order, expected):
    rows = sf.query(f"SELECT Id FROM Lead ORDER BY {order}")["records"]
    assert [r["Id"] for r in rows] == [L[n] for n in expected]


def test_count(sf):
    assert sf.query("SELECT COUNT() FROM Lead WHERE Country = 'US'")["totalSize"] == 4
    assert sf.query("SELECT COUNT(Lead_Score__c) FROM Lead")["records"][0]["expr0"] == 5


@pytest.mark.parametrize("soql, code, fragment", [
    ("SELECT Id, Nope__c FROM Lead", "INVALID_FIELD", "No such column 'Nope__c' on entity 'Lead'"),
    ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01T00:00:00Z'", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > 2026-01-01", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Lead WHERE IsConverted = 'false'", "INVALID_FIELD", "must be of type boolean"),
    ("SELECT Id FROM Lead WHERE LastName = Turing", "MALFORMED_QUERY", "unexpected token: 'Turing'"),
    ("SELECT Id FROM Lead WHERE Country = 'US' AND Lead_Score__c > 1 OR Country = 'GB'", "MALFORMED_QUERY",
     "unexpected token: 'OR'"),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT Id FROM Lead WHERE Nobody.Name = 'x'", "INVALID_FIELD", "Didn't understand relationship 'Nobody'"),
])
def test_bad_soql_is_refused_like_salesforce(sf, soql, code, fragment):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    assert exc.value.status == 400 and error_code(exc) == code
    assert fragment in exc.value.content[0]["message"]


# ----- sObject REST -----

def test_create_get_update_delete_and_the_clock(emu, sf):
    emu.clock.set(datetime(2026, 11, 22, 10, 15, tzinfo=timezone.utc))
    created = sf.Lead.create({"LastName": "Hamilton", "Company": "MIT", "OwnerId": Q_UNROUTABLE})
    assert created["success"] is True and created["errors"] == [] and created["id"].startswith("00Q")
    rec = sf.Lead.get(created["id"])
    assert (rec["Status"], rec["IsConverted"], rec["SystemModstamp"]) == ("New", False, "2026-11-22T10:15:00.000+0000")
    emu.clock.advance(minutes=5)
    assert sf.Lead.update(created["id"], {"OwnerId": U_AVA, "Lead_Score__c": 42}) == 204
    rec = sf.Lead.get(created["id"])
    assert (rec["OwnerId"], rec["Lead_Score__c"], rec["SystemModstamp"]) == (U_AVA, 42.0, "2026-11-22T10:20:00.000+0000")
    assert rec["CreatedDate"] == "2026-11-22T10:15:00.000+0000"
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(created["id"])
    assert emu.get(created["id"])["IsDeleted"] is True


def test_updated_and_deleted_resources(sf):
    start, end = datetime(2026, 1, 3, tzinfo=timezone.utc), datetime(2026, 1, 6, 12, tzinfo=timezone.utc)
    assert sf.Lead.updated(start, end)["ids"] == [L[3], L[4], L[5]]
    assert [d["id"] for d in sf.Lead.deleted(start, end)["deletedRecords"]] == [L[6]]


def test_upsert_by_external_id(emu, sf):
    assert sf.Task.upsert("LeadRoute_Key__c/route:L2:1", {"WhoId": L[2], "OwnerId": U_AVA, "Subject": "Call"}) == 201
    assert sf.Task.upsert("LeadRoute_Key__c/route:L2:1", {"Subject": "Call again"}) == 200
    assert sf.Task.upsert(f"LeadRoute_Key__c/{TASK_KEY}", {"Subject": "Edited"}) == 200
    tasks = {t["LeadRoute_Key__c"]: t["Subject"] for t in emu.records("Task")}
    assert tasks == {TASK_KEY: "Edited", "route:L2:1": "Call again"}
    old_api = connect(emu, version="45.0")
    assert old_api.Task.upsert("LeadRoute_Key__c/route:L2:1", {"Subject": "v45"}) == 204


@pytest.mark.parametrize("values, code", [
    ({"OwnerId": U_GONE}, "INACTIVE_OWNER_OR_USER"),
    ({"OwnerId": G_PUBLIC}, "FIELD_INTEGRITY_EXCEPTION"),
    ({"OwnerId": "005000000000777AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    ({"OwnerId": A_ACME}, "FIELD_INTEGRITY_EXCEPTION"),
    ({"OwnerId": "nope"}, "MALFORMED_ID"),
    ({"IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ({"Company": None}, "REQUIRED_FIELD_MISSING"),
    ({"Lead_Score__c": "lots"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
    ({"Routing_Reason__c": "x" * 256}, "STRING_TOO_LONG"),
    ({"Colour__c": "red"}, "INVALID_FIELD"),
])
def test_update_validation(sf, values, code):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(L[1], values)
    assert error_code(exc) == code


def test_accounts_cannot_be_owned_by_queues_and_converted_leads_are_frozen(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.update(A_ACME, {"OwnerId": Q_INBOUND})
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(L[5], {"OwnerId": U_AVA})
    assert exc.value.content[0] == {"message": "cannot reference converted lead",
                                    "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD", "fields": []}


def test_create_requires_what_salesforce_requires(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create({"FirstName": "No", "OwnerId": U_AVA})
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert exc.value.content[0]["fields"] == ["LastName", "Company"]


def test_describe(sf):
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert (fields["Id"]["type"], fields["Id"]["updateable"]) == ("id", False)
    assert (fields["IsConverted"]["type"], fields["IsConverted"]["updateable"]) == ("boolean", False)
    assert (fields["SystemModstamp"]["type"], fields["SystemModstamp"]["createable"]) == ("datetime", False)
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"] and fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["Lead_Score__c"]["type"] == "double" and fields["Lead_Score__c"]["custom"] is True
    assert fields["Company"]["nillable"] is False and fields["Email"]["type"] == "email"
    assert fields["ConvertedDate"]["type"] == "date"
    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert task["LeadRoute_Key__c"]["externalId"] is True and task["OwnerId"]["referenceTo"] == ["User"]
    names = {o["name"]: o["keyPrefix"] for o in sf.describe()["sobjects"]}
    assert names["Lead"] == "00Q" and names["Group"] == "00G" and "_RecordLock" not in names


# ----- sObject Collections -----

def test_collections_update_reports_each_record(emu, sf):
    records = [
        {"attributes": {"type": "Lead"}, "id": L[1], "OwnerId": U_AVA},
        {"attributes": {"type": "Lead"}, "id": L[2], "OwnerId": U_GONE},
        {"attributes": {"type": "Lead"}, "id": L[4], "OwnerId": Q_UNROUTABLE},
        {"attributes": {"type": "Lead"}, "id": "00Q000000000404EAA", "OwnerId": U_AVA},
        {"attributes": {"type": "Lead"}, "id": L[5], "OwnerId": U_AVA},
        {"attributes": {"type": "Lead"}, "id": L[3], "OwnerId": G_PUBLIC},
        {"attributes": {"type": "Lead"}, "id": L[6], "OwnerId": U_AVA},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, True, False, False, False, False]
    assert results[0] == {"id": L[1], "success": True, "errors": []}
    codes = [r["errors"][0]["statusCode"] for r in results if not r["success"]]
    assert codes == ["INACTIVE_OWNER_OR_USER", "ENTITY_IS_DELETED", "CANNOT_UPDATE_CONVERTED_LEAD",
                     "FIELD_INTEGRITY_EXCEPTION", "ENTITY_IS_DELETED"]
    assert set(results[1]["errors"][0]) == {"statusCode", "message", "fields"}
    assert emu.get(L[1])["OwnerId"] == U_AVA and emu.get(L[4])["OwnerId"] == Q_UNROUTABLE
    assert emu.get(L[2])["OwnerId"] == Q_INBOUND


def test_collections_all_or_none_rolls_back(emu, sf):
    records = [{"attributes": {"type": "Lead"}, "id": L[1], "OwnerId": U_AVA},
               {"attributes": {"type": "Lead"}, "id": L[2], "OwnerId": U_GONE}]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records})
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert emu.get(L[1])["OwnerId"] == Q_INBOUND


def test_collections_upsert_tasks_by_external_id(emu, sf):
    records = [{"attributes": {"type": "Task"}, "LeadRoute_Key__c": TASK_KEY, "Subject": "Retried"},
               {"attributes": {"type": "Task"}, "LeadRoute_Key__c": "route:L3:1", "WhoId": L[3], "OwnerId": U_AVA},
               {"attributes": {"type": "Task"}, "LeadRoute_Key__c": "route:L4:1", "OwnerId": U_GONE}]
    results = sf.restful("composite/sobjects/Task/LeadRoute_Key__c", method="PATCH",
                         json={"allOrNone": False, "records": records})
    assert [(r["success"], r.get("created")) for r in results] == [(True, False), (True, True), (False, None)]
    assert results[2]["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert sorted(t["LeadRoute_Key__c"] for t in emu.records("Task")) == sorted(["route:L3:1", TASK_KEY])


def test_collections_create_tasks_and_the_200_record_cap(emu, sf):
    tasks = [{"attributes": {"type": "Task"}, "WhoId": L[n], "OwnerId": U_DIEGO, "Subject": "Follow up",
              "LeadRoute_Key__c": f"route:L{n}:x"} for n in (1, 2)]
    tasks.append({"attributes": {"type": "Task"}, "WhoId": L[3], "OwnerId": Q_INBOUND, "Subject": "Queue task"})
    results = sf.restful("composite/sobjects", method="POST", json={"records": tasks})
    assert [r["success"] for r in results] == [True, True, False]
    assert results[2]["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"  # tasks cannot belong to queues
    assert len(emu.records("Task")) == 3
    too_many = [{"attributes": {"type": "Lead"}, "id": L[1], "Rating": "Hot"}] * 201
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects", method="PATCH", json={"records": too_many})
    assert error_code(exc) == "EXCEEDED_ID_LIMIT"


# ----- convertLead over SOAP -----

def convert_leads(sf, converts: list[dict]) -> list[dict]:
    """How a client converts leads: a partner-API envelope posted through the same session."""
    items = "".join(
        "<urn:leadConverts>" + "".join(f"<urn:{k}>{escape(str(v).lower() if isinstance(v, bool) else str(v))}</urn:{k}>"
                                       for k, v in c.items()) + "</urn:leadConverts>"
        for c in converts)
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{sf.session_id}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:convertLead>{items}</urn:convertLead></soapenv:Body></soapenv:Envelope>")
    resp = sf.session.post(f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}", data=envelope.encode(),
                           headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "convertLead"})
    resp.raise_for_status()
    ns = {"sf": "urn:partner.soap.sforce.com"}
    out = []
    for result in ET.fromstring(resp.content).iter("{urn:partner.soap.sforce.com}result"):
        row = {child.tag.split("}")[1]: child.text for child in result if child.tag.split("}")[1] != "errors"}
        row["success"] = row["success"] == "true"
        row["errors"] = [{"statusCode": e.findtext("sf:statusCode", namespaces=ns),
                          "message": e.findtext("sf:message", namespaces=ns)}
                         for e in result.findall("sf:errors", ns)]
        out.append(row)
    return out


def test_convert_lead(emu, sf):
    emu.clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc))
    [res] = convert_leads(sf, [{"leadId": L[3], "accountId": A_ACME, "convertedStatus": "Closed - Converted",
                                "opportunityName": "Turing - Platform"}])
    assert res["success"] is True and res["errors"] == [] and res["accountId"] == A_ACME
    lead = emu.get(L[3])
    assert lead["IsConverted"] is True and lead["ConvertedDate"] == "2026-11-22"
    assert (lead["ConvertedContactId"], lead["ConvertedOpportunityId"]) == (res["contactId"], res["opportunityId"])
    contact, opp = emu.get(res["contactId"]), emu.get(res["opportunityId"])
    assert (contact["AccountId"], contact["LastName"], contact["OwnerId"]) == (A_ACME, "Turing", U_AVA)
    assert (opp["Name"], opp["AccountId"], opp["CloseDate"]) == ("Turing - Platform", A_ACME, "2026-12-31")
    rows = sf.query(f"SELECT IsConverted, ConvertedAccountId FROM Lead WHERE Id = '{L[3]}'")["records"]
    assert rows[0]["IsConverted"] is True and rows[0]["ConvertedAccountId"] == A_ACME

    [again] = convert_leads(sf, [{"leadId": L[3], "convertedStatus": "Closed - Converted"}])
    assert again["success"] is False and again["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert "already converted to the contact Alan Turing" in again["errors"][0]["message"]


def test_convert_lead_per_lead_results(emu, sf):
    results = convert_leads(sf, [
        {"leadId": L[1], "convertedStatus": "Closed - Converted"},                       # queue owner, no ownerId
        {"leadId": L[2], "convertedStatus": "Closed - Converted", "ownerId": U_DIEGO,
         "doNotCreateOpportunity": True},
        {"leadId": L[4], "convertedStatus": "Working"},
    ])
    assert [r["success"] for r in results] == [False, True, False]
    assert results[0]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert results[2]["errors"][0]["statusCode"] == "INVALID_STATUS"
    assert results[1]["opportunityId"] is None
    account = emu.get(results[1]["accountId"])
    assert (account["Name"], account["OwnerId"]) == ("Navy", U_DIEGO)
    assert emu.get(L[1])["IsConverted"] is False


# ----- limits -----

def test_api_usage_and_limits(emu):
    emu.daily_api_limit = 10
    sf = connect(emu)
    sf.query("SELECT Id FROM Lead")
    sf.Lead.get(L[1])
    assert sf.api_usage["api-usage"].used == 1  # Salesforce.api_usage: updated by calls made through sf itself
    assert sf.limits()["DailyApiRequests"] == {"Max": 10, "Remaining": 7}
    assert sf.api_usage["api-usage"] == (3, 10)
    assert emu.api_usage == 3


# ----- the fixtures on an empty org -----

def test_fixtures_give_an_empty_org_with_the_local_crm_schema(sf_emulator, sf_client):
    assert sf_client.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    user = sf_emulator.insert("User", Username="rep@x.example", FirstName="Rep", LastName="One", IsActive=True)
    created = sf_client.Lead.create({"LastName": "New", "Company": "Co", "OwnerId": user})
    assert sf_emulator.get(created["id"])["OwnerId"] == user
    assert {o["name"] for o in sf_client.describe()["sobjects"]} >= {"Lead", "Account", "User", "Group", "Task"}


def test_an_emulator_crash_answers_500_and_is_recorded(sf_emulator, sf_client, monkeypatch):
    from simple_salesforce.exceptions import SalesforceGeneralError

    from tests.sf_emulator import rest

    monkeypatch.setattr(rest, "limits", lambda emu: 1 / 0)
    with pytest.raises(SalesforceGeneralError) as exc:
        sf_client.limits()
    assert exc.value.status == 500 and exc.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert "ZeroDivisionError" in sf_emulator.internal_errors.pop()


def test_soap_calls_check_the_session_and_count_as_api_calls(emu, sf):
    before = emu.api_usage
    assert convert_leads(sf, [{"leadId": L[4], "convertedStatus": "Closed - Converted", "ownerId": U_AVA}])[0]["success"]
    assert emu.api_usage == before + 1
    emu.faults.expire_session(times=1)
    with pytest.raises(requests.HTTPError) as exc:
        convert_leads(sf, [{"leadId": L[2], "convertedStatus": "Closed - Converted", "ownerId": U_AVA}])
    assert exc.value.response.status_code == 500 and b"<faultcode>sf:INVALID_SESSION_ID</faultcode>" in exc.value.response.content

"""Whole ticks against the emulated org: configuration, secrets, conversions and tasks.

The pipeline reaches the emulator exactly as it reaches an org: LEADROUTE_CRM=salesforce,
credentials in SALESFORCE_* variables (dg.EnvVar), simple-salesforce unmodified.
"""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest

from pipelines.defs.resources import CrmResource, default_resources
from pipelines.routing import engine
from pipelines.settings import Settings
from tests.conftest import AVA, NOW
from tests.sf_emulator import PASSWORD, SECURITY_TOKEN, USERNAME
from tests.sf_emulator.resource import emulated_resource

pytestmark = pytest.mark.slow
salesforce_only = pytest.mark.parametrize("crm_twin", ["salesforce"], indirect=True)


def test_the_local_crm_stays_the_default_and_needs_no_salesforce_variables(monkeypatch):
    for name in ("LEADROUTE_CRM", "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SESSION_ID"):
        monkeypatch.delenv(name, raising=False)
    crm = default_resources()["crm"]
    assert crm.kind == "local" and crm.sf_password is None and crm.sf_username is None


def test_salesforce_credentials_reach_the_resource_only_as_env_vars(monkeypatch):
    monkeypatch.setenv("SALESFORCE_USERNAME", "ops@acme.example")
    monkeypatch.setenv("SALESFORCE_PASSWORD", "hunter2-very-secret")
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", "tok-very-secret")
    monkeypatch.setenv("SALESFORCE_BULK_UPDATE_THRESHOLD", "5000")
    monkeypatch.delenv("SALESFORCE_SESSION_ID", raising=False)
    crm = default_resources(Settings(crm="salesforce"))["crm"]
    assert isinstance(crm.sf_password, dg.EnvVar) and crm.sf_password == "SALESFORCE_PASSWORD"
    assert crm.sf_session_id is None, "unset optional credentials stay unset"
    assert crm.sf_bulk_update_threshold == 5000
    assert "very-secret" not in repr(crm)


def test_incomplete_salesforce_credentials_fail_the_tick_with_what_to_set(pipeline, crm, monkeypatch):
    crm.lead(company="Acme", email="jo@acme.com")
    monkeypatch.setenv("SALESFORCE_USERNAME", "ops@acme.example")
    for name in ("SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_SESSION_ID"):
        monkeypatch.delenv(name, raising=False)
    outcome = pipeline.tick(crm=default_resources(Settings(crm="salesforce"))["crm"], expect_success=False)
    assert "SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN" in " ".join(outcome.failures)


@salesforce_only
def test_a_full_tick_through_simple_salesforce_never_shows_a_secret(twin_pipeline, crm_twin, monkeypatch, capsys):
    org = crm_twin
    lead = org.lead(company="Globex", email="hans@globex.de", country="Germany")
    twin_pipeline.twin.before_tick(NOW)
    monkeypatch.setenv("SALESFORCE_USERNAME", USERNAME)
    monkeypatch.setenv("SALESFORCE_PASSWORD", PASSWORD)
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", SECURITY_TOKEN)
    monkeypatch.delenv("SALESFORCE_SESSION_ID")
    crm = emulated_resource(org.emu)
    ok = twin_pipeline.tick(NOW, crm=crm)
    assert ok.metadata["crm_push"]["pushed"] == 1 and org.owner_of(lead) != org.queue_ids["Inbound_Leads"]
    sessions = list(org.emu.sessions)

    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", "wrong-" + SECURITY_TOKEN)
    failed = twin_pipeline.tick(NOW + timedelta(minutes=5), crm=emulated_resource(org.emu), expect_success=False)
    assert any("LOGIN_FAILED" in f and "INVALID_LOGIN" in f for f in failed.failures)

    logs = [str(e.user_message) + json.dumps(e.dagster_event.event_specific_data.__dict__ if e.dagster_event
                                             and e.dagster_event.event_specific_data else {}, default=str)
            for run in (ok.run_id, failed.run_id) for e in twin_pipeline.instance.all_logs(run)]
    everything = "\n".join([*logs, json.dumps([ok.metadata, failed.metadata, failed.failures], default=str),
                            *capsys.readouterr()])
    assert "LOGIN_FAILED" in everything and len(logs) > 20
    for secret in [PASSWORD, SECURITY_TOKEN, "wrong-" + SECURITY_TOKEN, *sessions]:
        assert secret not in everything


@pytest.fixture
def side_actions(monkeypatch):
    """Every lead matched to an account gets a conversion and a follow-up task."""
    actions = [{"kind": "convert", "converted_status": "Qualified"},
               {"kind": "task", "subject": "Call the new contact", "due_date": "2026-11-21", "priority": "High"}]
    real_route = engine.route

    def route(frame, rules, entry, ctx):
        out = real_route(frame, rules, entry, ctx)
        out["side_actions"] = [json.dumps(actions) if m else None for m in frame["match.account_id"].notna()]
        return out

    monkeypatch.setattr(engine, "route", route)


@salesforce_only
def test_conversion_over_soap_and_a_task_upsert_whose_answer_was_lost_are_written_once(
        twin_pipeline, crm_twin, side_actions, monkeypatch):
    org = crm_twin
    acme = org.account("Acme Corp", website="acme.com", type="Customer", owner=AVA, state="CA")
    lead = org.lead(company="Acme", email="jo@acme.com", country="US", state="CA", FirstName="Jo")
    twin_pipeline.twin.before_tick(NOW)
    org.emu.converted_statuses.add("Qualified")
    monkeypatch.setenv("SALESFORCE_TIMEOUT_SECONDS", "0.3")
    # The task upsert is carried out, but its answer comes too late: the connector must not send it again.
    org.emu.faults.slow(0.8, path_contains="/composite/sobjects/Task/", times=1)
    first = twin_pipeline.tick(NOW)
    meta = first.metadata["crm_push"]
    assert (meta["pushed"], meta["convert_pushed"]) == (1, 1)
    assert meta["details"]["stopped"].startswith("OUTCOME_UNKNOWN")
    by_kind = meta["details"]["crm_api_this_tick"]["by_kind"]
    assert by_kind["convert"] == 1 and by_kind["upsert"] == 1, "one SOAP convertLead; one task upsert, not resent"

    converted = org.emu.get(lead)
    assert converted["IsConverted"] and converted["ConvertedAccountId"] == acme
    contact = org.emu.get(converted["ConvertedContactId"])
    assert (contact["AccountId"], contact["OwnerId"], contact["FirstName"]) == (acme, AVA, "Jo")
    import time

    time.sleep(0.8)  # let the late request finish: the task is created then
    [task] = org.emu.records("Task")
    assert (task["WhoId"], task["WhatId"], task["OwnerId"]) == (contact["Id"], acme, AVA)
    assert task["LeadRoute_Key__c"].startswith("leadroute-")

    second = twin_pipeline.tick(NOW + timedelta(minutes=5))
    assert second.metadata["crm_push"]["due"] == 0, "read back (in the first tick's last read, or this one's first)"
    row = twin_pipeline.query("SELECT status, crm_record_id, reconciled_at FROM ledger WHERE kind = 'task'").iloc[0]
    assert row["status"] == "pushed" and row["crm_record_id"] == task["Id"] and pd.notna(row["reconciled_at"])
    assert [w.op for w in org.emu.writes("Task")] == ["create"], "written once"
    assert len(org.emu.writes("Lead", op="convert")) == 1
    assert len(org.emu.records("Task")) == 1 and len(org.emu.records("Contact")) == 1


def test_the_resource_refuses_an_unknown_crm():
    with pytest.raises(ValueError, match="LEADROUTE_CRM"):
        CrmResource(kind="hubspot").adapter(None)

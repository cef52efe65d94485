"""Side actions through the ledger: set fields, convert, create a task; in order, once, retried safely.

The rules that ask for side actions belong to the rules language; here the routing engine
is wrapped so matched leads carry side actions, which exercises the ledger and push
contract end to end on the local CRM.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from pipelines.crm.local import LocalCrm
from pipelines.routing import engine
from tests.conftest import AVA, NOW

pytestmark = pytest.mark.slow


@pytest.fixture
def side_actions(monkeypatch):
    """Every lead matched to an account gets: a routing reason field, a conversion, a task."""
    actions = [
        {"kind": "fields", "fields": {"routing_reason": "customer account team"}},
        {"kind": "convert", "converted_status": "Qualified"},
        {"kind": "task", "subject": "Call the new contact", "due_date": "2026-11-21", "priority": "High"},
    ]
    real_route = engine.route

    def route(frame, rules, entry, ctx):
        out = real_route(frame, rules, entry, ctx)
        matched = frame["match.account_id"].notna().to_numpy()
        out["side_actions"] = [json.dumps(actions) if m else None for m in matched]
        return out

    monkeypatch.setattr(engine, "route", route)
    return actions


def crm_rows(crm, sql, params=()):
    with sqlite3.connect(crm.path) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, params)]


def world(crm):
    acme = crm.account("Acme Corp", website="acme.com", type="Customer", owner=AVA, state="CA")
    lead = crm.lead(company="Acme", email="jo@acme.com", country="US", state="CA", FirstName="Jo")
    other = crm.lead(company="Nobody", email="x@nobody.io", country="US", state="NY")
    return acme, lead, other


def test_fields_conversion_and_task_are_written_in_order_and_once(pipeline, crm, side_actions):
    acme, lead, other = world(crm)
    first = pipeline.tick()
    meta = first.metadata["crm_push"]
    assert (meta["pushed"], meta["fields_pushed"], meta["convert_pushed"], meta["task_pushed"]) == (2, 1, 1, 1)

    (row,) = crm_rows(crm, "SELECT * FROM Lead WHERE Id = ?", [lead])
    assert row["IsConverted"] == 1 and row["ConvertedAccountId"] == acme and row["OwnerId"] == AVA
    assert row["Routing_Reason__c"] == "customer account team"
    (contact,) = crm_rows(crm, "SELECT * FROM Contact WHERE Id = ?", [row["ConvertedContactId"]])
    assert contact["AccountId"] == acme and contact["OwnerId"] == AVA and contact["FirstName"] == "Jo"
    (task,) = crm_rows(crm, "SELECT * FROM Task")
    assert (task["WhoId"], task["WhatId"], task["OwnerId"]) == (contact["Id"], acme, AVA)
    assert task["Subject"] == "Call the new contact" and task["ActivityDate"] == "2026-11-21"
    assert crm_rows(crm, "SELECT IsConverted FROM Lead WHERE Id = ?", [other])[0]["IsConverted"] == 0

    ledger = pipeline.query("SELECT kind, status FROM ledger WHERE lead_id = ? ORDER BY kind", [lead])
    assert ledger.to_dict("records") == [{"kind": k, "status": "pushed"} for k in ("convert", "fields", "owner", "task")]
    second = pipeline.tick()
    assert second.metadata["crm_push"]["due"] == 0
    assert len(crm_rows(crm, "SELECT * FROM Task")) == 1 and len(crm_rows(crm, "SELECT * FROM Contact")) == 1


def test_conversion_and_task_wait_for_a_locked_owner_change(pipeline, crm, side_actions):
    acme, lead, _ = world(crm)
    crm.lock(lead)
    first = pipeline.tick(NOW)
    waiting = pipeline.query("SELECT kind, status, attempts FROM ledger WHERE lead_id = ? ORDER BY kind", [lead])
    assert waiting.to_dict("records") == [
        {"kind": "convert", "status": "pending", "attempts": 0},  # not attempted: its prerequisite is pending
        {"kind": "fields", "status": "pending", "attempts": 1},
        {"kind": "owner", "status": "pending", "attempts": 1},
        {"kind": "task", "status": "pending", "attempts": 0},
    ]
    assert first.metadata["crm_push"]["retry_later"] == 1
    assert crm_rows(crm, "SELECT count(*) AS n FROM Contact")[0]["n"] == 0

    crm.unlock(lead)
    pipeline.tick(NOW + timedelta(minutes=5))
    done = pipeline.query("SELECT kind, status FROM ledger WHERE lead_id = ?", [lead])
    assert set(done["status"]) == {"pushed"}
    (task,) = crm_rows(crm, "SELECT * FROM Task")
    assert task["WhoId"].startswith("003"), "the task hangs on the new contact"


def test_a_task_whose_answer_was_lost_is_upserted_again_never_duplicated(pipeline, crm, side_actions, monkeypatch):
    world(crm)
    real = LocalCrm.upsert_tasks

    def lose_answers(self, tasks):
        real(self, tasks)  # the CRM did the work...
        return []  # ...but the answer never arrived

    monkeypatch.setattr(LocalCrm, "upsert_tasks", lose_answers)
    first = pipeline.tick(NOW)
    assert first.metadata["crm_push"]["task_retry_later"] == 1
    monkeypatch.setattr(LocalCrm, "upsert_tasks", real)
    pipeline.tick(NOW + timedelta(minutes=5))
    assert len(crm_rows(crm, "SELECT * FROM Task")) == 1
    assert pipeline.query("SELECT status FROM ledger WHERE kind = 'task'")["status"].tolist() == ["pushed"]


def test_a_field_not_under_writes_fails_with_the_reason_and_the_owner_still_moves(pipeline, crm, monkeypatch):
    _, lead, _ = world(crm)
    real_route = engine.route

    def route(frame, rules, entry, ctx):
        out = real_route(frame, rules, entry, ctx)
        out["side_actions"] = json.dumps([{"kind": "fields", "fields": {"lead_grade": "A"}}])
        return out

    monkeypatch.setattr(engine, "route", route)
    pipeline.tick()
    rows = pipeline.query("SELECT kind, status, last_error_code, last_error FROM ledger WHERE lead_id = ? ORDER BY kind",
                          [lead]).to_dict("records")
    assert rows[0]["kind"] == "fields" and rows[0]["status"] == "failed"
    assert rows[0]["last_error_code"] == "UNKNOWN_WRITE_FIELD" and "lead_grade" in rows[0]["last_error"]
    assert rows[1] == {"kind": "owner", "status": "pushed", "last_error_code": None, "last_error": None}
    assert crm.owner_of(lead) == AVA

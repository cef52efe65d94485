"""A lead's life after its first routing, in real ticks: a rep leaves, a lead stalls and wakes up.

Hannah Brooks leaves (deactivated in the CRM): her open lead is routed again as a new lead,
while the one with a meeting ahead stays, the reroute policy says why. Diego's lead has sat
in Working for two months: it is recycled to marketing's nurture queue; when it engages
again (a form fill logs a task on it), it is routed as reopened, back to Diego.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.crm_builder import INTEGRATION_USER
from pipelines.routing.stages.explain import explain
from pipelines.warehouse import db
from tests.conftest import DIEGO, HANNAH, NOW

pytestmark = pytest.mark.slow
MARCUS = "005000000000013AAA"


def latest(pipeline, lead_id):
    return pipeline.query("""SELECT d.*, g.status AS push FROM current_decision d
                             LEFT JOIN ledger g ON g.decision_id = d.decision_id AND g.kind = 'owner'
                             WHERE d.lead_id = ?""", [lead_id]).iloc[0]


def test_a_rep_who_left_loses_their_open_leads_and_a_recycled_lead_that_wakes_up_returns_to_its_rep(pipeline, crm):
    ny = dict(country="US", state="NY", status="Working")
    hannahs = crm.lead(company="Hudson Foods", email="h@gmail.com", owner=HANNAH, **ny)
    meeting = crm.lead(company="Albany Tools", email="a@gmail.com", owner=HANNAH, **ny)
    crm.event(meeting, owner=HANNAH, starts=NOW + timedelta(days=2))
    stalled = crm.lead(company="Dusty Corp", email="d@gmail.com", owner=DIEGO, created=NOW - timedelta(days=60), **ny)
    crm.update("User", HANNAH, NOW - timedelta(minutes=1), IsActive=0)

    # The first tick that meets them records them as already owned, then day 2 deals with them at once.
    out = pipeline.tick(NOW)
    first = pipeline.query("SELECT lead_id, step FROM routing_decision WHERE entry = 'new'")
    assert set(first["lead_id"]) == {hannahs, meeting, stalled} and set(first["step"]) == {"(already owned)"}
    (summary,) = pipeline.query("SELECT summary FROM tick_log ORDER BY finished_at DESC LIMIT 1")["summary"]
    tick = json.loads(summary)
    assert (tick["leads_decided"], tick["decisions"], tick["day2_decisions"]) == (3, 5, 2), \
        "three leads, each kept; two of them then moved (the one with a meeting stays)"
    checks = pipeline.query("SELECT check_name, passed FROM quality_check WHERE run_id = ?", [out.run_id])
    assert checks["passed"].all(), checks[~checks["passed"]]
    moved = latest(pipeline, hannahs)
    assert (moved["entry"], moved["owner_id"], moved["push"]) == ("inactive_owner", MARCUS, "pushed")
    assert moved["reason"].startswith("owner left: Hannah Brooks left (inactive in the CRM); inactive_owner: "
                                      "routed as a new lead: us_state: ")
    assert crm.owner_of(hannahs) == MARCUS
    assert latest(pipeline, meeting)["step"] == "(already owned)", "a meeting ahead: the policy keeps it"
    (blocked,) = pipeline.query("SELECT kind, rule, reason FROM reroute_blocked WHERE lead_id = ?", [meeting]).itertuples()
    assert (blocked.kind, blocked.rule) == ("inactive_owner", "meeting_booked")
    assert blocked.reason.startswith("the reroute policy keeps it (meeting_booked): A lead with a meeting ahead")

    recycled = latest(pipeline, stalled)
    assert (recycled["entry"], recycled["step"], recycled["queue"]) == ("recycled", "stalled_working", "Nurture")
    assert recycled["reason"] == ("stalled_working: no progress in status Working since 2026-09-21 (more than 45 days): "
                                  "recycled to queue Nurture and status Nurture")
    (row,) = crm.rows("SELECT OwnerId, Status FROM Lead WHERE Id = ?", [stalled])
    assert row == {"OwnerId": crm.queue_ids["Nurture"], "Status": "Nurture"}
    assert out.metadata["reroutes"]["inactive_owner"] == 1 and out.metadata["reroutes"]["recycled"] == 1
    assert out.metadata["reroutes"]["inactive_owner_kept_by_policy"] == 1

    quiet = pipeline.tick(NOW + timedelta(minutes=5))  # our own push's echo: nothing moves again
    assert quiet.metadata["reroutes"]["rerouted"] == 0 and quiet.metadata["reroutes"]["woken_up"] == 0
    assert quiet.metadata["crm_push"]["due"] == 0

    # A form fill logs a task on the nurtured lead: it wakes up and goes back to Diego.
    crm.task(stalled, owner=INTEGRATION_USER, when=NOW + timedelta(minutes=12), subject="Form fill: Contact us")
    woke = pipeline.tick(NOW + timedelta(minutes=15))
    reopened = latest(pipeline, stalled)
    assert (reopened["entry"], reopened["step"], reopened["owner_id"]) == ("reopened", "back_to_last_rep", DIEGO)
    assert reopened["reason"].startswith("woke up: a new task or meeting on it (dormant since 2026-11-20, recycled by "
                                         "stalled_working); back_to_last_rep: user in lead.last_rep_id Diego Alvarez")
    assert reopened["replaces_decision_id"] == recycled["decision_id"]
    assert json.loads(reopened["trace"])["reroute"]["kind"] == "reopened"
    assert crm.owner_of(stalled) == DIEGO and woke.metadata["reroutes"]["reopened"] == 1
    assert any(t["Subject"].endswith("engaged again: call back") and t["OwnerId"] == DIEGO
               for t in crm.rows("SELECT Subject, OwnerId FROM Task WHERE WhoId = ?", [stalled]))
    assert woke.metadata["kpis"]["recycled"] == 1 and woke.metadata["kpis"]["reopened"] == 1

    with db.connect(pipeline.warehouse, read_only=True) as con:
        story = explain(con, stalled)
    for line in ("(woke up, routed as reopened,", "why it moved: a new task or meeting on it",
                 "(stalled, recycled,", "decided by: back_to_last_rep"):
        assert line in story, story


def test_an_owner_change_the_crm_refused_for_an_inactive_user_is_routed_again(pipeline, crm):
    """The CRM refuses an owner change to a user it has made inactive (INACTIVE_OWNER_OR_USER): the
    push marks the write failed, and the next tick's day 2 routes the lead again, saying so."""
    lead = crm.lead(company="Hudson Foods", email="h@gmail.com", country="US", state="NY")
    pipeline.tick(NOW)
    first = latest(pipeline, lead)
    assert first["push"] == "pushed" and first["owner_id"]
    with db.connect(pipeline.warehouse) as con:  # as the push records a write the CRM refused
        con.execute("""UPDATE ledger SET status = 'failed', last_error_code = 'INACTIVE_OWNER_OR_USER'
                       WHERE decision_id = ? AND kind = 'owner'""", [first["decision_id"]])

    out = pipeline.tick(NOW + timedelta(minutes=5))

    again = latest(pipeline, lead)
    assert again["entry"] == "inactive_owner" and again["decision_id"] != first["decision_id"]
    assert "(the CRM refused the owner change: inactive user)" in again["reason"]
    assert out.metadata["reroutes"]["inactive_owner_leads"] == 1

"""The shipped rules through real ticks: every step of the lead flow, side actions in the CRM, route on update.

One small CRM holds a lead for each step of ``routing_rules/flow.yaml``; the table
below says which step must decide it and who must get it. Then leads change in the
CRM (a held lead is qualified, a nurtured lead reopens) and only those are re-routed,
never the echo of leadroute's own owner updates.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from pipelines.routing.stages.explain import explain
from pipelines.warehouse import db
from tests.conftest import AVA, BRAD, DIEGO, HANNAH, KENJI, LIAM, LUKAS, MATEO, MORGAN, NOW, ZOE, ELLA

pytestmark = pytest.mark.slow

SAMUEL, MARCUS, CLAIRE, ELENA = "005000000000019AAA", "005000000000013AAA", "005000000000016AAA", "005000000000020AAA"
OLIVIA, NOAH = "005000000000030AAA", "005000000000031AAA"
INBOUND = {LIAM, ZOE, ELLA}                      # SDR Inbound (Mateo is out of office)
OUTBOUND = {"005000000000044AAA", "005000000000045AAA", "005000000000046AAA"}
EVENTS = {"005000000000047AAA", "005000000000048AAA"}


def seed(crm) -> dict[str, str]:
    """A lead for every step of the shipped new flow, plus an already owned one that will reopen."""
    crm.account("Initrode", website="initrode.com", type="Customer", owner=AVA, Customer_Success_Manager__c=ELENA)
    holdings = crm.account("Umbrella Holdings", website="umbrella-holdings.com", type="Prospect", owner=MORGAN)
    crm.account("Umbrella Pharma", website="umbrella.com", type="Target", owner=BRAD, parent=holdings)
    crm.account("Vandelay Industries", website="vandelay.com", type="Partner", owner=HANNAH)
    hooli = crm.account("Hooli", website="hooli.com", type="Prospect", owner=AVA)
    crm.opportunity(hooli, owner=DIEGO, stage="Negotiation")
    crm.account("Pied Piper", website="piedpiper.com", type="Non-Target", owner=AVA, BillingPostalCode="94301",
                Designated_ADR__c=OLIVIA)
    crm.account("Soylent", website="soylent.com", type="Non-Target", owner=AVA, BillingPostalCode="10001",
                Designated_ADR__c=NOAH)
    crm.lead(company="Gizmo Labs", email="old@gizmo.io", owner=OLIVIA, status="Working",
             created=NOW - timedelta(days=30))
    gmail = dict(email="someone@gmail.com")
    return {
        "federal_government": crm.lead(company="NASA", email="a@nasa.gov"),
        "public_sector": crm.lead(company="Stanford University", email="b@stanford.edu"),
        "customer_account": crm.lead(company="Initrode", email="p@initrode.com", FirstName="Pat"),
        "target_account": crm.lead(company="Umbrella Pharma", email="q@umbrella.com"),
        "partner_account": crm.lead(company="Vandelay", email="art@vandelay.com"),
        "open_opportunity": crm.lead(company="Hooli", email="gavin@hooli.com"),
        "bay_area_non_target": crm.lead(company="Pied Piper", email="richard@piedpiper.com"),
        "non_target_account": crm.lead(company="Soylent", email="s@soylent.com"),
        "known_company_adr": crm.lead(company="Gizmo Labs", email="new@gizmo.io"),
        "unqualified_hold": crm.lead(company="Tiny Co", email="t@tiny.co", Lead_Score__c=5, LeadSource="Webinar"),
        "hot_inbound": crm.lead(company="Demo Seeker", LeadSource="Web - Demo Request", **gmail),
        "cold_list": crm.lead(company="Listed", LeadSource="List Upload", **gmail),
        "content_downloads": crm.lead(company="Reader", LeadSource="E-book", **gmail),
        "webinar": crm.lead(company="Watcher", LeadSource="Webinar", **gmail),
        "california_zip": crm.lead(company="Bay Widgets", country="US", state="CA", PostalCode="94105", **gmail),
        "us_state": crm.lead(company="Lone Star", country="US", state="TX", **gmail),
        "linguistic_region": crm.lead(company="Horlogerie", country="Switzerland", state="GE", **gmail),
        "europe_country": crm.lead(company="Maschinenbau", country="Germany", **gmail),
        "rest_of_world": crm.lead(company="Nakamura Trading", country="Japan", **gmail),
        "inbound_round_robin": crm.lead(company=None, country="Atlantis", **gmail),
        "reopens": crm.lead(company="Nurtured", owner=DIEGO, status="Nurture", **gmail),
    }


EXPECTED = [
    ("federal_government", {SAMUEL}),
    ("public_sector", {MARCUS}),            # .edu
    ("customer_account", {ELENA}),          # the CSM
    ("target_account", {MORGAN}),           # owner Brad has left: the ultimate parent's owner
    ("partner_account", {MORGAN}),
    ("open_opportunity", {DIEGO}),          # the Negotiation opportunity's owner, not the account owner
    ("bay_area_non_target", {OLIVIA, NOAH}),  # the pool of the two US ADRs
    ("non_target_account", {NOAH}),         # the designated ADR
    ("known_company_adr", {OLIVIA}),        # no account; Olivia works Gizmo's other lead
    ("unqualified_hold", {"queue:Unqualified_Hold"}),
    ("hot_inbound", INBOUND),
    ("cold_list", OUTBOUND),
    ("content_downloads", OUTBOUND),
    ("webinar", EVENTS),
    ("california_zip", {DIEGO}),            # 94105 is in 93600-96199
    ("us_state", {HANNAH}),
    ("linguistic_region", {CLAIRE}),        # Geneva speaks French
    ("europe_country", {LUKAS}),
    ("rest_of_world", {KENJI}),             # "nakamura": I-Q
    ("inbound_round_robin", INBOUND),
]


@pytest.fixture
def routed(pipeline, crm):
    leads = seed(crm)
    outcome = pipeline.tick()
    decisions = pipeline.query("SELECT lead_id, step, owner_id, queue, decision_id FROM routing_decision").set_index("lead_id")
    return leads, decisions, outcome


def test_every_step_of_the_shipped_flow_decides_its_lead(routed, pipeline):
    leads, decisions, _ = routed
    got = {}
    for step, owners in EXPECTED:
        row = decisions.loc[leads[step]]
        who = f"queue:{row['queue']}" if isinstance(row["queue"], str) else row["owner_id"]
        got[step] = (row["step"], who in owners)
    assert got == {step: (step, True) for step, _ in EXPECTED}
    flow_steps = pipeline.query("SELECT DISTINCT step FROM routing_decision WHERE entry = 'new'")["step"]
    assert MATEO not in set(decisions["owner_id"]), "out of office"
    assert {s for s, _ in EXPECTED} <= set(flow_steps)


def test_side_actions_reach_the_crm_and_explain_reads_like_the_rules(routed, pipeline, crm):
    leads, _, outcome = routed
    with sqlite3.connect(crm.path) as con:
        converted, account, reason = con.execute(
            "SELECT IsConverted, ConvertedAccountId, Routing_Reason__c FROM Lead WHERE Id = ?",
            [leads["customer_account"]]).fetchone()
        tasks = con.execute("SELECT Subject, OwnerId, Priority FROM Task ORDER BY Subject").fetchall()
    assert converted == 1 and account.startswith("001")
    assert reason == "Customer account Initrode: contact converted for the account team"
    subjects = {s: (o, p) for s, o, p in tasks}
    assert subjects["New contact at customer Initrode: Pat Doe"][0] == ELENA
    assert any(s.startswith("Call back Doe (Demo Seeker): Web - Demo Request") and p == "High" for s, (o, p) in subjects.items())

    with db.connect(pipeline.warehouse, read_only=True) as con:
        text = explain(con, leads["target_account"])
    assert "matched account when decided: Umbrella Pharma" in text
    assert ("passed over: 2 whose condition did not hold (federal_government, customer_account); "
            "public_sector: no row of table public_sector matches (domain, industry)") in text
    assert "decided by: target_account, because account.type is Target" in text
    assert "the rule says: Leads from target accounts are converted and go to the AE" in text
    how = next(line for line in text.splitlines() if line.strip().startswith("how:"))
    assert how.endswith("fallback: ultimate parent's owner Morgan Reyes"), how
    assert "is not an active user" in how or "no account owner" in how, "says why the account owner could not take it"
    assert "also: convert into a contact under account" in text
    assert "CRM conversion: pushed" in text and "CRM follow-up task: pushed" in text


def test_only_leads_whose_watched_fields_change_are_rerouted_never_the_echo_of_our_push(routed, pipeline, crm):
    leads, first, _ = routed
    echo = pipeline.tick()  # every pushed lead's SystemModstamp moved: leadroute looks, and does nothing
    assert echo.metadata["routing_decision"]["updated_leads_checked"] > 0
    assert echo.metadata["routing_decision"]["leads_rerouted"] == 0

    crm.now = pipeline.now + timedelta(minutes=1)
    crm.update("Lead", leads["unqualified_hold"], crm.now, Status="Working")   # marketing qualified it
    crm.update("Lead", leads["reopens"], crm.now, Status="New")                # nurtured lead comes back
    crm.update("Lead", leads["us_state"], crm.now, Title="CFO")                # not a watched field
    changed = pipeline.tick()
    assert changed.metadata["routing_decision"]["leads_rerouted"] == 1
    assert changed.metadata["reroutes"]["reopened"] == 1, "a nurtured lead coming back wakes up (day2.yaml)"

    new = pipeline.query("SELECT lead_id, entry, step, owner_id, replaces_decision_id, trace FROM routing_decision "
                         "WHERE entry IN ('updated', 'reopened')").set_index("lead_id")
    held = new.loc[leads["unqualified_hold"]]
    assert held["step"] == "activated_from_hold"
    assert held["replaces_decision_id"] == first.loc[leads["unqualified_hold"], "decision_id"]
    assert held["owner_id"] in EVENTS, "routed as a new lead: a webinar registration"
    assert crm.owner_of(leads["unqualified_hold"]) == held["owner_id"]
    reopened = new.loc[leads["reopens"]]
    assert (reopened["entry"], reopened["step"], reopened["owner_id"]) == ("reopened", "back_to_last_rep", DIEGO)
    status = pipeline.query("SELECT status FROM ledger WHERE kind = 'owner' AND lead_id = ? ORDER BY created_at DESC",
                            [leads["reopens"]])["status"].iloc[0]
    assert status == "skipped_unchanged", "kept with its rep: nothing to push"

    quiet = pipeline.tick()
    assert quiet.metadata["routing_decision"]["leads_rerouted"] == 0, "one change re-routes once"
    assert quiet.metadata["reroutes"]["rerouted"] == 0

    with db.connect(pipeline.warehouse, read_only=True) as con:
        text = explain(con, leads["unqualified_hold"])
    assert "Latest decision" in text and "(updated lead, re-routed" in text
    assert "decided by: activated_from_hold" in text
    assert "then routed through the new flow:" in text and "    decided by: webinar" in text
    assert "replaces decision" in text
    assert "Earlier decision" in text and "decided by: unqualified_hold" in text




def test_a_lead_a_fallback_puts_in_a_queue_gets_no_task_and_no_conversion(rules_dir):
    """Tasks and contacts need a person: a queue owner would be refused by the CRM."""
    import json

    import pandas as pd

    from pipelines.routing import engine
    from pipelines.routing.ruleset.load import load_rules
    from pipelines.routing.pools import PoolBook

    flow = rules_dir / "flow.yaml"
    flow.write_text(
        "version: 1\nflows:\n  new:\n"
        "    - step: to_the_tank\n"
        "      assign: queue\n      queue: Shark_Tank\n"
        "      task: {subject: Call back, due_in_hours: 2}\n"
        "      convert: {converted_status: Qualified}\n"
        "      set: {routing_reason: shark tank}\n"
    )
    rules = load_rules(rules_dir)
    frame = pd.DataFrame({"lead_id": ["00Q1"], "account.account_id": ["001A"], "lead.owner_id": [None]})
    ctx = engine.RouteContext(now=NOW, queue_ids={"Shark_Tank": "00G4"}, pool_states=PoolBook())
    out = engine.route(frame, rules, "new", ctx)
    assert out.loc[0, "queue"] == "Shark_Tank"
    assert [a["kind"] for a in json.loads(out.loc[0, "side_actions"])] == ["fields"]

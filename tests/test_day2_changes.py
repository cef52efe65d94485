"""Hold until, re-route on change and onboarding actions, in real ticks with a controllable clock.

The rules gain a step that holds leads with no country (up to two hours) and onboarding on
the customer step (a campaign, an opportunity with the conversion, the account with it).
A held lead whose country arrives is released into its territory; one whose country never
comes is released when its two hours are up. A lead whose state changes moves to the new
territory's AE, unless the reroute policy protects it (a meeting ahead).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines.crm.local import LocalCrm
from pipelines.crm.base import CampaignMembership, Conversion, TaskSpec
from tests.conftest import HANNAH, LIAM, LUKAS, NOW, ZOE, ELLA

pytestmark = pytest.mark.slow
MARCUS, ELENA = "005000000000000013", "005000000000000020"

HOLD = """    - step: wait_for_country
      description: Leads with no country yet wait up to two hours for the CRM's enrichment to fill it.
      when: {field: lead.country_code, is_empty}
      hold: {until: {field: lead.country_code, is_not_empty}, at_most: {hours: 2}}

    - step: california_zip
"""


def with_hold_and_onboarding(rules_dir, campaign_id: str) -> None:
    flow = rules_dir / "flow.yaml"
    text = flow.read_text()
    text = text.replace("    - step: california_zip\n", HOLD, 1)
    text = text.replace("      fallback: account_owner\n      convert: {converted_status: Qualified}\n",
                        "      fallback: account_owner\n"
                        "      convert: {converted_status: Qualified, create_opportunity: true, assign_account: true}\n"
                        f"      campaign: {{campaign_id: '{campaign_id}', status: Responded}}\n", 1)
    flow.write_text(text)


def owner_row(pipeline, lead_id):
    return pipeline.query("""SELECT d.entry, d.step, d.action, d.owner_id, d.queue, d.reason, g.status AS push
                             FROM routing_decision d LEFT JOIN ledger g ON g.decision_id = d.decision_id AND g.kind = 'owner'
                             WHERE d.lead_id = ? ORDER BY d.created_at DESC LIMIT 1""", [lead_id]).iloc[0]


def test_held_leads_are_released_changed_leads_move_and_onboarding_lands_once(pipeline, crm):
    campaign = crm.campaign("Customer expansion 2026")
    with_hold_and_onboarding(pipeline.rules_dir, campaign)
    initrode = crm.account("Initrode", website="initrode.com", type="Customer", owner="005000000000000010",
                           Customer_Success_Manager__c=ELENA)
    leads = {
        "country_arrives": crm.lead(company="Maschinenbau", email="m@gmail.com"),
        "country_never": crm.lead(company="Nowhere Inc", email="n@gmail.com"),
        "moves_state": crm.lead(company="Empire Co", email="e@gmail.com", country="US", state="NY"),
        "meeting": crm.lead(company="Albany Co", email="a@gmail.com", country="US", state="NY"),
        "customer": crm.lead(company="Initrode", email="pat@initrode.com", FirstName="Pat"),
    }
    crm.event(leads["meeting"], owner=MARCUS, starts=NOW + timedelta(days=1))

    pipeline.tick(NOW)
    for name in ("country_arrives", "country_never"):
        held = owner_row(pipeline, leads[name])
        assert (held["action"], held["queue"], held["push"]) == ("hold", "Inbound_Leads", "skipped_unchanged")
        assert held["reason"] == ("wait_for_country: held until lead.country_code is not empty, at most 2 hours after "
                                  "the lead came in (released by 2026-11-20 16:59 UTC at the latest)")
        assert crm.owner_of(leads[name]) == crm.queue_ids["Inbound_Leads"], "nothing pushed while held"
    assert owner_row(pipeline, leads["moves_state"])["owner_id"] == MARCUS

    # Onboarding: owner, campaign member, conversion with an opportunity and the account, task: each once.
    customer = leads["customer"]
    (lead,) = crm.rows("SELECT IsConverted, ConvertedContactId, ConvertedOpportunityId, ConvertedAccountId "
                       "FROM Lead WHERE Id = ?", [customer])
    assert lead["IsConverted"] == 1 and lead["ConvertedAccountId"] == initrode
    (opportunity,) = crm.rows("SELECT OwnerId FROM Opportunity WHERE Id = ?", [lead["ConvertedOpportunityId"]])
    (account,) = crm.rows("SELECT OwnerId FROM Account WHERE Id = ?", [initrode])
    (member,) = crm.rows("SELECT CampaignId, Status FROM CampaignMember WHERE LeadId = ?", [customer])
    assert opportunity["OwnerId"] == ELENA and account["OwnerId"] == ELENA
    assert member == {"CampaignId": campaign, "Status": "Responded"}
    kinds = pipeline.query("SELECT kind, status FROM ledger WHERE lead_id = ? ORDER BY kind", [customer])
    assert kinds.values.tolist() == [[k, "pushed"] for k in ("campaign", "convert", "fields", "owner", "task")]

    crm.update("Lead", leads["country_arrives"], NOW + timedelta(minutes=3), Country="Germany")
    crm.update("Lead", leads["moves_state"], NOW + timedelta(minutes=3), State="TX")
    crm.update("Lead", leads["meeting"], NOW + timedelta(minutes=3), State="TX")
    second = pipeline.tick(NOW + timedelta(minutes=5))
    released = owner_row(pipeline, leads["country_arrives"])
    assert (released["entry"], released["step"], released["owner_id"]) == ("released", "europe_country", LUKAS)
    assert released["reason"].startswith("released: held by step wait_for_country since 2026-11-20 15:00 UTC; "
                                         "europe_country: table europe")
    assert crm.owner_of(leads["country_arrives"]) == LUKAS
    assert owner_row(pipeline, leads["country_never"])["action"] == "hold", "still no country, two hours not up"

    moved = owner_row(pipeline, leads["moves_state"])
    assert (moved["entry"], moved["step"], moved["owner_id"]) == ("updated", "territory_changed", HANNAH)
    assert owner_row(pipeline, leads["meeting"])["owner_id"] == MARCUS
    (blocked,) = pipeline.query("SELECT kind, rule FROM reroute_blocked WHERE lead_id = ?",
                                [leads["meeting"]]).itertuples(index=False)
    assert tuple(blocked) == ("updated", "meeting_booked")
    assert second.metadata["routing_decision"]["reroutes_blocked_by_policy"] == 1
    assert second.metadata["crm_push"]["due"] == 2, "the released and the moved lead; nothing pushed again"

    pipeline.tick(NOW + timedelta(hours=2, minutes=1))
    late = owner_row(pipeline, leads["country_never"])
    assert (late["entry"], late["step"]) == ("released", "inbound_round_robin")
    assert late["owner_id"] in {LIAM, ZOE, ELLA}
    assert len(crm.rows("SELECT Id FROM CampaignMember")) == 1 and len(crm.rows("SELECT Id FROM Contact")) == 1


@pytest.mark.parametrize("write", ["conversion", "campaign", "task"])
def test_each_onboarding_write_is_idempotent_on_retry(crm, write):
    """A push retried after a lost answer (the CRM did the write) does it once, and says ok again."""
    account = crm.account("Initrode", website="initrode.com", owner=ELENA)
    lead = crm.lead(company="Initrode", email="pat@initrode.com")
    campaign = crm.campaign("Webinar 2026")
    adapter = LocalCrm(crm.path, clock=lambda: NOW)
    call, count = {
        "conversion": (lambda: adapter.convert_leads([Conversion(lead, account, ELENA, create_opportunity=True)]),
                       "SELECT (SELECT count(*) FROM Contact) + (SELECT count(*) FROM Opportunity) AS n"),
        "campaign": (lambda: adapter.add_to_campaign([CampaignMembership("k1", campaign, lead)]),
                     "SELECT count(*) AS n FROM CampaignMember"),
        "task": (lambda: adapter.upsert_tasks([TaskSpec("leadroute-d1-task", lead, ELENA, "Call")]),
                 "SELECT count(*) AS n FROM Task"),
    }[write]
    first, again = call(), call()
    assert first[0].ok and again[0].ok and first[0].crm_id == again[0].crm_id
    assert crm.rows(count)[0]["n"] == (2 if write == "conversion" else 1)

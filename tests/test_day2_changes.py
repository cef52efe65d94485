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

from pipelines.crm.base import CampaignMembership, Conversion, TaskSpec
from pipelines.crm.local import LocalCrm
from pipelines.warehouse import db
from tests.conftest import HANNAH, LIAM, LUKAS, NOW, ZOE, ELLA

pytestmark = pytest.mark.slow
MARCUS, ELENA = "005000000000013AAA", "005000000000020AAA"

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
                             FROM current_decision d LEFT JOIN ledger g ON g.decision_id = d.decision_id AND g.kind = 'owner'
                             WHERE d.lead_id = ?""", [lead_id]).iloc[0]


def test_held_leads_are_released_changed_leads_move_and_onboarding_lands_once(pipeline, crm):
    campaign = crm.campaign("Customer expansion 2026")
    with_hold_and_onboarding(pipeline.rules_dir, campaign)
    initrode = crm.account("Initrode", website="initrode.com", type="Customer", owner="005000000000010AAA",
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
    # The CRM did the onboarding writes but their answers were lost (a crash before they were recorded):
    # the next push retries them, and each lands once.
    with db.connect(pipeline.warehouse) as con:
        con.execute("UPDATE ledger SET status = 'pending', attempts = 0 WHERE lead_id = ? "
                    "AND kind IN ('campaign', 'convert', 'task')", [customer])

    crm.update("Lead", leads["country_arrives"], NOW + timedelta(minutes=3), Country="Germany")
    crm.update("Lead", leads["moves_state"], NOW + timedelta(minutes=3), State="TX")
    crm.update("Lead", leads["meeting"], NOW + timedelta(minutes=3), State="TX")
    second = pipeline.tick(NOW + timedelta(minutes=5))
    released = owner_row(pipeline, leads["country_arrives"])
    assert (released["entry"], released["step"], released["owner_id"]) == ("released", "europe_country", LUKAS)
    assert released["reason"] == ("released: held by step wait_for_country since 2026-11-20 15:00 UTC; "
                                  "europe_country: table europe (country), tables/europe.csv line 12: Lukas Schneider")
    assert crm.owner_of(leads["country_arrives"]) == LUKAS
    assert owner_row(pipeline, leads["country_never"])["action"] == "hold", "still no country, two hours not up"

    moved = owner_row(pipeline, leads["moves_state"])
    assert (moved["entry"], moved["step"], moved["owner_id"]) == ("updated", "territory_changed", HANNAH)
    assert owner_row(pipeline, leads["meeting"])["owner_id"] == MARCUS
    (blocked,) = pipeline.query("SELECT kind, rule FROM reroute_blocked WHERE lead_id = ?",
                                [leads["meeting"]]).itertuples(index=False)
    assert tuple(blocked) == ("updated", "meeting_booked")
    assert second.metadata["routing_decision"]["reroutes_blocked_by_policy"] == 1
    assert second.metadata["crm_push"]["due"] == 5, "the released and the moved lead, and the three retried writes"
    assert second.metadata["crm_push"]["failed"] == 0
    retried = pipeline.query("SELECT kind, status, attempts FROM ledger WHERE lead_id = ? AND kind IN "
                             "('campaign', 'convert', 'task') ORDER BY kind", [customer])
    assert retried.values.tolist() == [["campaign", "pushed", 1], ["convert", "pushed", 1], ["task", "pushed", 1]]
    counts = crm.rows("SELECT (SELECT count(*) FROM Contact) AS contacts, (SELECT count(*) FROM CampaignMember) AS members, "
                      "(SELECT count(*) FROM Task WHERE WhoId = ? OR WhoId = ?) AS tasks, "
                      "(SELECT count(*) FROM Opportunity) AS opportunities", [customer, lead["ConvertedContactId"]])[0]
    assert counts == {"contacts": 1, "members": 1, "tasks": 1, "opportunities": 1}

    pipeline.tick(NOW + timedelta(hours=2, minutes=1))
    late = owner_row(pipeline, leads["country_never"])
    assert (late["entry"], late["step"]) == ("released", "inbound_round_robin")
    assert late["owner_id"] in {LIAM, ZOE, ELLA}


@pytest.mark.parametrize("write", ["conversion", "campaign", "task"])
def test_each_onboarding_write_is_idempotent_on_retry(crm, write):
    """Asked twice (a retry after a lost answer), the CRM does each write once and names the same record;
    a conversion answers that the lead is converted already (the push takes that as done)."""
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
    assert first[0].ok and first[0].crm_id == again[0].crm_id
    assert again[0].ok or again[0].error_code == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert again[0].ok is (write != "conversion")
    assert crm.rows(count)[0]["n"] == (2 if write == "conversion" else 1)


@pytest.fixture(params=["local", "salesforce"])
def adapter_and_crm(request, tmp_path):
    """The sample CRM with a campaign, behind either adapter (the contract: both answer the same)."""
    import sqlite3

    from tests.sf_emulator.sample import write_sample_crm

    path = write_sample_crm(tmp_path / "crm.sqlite")
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO Campaign (Id, Name, IsActive, CreatedDate, LastModifiedDate, SystemModstamp) "
                    "VALUES ('701000000000001AAA', 'Webinar', 1, '2026-01-01T00:00:00.000+0000', "
                    "'2026-01-01T00:00:00.000+0000', '2026-01-01T00:00:00.000+0000')")
    if request.param == "local":
        yield LocalCrm(path, clock=lambda: NOW), path
        return
    from pipelines.crm.salesforce import SalesforceCrm, load_settings
    from tests.sf_emulator import PASSWORD, SECURITY_TOKEN, USERNAME

    emu = request.getfixturevalue("sf_emulator").load_sqlite(path)
    settings = load_settings({"username": USERNAME, "password": PASSWORD, "security_token": SECURITY_TOKEN,
                              "bulk_poll_seconds": 0, "retry_backoff_seconds": 0})
    adapter = SalesforceCrm(settings, http=emu.requests_session())
    yield adapter, emu
    adapter.close()


def test_adding_leads_to_a_campaign_upserts_on_campaign_and_lead(adapter_and_crm):
    from tests.sf_emulator.sample import L

    adapter, crm = adapter_and_crm
    campaign = "701000000000001AAA"
    first = adapter.add_to_campaign([CampaignMembership("k1", campaign, L[1]), CampaignMembership("k2", campaign, L[2])])
    again = adapter.add_to_campaign([CampaignMembership("k1-retry", campaign, L[1], status="Attended")])
    missing = adapter.add_to_campaign([CampaignMembership("k3", "701000000000999AAA", L[3])])
    assert [(r.record_id, r.ok) for r in first] == [("k1", True), ("k2", True)]
    assert (again[0].record_id, again[0].ok, again[0].crm_id) == ("k1-retry", True, first[0].crm_id)
    assert (missing[0].ok, missing[0].retryable) == (False, False)
    if isinstance(crm, str):
        import sqlite3

        with sqlite3.connect(crm) as con:
            members = con.execute("SELECT LeadId, Status FROM CampaignMember ORDER BY LeadId").fetchall()
    else:
        members = sorted((m["LeadId"], m["Status"]) for m in crm.records("CampaignMember"))
    assert members == [(L[1], "Attended"), (L[2], "Responded")], "one member per lead, the retry updated it"

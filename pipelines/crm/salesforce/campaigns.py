"""Campaign membership: a lead added to a campaign once, however often the push is retried.

Salesforce has no external id on CampaignMember, so the upsert is done by hand on its
natural key (CampaignId, LeadId): one query finds the memberships that exist, those get
their Status updated and the others are created, both through sObject Collections
(``allOrNone=false``, one SaveResult per record). Results are keyed by the membership's
``key`` (the ledger's record key), in request order.
"""

from __future__ import annotations

from collections.abc import Sequence

from simple_salesforce import format_soql

from pipelines.crm.base import CampaignMembership, WriteResult
from pipelines.crm.salesforce.client import SalesforceClient
from pipelines.crm.salesforce.push import batches, in_batches

OBJECT = "CampaignMember"


def existing_members(client: SalesforceClient, memberships: Sequence[CampaignMembership]) -> dict[tuple[str, str], str]:
    """(CampaignId, LeadId) -> CampaignMember Id, for the leads of ``memberships``; ids on their first
    15 characters, as Salesforce compares them (a campaign id in the rules may be the 15-character form)."""
    found: dict[tuple[str, str], str] = {}
    for chunk in batches(sorted({m.lead_id for m in memberships}), 200):
        soql = format_soql("SELECT Id, CampaignId, LeadId FROM CampaignMember WHERE LeadId IN {}", chunk)
        answer = client.call("query of campaign members", lambda sf: sf.query_all(soql))
        for rec in (answer or {}).get("records", []):
            found[(str(rec.get("CampaignId"))[:15], str(rec.get("LeadId"))[:15])] = rec.get("Id")
    return found


def add_to_campaign(client: SalesforceClient, memberships: Sequence[CampaignMembership]) -> list[WriteResult]:
    if not memberships:
        return []
    existing = existing_members(client, memberships)
    updates = [m for m in memberships if (m.campaign_id[:15], m.lead_id[:15]) in existing]
    creates = [m for m in memberships if (m.campaign_id[:15], m.lead_id[:15]) not in existing]
    results: list[WriteResult] = []
    if updates:
        results += _collections(client, updates, "update", "PATCH",
                                lambda m: {"id": existing[(m.campaign_id[:15], m.lead_id[:15])], "Status": m.status})
    if creates:
        results += _collections(client, creates, "create", "POST",
                                lambda m: {"CampaignId": m.campaign_id, "LeadId": m.lead_id, "Status": m.status})
    return results


def _collections(client: SalesforceClient, items: Sequence[CampaignMembership], verb: str, method: str,
                 fields) -> list[WriteResult]:
    """``items`` written through sObject Collections (``allOrNone=false``), a result per membership."""
    chunks = batches(items, client.settings.collection_size)
    return in_batches(
        client, chunks,
        lambda chunk: (f"{verb} of {len(chunk)} campaign member(s) (sObject Collections)",
                       lambda sf: sf.restful("composite/sobjects", method=method, json={
                           "allOrNone": False,
                           "records": [{"attributes": {"type": OBJECT}, **fields(m)} for m in chunk]})),
        [[m.key for m in chunk] for chunk in chunks], check_ids=False)

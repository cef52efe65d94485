"""Lead conversion through the partner SOAP API's ``convertLead``.

Salesforce has no REST resource for converting a lead and simple-salesforce no
helper, so the envelope is written here and posted on the same session (timeouts,
counting, budget, re-login all apply). At most 100 leads a call, ordered by account
so one account's conversions share a call (conversion locks the account too).

A retried conversion that already happened answers ``CANNOT_UPDATE_CONVERTED_LEAD``;
like the local CRM, the result then carries the contact the first conversion made,
read back with one query, so the ledger can tell it apart from a real failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pipelines.crm.base import Conversion, CrmResponseError, CrmUnavailable, RecordUpdate, WriteResult
from pipelines.crm.salesforce.client import PARTNER, MalformedAnswer, SalesforceClient
from pipelines.crm.salesforce.push import batches, update_records
from pipelines.crm.salesforce.soql import select_by_ids

ALREADY_CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"


def lead_convert_xml(c: Conversion) -> str:
    """One ``LeadConvert``; elements in the order of the partner WSDL's sequence."""
    parts = [("accountId", c.account_id), ("convertedStatus", c.converted_status),
             ("doNotCreateOpportunity", "false" if c.create_opportunity else "true"), ("leadId", c.lead_id)]
    if c.create_opportunity and c.opportunity_name:
        parts.append(("opportunityName", c.opportunity_name))
    parts.append(("overwriteLeadSource", "false"))
    if c.owner_id:
        parts.append(("ownerId", c.owner_id))
    # The CRM's own email to the new owner, where the rules ask for it (`notify: {crm: true}`).
    parts.append(("sendNotificationEmail", "true" if c.send_notification_email else "false"))
    body = "".join(f"<urn:{tag}>{escape(str(value))}</urn:{tag}>" for tag, value in parts)
    return f"<urn:leadConverts>{body}</urn:leadConverts>"


def convert_leads(client: SalesforceClient, conversions: Sequence[Conversion]) -> list[WriteResult]:
    """Convert, then give the accounts of the conversions that ask for it (``assign_account``) to their owner:
    ``ownerId`` of convertLead only owns what the conversion creates."""
    results = _convert(client, conversions)
    accounts = {c.lead_id: c for c in conversions if c.assign_account and c.owner_id and c.account_id}
    moves = {accounts[r.record_id].account_id: accounts[r.record_id].owner_id
             for r in results if r.ok and r.record_id in accounts}
    if moves:
        # The conversion stands either way; an account owner change Salesforce refuses is logged by the call.
        update_records(client, "Account", [RecordUpdate(a, {"OwnerId": o}) for a, o in sorted(moves.items())])
    return results


def _convert(client: SalesforceClient, conversions: Sequence[Conversion]) -> list[WriteResult]:
    if not conversions:
        return []
    ordered = sorted(conversions, key=lambda c: (c.account_id or "", c.lead_id))
    results: list[WriteResult] = []
    for chunk in batches(ordered, client.settings.convert_batch_size):
        body = "".join(lead_convert_xml(c) for c in chunk)
        what = f"convertLead of {len(chunk)} lead(s)"
        try:
            answer = client.call(what, lambda sf: client.soap(sf, "convertLead", body), write=True)
            results.extend(read_results(answer, [c.lead_id for c in chunk], what))
        except CrmUnavailable as exc:
            exc.partial = results + exc.partial
            raise
        except MalformedAnswer as exc:
            raise CrmResponseError(f"Salesforce's answer to {what} is not readable", str(exc),
                                   partial=results) from None
    return with_existing_contacts(client, results)


def _text(el, name: str) -> str | None:
    child = el.find(f"{{{PARTNER}}}{name}")
    if child is None:
        return None
    return (child.text or "").strip() or None


def read_results(answer, lead_ids: list[str], what: str) -> list[WriteResult]:
    items = answer.findall(f"{{{PARTNER}}}result")
    if len(items) != len(lead_ids):
        raise MalformedAnswer(f"{what} should answer {len(lead_ids)} result(s), got {len(items)}", "")
    out = []
    for sent, item in zip(lead_ids, items):
        lead_id = _text(item, "leadId") or sent
        if lead_id[:15] != sent[:15]:  # Salesforce answers with 18 characters, whatever it was sent
            raise MalformedAnswer(f"{what}: result for {sent} names lead {lead_id}", lead_id)
        success = _text(item, "success")
        if success not in ("true", "false"):
            raise MalformedAnswer(f"{what}: a result without success", success or "")
        if success == "true":
            out.append(WriteResult(sent, True, crm_id=_text(item, "contactId")))
            continue
        err = item.find(f"{{{PARTNER}}}errors")
        code = _text(err, "statusCode") if err is not None else None
        out.append(WriteResult(sent, False, code or "UNKNOWN_EXCEPTION", (_text(err, "message") if err is not None else None) or ""))
    return out


def with_existing_contacts(client: SalesforceClient, results: list[WriteResult]) -> list[WriteResult]:
    """Fill ``crm_id`` of already-converted leads with the contact their conversion made."""
    done = [r.record_id for r in results if r.error_code == ALREADY_CONVERTED]
    if not done:
        return results
    contacts: dict[str, str | None] = {}
    for chunk in batches(done, 200):
        soql = select_by_ids("Lead", ["Id", "ConvertedContactId"], chunk)
        answer = client.call("query of converted leads' contacts", lambda sf: sf.query_all(soql, include_deleted=True))
        for rec in (answer or {}).get("records", []):
            contacts[str(rec.get("Id"))[:15]] = rec.get("ConvertedContactId")
    return [WriteResult(r.record_id, r.ok, r.error_code, r.message, contacts.get(r.record_id[:15], r.crm_id))
            if r.error_code == ALREADY_CONVERTED else r for r in results]

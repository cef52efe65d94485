"""Reconcile: read back what may already be in the CRM before writing it again.

A ledger row is marked ``in_flight`` just before its batch is sent. If the answer never
comes back (the tick was killed, the call timed out, the connection dropped) the row
stays in flight, and nobody knows whether the CRM carried the write out. Writing it
again is not harmless: a second owner change bumps ``LastModifiedDate``, fires the org's
owner-change flows and notifications again and adds a second history line.

So before a push writes anything, it reads those records' current values (one query
per 200 ids) and compares them with what the row would write (:mod:`.writes`):

- an owner already at its target, fields already at their values, a lead already
  converted (its contact recorded), a task that exists under its key with the same
  values, a campaign member with the same status: ``pushed``, nothing written, and
  ``reconciled_at`` says it was found rather than written;
- a lead deleted in the CRM: ``skipped_deleted``, nothing to do;
- anything else is sent as usual.

The same read-back covers pending rows whose last answer left the outcome unknown
(``OUTCOME_UNKNOWN``, ``NOT_ATTEMPTED``...), and runs again at the end of a push for
the rows a cut-short call left in flight.
"""

from __future__ import annotations

import json

import pandas as pd

from pipelines.crm import ids
from pipelines.crm.base import CrmAdapter
from pipelines.crm.fields import FieldMapping
from pipelines.ledger import writes
from pipelines.stage import RunInfo

# Answers after which a write may or may not have landed.
UNKNOWN_OUTCOME = ("OUTCOME_UNKNOWN", "NOT_ATTEMPTED", "TIMEOUT", "UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE")
DELETED = "ENTITY_IS_DELETED"
TASK_FIELDS = ("WhoId", "WhatId", "OwnerId", "Subject", "ActivityDate", "Description", "Priority")


def unsure(con, now, in_flight_only: bool = False) -> pd.DataFrame:
    """Rows whose write may already be in the CRM: in flight, or pending and due after an unknown outcome."""
    if in_flight_only:
        return writes.ledger_rows(con, "g.status = 'in_flight'")
    codes = ", ".join(f"'{c}'" for c in UNKNOWN_OUTCOME)
    return writes.ledger_rows(
        con, f"""g.status = 'in_flight' OR (g.status = 'pending' AND g.last_error_code IN ({codes})
                 AND (g.next_attempt_at IS NULL OR g.next_attempt_at <= ?))""", [now])


def reconcile(rows: pd.DataFrame, crm: CrmAdapter, mapping: FieldMapping, run: RunInfo) -> pd.DataFrame:
    """``rows`` (from :func:`unsure`) whose status the CRM's current values change, updated."""
    if rows.empty:
        return rows
    state, crm_id = _check(rows, crm, mapping)
    in_flight = rows["status"].eq("in_flight")
    out = rows.copy()
    done, deleted = state.eq("done"), state.eq("deleted")
    resend = state.eq("not_there") & in_flight
    out.loc[done, "status"] = "pushed"
    out.loc[done, "pushed_at"] = pd.Timestamp(run.now)
    out.loc[done, "reconciled_at"] = pd.Timestamp(run.now)
    out.loc[done, ["last_error_code", "last_error"]] = None
    out.loc[done, "crm_record_id"] = crm_id[done].where(crm_id[done].notna(), out.loc[done, "crm_record_id"])
    out.loc[deleted, "status"] = "skipped_deleted"
    out.loc[deleted, "last_error_code"] = DELETED
    out.loc[deleted, "last_error"] = "the lead was deleted in the CRM; there is nothing to write"
    out.loc[resend, "status"] = "pending"  # not there (yet): sent again only after another read-back
    out.loc[resend, "last_error_code"] = "OUTCOME_UNKNOWN"
    out.loc[resend, "last_error"] = ("sent without an answer and not found when read back; read back again "
                                     "before it is sent")
    out.loc[done | deleted | resend, "next_attempt_at"] = pd.NaT
    changed = done | deleted | resend
    out = out[changed].copy()
    out["updated_at"] = run.now
    out["last_run_id"] = run.run_id
    out["_reconciled"] = state[changed]
    return out


def _check(rows: pd.DataFrame, crm: CrmAdapter, mapping: FieldMapping) -> tuple[pd.Series, pd.Series]:
    """Per row: ``done`` (the CRM holds the write), ``deleted`` (its lead is gone) or ``not_there``;
    and the CRM id to record (the contact of a conversion, the task, the campaign member)."""
    state = pd.Series("not_there", index=rows.index, dtype=object)
    crm_id = pd.Series(None, index=rows.index, dtype=object)
    lead = mapping.objects["lead"]
    on_lead = rows["kind"].isin(["owner", "fields", "convert"])
    if on_lead.any():
        _check_leads(rows[on_lead], crm, lead.sobject, lead.writes, state, crm_id)
    tasks = rows[rows["kind"].eq("task")]
    if len(tasks):
        _check_tasks(tasks, crm, state, crm_id)
    members = rows[rows["kind"].eq("campaign")]
    if len(members):
        _check_campaigns(members, crm, state, crm_id)
    return state, crm_id


def _check_leads(part, crm, sobject, field_map, state, crm_id) -> None:
    owner_field = field_map.get("owner_id", "OwnerId")
    written = {name for p in part.loc[part["kind"].eq("fields"), "payload"] for name in writes.field_values(p, field_map)}
    names = sorted({"Id", owner_field, "IsDeleted", "IsConverted", "ConvertedContactId"} | written)
    current = crm.read_records(sobject, "Id", sorted(set(part["lead_id"])), names)
    current.index = ids.key15(current["Id"])
    current = current[~current.index.duplicated()]
    rec = current.reindex(ids.key15(part["lead_id"]).to_numpy())
    rec.index = part.index
    deleted = rec["Id"].isna() | rec["IsDeleted"].map(_true)
    converted = rec["IsConverted"].map(_true)
    kind = part["kind"]
    owner_there = ids.same(rec[owner_field], part["target_owner_id"])
    fields_there = pd.Series(
        [_fields_there(p, r, field_map) if k == "fields" else False
         for k, p, r in zip(kind, part["payload"], rec.to_dict("records"))], index=part.index)
    there = (kind.eq("owner") & owner_there) | (kind.eq("fields") & fields_there) | (kind.eq("convert") & converted)
    state[part.index[there.to_numpy()]] = "done"
    state[part.index[deleted.to_numpy()]] = "deleted"
    contacts = rec["ConvertedContactId"].where(kind.eq("convert") & converted).dropna()
    crm_id[contacts.index] = contacts


def _fields_there(payload: str, rec: dict, field_map: dict) -> bool:
    values = writes.field_values(payload, field_map)
    if not values or len(values) != len(json.loads(payload)["fields"]):
        return False  # a field fields.yaml does not map: the push fails it with the reason
    return all(_text(rec.get(name)) == _text(value) for name, value in values.items())


def _check_tasks(part, crm, state, crm_id) -> None:
    specs = writes.tasks(part)
    key_field = crm.task_key_field
    current = crm.read_records("Task", key_field, [s.external_key for s in specs],
                               ["Id", key_field, "IsDeleted", *TASK_FIELDS])
    by_key = {r[key_field]: r for r in current.to_dict("records") if not _true(r.get("IsDeleted"))}
    for idx, spec in zip(part.index, specs):
        rec = by_key.get(spec.external_key)
        wanted = {"WhoId": spec.who_id, "WhatId": spec.what_id, "OwnerId": spec.owner_id, "Subject": spec.subject,
                  "ActivityDate": spec.due_date, "Description": spec.description, "Priority": spec.priority}
        if rec is not None and all(_same_value(name, rec.get(name), value) for name, value in wanted.items()):
            state[idx] = "done"
            crm_id[idx] = rec["Id"]


def _check_campaigns(part, crm, state, crm_id) -> None:
    items = writes.memberships(part)
    current = crm.read_records("CampaignMember", "LeadId", sorted({m.lead_id for m in items}),
                               ["Id", "CampaignId", "LeadId", "Status"])
    by_pair = {(str(r["LeadId"])[:15], str(r["CampaignId"])[:15]): r for r in current.to_dict("records")}
    for idx, m in zip(part.index, items):
        rec = by_pair.get((m.lead_id[:15], m.campaign_id[:15]))
        if rec is not None and _text(rec.get("Status")) == _text(m.status):
            state[idx] = "done"
            crm_id[idx] = rec["Id"]


def _same_value(name: str, current, wanted) -> bool:
    if name.endswith("Id") and isinstance(current, str) and isinstance(wanted, str):
        return current[:15] == wanted[:15]
    return _text(current) == _text(wanted)


def _text(value) -> str:
    """Values compared as the CRM would show them: missing and empty alike, booleans as true/false."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _true(value) -> bool:
    return _text(value).lower() in ("true", "1")

"""Writes: owner changes through sObject Collections or Bulk API 2.0, tasks by external id.

Small batches go through sObject Collections (``PATCH composite/sobjects``, at most
200 records a call, ``allOrNone=false``); at ``bulk_update_threshold`` records and
above (Salesforce's guidance: about 2,000) one Bulk API 2.0 job does it.

Collections answer 200 even when records fail, so every SaveResult is read. Updates
are ordered by parent account and packed so one account's leads share a call:
changing owners under private sharing locks the parent account, and Salesforce
names it the operation most prone to ``UNABLE_TO_LOCK_ROW``.

When a call stops part-way (API limit, session, outage), the exception carries the
results of the calls before it (``partial``), so those records are not pushed again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from simple_salesforce import Salesforce

from pipelines.crm.base import CrmResponseError, CrmUnavailable, RecordUpdate, TaskSpec, WriteResult
from pipelines.crm.salesforce import bulk
from pipelines.crm.salesforce.client import MalformedAnswer, SalesforceClient
from pipelines.crm.salesforce.soql import api_name


def update_records(client: SalesforceClient, sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
    if not updates:
        return []
    api_name(sobject)
    for u in updates:
        for name in u.fields:
            api_name(name)
    if len(updates) >= client.settings.bulk_update_threshold:
        return bulk.update(client, sobject, updates)
    chunks = group_chunks(updates, client.settings.collection_size)
    return in_batches(
        client, chunks,
        lambda chunk: (f"update of {len(chunk)} {sobject} record(s) (sObject Collections)",
                       lambda sf: sf.restful("composite/sobjects", method="PATCH", json={
                           "allOrNone": False,
                           "records": [{"attributes": {"type": sobject}, "id": u.record_id, **u.fields}
                                       for u in chunk]})),
        [[u.record_id for u in chunk] for chunk in chunks],
    )


def upsert_tasks(client: SalesforceClient, tasks: Sequence[TaskSpec]) -> list[WriteResult]:
    """Upsert on the external id field: a retried push updates the task it created, never adds one."""
    if not tasks:
        return []
    ext = api_name(client.settings.task_external_id_field)
    chunks = batches(tasks, client.settings.collection_size)

    def record(t: TaskSpec) -> dict:
        out = {"attributes": {"type": "Task"}, ext: t.external_key, "WhoId": t.who_id, "WhatId": t.what_id,
               "OwnerId": t.owner_id, "Subject": t.subject, "ActivityDate": t.due_date,
               "Description": t.description, "Priority": t.priority}
        if t.reminder_at:  # the REST API has no assignment email (EmailHeader is SOAP-only): a reminder pops up
            out |= {"IsReminderSet": True, "ReminderDateTime": f"{t.reminder_at}.000+0000"}
        return out

    return in_batches(
        client, chunks,
        lambda chunk: (f"upsert of {len(chunk)} task(s) on {ext} (sObject Collections)",
                       lambda sf: sf.restful(f"composite/sobjects/Task/{ext}", method="PATCH",
                                             json={"allOrNone": False, "records": [record(t) for t in chunk]})),
        [[t.external_key for t in chunk] for chunk in chunks],
        check_ids=False,
    )


def in_batches(client: SalesforceClient, chunks: list, request: Callable[[list], tuple[str, Callable[[Salesforce], object]]],
               keys: list[list[str]], check_ids: bool = True) -> list[WriteResult]:
    """One call per chunk; results read per record; a stop carries the results so far."""
    results: list[WriteResult] = []
    for chunk, chunk_keys in zip(chunks, keys):
        what, fn = request(chunk)
        try:
            answer = client.call(what, fn, write=True)
            results.extend(save_results(answer, chunk_keys, what, check_ids))
        except CrmUnavailable as exc:
            exc.partial = results + exc.partial
            raise
        except MalformedAnswer as exc:
            raise CrmResponseError(f"Salesforce's answer to {what} is not readable", client.redact(str(exc)),
                                   partial=results) from None
    return results


def save_results(answer: object, keys: list[str], what: str, check_ids: bool = True) -> list[WriteResult]:
    """sObject Collections SaveResults, in request order, one per record; anything else is malformed."""
    if not isinstance(answer, list) or len(answer) != len(keys):
        raise MalformedAnswer(f"{what} should answer {len(keys)} SaveResult(s)", answer)
    out = []
    for key, item in zip(keys, answer):
        if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
            raise MalformedAnswer(f"{what}: a SaveResult without 'success'", item)
        if item["success"]:
            crm_id = item.get("id")
            # Salesforce answers with the 18-character id, whatever form it was sent: compare on 15.
            if not isinstance(crm_id, str) or (check_ids and crm_id[:15] != key[:15]):
                raise MalformedAnswer(f"{what}: SaveResult for {key} names record {crm_id!r}", item)
            out.append(WriteResult(key, True, crm_id=crm_id))
            continue
        errors = item.get("errors")
        if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
            raise MalformedAnswer(f"{what}: a failed SaveResult without errors", item)
        first = errors[0]
        out.append(WriteResult(key, False, str(first.get("statusCode") or "UNKNOWN_EXCEPTION"),
                               str(first.get("message") or "")))
    return out


def group_chunks(updates: Sequence[RecordUpdate], size: int) -> list[list[RecordUpdate]]:
    """Batches of at most ``size``, ordered by group; a group that fits in a batch is never split."""
    ordered = sorted(updates, key=lambda u: (u.group_key is None, u.group_key or "", u.record_id))
    chunks: list[list[RecordUpdate]] = []
    current: list[RecordUpdate] = []
    for key, members in itertools.groupby(ordered, key=lambda u: u.group_key):
        members = list(members)
        if key is not None and current and len(current) + len(members) > size:
            chunks.append(current)
            current = []
        for u in members:
            current.append(u)
            if len(current) == size:
                chunks.append(current)
                current = []
    if current:
        chunks.append(current)
    return chunks


def batches(items: Sequence, size: int) -> list[list]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]

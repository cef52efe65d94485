"""Bulk API 2.0: query jobs for large reads, ingest jobs for large updates.

Each step of a job (create, upload, close, poll, results) is one call through
:meth:`SalesforceClient.call`, so every step gets the budget, bounded re-login
and retry rules. simple-salesforce's one-shot helpers (``sf.bulk2.Lead.update``)
cannot give that: they sleep ``wait`` seconds before polling, and on any error
they abort the job and lose its id, so which rows were written is unknown. Here
the steps are simple-salesforce's own Bulk 2.0 client methods, called one by one.

Results are keyed by ``sf__Id`` (Salesforce does not keep row order); rows the
job never reached (``unprocessedrecords``) are reported as not attempted.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator, Sequence

from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation

from pipelines.crm.base import CrmResponseError, CrmUnavailable, RecordUpdate, WriteResult
from pipelines.crm.salesforce.client import MalformedAnswer, SalesforceClient, SalesforceRefused
from pipelines.crm.salesforce.values import bulk_cell, text_value

RUNNING = {"Open", "UploadComplete", "InProgress"}
NULL = "#N/A"  # Bulk API 2.0: an empty cell leaves a field unchanged, #N/A sets it to null


def _jobs(sf: Salesforce, sobject: str):
    # simple-salesforce's own Bulk 2.0 client, one step at a time (see the module docstring).
    return getattr(sf.bulk2, sobject)._client


def _job_id(info: object, what: str) -> str:
    if not isinstance(info, dict) or not isinstance(info.get("id"), str) or "state" not in info:
        raise MalformedAnswer(f"{what} did not answer a job", info)
    return info["id"]


# -- query ---------------------------------------------------------------------------------------

def query_pages(client: SalesforceClient, sobject: str, soql: str, include_deleted: bool) -> Iterator[list[dict]]:
    """The rows of ``soql`` as {field: text or None}, a results page (``bulk_page_size`` records) at a time."""
    what = f"Bulk API 2.0 query of {sobject}"
    try:
        yield from _query(client, sobject, soql, include_deleted, what)
    except MalformedAnswer as exc:
        raise CrmResponseError(f"Salesforce's answer to {what} is not readable", client.redact(str(exc))) from None


def _query(client: SalesforceClient, sobject: str, soql: str, include_deleted: bool, what: str) -> Iterator[list[dict]]:
    op = Operation.query_all if include_deleted else Operation.query
    job_id = _job_id(client.call(f"{what} (create job)", lambda sf: _jobs(sf, sobject).create_job(op, query=soql)),
                     what)
    info = wait(client, sobject, job_id, is_query=True, what=what)
    if info["state"] != "JobComplete":
        raise CrmUnavailable("BULK_JOB_FAILED", f"{what} ended {info['state']}: {info.get('errorMessage', '')}")
    locator = ""
    while True:
        page = client.call(f"{what} (results)", lambda sf: _page(sf, sobject, job_id, locator,
                                                                 client.settings.bulk_page_size))
        yield read_csv(page["records"], what)
        locator = page["locator"]
        if not locator:
            return


def _page(sf: Salesforce, sobject: str, job_id: str, locator: str, size: int) -> dict:
    try:
        page = _jobs(sf, sobject).get_query_results(job_id, locator, max_records=size)
    except KeyError as exc:  # simple-salesforce reads Sforce-NumberOfRecords from the headers
        raise MalformedAnswer("query results came without the Sforce-NumberOfRecords header", str(exc)) from None
    return page


def read_csv(text: str, what: str) -> list[dict]:
    """Bulk CSV -> rows; an empty cell is null (Salesforce has no empty strings)."""
    if not isinstance(text, str):
        raise MalformedAnswer(f"{what} results are not CSV text", text)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        return []
    rows = []
    for cells in reader:
        if not cells:
            continue
        if len(cells) != len(header):
            raise MalformedAnswer(f"{what} results have a row of {len(cells)} cells under {len(header)} columns",
                                  ",".join(cells))
        rows.append({h: text_value(c) for h, c in zip(header, cells)})
    return rows


# -- polling -------------------------------------------------------------------------------------

def wait(client: SalesforceClient, sobject: str, job_id: str, is_query: bool, what: str) -> dict:
    """Poll until the job leaves Open/UploadComplete/InProgress; ``bulk_poll_seconds`` between polls."""
    deadline = time.monotonic() + client.settings.bulk_max_wait_seconds
    while True:
        client.sleep(client.settings.bulk_poll_seconds)
        info = client.call(f"{what} (poll job {job_id})", lambda sf: _jobs(sf, sobject).get_job(job_id, is_query))
        _job_id(info, what)
        if info["state"] not in RUNNING:
            return info
        if time.monotonic() > deadline:
            raise CrmUnavailable("BULK_JOB_TIMEOUT",
                                 f"{what}: job {job_id} still {info['state']} after "
                                 f"{client.settings.bulk_max_wait_seconds:.0f} s; its rows stay pending")


# -- ingest (update) -----------------------------------------------------------------------------

def update(client: SalesforceClient, sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
    """Update records in one Bulk API 2.0 ingest job, rows ordered by parent so locks cluster.

    An unreadable answer after the job was closed leaves every row pending: which rows the
    job wrote is unknown, and writing an owner again is harmless where losing one is not.
    """
    what = f"Bulk API 2.0 update of {len(updates):,} {sobject} record(s)"
    try:
        return _update(client, sobject, updates, what)
    except MalformedAnswer as exc:
        raise CrmResponseError(f"Salesforce's answer to {what} is not readable", client.redact(str(exc))) from None


def _update(client: SalesforceClient, sobject: str, updates: Sequence[RecordUpdate], what: str) -> list[WriteResult]:
    data = to_csv(updates)
    job_id = _create_and_upload(client, sobject, data, what)
    try:
        client.call(f"{what} (close job)", lambda sf: _jobs(sf, sobject).close_job(job_id))
    except SalesforceRefused as exc:
        # A close that timed out may have reached Salesforce: the retry then finds the job closed.
        if exc.code != "INVALIDJOBSTATE":
            raise
    info = wait(client, sobject, job_id, is_query=False, what=what)
    if info["state"] == "Failed" and not int(info.get("numberRecordsProcessed") or 0):
        raise SalesforceRefused("BULK_JOB_FAILED", f"{what}: Salesforce failed the job: {info.get('errorMessage')}")
    return results(client, sobject, job_id, updates, what, info)


def _create_and_upload(client: SalesforceClient, sobject: str, data: str, what: str) -> str:
    """A new job holding ``data``. An upload is never repeated on the same job (it could add the rows
    twice): a failed upload abandons its job and starts a new one, at most ``max_retries`` times."""
    attempt = 0
    while True:
        job_id = _job_id(client.call(f"{what} (create job)",
                                     lambda sf: _jobs(sf, sobject).create_job(Operation.update)), what)
        try:
            client.call(f"{what} (upload)", lambda sf: _jobs(sf, sobject).upload_job_data(job_id, data),
                        retry=False)
            return job_id
        except CrmUnavailable as exc:
            if exc.code not in ("TIMEOUT", "SERVER_UNAVAILABLE") or attempt >= client.settings.max_retries:
                raise
            attempt += 1
            try:
                client.call(f"{what} (abort job {job_id})", lambda sf: _jobs(sf, sobject).abort_job(job_id, False))
            except (CrmUnavailable, SalesforceRefused):
                pass  # an open job that never closes expires by itself and writes nothing
            client.sleep(client.settings.retry_backoff_seconds * 2 ** (attempt - 1))


def to_csv(updates: Sequence[RecordUpdate]) -> str:
    """Id first, then the fields in name order; rows sorted by group (parent account) then id."""
    names = sorted({name for u in updates for name in u.fields} - {"Id"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Id", *names])
    for u in sorted(updates, key=lambda u: (u.group_key is None, u.group_key or "", u.record_id)):
        writer.writerow([u.record_id, *(bulk_cell(u.fields[n]) if n in u.fields else "" for n in names)])
    return out.getvalue()


def results(client: SalesforceClient, sobject: str, job_id: str, updates: Sequence[RecordUpdate], what: str,
            info: dict) -> list[WriteResult]:
    """One result per row the job reports, keyed by sf__Id (unprocessed rows by their Id)."""
    wanted = {u.record_id for u in updates}
    fetch = {}
    for kind in ("successfulResults", "failedResults", "unprocessedrecords"):
        text = client.call(f"{what} ({kind})", lambda sf: _jobs(sf, sobject).get_ingest_results(job_id, kind))
        fetch[kind] = read_csv(text, f"{what} {kind}")
    out: dict[str, WriteResult] = {}
    for row in fetch["successfulResults"]:
        rid = row.get("sf__Id") or row.get("Id")
        out[rid] = WriteResult(rid, True, crm_id=rid)
    for row in fetch["failedResults"]:
        rid = row.get("sf__Id") or row.get("Id")
        code, message = split_bulk_error(row.get("sf__Error") or "")
        out[rid] = WriteResult(rid, False, code, message)
    for row in fetch["unprocessedrecords"]:
        rid = row.get("Id")
        out.setdefault(rid, WriteResult(rid, False, "NOT_ATTEMPTED",
                                        f"the Bulk API 2.0 job ended {info['state']} before this row"))
    stray = set(out) - wanted
    if stray:
        raise MalformedAnswer(f"{what} reported rows that were not sent", sorted(stray)[:5])
    return [out[u.record_id] for u in updates if u.record_id in out]


def split_bulk_error(cell: str) -> tuple[str, str]:
    """``UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--`` -> (code, message)."""
    code, _, rest = cell.partition(":")
    message = rest.rsplit(":", 1)[0] if rest.rstrip().endswith("--") else rest
    return (code.strip() or "UNKNOWN_EXCEPTION"), message.strip() or cell

"""Bulk API 2.0: query jobs and ingest jobs under ``/services/data/vXX.X/jobs/``.

Jobs run synchronously when they are created (query) or closed (ingest), but
report ``InProgress`` for ``emulator.bulk_polls_in_progress`` polls first, so
clients exercise their polling loop. Upload CSV is parsed by its header row
(simple-salesforce writes columns in random order), empty cells leave a field
unchanged and ``#N/A`` sets it to null, as in Salesforce. Paths are matched
case-insensitively: simple-salesforce asks for ``unprocessedRecords`` where
the documentation says ``unprocessedrecords``.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
from dataclasses import dataclass, field as dc_field

from . import soql
from .errors import ApiError, RecordError, not_found
from .server import Response
from .values import to_csv

_DELIMS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPS = {"insert", "update", "upsert", "delete", "hardDelete"}
_job_ids = itertools.count(1)
CSV_TYPE = "text/csv"


@dataclass
class Job:
    id: str
    kind: str  # "query" | "ingest"
    operation: str
    object: str
    created: str
    api_version: str
    created_by: str
    line_ending: str = "LF"
    column_delimiter: str = "COMMA"
    external_id_field: str | None = None
    state: str = "Open"
    final_state: str | None = None
    polls_left: int = 0
    error_message: str | None = None
    header: list = dc_field(default_factory=list)
    rows: list = dc_field(default_factory=list)
    uploads: list = dc_field(default_factory=list)
    successful: list = dc_field(default_factory=list)
    failed: list = dc_field(default_factory=list)
    unprocessed: list = dc_field(default_factory=list)
    processed: int = 0

    @property
    def delimiter(self) -> str:
        return _DELIMS[self.column_delimiter]

    @property
    def newline(self) -> str:
        return _ENDINGS[self.line_ending]

    def info(self) -> dict:
        out = {
            "id": self.id, "operation": self.operation, "object": self.object,
            "createdById": self.created_by, "createdDate": self.created, "systemModstamp": self.created,
            "state": self.state, "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(self.api_version), "jobType": "V2Query" if self.kind == "query" else "V2Ingest",
            "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": self.processed, "retries": 0, "totalProcessingTime": 0,
        }
        if self.kind == "ingest":
            out.update({"externalIdFieldName": self.external_id_field, "numberRecordsFailed": len(self.failed),
                        "apiActiveProcessingTime": 0, "apexProcessingTime": 0,
                        "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"})
        if self.error_message:
            out["errorMessage"] = self.error_message
        return out

    def poll(self) -> None:
        """Advance the reported state: InProgress for a few polls, then the final state."""
        if self.final_state and self.state in ("UploadComplete", "InProgress"):
            if self.polls_left > 0:
                self.polls_left -= 1
                self.state = "InProgress"
            else:
                self.state = self.final_state


def route(emu, req, version: str, segs: list) -> Response:
    if not segs or segs[0].lower() not in ("query", "ingest"):
        raise not_found()
    kind = segs[0].lower()
    method = req.method
    if len(segs) == 1:
        if method == "POST":
            return _create_query(emu, req, version) if kind == "query" else _create_ingest(emu, req, version)
        if method == "GET":
            jobs = [j.info() for j in emu.jobs.values() if j.kind == kind]
            return Response.json(200, {"done": True, "records": jobs, "nextRecordsUrl": None})
        raise not_found()
    job = emu.jobs.get(segs[1])
    if job is None or job.kind != kind:
        raise not_found()
    if len(segs) == 2:
        if method == "GET":
            job.poll()
            return Response.json(200, job.info())
        if method == "PATCH":
            return _set_state(emu, job, req)
        if method == "DELETE":
            del emu.jobs[job.id]
            return Response(204)
        raise not_found()
    sub = segs[2].lower()
    if len(segs) == 3 and kind == "query" and sub == "results" and method == "GET":
        return _query_results(job, req)
    if len(segs) == 3 and kind == "ingest":
        if sub == "batches" and method == "PUT":
            return _upload(job, req)
        if method == "GET" and sub in ("successfulresults", "failedresults", "unprocessedrecords"):
            return _ingest_results(job, sub)
    raise not_found()


def _new_job(emu, kind, operation, sobject, version, body) -> Job:
    delimiter = (body.get("columnDelimiter") or "COMMA").upper()
    ending = (body.get("lineEnding") or "LF").upper()
    if delimiter not in _DELIMS or ending not in _ENDINGS:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : invalid columnDelimiter or lineEnding")
    job = Job(id=f"750EMU{next(_job_ids):012d}", kind=kind, operation=operation, object=sobject,
              created=emu.org.now(), api_version=version, created_by=emu.user_id,
              line_ending=ending, column_delimiter=delimiter)
    emu.jobs[job.id] = job
    return job


# ----- query jobs -----

def _create_query(emu, req, version) -> Response:
    body = req.json() or {}
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    text = body.get("query")
    if not text:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : query is required")
    q = soql.parse(text, emu.org)
    if q.count or q.offset:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : Aggregate queries and OFFSET are not supported by Bulk API 2.0")
    rows = soql.execute(emu.org, q, include_deleted=operation == "queryAll")
    job = _new_job(emu, "query", operation, q.sobject.name, version, body)
    job.header = [p.name for p in q.fields]
    job.rows = [[to_csv(p.leaf, soql.value_of(emu.org, r, p)) for p in q.fields] for r in rows]
    job.processed = len(rows)
    job.state, job.final_state, job.polls_left = "UploadComplete", "JobComplete", emu.bulk_polls_in_progress
    return Response.json(200, job.info())


def _csv_text(job: Job, header: list, rows: list) -> str:
    """All non-null values quoted, nulls as empty cells, as Bulk API 2.0 writes them."""
    d, nl = job.delimiter, job.newline

    def cell(v):
        return "" if v is None else '"' + str(v).replace('"', '""') + '"'

    lines = [d.join(cell(h) for h in header)] + [d.join(cell(v) for v in row) for row in rows]
    return nl.join(lines) + nl


def _query_results(job: Job, req) -> Response:
    if job.state != "JobComplete":
        raise ApiError(412, "JOB_NOT_COMPLETE",
                       "can only download query results of successfully completed bulk job with status: "
                       f"JOB_COMPLETE. Current status: {job.state.upper()}")
    locator = req.param("locator") or ""
    try:
        start = int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()) if locator else 0
    except ValueError:
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None
    size = int(req.param("maxRecords") or 0) or len(job.rows) or 1
    chunk = job.rows[start:start + size]
    nxt = start + size
    next_locator = base64.b64encode(str(nxt).encode()).decode().rstrip("=") if nxt < len(job.rows) else "null"
    return Response(200, _csv_text(job, job.header, chunk).encode(), CSV_TYPE,
                    {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(chunk))})


# ----- ingest jobs -----

def _create_ingest(emu, req, version) -> Response:
    body = req.json() or {}
    operation = body.get("operation")
    if operation not in INGEST_OPS:
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    obj = emu.org.object(body.get("object") or "")
    if obj is None:
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}")
    if (body.get("contentType") or "CSV").upper() != "CSV":
        raise ApiError(400, "INVALIDJOB", "InvalidJob : only CSV content is supported")
    ext = body.get("externalIdFieldName")
    if operation == "upsert":
        f = obj.field(ext or "")
        if f is None or not (f.external_id or f.name == "Id"):
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : External ID was blank for {obj.name}. "
                                              "An External ID must be specified for upsert.")
        ext = f.name
    job = _new_job(emu, "ingest", operation, obj.name, version, body)
    job.external_id_field = ext
    return Response.json(200, job.info())


def _upload(job: Job, req) -> Response:
    if job.state != "Open":
        raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is not Open: {job.state}")
    text = req.text()
    if not text.strip():
        raise ApiError(400, "INVALIDBATCH", "InvalidBatch : no data")
    job.uploads.append(text)
    return Response(201)


def _set_state(emu, job: Job, req) -> Response:
    state = (req.json() or {}).get("state")
    if state == "Aborted":
        if job.state in ("JobComplete", "Failed", "Aborted"):
            raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is already {job.state}")
        job.state, job.final_state = "Aborted", None
        if job.kind == "ingest":
            job.header, rows = _parse(job)
            job.unprocessed = rows
        return Response.json(200, job.info())
    if state == "UploadComplete" and job.kind == "ingest":
        if job.state != "Open":
            raise ApiError(409, "INVALIDJOBSTATE", f"Job {job.id} is not Open: {job.state}")
        _process(emu, job)
        job.state, job.polls_left = "UploadComplete", emu.bulk_polls_in_progress
        return Response.json(200, job.info())
    raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state transition to {state}")


def _parse(job: Job):
    header, rows = [], []
    for i, text in enumerate(job.uploads):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=job.delimiter)
        part = [r for r in reader if any(cell != "" for cell in r)]
        if not part:
            continue
        if i == 0 or not header:
            header = part[0]
        rows.extend(part[1:])
    return header, rows


def _process(emu, job: Job) -> None:
    org = emu.org
    obj = org.object(job.object)
    job.header, rows = _parse(job)
    if not job.header:
        job.final_state, job.error_message = "Failed", "InvalidBatch : no data uploaded"
        return
    for name in job.header:
        if obj.field(name) is None:
            job.final_state = "Failed"
            job.error_message = f"InvalidBatch : Field name not found : {name}"
            job.unprocessed = rows
            return
    lower = [h.lower() for h in job.header]
    if job.operation in ("delete", "hardDelete") and lower != ["id"]:
        job.final_state, job.error_message = "Failed", "InvalidBatch : The 'delete' batch must contain only 'Id'"
        job.unprocessed = rows
        return
    key_col = "id" if job.operation in ("update", "delete", "hardDelete") else (
        job.external_id_field.lower() if job.operation == "upsert" else None)
    if key_col and key_col not in lower:
        job.final_state = "Failed"
        job.error_message = f"InvalidBatch : Field name not found : {'Id' if key_col == 'id' else job.external_id_field}"
        job.unprocessed = rows
        return
    stop = emu.faults.take("bulk_stop", "PATCH", f"/jobs/ingest/{job.id}")
    if stop is not None:
        rows, job.unprocessed = rows[:stop.rows], rows[stop.rows:]
    for row in rows:
        values = dict(zip(job.header, row + [""] * (len(job.header) - len(row))))
        key = values[job.header[lower.index(key_col)]] if key_col else None
        try:
            if job.operation == "insert":
                rid, created = org.create(obj.name, values, "csv"), True
            elif job.operation == "update":
                rid, created = org.update(obj.name, key, values, "csv"), False
            elif job.operation == "upsert":
                rid, created = org.upsert(obj.name, job.external_id_field, key, values, "csv")
            else:
                rid, created = org.delete(obj.name, key), False
            job.successful.append([rid, "true" if created else "false", *row])
        except RecordError as err:
            job.failed.append([key if key_col == "id" else "", err.as_bulk_error(), *row])
        except ApiError as err:
            job.failed.append([key if key_col == "id" else "", f"{err.code}:{err.message}:--", *row])
        job.processed += 1
    job.final_state = "JobComplete"
    if stop is not None:
        job.final_state, job.error_message = "Failed", stop.body.decode()


def _ingest_results(job: Job, sub: str) -> Response:
    if sub == "successfulresults":
        text = _csv_text(job, ["sf__Id", "sf__Created", *job.header], job.successful)
    elif sub == "failedresults":
        text = _csv_text(job, ["sf__Id", "sf__Error", *job.header], job.failed)
    else:
        text = _csv_text(job, list(job.header), job.unprocessed)
    return Response(200, text.encode(), CSV_TYPE)

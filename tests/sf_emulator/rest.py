"""REST resources under ``/services/data/vXX.X/``: query, sObjects, collections, limits.

Shapes follow the REST API reference: query pages with ``nextRecordsUrl``,
``201 {id, success, errors}`` on create, ``204`` on update/delete, upsert by
external id answering 201 (created) or 200 with ``created: false`` (updated,
API 46.0+; 204 before), and sObject Collections answering 200 with one
SaveResult per record.
"""

from __future__ import annotations

import itertools
from urllib.parse import unquote

from . import soql
from .errors import ApiError, RecordError, not_found
from .server import Response
from .values import format_datetime, parse_datetime

MAX_COLLECTION = 200
_cursor_ids = itertools.count(1)
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the request was using "
                          "AllOrNone header", "fields": []}


def route(emu, req, version: str, segs: list) -> Response:
    head = segs[0].lower() if segs else ""
    method = req.method
    if not segs and method == "GET":
        base = f"/services/data/v{version}"
        return Response.json(200, {k: f"{base}/{k}" for k in ("sobjects", "query", "queryAll", "limits", "composite")})
    if head == "limits" and len(segs) == 1 and method == "GET":
        return limits(emu)
    if head in ("query", "queryall") and method == "GET" and len(segs) <= 2:
        return query(emu, req, version, segs, include_deleted=head == "queryall")
    if head == "sobjects":
        return sobjects(emu, req, version, [unquote(s) for s in segs[1:]])
    if head == "composite" and len(segs) >= 2 and segs[1].lower() == "sobjects":
        return collections(emu, req, version, segs[2:])
    raise not_found()


def limits(emu) -> Response:
    remaining = max(emu.daily_api_limit - emu.api_usage, 0)
    return Response.json(200, {
        "DailyApiRequests": {"Max": emu.daily_api_limit, "Remaining": remaining},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
    })


# ----- query -----

def query(emu, req, version, segs, include_deleted: bool) -> Response:
    if len(segs) == 2:
        cursor_id, _, start = segs[1].rpartition("-")
        cursor = emu.cursors.get(cursor_id)
        if cursor is None or not start.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        records, size = cursor
        return _page(version, cursor_id, records, int(start), size)
    text = req.param("q")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    q = soql.parse(text, emu.org)
    rows = soql.execute(emu.org, q, include_deleted)
    if q.count == "rows":
        return Response.json(200, {"totalSize": len(rows), "done": True, "records": []})
    if q.count == "field":
        n = sum(1 for r in rows if soql.value_of(emu.org, r, q.fields[0]) is not None)
        return Response.json(200, {"totalSize": 1, "done": True,
                                   "records": [{"attributes": {"type": "AggregateResult"}, "expr0": n}]})
    records = [soql.shape(emu.org, q, r, version) for r in rows]
    size = emu.page_size
    options = req.header("Sforce-Query-Options") or ""
    if "batchSize=" in options:
        try:
            size = min(size, max(200, min(2000, int(options.split("batchSize=")[1].split(",")[0]))))
        except ValueError:
            pass
    cursor_id = f"01gEMU{next(_cursor_ids):012d}"
    if len(records) > size:
        emu.cursors[cursor_id] = (records, size)
    return _page(version, cursor_id, records, 0, size)


def _page(version, cursor_id, records, start, size) -> Response:
    chunk = records[start:start + size]
    done = start + size >= len(records)
    body = {"totalSize": len(records), "done": done, "records": chunk}
    if not done:
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{start + size}"
    return Response.json(200, body)


# ----- sObjects -----

def record_json(obj, rec: dict, version: str, fields=None) -> dict:
    out = {"attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{rec['Id']}"}}
    for f in obj.fields:
        if fields is None or f.name.lower() in fields:
            out[f.name] = rec.get(f.name)
    return out


def _object(emu, name: str):
    obj = emu.org.object(name)
    if obj is None:
        raise not_found()
    return obj


def _single(fn, *args):
    """Run a store write for a single-record call: a RecordError becomes a 400 error list."""
    try:
        return fn(*args)
    except RecordError as err:
        raise ApiError.from_record(err) from None


def sobjects(emu, req, version, segs) -> Response:
    org, method = emu.org, req.method
    if not segs:
        if method != "GET":
            raise not_found()
        return Response.json(200, {"encoding": "UTF-8", "maxBatchSize": 200,
                                   "sobjects": [o.summary(version) for o in org.objects.values()]})
    obj = _object(emu, segs[0])
    if len(segs) == 1:
        if method == "GET":
            return Response.json(200, {"objectDescribe": obj.summary(version), "recentItems": []})
        if method == "POST":
            new_id = _single(org.create, obj.name, _body_dict(req))
            return Response.json(201, {"id": new_id, "success": True, "errors": []})
        raise not_found()
    if len(segs) == 2 and segs[1].lower() == "describe" and method == "GET":
        return Response.json(200, obj.describe(version))
    if len(segs) == 2 and segs[1].lower() in ("updated", "deleted") and method == "GET":
        return changed_since(emu, req, obj, deleted=segs[1].lower() == "deleted")
    if len(segs) == 2:
        record_id = segs[1]
        found_obj, rec = org.find(record_id)
        if found_obj is not obj or rec is None:
            raise not_found()
        if method == "GET":
            if rec.get("IsDeleted"):
                raise not_found()
            wanted = req.param("fields")
            fields = {f.strip().lower() for f in wanted.split(",")} if wanted else None
            return Response.json(200, record_json(obj, rec, version, fields))
        if method == "PATCH":
            _single(org.update, obj.name, rec["Id"], _body_dict(req))
            return Response(204)
        if method == "DELETE":
            _single(org.delete, obj.name, rec["Id"])
            return Response(204)
        raise not_found()
    if len(segs) == 3:
        field_name, value = segs[1], segs[2]
        if method == "GET":
            f = obj.field(field_name)
            if f is None:
                raise not_found()
            matches = org._find_by(obj, f, value) if f.name != "Id" else [org.find(value)[1]]
            matches = [m for m in matches if m is not None and not m.get("IsDeleted")]
            if not matches:
                raise not_found()
            if len(matches) > 1:
                return Response.json(300, [f"/services/data/v{version}/sobjects/{obj.name}/{m['Id']}" for m in matches])
            return Response.json(200, record_json(obj, matches[0], version))
        if method == "PATCH":
            try:
                new_id, created = _single(org.upsert, obj.name, field_name, value, _body_dict(req))
            except ApiError as err:
                if err.status == 300:
                    f = obj.field(field_name)
                    return Response.json(300, [f"/services/data/v{version}/sobjects/{obj.name}/{m['Id']}"
                                               for m in org._find_by(obj, f, value)])
                raise
            body = {"id": new_id, "success": True, "errors": [], "created": created}
            if created:
                return Response.json(201, body)
            return Response.json(200, body) if float(version) >= 46.0 else Response(204)
        if method == "DELETE":
            f = obj.field(field_name)
            matches = org._find_by(obj, f, value) if f is not None else []
            if not matches:
                raise not_found()
            _single(org.delete, obj.name, matches[0]["Id"])
            return Response(204)
    raise not_found()


def changed_since(emu, req, obj, deleted: bool) -> Response:
    """``sobjects/X/updated`` and ``sobjects/X/deleted``, judged by SystemModstamp."""
    try:
        start, end = (format_datetime(parse_datetime(req.param(k) or "")) for k in ("start", "end"))
    except ValueError:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes") from None
    hits = [r for r in emu.org.records[obj.name].values()
            if bool(r.get("IsDeleted")) == deleted and start <= (r.get("SystemModstamp") or "") <= end]
    if deleted:
        return Response.json(200, {"deletedRecords": [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in hits],
                                   "earliestDateAvailable": start, "latestDateCovered": end})
    return Response.json(200, {"ids": [r["Id"] for r in hits], "latestDateCovered": end})


def _body_dict(req) -> dict:
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of object from a non-object body")
    return body


# ----- sObject Collections -----

def collections(emu, req, version, segs) -> Response:
    org, method = emu.org, req.method
    if method in ("GET", "DELETE"):
        ids = [i for i in (req.param("ids") or "").split(",") if i]
        if len(ids) > MAX_COLLECTION:
            raise _too_many()
        if method == "GET":
            if not segs:
                raise not_found()
            obj = _object(emu, unquote(segs[0]))
            fields = {f.strip().lower() for f in (req.param("fields") or "").split(",") if f.strip()}
            out = []
            for rid in ids:
                found_obj, rec = org.find(rid)
                ok = found_obj is obj and rec is not None and not rec.get("IsDeleted")
                out.append(record_json(obj, rec, version, fields or None) if ok else None)
            return Response.json(200, out)
        all_or_none = (req.param("allOrNone") or "false").lower() == "true"
        ops = [(lambda rid=rid: org.delete(_obj_name_for(org, rid), rid)) for rid in ids]
        return Response.json(200, _run(org, ops, all_or_none, ids))
    if method == "PATCH" and len(segs) == 2:
        return _collection_upsert(emu, req, unquote(segs[0]), unquote(segs[1]))
    if method not in ("POST", "PATCH") or segs:
        raise not_found()
    body = _body_dict(req)
    records = body.get("records")
    if not isinstance(records, list):
        raise ApiError(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
    if len(records) > MAX_COLLECTION:
        raise _too_many()
    all_or_none = bool(body.get("allOrNone", False))
    ops, ids = [], []
    for raw in records:
        sobject = ((raw or {}).get("attributes") or {}).get("type")
        if not sobject:
            raise ApiError(400, "INVALID_TYPE", "No SObject Type defined in JSON")
        if org.object(sobject) is None:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        rid = raw.get("id") or raw.get("Id")
        fields = {k: v for k, v in raw.items() if k not in ("attributes", "id", "Id")}
        if method == "POST":
            ops.append(lambda s=sobject, f=fields, rid=rid: _create(org, s, f, rid))
            ids.append(None)
        else:
            ops.append(lambda s=sobject, f=fields, rid=rid: _update(org, s, rid, f))
            ids.append(rid)
    return Response.json(200, _run(org, ops, all_or_none, ids))


def _collection_upsert(emu, req, sobject: str, ext_field: str) -> Response:
    """``PATCH composite/sobjects/{SObject}/{ExternalIdField}``: SaveResults with ``created``."""
    org = emu.org
    obj = _object(emu, sobject)
    f = obj.field(ext_field)
    if f is None or not (f.external_id or f.name == "Id"):
        raise ApiError(400, "INVALID_FIELD", f"Field {ext_field} is not an External ID or Id field")
    body = _body_dict(req)
    records = body.get("records")
    if not isinstance(records, list):
        raise ApiError(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
    if len(records) > MAX_COLLECTION:
        raise _too_many()
    created_flags, ops = [], []
    for raw in records:
        if (((raw or {}).get("attributes") or {}).get("type") or "").lower() != obj.name.lower():
            raise ApiError(400, "INVALID_TYPE", f"every record must have attributes.type {obj.name}")
        value = next((v for k, v in raw.items() if k.lower() == f.name.lower()), None)
        fields = {k: v for k, v in raw.items() if k != "attributes"}

        def op(value=value, fields=fields):
            if value in (None, "") and f.name != "Id":
                raise RecordError("MISSING_ARGUMENT", f"{f.name} not specified", [])
            rid, created = org.upsert(obj.name, f.name, value, fields)
            created_flags.append(created)
            return rid
        ops.append(op)
    results = _run(org, ops, bool(body.get("allOrNone", False)), None)
    flags = iter(created_flags)
    for r in results:
        if r["success"]:
            r["created"] = next(flags)
    return Response.json(200, results)


def _obj_name_for(org, rid: str) -> str:
    obj = org.object_for_id(rid or "")
    if obj is None:
        raise RecordError("MALFORMED_ID", f"malformed id {rid}", [])
    return obj.name


def _create(org, sobject, fields, rid):
    if rid:
        raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
    return org.create(sobject, fields)


def _update(org, sobject, rid, fields):
    if not rid:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
    return org.update(sobject, rid, fields)


def _run(org, ops, all_or_none: bool, ids) -> list:
    """Run per-record operations; with allOrNone, any failure rolls all of them back."""
    results = []
    with org.transaction() as tx:
        for op in ops:
            try:
                results.append({"id": op(), "success": True, "errors": []})
            except RecordError as err:
                results.append({"success": False, "errors": [err.as_save_error()]})
            except ApiError:
                tx.rollback()  # a malformed request changes nothing
                raise
        if all_or_none and any(not r["success"] for r in results):
            tx.rollback()
            results = [r if not r["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]}
                       for r in results]
    return results


def _too_many() -> ApiError:
    return ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")

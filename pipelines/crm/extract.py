"""Extract: CRM -> raw_* tables, incrementally by SystemModstamp watermark.

Each tick asks the CRM for records changed at or after ``watermark - overlap``.
The overlap covers clock skew and records committed late in the CRM; the
de-duplication on (Id, SystemModstamp) makes the overlap free: a version already
in the warehouse is not counted again. Once a read came more than the overlap after
the watermark, the next starts just past it (:func:`pipelines.ledger.watermarks.window`).
Raw tables keep the latest version per Id, as text; typing happens in unify. The CRM's answer is
read and landed a page at a time (:data:`pipelines.crm.base.EXTRACT_PAGE_ROWS` records), so a
first load of a million accounts holds one page in memory; a version in a later page replaces
the one landed from an earlier page only when it is newer, as across ticks.
"""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pandas as pd

from pipelines.crm import ids
from pipelines.crm.base import CrmAdapter
from pipelines.crm.fields import FieldMapping
from pipelines.ledger import quarantine, watermarks
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import insert, upsert
from pipelines.warehouse.schema import OBJECT_TABLES

DEFAULT_OVERLAP = timedelta(minutes=5)
# A SystemModstamp later than this past the tick's clock is not a clock skew but a bad value: taking it
# as the watermark would stop extraction until that time, so the record waits in quarantine instead.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def extract(
    con: duckdb.DuckDBPyConnection,
    crm: CrmAdapter,
    mapping: FieldMapping,
    run: RunInfo,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> StageResult:
    result = StageResult("extract")
    previews = []
    for obj, m in mapping.objects.items():
        raw_table = OBJECT_TABLES[obj][0]
        wm, since = watermarks.window(con, obj, overlap)
        got = new = rejected = 0
        until = None
        for df in crm.extract_pages(m, since):  # each page landed before the next is read
            page_got, page_new, page_rejected, page_until = _land(con, raw_table, df, m.key, m.modstamp, obj, run)
            got, new, rejected = got + page_got, new + page_new, rejected + page_rejected
            until = page_until if until is None or (page_until is not None and page_until > until) else until
            if obj == "lead" and not df.empty and not previews:
                previews.append(df.head(10))
        watermarks.set_pending(con, obj, until if until is not None else wm, run.run_id, run.now)
        insert(
            con,
            "extract_log",
            pd.DataFrame(
                [dict(run_id=run.run_id, object=obj, since=since, until=until, records=got,
                      new_versions=new, extracted_at=run.now)]
            ),
        )
        result.counts[f"{obj}_extracted"] = got
        result.counts[f"{obj}_new_versions"] = new
        if rejected:
            result.counts[f"{obj}_quarantined"] = rejected
            result.warnings.append(f"{rejected} {obj} record(s) had no usable Id or a SystemModstamp that is unreadable "
                                   f"or in the future; quarantined (reasons: `leadroute report`)")
        result.details[f"{obj}_since"] = since.isoformat() if since is not None else "full load"
    result.rows = sum(v for k, v in result.counts.items() if k.endswith("_extracted"))
    result.details["crm_api_calls"] = crm.counter.calls
    result.preview = previews[0] if previews else None
    return result


def _land(con, raw_table, df, key, modstamp, obj, run: RunInfo) -> tuple[int, int, int, object]:
    """Upsert new versions into ``raw_table``; quarantine records without identity or a usable version.

    Returns (records read, new versions, quarantined, the watermark candidate). The watermark
    candidate is the latest usable SystemModstamp, never later than the tick's clock.
    """
    if df.empty:
        return 0, 0, 0, None
    df = df.copy()
    con.register("_extracted", df)
    try:
        parsed = con.execute(
            f'SELECT TRY_CAST("{modstamp}" AS TIMESTAMPTZ)::TIMESTAMP AS m FROM _extracted'
        ).df()["m"]
    finally:
        con.unregister("_extracted")
    df["_modstamp"] = parsed.values
    reason = _unusable(df[key], df["_modstamp"], run)
    bad = reason.notna()
    if bad.any():
        rows = df[bad]
        quarantine.put(
            con,
            pd.DataFrame(
                {
                    "stage": "extract",
                    "object": obj,
                    "record_id": rows[key].map(_shown_id),
                    "reason": reason[bad],
                    "detail": [_detail(r, key, k, modstamp, m, run) for r, k, m in
                               zip(reason[bad], rows[key], rows[modstamp])],
                    "payload": [json.dumps(r, default=str) for r in rows.drop(columns="_modstamp").to_dict("records")],
                    "record_modstamp": rows[modstamp],
                }
            ),
            run.run_id,
            run.now,
        )
    df = df[~bad]
    # Latest version per Id within the batch, then only versions newer than what we hold.
    df = df.sort_values("_modstamp").drop_duplicates(key, keep="last")
    con.register("_batch", df[[key, "_modstamp"]])
    try:
        newer = con.execute(
            f'''SELECT b."{key}" FROM _batch b LEFT JOIN "{raw_table}" r ON r."Id" = b."{key}"
                WHERE r."Id" IS NULL OR b._modstamp > r._modstamp'''
        ).df()
    finally:
        con.unregister("_batch")
    fresh = df[df[key].isin(newer[key])].copy()
    fresh["_extracted_at"] = run.now
    fresh["_run_id"] = run.run_id
    if key != "Id":
        fresh = fresh.rename(columns={key: "Id"})
    upsert(con, raw_table, fresh, ["Id"])
    if len(fresh):
        quarantine.resolve(con, "extract", obj, fresh["Id"], run.now)
    until = min(df["_modstamp"].max(), pd.Timestamp(run.now)) if len(df) else None
    return int(len(df) + bad.sum()), int(len(fresh)), int(bad.sum()), until


def _unusable(keys: pd.Series, stamps: pd.Series, run: RunInfo) -> pd.Series:
    """Why each record cannot be landed (None when it can): no Id, an Id that is not a Salesforce
    id (spaces, wrong length, a wrong case-safe suffix), an unreadable or a future SystemModstamp."""
    reason = pd.Series(None, index=keys.index, dtype=object)
    reason[stamps > pd.Timestamp(run.now) + MAX_CLOCK_SKEW] = "future_modstamp"
    reason[stamps.isna()] = "bad_modstamp"
    reason[~keys.map(ids.is_valid)] = "malformed_id"
    reason[keys.isna() | keys.astype("string").str.strip().eq("").fillna(True)] = "missing_id"
    return reason


def _shown_id(value) -> str:
    """How a record's Id is shown in quarantine: as it came, or a label when there is none."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(no id)"
    return value if str(value).strip() else "(empty id)"


def _detail(reason: str, key: str, value, modstamp: str, stamp, run: RunInfo) -> str:
    if reason == "future_modstamp":
        return (f"{modstamp}={stamp!r} is later than the tick's clock ({run.now:%Y-%m-%d %H:%M} UTC); the record "
                f"is read again every tick and lands once that time has passed, or fix the value in the CRM")
    if reason in ("missing_id", "malformed_id"):
        return ids.unkeyed_detail(key, value)
    return f"{key}={value!r}, {modstamp}={stamp!r} cannot be read as a timestamp"

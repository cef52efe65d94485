"""Unify: raw_* (CRM fields, text) -> lead, account, crm_user, opportunity, crm_queue.

Each canonical column is filled from its source fields as ``routing_rules/fields.yaml``
says (:mod:`pipelines.unify.columns`): spellings mapped to one taxonomy, values cast,
precedence applied, and ``<column>__source`` recording which field won. It is one
generated SQL query per object, so 100,000 leads cost the same few queries as ten.

A record that cannot be used goes to quarantine with the reason, instead of the
unified table (:mod:`pipelines.unify.problems`): no usable identity, a value longer
than the field allows, a malformed value the mapping says to quarantine, text with
control characters. The last good version of the record stays in the unified table
(history and explanations need it); enrichment keeps quarantined records out of the
routing. When the record is fixed in the CRM, its next version passes and the
quarantine item is resolved: it re-enters the flow with no manual step.

The stage is incremental by version: it recomputes only rows whose raw version
(``_modstamp``) is newer than the unified one; a quarantined record is looked at again when a
new version arrives, and otherwise once an hour (:data:`RELOOK_QUARANTINED`), until it passes.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from pipelines.crm import ids
from pipelines.crm.fields import KEY_COLUMN, FieldMapping, value_maps_dir
from pipelines.ledger import quarantine
from pipelines.stage import RunInfo, StageResult
from pipelines.unify.columns import ColumnSql, column_sql
from pipelines.unify.fill_rates import fill_rates, first_filled_sql, keeping_counts
from pipelines.unify.problems import QuarantineRules, problems_sql
from pipelines.unify.value_maps import REFERENCES, value_map_frame
from pipelines.warehouse import inputs
from pipelines.warehouse.db import upsert
from pipelines.warehouse.schema import OBJECT_TABLES

# Objects whose fill rates are reported (the ones with scattered duplicates).
FILL_RATE_OBJECTS = ("lead", "account")


def object_columns(mapping: FieldMapping, obj: str) -> list[ColumnSql]:
    """The SQL of every canonical column of ``obj``; ``updated_at`` columns are built first."""
    fields = mapping.objects[obj].fields
    stamps: dict[str, str] = {}
    built: dict[str, ColumnSql] = {}
    order = sorted(fields, key=lambda n: fields[n].precedence == "most_recent")
    for name in order:
        spec = fields[name]
        vm = f"_vm_{obj}_{name}" if spec.values else None
        built[name] = column_sql(name, spec, vm, stamps, index=len(built))
        stamps[name] = built[name].value
    return [built[n] for n in fields]


def _register_value_maps(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, obj: str) -> list[str]:
    names = []
    for name, spec in mapping.objects[obj].fields.items():
        if spec.values:
            if spec.values.reference:  # kept in the warehouse: a small batch does not rebuild it
                REFERENCES[spec.values.reference].prime(con)
            table = f"_vm_{obj}_{name}"
            con.register(table, value_map_frame(value_maps_dir(mapping), spec.values.map, spec.values.reference))
            names.append(table)
    return names


def unify(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, run: RunInfo,
          rules: QuarantineRules | None = None) -> StageResult:
    rules = rules or QuarantineRules()
    result = StageResult("unify")
    todo = changed_rows(con, mapping, run.now)
    try:
        return _unify(con, mapping, run, rules, result, todo)
    finally:
        inputs.forget(con, *(name for name, _ in todo.values()))


def _unify(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, run: RunInfo, rules: QuarantineRules,
           result: StageResult, todo: dict[str, tuple[str, int]]) -> StageResult:
    if not todo:
        return StageResult.nothing_to_do("unify")
    result.rows = sum(n for _, n in todo.values())
    unified = 0
    for obj, m in mapping.objects.items():
        if obj not in todo:
            result.counts[f"{obj}_unified"] = 0
            continue
        raw_table, table = OBJECT_TABLES[obj]
        key = KEY_COLUMN[obj]
        columns = object_columns(mapping, obj)
        keys = todo[obj][0]
        unkeyed = _set_aside_unkeyed(con, obj, raw_table, run, keys)
        if unkeyed:
            result.counts[f"{obj}_unkeyed"] = unkeyed
            result.warnings.append(f"{unkeyed} {obj} record(s) in {raw_table} have no usable Id (landed by an older "
                                   f"version); quarantined and set aside, see `leadroute report`")
        registered = _register_value_maps(con, mapping, obj)
        try:
            good_n, bad_n, reasons, stats, rows, preview = _unify_object(
                con, mapping, obj, raw_table, table, key, columns, rules, run, keys)
        finally:
            for name in registered:
                con.unregister(name)
        if bad_n:
            result.counts[f"{obj}_quarantined"] = bad_n
            result.details[f"{obj}_quarantined"] = {str(k): int(v) for k, v in reasons.most_common()}
            result.warnings.append(
                f"{bad_n} {obj} record(s) quarantined ("
                + ", ".join(f"{k} {v}" for k, v in reasons.most_common()) + "); see `leadroute report`"
            )
        result.counts[f"{obj}_unified"] = good_n
        unified += good_n if obj in FILL_RATE_OBJECTS else 0
        _report_stats(result, obj, m, stats, rows)
        if obj == "lead":
            result.preview = preview
    for obj in FILL_RATE_OBJECTS if unified else ():  # quarantined rows looked at again change no fill rate
        if obj in mapping.objects:
            result.details[f"{obj}_fill_rates"] = fill_rates(con, mapping, obj, run.now).to_dict("records")
    return result


# A quarantined record whose version has not changed is looked at again this often (a fix to the
# mapping or to quality.yaml can let it pass), not every tick: re-reading it each tick would make
# every tick do work.
RELOOK_QUARANTINED = timedelta(hours=1)


def _changed_sql(obj: str, now: datetime) -> str:
    """Raw rows whose version is newer than the unified one. A quarantined record never reached the
    unified table in its current version, so it stays "changed": it is looked at again when a new
    version arrives, and otherwise every :data:`RELOOK_QUARANTINED`, until a version passes."""
    (raw_table, table), key = OBJECT_TABLES[obj], KEY_COLUMN[obj]
    since = (now - RELOOK_QUARANTINED).isoformat(sep=" ")
    return (f'FROM "{raw_table}" r LEFT JOIN "{table}" u ON u."{key}" = r."Id" '
            f'WHERE (u."{key}" IS NULL OR r._modstamp > u._modstamp) AND NOT EXISTS ('
            f"SELECT 1 FROM quarantine q WHERE q.stage = 'unify' AND q.object = '{obj}' AND q.resolved_at IS NULL "
            f'AND q.record_id IN (r."Id", trim(r."Id")) AND TRY_CAST(q.record_modstamp AS TIMESTAMP) = r._modstamp '
            f"AND q.last_seen_at > TIMESTAMP '{since}')")


def changed_rows(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, now: datetime) -> dict[str, tuple[str, int]]:
    """Per object with any raw rows this tick has to unify, a temp table of their Ids (``k``) and how
    many: the one join of each raw table with its unified table a tick, which the stage's later
    queries read by (joining them again cost 0.7 s of CPU for 43 records at a million accounts), and
    none where the two tables hold the same versions (:func:`pipelines.warehouse.inputs.same_versions`)."""
    found = {}
    for obj in mapping.objects:
        (raw_table, table), key = OBJECT_TABLES[obj], KEY_COLUMN[obj]
        if inputs.same_versions(con, f'"{raw_table}"', '"Id"', f'"{table}"', f'"{key}"'):
            continue  # every raw row unified at its version (while a version is quarantined they differ: joined)
        name = inputs.key_table(con, f"_unify_changed_{obj}", f'SELECT r."Id" AS k {_changed_sql(obj, now)}')
        if name:
            found[obj] = (name, int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]))
    return found


# Unified rows turned into a frame and written at a time: a first load's memory is a chunk's. The
# million accounts of a first tick as one frame raised the tick's peak by 2.4 GiB.
UNIFY_CHUNK = 100_000


def _unify_object(con, mapping: FieldMapping, obj, raw_table, table, key, columns: list[ColumnSql],
                  rules: QuarantineRules, run: RunInfo, keys: str):
    """Two passes over the changed rows (their Ids in ``keys``, :func:`changed_rows`): each source
    cleaned, mapped, cast and checked once (a temp table); then precedence, provenance and the
    record's problems over those named columns, :data:`UNIFY_CHUNK` rows at a time, each chunk
    written (good rows) or quarantined (bad ones) before the next is read.

    Returns (rows written, rows quarantined, the quarantine reasons counted, the sources' value
    statistics over every row, rows looked at, the first chunk's good rows as a preview)."""
    joins = "\n".join(j for c in columns for j in c.joins)
    staged = [item for c in columns for s in c.sources for item in s.staged]
    # Fill rates' before flags, written with the row (see fill_rates): the objects whose rates are kept.
    flags = first_filled_sql(mapping, obj) if obj in FILL_RATE_OBJECTS else None
    staged += [f"{flags} AS _first_filled"] if flags else []
    con.execute(f'CREATE OR REPLACE TEMP TABLE _unify_stage AS SELECT {", ".join(staged)}, r._modstamp AS _modstamp '
                f'FROM "{raw_table}" r {joins} WHERE {inputs.among("r", "Id", keys)}')
    good_n = bad_n = 0
    reasons: Counter[str] = Counter()
    preview = None
    try:
        rows = con.execute("SELECT count(*) FROM _unify_stage").fetchall()[0][0]
        stats = _source_stats(con, columns) if rows else None
        items = []
        for c in columns:
            items.append(f'{c.value} AS "{c.name}"')
            if c.source:
                items.append(f'{c.source} AS "{c.name}__source"')
        items += ["_first_filled"] if flags else []
        select = (f"SELECT {', '.join(items)}, _problems, _modstamp, ?::TIMESTAMP AS _unified_at "
                  f"FROM (SELECT *, {problems_sql(obj, columns, rules)} AS _problems FROM _unify_stage "
                  f"WHERE rowid >= ? AND rowid < ?)")
        for start in range(0, rows, UNIFY_CHUNK):
            df = con.execute(select, [run.now, start, start + UNIFY_CHUNK]).df()
            # Only the (few) rejected rows are turned into Python lists.
            bad = df["_problems"].map(len, na_action="ignore").fillna(0).gt(0)
            good = df[~bad].drop(columns=["_problems"])
            # Fill rates are kept for the objects they are reported for; the others' writes count nothing.
            with (keeping_counts(con, mapping, obj, good[key]) if obj in FILL_RATE_OBJECTS
                  else contextlib.nullcontext()):
                upsert(con, table, good, [key])
            if len(good):
                quarantine.resolve(con, "unify", obj, good[key], run.now)
            if bad.any():
                rejected = df[bad].assign(_problems=df.loc[bad, "_problems"].map(_as_list))
                _quarantine(con, obj, raw_table, key, rejected, run)
                reasons.update(p[0]["reason"] for p in rejected["_problems"])
            good_n, bad_n = good_n + len(good), bad_n + int(bad.sum())
            if preview is None or preview.empty:
                preview = good.head(10).drop(columns=["_first_filled"], errors="ignore")
    finally:
        con.execute("DROP TABLE IF EXISTS _unify_stage")
    return good_n, bad_n, reasons, stats, rows, preview


def _source_stats(con, columns: list[ColumnSql]) -> dict | None:
    """Per source of ``_unify_stage``: how many values did not cast (with an example) and how many the
    value map does not know (with the most frequent), over all the changed rows at once."""
    counters = []
    for c in columns:
        for s in c.sources:
            if s.invalid:
                counters.append(f'count(*) FILTER (WHERE {s.invalid}) AS "invalid|{c.name}|{s.name}"')
                counters.append(f'any_value({s.cleaned}) FILTER (WHERE {s.invalid}) AS "example|{c.name}|{s.name}"')
            if s.unmapped:
                counters.append(f'count(*) FILTER (WHERE {s.unmapped}) AS "unmapped|{c.name}|{s.name}"')
                counters.append(f'mode({s.cleaned}) FILTER (WHERE {s.unmapped}) AS "top|{c.name}|{s.name}"')
    if not counters:
        return None
    return con.execute(f"SELECT {', '.join(counters)} FROM _unify_stage").df().iloc[0].to_dict()


def _set_aside_unkeyed(con, obj: str, raw_table: str, run: RunInfo, keys: str) -> int:
    """Move raw records that cannot be keyed (empty or malformed Id) into quarantine.

    Extract quarantines them before they land; these are rows an older version landed. Left in
    place, one of them would fail every tick at the unified table's key, and would stay there even
    after the record was deleted in the CRM. Their payload is kept in quarantine, so nothing is lost.
    Such a row never reaches the unified table, so it is always among the changed rows (``keys``):
    the raw table is read only when they hold one.
    """
    def unkeyed_sql(column: str) -> str:
        return f"{column} IS NULL OR NOT regexp_full_match({column}, '{ids.SHAPE_SQL}')"

    if not con.execute(f"SELECT count(*) FROM {keys} WHERE {unkeyed_sql('k')}").fetchall()[0][0]:
        return 0
    unkeyed = unkeyed_sql('"Id"')
    bad = con.execute(f'SELECT * EXCLUDE (_extracted_at, _run_id) FROM "{raw_table}" WHERE {unkeyed}').df()
    if bad.empty:
        return 0
    shown = bad["Id"].map(lambda v: "(no id)" if v is None or pd.isna(v) else (v if str(v).strip() else "(empty id)"))
    quarantine.put(con, pd.DataFrame({
        "stage": "unify",
        "object": obj,
        "record_id": shown.values,
        "reason": ["missing_id" if s.startswith("(") else "malformed_id" for s in shown],
        "detail": [ids.unkeyed_detail("Id", v) for v in bad["Id"]],
        "payload": [json.dumps({k: v for k, v in r.items() if v is not None and not (isinstance(v, float) and pd.isna(v))},
                               default=str) for r in bad.to_dict("records")],
        "record_modstamp": bad["_modstamp"].astype(str).values,
    }), run.run_id, run.now)
    con.execute(f'DELETE FROM "{raw_table}" WHERE {unkeyed}')
    return len(bad)


def _as_list(value) -> list[dict]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [dict(p) for p in value]


def _report_stats(result: StageResult, obj: str, m, stats: dict | None, rows: int) -> None:
    """Warnings ops can act on: values that did not cast, spellings the value maps do not know."""
    if not stats:
        return
    for label, n in stats.items():
        kind, column, source = label.split("|")
        if kind not in ("invalid", "unmapped") or not n:
            continue
        n = int(n)
        if kind == "invalid":
            spec = m.fields[column]
            what = "an email address" if spec.format == "email" else spec.type
            then = "the record was quarantined if nothing else filled it" if spec.on_invalid == "quarantine" \
                else "the next source was used"
            result.warnings.append(f"{obj}.{column}: {n} value(s) of {source} are not {what}, "
                                   f"e.g. {stats[f'example|{column}|{source}']!r}; {then}")
            result.counts[f"{obj}_{column}_invalid"] = result.counts.get(f"{obj}_{column}_invalid", 0) + n
        else:
            result.counts[f"{obj}_{column}_unmapped"] = result.counts.get(f"{obj}_{column}_unmapped", 0) + n
            vm = m.fields[column].values
            result.warnings.append(
                f"{obj}.{column}: {n} value(s) of {source} are not in the value map "
                f"{vm.map or vm.reference!r}, most often {stats[f'top|{column}|{source}']!r}; "
                + ("kept as typed" if vm.unmapped == "keep" else "the next source was used")
            )


def _quarantine(con, obj: str, raw_table: str, key: str, bad: pd.DataFrame, run: RunInfo) -> None:
    """Quarantine the rejected records with their raw payload (few rows: per-row Python is fine here)."""
    ids = pd.DataFrame({"Id": bad[key].astype(str).values})
    con.register("_q_ids", ids)
    try:
        raw = con.execute(
            f'SELECT r.* EXCLUDE (_extracted_at, _run_id) FROM "{raw_table}" r JOIN _q_ids USING ("Id")'
        ).df()
    finally:
        con.unregister("_q_ids")
    payload = {
        r["Id"]: json.dumps({k: v for k, v in r.items() if v is not None and not (isinstance(v, float) and pd.isna(v))},
                            default=str)
        for r in raw.to_dict("records")
    }
    modstamp = dict(zip(raw["Id"], raw["_modstamp"].astype(str)))
    problems = bad["_problems"].tolist()
    quarantine.put(con, pd.DataFrame({
        "stage": "unify",
        "object": obj,
        "record_id": bad[key].astype(str).values,
        "reason": [p[0]["reason"] for p in problems],
        "detail": ["; ".join(x["detail"] for x in p) for p in problems],
        "payload": [payload.get(i) for i in bad[key].astype(str)],
        "record_modstamp": [modstamp.get(i) for i in bad[key].astype(str)],
    }), run.run_id, run.now)

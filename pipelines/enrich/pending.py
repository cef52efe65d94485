"""Whether enrich has work this tick, in SQL, without loading the reference libraries.

``pipelines/enrich/enrich.py`` imports phonenumbers, tldextract (and requests under it), usaddress
and the matching normalisers: a tenth of a second a quiet tick has no use for. The asset asks
:func:`has_work` first and imports the engine only when a unified record is new, or changed in a
column enrichment reads (:mod:`pipelines.warehouse.inputs`); :func:`nothing_to_do` is what both
say when none is.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.matching.fields import PERSON_NAME
from pipelines.stage import StageResult
from pipelines.warehouse import inputs
from pipelines.warehouse.db import affected

# object -> (unified table, enriched table, key)
TABLES = {"lead": ("lead", "lead_enriched", "lead_id"), "account": ("account", "account_enriched", "account_id")}
# The unified columns enrichment reads, per object.
INPUTS = {
    "lead": ["lead_id", "email", "website", "company", "country", "state", "postal_code", "phone", "city",
             "latitude", "longitude", "industry", "industry__source", "employees", "employees__source",
             "revenue", "revenue__source"],
    "account": ["account_id", "website", "name", "country", "state", "postal_code", "phone", "industry",
                "industry__source", "employees", "revenue", "naics_code"],
}


# Columns read beside the inputs but not part of their hash: the lead's name, which only says whether its
# company is its own name (:func:`pipelines.matching.normalise.own_name`), and its street line, which
# only fills a state or ZIP code left empty (a whole US address typed on the line). Hashed, every lead
# enriched before would count as changed in what enrichment reads the next time anything of it changed.
READ_ALSO = {"lead": [*PERSON_NAME, "street"], "account": []}


def newer(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per object with any, a temp table of the unified records newer than their enriched row or
    without one (:func:`pipelines.warehouse.inputs.newer_keys`): one join of each unified table with
    its enriched table a tick, and what to keep and what to enrich is asked of those rows alone.
    :func:`pipelines.warehouse.inputs.forget` them once the stage is done."""
    found = {obj: inputs.newer_keys(con, f"_enrich_newer_{obj}", f'"{source}" s', target, key)
             for obj, (source, target, key) in TABLES.items()}
    return {obj: name for obj, name in found.items() if name}


def _where(con: duckdb.DuckDBPyConnection, obj: str, keys: str) -> tuple[str, str]:
    """(FROM ... WHERE ... over the unified rows ``s`` and enriched rows ``t``, the inputs' hash): the
    records to enrich among ``keys`` (:func:`newer`), new or changed in a column enrichment reads,
    quarantined ones aside."""
    source, target, key = TABLES[obj]
    hashed = inputs.inputs_hash(con, source, "s", INPUTS[obj])
    return (f'FROM "{source}" s LEFT JOIN "{target}" t USING ("{key}") '
            f'WHERE {inputs.among("s", key, keys)} AND {inputs.pending("t", key, "s", hashed)} '
            f'AND s."{key}" NOT IN (SELECT record_id FROM quarantine WHERE object = \'{obj}\' '
            f"AND resolved_at IS NULL AND stage = 'unify')"), hashed


def changed(con: duckdb.DuckDBPyConnection, obj: str, keys: str | None) -> pd.DataFrame:
    """The records to enrich among ``keys`` (:func:`newer`; None: there are none): their input
    columns, ``_modstamp`` and the hash of the inputs (``_inputs``)."""
    source = TABLES[obj][0]
    have = {r[0] for r in con.execute(f'DESCRIBE "{source}"').fetchall()}
    cols = ", ".join(f's."{c}"' for c in INPUTS[obj] + READ_ALSO[obj] if c in have)
    if keys is None:
        return con.execute(f'SELECT {cols}, s._modstamp, 0::UBIGINT AS _inputs FROM "{source}" s LIMIT 0').df()
    where, hashed = _where(con, obj, keys)
    return con.execute(f"SELECT {cols}, s._modstamp, {hashed} AS _inputs {where}").df()


def keep_unchanged(con: duckdb.DuckDBPyConnection, newer: dict[str, str]) -> dict[str, int]:
    """Per object, how many records newer than their enriched row only in columns enrichment does not
    read were marked current (:func:`pipelines.warehouse.inputs.keep_current`)."""
    return {obj: inputs.keep_current(con, target, key, f'"{source}" s',
                                     inputs.inputs_hash(con, source, "s", INPUTS[obj]), newer[obj])
            if obj in newer else 0
            for obj, (source, target, key) in TABLES.items()}


def withdraw_quarantined(con: duckdb.DuckDBPyConnection, target: str, key: str, obj: str) -> int:
    """Take records with an open quarantine item out of the enriched table (so out of routing)."""
    # Asked first: the DELETE scans the whole table (0.2 s at 600,000 leads), and most ticks there is none.
    held = (f"SELECT record_id FROM quarantine WHERE object = '{obj}' AND resolved_at IS NULL "
            f'AND record_id IN (SELECT "{key}" FROM "{target}")')
    if not con.execute(f"SELECT count(*) FROM ({held})").fetchall()[0][0]:
        return 0
    return affected(con, f'DELETE FROM "{target}" WHERE "{key}" IN ({held})')


def has_work(con: duckdb.DuckDBPyConnection, newer: dict[str, str]) -> bool:
    """Whether any lead or account is new or changed in a column enrichment reads (quarantined ones
    aside), among the records :func:`newer` found."""
    return any(con.execute(f"SELECT count(*) {_where(con, obj, keys)[0]}").fetchall()[0][0]
               for obj, keys in newer.items())


def nothing_to_do(con: duckdb.DuckDBPyConnection, withdrawn: dict[str, int] | None = None) -> StageResult:
    """Nothing new to enrich (and no reference data loaded); records quarantined since still leave routing
    (``withdrawn``: how many per object, when the caller took them out already)."""
    if withdrawn is None:
        withdrawn = {obj: withdraw_quarantined(con, target, key, obj) for obj, (_, target, key) in TABLES.items()}
    result = StageResult.nothing_to_do("enrich")
    result.counts = {f"{obj}s_held_in_quarantine": n for obj, n in withdrawn.items() if n}
    return result

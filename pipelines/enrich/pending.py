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

from pipelines.stage import StageResult
from pipelines.warehouse import inputs

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


def _where(con: duckdb.DuckDBPyConnection, obj: str) -> tuple[str, str]:
    """(FROM ... WHERE ... over the unified rows ``s`` and enriched rows ``t``, the inputs' hash): the
    records to enrich, new or changed in a column enrichment reads, quarantined ones aside."""
    source, target, key = TABLES[obj]
    hashed = inputs.inputs_hash(con, source, "s", INPUTS[obj])
    return (f'FROM "{source}" s LEFT JOIN "{target}" t USING ("{key}") '
            f'WHERE {inputs.pending("t", key, "s", hashed)} '
            f'AND s."{key}" NOT IN (SELECT record_id FROM quarantine WHERE object = \'{obj}\' '
            f"AND resolved_at IS NULL AND stage = 'unify')"), hashed


def changed(con: duckdb.DuckDBPyConnection, obj: str) -> pd.DataFrame:
    """The records to enrich: their input columns, ``_modstamp`` and the hash of the inputs (``_inputs``)."""
    source = TABLES[obj][0]
    have = {r[0] for r in con.execute(f'DESCRIBE "{source}"').fetchall()}
    cols = ", ".join(f's."{c}"' for c in INPUTS[obj] if c in have)
    where, hashed = _where(con, obj)
    return con.execute(f"SELECT {cols}, s._modstamp, {hashed} AS _inputs {where}").df()


def keep_unchanged(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per object, how many records newer than their enriched row only in columns enrichment does not
    read were marked current (:func:`pipelines.warehouse.inputs.keep_current`)."""
    return {obj: inputs.keep_current(con, target, key, f'"{source}" s',
                                     inputs.inputs_hash(con, source, "s", INPUTS[obj]))
            for obj, (source, target, key) in TABLES.items()}


def withdraw_quarantined(con: duckdb.DuckDBPyConnection, target: str, key: str, obj: str) -> int:
    """Take records with an open quarantine item out of the enriched table (so out of routing)."""
    rows = con.execute(
        f'DELETE FROM "{target}" WHERE "{key}" IN (SELECT record_id FROM quarantine '
        f"WHERE object = ? AND resolved_at IS NULL) RETURNING 1",
        [obj],
    ).fetchall()
    return len(rows)


def has_work(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any lead or account is new or changed in a column enrichment reads (quarantined ones aside);
    whether any is newer at all is asked first (:func:`pipelines.warehouse.inputs.newer`)."""
    def newer(obj: str) -> bool:
        source, target, key = TABLES[obj]
        return bool(con.execute(f'SELECT count(*) FROM "{source}" s LEFT JOIN "{target}" t USING ("{key}") '
                                f'WHERE {inputs.newer("t", key, "s")}').fetchall()[0][0])
    return any(newer(obj) and con.execute(f"SELECT count(*) {_where(con, obj)[0]}").fetchall()[0][0]
               for obj in TABLES)


def nothing_to_do(con: duckdb.DuckDBPyConnection) -> StageResult:
    """Nothing new to enrich (and no reference data loaded); records quarantined since still leave routing."""
    withdrawn = {obj: withdraw_quarantined(con, target, key, obj) for obj, (_, target, key) in TABLES.items()}
    result = StageResult.nothing_to_do("enrich")
    result.counts = {f"{obj}s_held_in_quarantine": n for obj, n in withdrawn.items() if n}
    return result

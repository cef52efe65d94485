"""Whether enrich has work this tick, in SQL, without loading the reference libraries.

``pipelines/enrich/enrich.py`` imports phonenumbers, tldextract (and requests under it), usaddress
and the matching normalisers: a tenth of a second a quiet tick has no use for. The asset asks :func:`has_work` first and imports the engine only when
a unified record is newer than its enriched version; :func:`nothing_to_do` is what both say when
none is.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.stage import StageResult

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


def _inputs(con: duckdb.DuckDBPyConnection, source: str, inputs: list[str]) -> tuple[list[str], str]:
    """The input columns the unified table has, and SQL (over it as ``s``) hashing them.

    A record changes in the CRM for many reasons enrichment does not read (a lead's owner, set by our
    own push; its status, as reps work it): those keep their enriched row, marked current, instead
    of being enriched again; the hash, stored with the row, tells them apart."""
    have = {r[0] for r in con.execute(f'DESCRIBE "{source}"').fetchall()}
    cols = [c for c in inputs if c in have]
    return cols, "hash(" + ", ".join(f's."{c}"' for c in cols) + ")"


def changed(con: duckdb.DuckDBPyConnection, source: str, target: str, key: str, inputs: list[str]) -> pd.DataFrame:
    """Rows new, or newer than their enriched version in a column enrichment reads, except those
    waiting in quarantine; with ``_modstamp`` and the hash of their inputs (``_inputs``)."""
    cols, hashed = _inputs(con, source, inputs)
    obj = "lead" if source == "lead" else "account"
    return con.execute(
        f'SELECT {", ".join(f"s.{chr(34)}{c}{chr(34)}" for c in cols)}, s._modstamp, {hashed} AS _inputs '
        f'FROM "{source}" s LEFT JOIN "{target}" t USING ("{key}") '
        f'WHERE (t."{key}" IS NULL OR (s._modstamp > t._modstamp AND t._inputs IS DISTINCT FROM {hashed})) '
        f'AND s."{key}" NOT IN (SELECT record_id FROM quarantine WHERE object = ? AND resolved_at IS NULL '
        f"AND stage = 'unify')",
        [obj],
    ).df()


def keep_unchanged(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records newer than their enriched row only in columns enrichment does not read: the row is
    marked current (one UPDATE per object), so this and later ticks do not enrich them again."""
    kept = {}
    for obj, (source, target, key) in TABLES.items():
        _, hashed = _inputs(con, source, INPUTS[obj])
        kept[obj] = len(con.execute(f"""
            UPDATE "{target}" SET _modstamp = s._modstamp FROM "{source}" s
            WHERE "{target}"."{key}" = s."{key}" AND s._modstamp > "{target}"._modstamp
              AND "{target}"._inputs = {hashed}
            RETURNING 1""").fetchall())
    return kept


def withdraw_quarantined(con: duckdb.DuckDBPyConnection, target: str, key: str, obj: str) -> int:
    """Take records with an open quarantine item out of the enriched table (so out of routing)."""
    rows = con.execute(
        f'DELETE FROM "{target}" WHERE "{key}" IN (SELECT record_id FROM quarantine '
        f"WHERE object = ? AND resolved_at IS NULL) RETURNING 1",
        [obj],
    ).fetchall()
    return len(rows)


def has_work(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any lead or account is new or changed in a column enrichment reads (quarantined ones aside)."""
    return any(len(changed(con, source, target, key, INPUTS[obj])) for obj, (source, target, key) in TABLES.items())


def nothing_to_do(con: duckdb.DuckDBPyConnection) -> StageResult:
    """Nothing new to enrich (and no reference data loaded); records quarantined since still leave routing."""
    withdrawn = {obj: withdraw_quarantined(con, target, key, obj) for obj, (_, target, key) in TABLES.items()}
    result = StageResult.nothing_to_do("enrich")
    result.counts = {f"{obj}s_held_in_quarantine": n for obj, n in withdrawn.items() if n}
    return result

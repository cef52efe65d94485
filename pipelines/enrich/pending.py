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


def changed(con: duckdb.DuckDBPyConnection, source: str, target: str, key: str, inputs: list[str]) -> pd.DataFrame:
    """Rows whose unified version is newer than the enriched one, except those waiting in quarantine."""
    have = {r[0] for r in con.execute(f'DESCRIBE "{source}"').fetchall()}
    cols = ", ".join(f's."{c}"' for c in inputs if c in have)
    obj = "lead" if source == "lead" else "account"
    return con.execute(
        f'SELECT {cols}, s._modstamp FROM "{source}" s LEFT JOIN "{target}" t USING ("{key}") '
        f'WHERE (t."{key}" IS NULL OR s._modstamp > t._modstamp) '
        f'AND s."{key}" NOT IN (SELECT record_id FROM quarantine WHERE object = ? AND resolved_at IS NULL '
        f"AND stage = 'unify')",
        [obj],
    ).df()


def withdraw_quarantined(con: duckdb.DuckDBPyConnection, target: str, key: str, obj: str) -> int:
    """Take records with an open quarantine item out of the enriched table (so out of routing)."""
    rows = con.execute(
        f'DELETE FROM "{target}" WHERE "{key}" IN (SELECT record_id FROM quarantine '
        f"WHERE object = ? AND resolved_at IS NULL) RETURNING 1",
        [obj],
    ).fetchall()
    return len(rows)


def has_work(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any lead or account has a unified version newer than its enriched one (quarantined ones aside)."""
    return any(len(changed(con, source, target, key, [key])) for source, target, key in TABLES.values())


def nothing_to_do(con: duckdb.DuckDBPyConnection) -> StageResult:
    """Nothing new to enrich (and no reference data loaded); records quarantined since still leave routing."""
    withdrawn = {obj: withdraw_quarantined(con, target, key, obj) for obj, (_, target, key) in TABLES.items()}
    result = StageResult.nothing_to_do("enrich")
    result.counts = {f"{obj}s_held_in_quarantine": n for obj, n in withdrawn.items() if n}
    return result

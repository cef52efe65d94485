"""Master: account -> account_match_key, account_duplicate, account_master.

The account side of matching is computed here, when accounts change, never per
tick: each changed account's match keys are stored, its duplicates are looked for
among all accounts with the same engine that matches leads (at a stricter
threshold, and only when the names agree), and the master is rebuilt:

- duplicate clusters are the connected components of the duplicate pairs, and each
  cluster's survivor is chosen by the configured precedence (``master.survivor`` in
  ``matching.yaml``: customer over prospect, most open opportunities, most complete,
  oldest...). Nothing is merged in the CRM;
- the hierarchy comes from ParentId chains (see :mod:`pipelines.matching.hierarchy`).

Keys and duplicate pairs are incremental (only changed accounts are normalised and
compared); clusters, survivors and the hierarchy are recomputed for all accounts
in vectorised form, because one changed ParentId can move a whole subtree.
"""

from __future__ import annotations

import time

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching.dedupe import clusters, duplicate_pairs
from pipelines.matching.hierarchy import build_hierarchy
from pipelines.matching.index import KeyTable
from pipelines.matching.keys import match_keys
from pipelines.matching.settings import MatchingSettings
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import ensure_columns, scalar, upsert
from pipelines.warehouse.schema import TABLES

MASTER_TABLES = ("account_match_key", "account_duplicate", "account_master")
ACCOUNT_FIELDS = {"company": "name", "website": "website", "phone": "phone", "street": "street", "city": "city",
                  "state": "state", "postal_code": "postal_code", "country": "country",
                  "latitude": "latitude", "longitude": "longitude"}


def ensure_tables(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """Add columns declared in the schema after a warehouse was created (columns are only added)."""
    for name in names:
        ensure_columns(con, name, TABLES[name].columns)


def _account_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("DESCRIBE account").fetchall()}


def _account_frame(con: duckdb.DuckDBPyConnection, where: str) -> pd.DataFrame:
    """Accounts to key, with the enrich stage's normalised name and website domain where its row is
    current (it computes them with the same :mod:`normalise` functions: no need twice). Its country
    is not reused: enrichment.yaml may file Puerto Rico under the US, which leads would not match."""
    have = _account_columns(con)
    items = [f'a."{col}" AS "{field}"' for field, col in ACCOUNT_FIELDS.items() if col in have]
    enriched = {r[0] for r in con.execute("DESCRIBE account_enriched").fetchall()}
    reuse = {"_name_norm": "name_norm", "_web_domain": "website_domain"}
    if set(reuse.values()) <= enriched:
        items += [f"e.{col} AS {alias}" for alias, col in reuse.items()]
        items.append("coalesce(e._modstamp >= a._modstamp, false) AS _enriched")
        join = "LEFT JOIN account_enriched e USING (account_id)"
    else:
        join = ""
    return con.execute(
        f"SELECT a.account_id, a._modstamp, {', '.join(items)} FROM account a "
        f"LEFT JOIN account_match_key k USING (account_id) {join} WHERE {where}"
    ).df()


KEY_CHUNK = 250_000  # accounts keyed per step: memory stays bounded on a full rebuild


def refresh_keys(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo) -> tuple[list, list]:
    """Recompute keys of new and changed accounts; drop keys of deleted ones. Returns (changed, removed) ids."""
    live = "NOT coalesce(a.is_deleted, false)"
    changed = _account_frame(con, f"{live} AND (k.account_id IS NULL OR a._modstamp > k._modstamp)")
    removed = [r[0] for r in con.execute(
        "SELECT k.account_id FROM account_match_key k LEFT JOIN account a USING (account_id) "
        "WHERE a.account_id IS NULL OR coalesce(a.is_deleted, false)").fetchall()]
    for start in range(0, len(changed), KEY_CHUNK):
        chunk = changed.iloc[start:start + KEY_CHUNK]
        keys = match_keys(chunk, default_country=settings.default_country, prefer="website")
        keys.insert(0, "account_id", chunk["account_id"].values)
        keys["_modstamp"] = chunk["_modstamp"].values
        keys["_keyed_at"] = run.now
        upsert(con, "account_match_key", keys, ["account_id"])
    if removed:
        con.execute("DELETE FROM account_match_key WHERE account_id IN (SELECT unnest(?))", [removed])
    return list(changed["account_id"]), removed


def find_duplicates(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, changed: list, removed: list,
                    run: RunInfo, *, full: bool) -> int:
    """Replace the duplicate pairs that involve changed or removed accounts; returns pairs found."""
    touched = pd.DataFrame({"account_id": list(changed) + list(removed)}, dtype=object)
    con.register("_touched", touched)
    try:
        if full:
            con.execute("DELETE FROM account_duplicate")
        else:
            con.execute("DELETE FROM account_duplicate WHERE account_id IN (SELECT account_id FROM _touched) "
                        "OR duplicate_id IN (SELECT account_id FROM _touched)")
        if not changed:
            return 0
        if full:
            left = KeyTable("account_match_key", "account_id")
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE _changed_keys AS SELECT * FROM account_match_key "
                        "WHERE account_id IN (SELECT account_id FROM _touched)")
            left = KeyTable("_changed_keys", "account_id")
        pairs = duplicate_pairs(con, settings, left, KeyTable("account_match_key", "account_id"),
                                corroborated_by=settings.master.corroborated_by)
    finally:
        con.unregister("_touched")
    if pairs.empty:
        return 0
    parents = con.execute("SELECT account_id, parent_id FROM account WHERE parent_id IS NOT NULL").df()
    pairs = _drop_parent_child(pairs, parents)
    edges = pd.DataFrame({
        "account_id": np.minimum(pairs["l_id"].astype(str), pairs["r_id"].astype(str)),
        "duplicate_id": np.maximum(pairs["l_id"].astype(str), pairs["r_id"].astype(str)),
        "confidence": pairs["confidence"].values, "reason": pairs["reason"].values,
    }).sort_values("confidence", ascending=False).drop_duplicates(["account_id", "duplicate_id"])
    edges["_found_at"] = run.now
    upsert(con, "account_duplicate", edges, ["account_id", "duplicate_id"])
    return len(edges)


def _drop_parent_child(pairs: pd.DataFrame, parents: pd.DataFrame) -> pd.DataFrame:
    """A CRM parent and its child are two entities by the CRM's own word, never duplicates."""
    if parents.empty:
        return pairs
    links = pd.concat([parents.set_axis(["l_id", "r_id"], axis=1), parents.set_axis(["r_id", "l_id"], axis=1)])
    marked = pairs.merge(links.drop_duplicates().assign(_family=True), on=["l_id", "r_id"], how="left")
    return pairs[marked["_family"].isna().to_numpy()]


_SURVIVOR_SQL = {
    "type": ("type_rank", "ASC", "account type"),
    "open_opportunities": ("open_opportunities", "DESC", "more open opportunities"),
    "most_complete": ("completeness", "DESC", "more complete"),
    "oldest": ("created_at", "ASC", "older"),
    "newest": ("created_at", "DESC", "newer"),
    "recent_activity": ("last_activity_at", "DESC", "more recent activity"),
    "top_of_hierarchy": ("depth", "ASC", "higher in the hierarchy"),
}


def _type_rank_sql(ranks: list[str]) -> tuple[str, list[str]]:
    return ("CASE a.type " + " ".join(f"WHEN ? THEN {i}" for i in range(len(ranks)))
            + f" ELSE {len(ranks)} END", list(ranks))


def build_master(con: duckdb.DuckDBPyConnection, settings: MatchingSettings | None, run: RunInfo) -> StageResult:
    settings = settings or MatchingSettings()
    result = StageResult("master")
    ensure_tables(con, MASTER_TABLES)
    full = not scalar(con, "SELECT count(*) FROM account_match_key")
    clock, cpu = time.perf_counter(), time.process_time()
    changed, removed = refresh_keys(con, settings, run)
    seconds = {"keys": time.perf_counter() - clock}
    cpu_seconds = {"keys": time.process_time() - cpu}
    master_rows = scalar(con, "SELECT count(*) FROM account_master")
    live = scalar(con, "SELECT count(*) FROM account WHERE NOT coalesce(is_deleted, false)")
    if not changed and not removed and master_rows == live:
        result.counts = {"accounts_changed": 0, "master_rows": int(master_rows)}
        return result
    clock, cpu = time.perf_counter(), time.process_time()
    pairs_found = find_duplicates(con, settings, changed, removed, run, full=full)
    seconds["duplicates"] = time.perf_counter() - clock
    cpu_seconds["duplicates"] = time.process_time() - cpu
    clock, cpu = time.perf_counter(), time.process_time()
    built, rows_written = _rebuild(con, settings, run)
    seconds["clusters_and_hierarchy"] = time.perf_counter() - clock
    cpu_seconds["clusters_and_hierarchy"] = time.process_time() - cpu
    result.details["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    result.details["cpu_seconds"] = {k: round(v, 2) for k, v in cpu_seconds.items()}
    issues = built[built["hierarchy_issue"].notna()]
    dup = built[built["cluster_size"] > 1]
    result.counts = {
        "accounts_changed": len(changed),
        "accounts_removed": len(removed),
        "master_rows": len(built),
        "master_rows_written": rows_written,
        "duplicate_pairs_found": pairs_found,
        "accounts_in_duplicate_clusters": len(dup),
        "master_entities": int(built["is_survivor"].sum()),
        "hierarchy_issues": len(issues),
        "max_depth": int(built["depth"].max()) if len(built) else 0,
    }
    if len(issues):
        result.warnings.append(f"{len(issues)} account(s) with hierarchy problems, e.g. "
                               f"{issues.iloc[0]['account_id']}: {issues.iloc[0]['hierarchy_issue']}")
    big = built["cluster_size"].max() if len(built) else 0
    if big > 20:
        result.warnings.append(f"a duplicate cluster has {big} accounts; check account_duplicate for a "
                               f"shared domain or phone that ties different companies together")
    result.preview = (dup if len(dup) else built).head(10)
    return result


def _rebuild(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo) -> tuple[pd.DataFrame, int]:
    """Clusters, survivors and hierarchy for every live account, written as the new account_master."""
    have = _account_columns(con)
    optional = {c: (f"a.{c}" if c in have else "NULL") for c in ("type", "created_at", "last_activity_at")}
    rank_sql, rank_params = _type_rank_sql(settings.tie_breakers.type_rank if "type" in have else [])
    accounts = con.execute(
        f"""
        SELECT a.account_id, a.parent_id, k.country, coalesce(k.completeness, 0) AS completeness,
               {rank_sql if "type" in have else "0"} AS type_rank, {optional["created_at"]} AS created_at,
               {optional["last_activity_at"]} AS last_activity_at,
               coalesce(o.open_opportunities, 0) AS open_opportunities
        FROM account a LEFT JOIN account_match_key k USING (account_id)
        LEFT JOIN (SELECT account_id, count(*) AS open_opportunities FROM opportunity
                   WHERE NOT coalesce(is_closed, false) AND NOT coalesce(is_deleted, false)
                   GROUP BY account_id) o USING (account_id)
        WHERE NOT coalesce(a.is_deleted, false)
        """,
        rank_params if "type" in have else [],
    ).df()
    edges = con.execute("SELECT account_id, duplicate_id FROM account_duplicate").df()
    tree = build_hierarchy(accounts[["account_id", "parent_id", "country"]])
    accounts["cluster"] = clusters(accounts["account_id"], edges)
    accounts["depth"] = tree["depth"].to_numpy()
    order = [_SURVIVOR_SQL[c] for c in settings.master.survivor]
    by = ["cluster"] + [col for col, _, _ in order] + ["account_id"]
    asc = [True] + [d == "ASC" for _, d, _ in order] + [True]
    ranked = accounts.sort_values(by, ascending=asc, na_position="last", kind="stable")
    first = ranked.drop_duplicates("cluster")
    survivor_of = pd.Series(first["account_id"].to_numpy(), index=first["cluster"].to_numpy())
    accounts["master_id"] = survivor_of.reindex(accounts["cluster"]).to_numpy()
    accounts["cluster_size"] = accounts.groupby("cluster")["account_id"].transform("size").astype(int)
    accounts["is_survivor"] = accounts["master_id"] == accounts["account_id"]
    accounts["survivor_reason"] = np.where(
        accounts["cluster_size"] > 1,
        "survivor by " + ", then ".join(words for _, _, words in order), None)
    out = tree.drop(columns=["depth"]).assign(depth=accounts["depth"].to_numpy())
    for col in ("master_id", "is_survivor", "cluster_size", "survivor_reason"):
        out[col] = accounts[col].to_numpy()
    return out, _write_changes(con, out, run)


def _write_changes(con: duckdb.DuckDBPyConnection, master: pd.DataFrame, run: RunInfo) -> int:
    """Write only the account_master rows that differ from what is stored (one changed account
    moves a handful of rows, not a million); returns how many rows were written or removed."""
    cols = ", ".join(f'"{c}"' for c in master.columns)
    con.register("_master", master)
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _master_changed AS "
                    f"SELECT {cols} FROM _master EXCEPT SELECT {cols} FROM account_master")
        removed = con.execute("DELETE FROM account_master WHERE account_id NOT IN (SELECT account_id FROM _master)"
                              ).fetchall()[0][0]
        con.execute("DELETE FROM account_master WHERE account_id IN (SELECT account_id FROM _master_changed)")
        con.execute("INSERT INTO account_master BY NAME SELECT *, ?::TIMESTAMP AS _built_at FROM _master_changed",
                    [run.now])
        written = con.execute("SELECT count(*) FROM _master_changed").fetchall()[0][0]
        con.execute("DROP TABLE _master_changed")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_master")
    return int(written) + int(removed)

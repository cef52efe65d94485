"""Master: account -> account_match_key, account_duplicate, matching_parameters, account_master.

The account side of matching is computed here, when accounts change, never per
tick: each changed account's match keys are stored, its duplicates are looked for
among all accounts with the same engine that matches leads (at a stricter
threshold, with the rules of :mod:`pipelines.matching.dedupe`), and the master is
rebuilt:

- the model is learned from the org's own accounts (:mod:`pipelines.matching.learn`)
  on a full rebuild, when none is stored, when the accounts grew or shrank by a
  tenth, or when ``matching.yaml`` changed; it is stored in ``matching_parameters``;
- duplicate clusters come from the duplicate pairs without chaining
  (:mod:`pipelines.matching.cluster`), and each cluster's survivor is chosen by the
  configured precedence (``master.survivor``: customer over prospect, most open
  opportunities, most complete, oldest...). Nothing is merged in the CRM;
- the hierarchy comes from ParentId chains (see :mod:`pipelines.matching.hierarchy`).

Keys are incremental (only changed accounts are normalised). Duplicate pairs and
clusters follow the accounts that *moved* (keys or CRM parent changed, came or
went): only those are compared again, and only the groups of linked accounts they
were in or joined are clustered again (:func:`cluster_scope`). Survivors and the
hierarchy are worked out again, in vectorised form, for the rows that can differ: those
at or below a moved account (one changed ParentId moves a whole subtree), those
clustered again, and every cluster of two or more (one opportunity can change a
survivor); a full build does every account.
"""

from __future__ import annotations

import time

import duckdb
import numpy as np
import pandas as pd

from pipelines.enrich import geo
from pipelines.matching import block_index
from pipelines.matching import parameters as model_store
from pipelines.matching.cluster import components
from pipelines.matching.dedupe import Deduper, entity_frequencies
from pipelines.matching.domains import build_account_domains
from pipelines.matching.hierarchy import build_hierarchy
from pipelines.matching.index import KeyTable, blocking_report, describe_blocking
from pipelines.matching.keys import KEY_COLUMNS, match_keys, registered
from pipelines.matching.link import blocking_rules
from pipelines.matching.versions import KEY_VERSION
from pipelines.matching.pending import LIVE_ACCOUNT, REMOVED_KEYS, STALE_KEYS
from pipelines.matching.settings import MatchingSettings
from pipelines.stage import RunInfo, StageResult
from pipelines.unify.value_maps import COUNTRY_KEYS
from pipelines.warehouse.db import ensure_columns, scalar, upsert
from pipelines.warehouse.schema import TABLES

MASTER_TABLES = ("account_match_key", "account_duplicate", "account_master", "matching_parameters")
KEYS = KeyTable("account_match_key", "account_id")
RELEARN_GROWTH = 0.1  # learn the model again when the accounts grew or shrank by this share
# Clusters are redone for the groups the moved accounts touch, unless those hold more than this share of
# the accounts: then all are redone (listing most of a million ids is no saving).
INCREMENTAL_SHARE = 0.2
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
    is not reused: enrichment.yaml may file Puerto Rico under the US, which leads would not match.
    Nor are they reused from a row the normalisers of another key version wrote (``_key_version``):
    after a change of version every account is keyed again, and one that did not change keeps the
    enriched row the old code wrote, also when a later edit enrichment does not read marks it current."""
    have = _account_columns(con)
    items = [f'a."{col}" AS "{field}"' for field, col in ACCOUNT_FIELDS.items() if col in have]
    enriched = {r[0] for r in con.execute("DESCRIBE account_enriched").fetchall()}
    reuse = {"_name_norm": "name_norm", "_web_domain": "website_domain"}
    if {*reuse.values(), "_key_version"} <= enriched:
        items += [f"e.{col} AS {alias}" for alias, col in reuse.items()]
        items.append(f"coalesce(e._modstamp >= a._modstamp AND e._key_version = {KEY_VERSION}, false) AS _enriched")
        join = "LEFT JOIN account_enriched e USING (account_id)"
    else:
        join = ""
    return con.execute(
        f"SELECT a.account_id, a._modstamp, {', '.join(items)} FROM account a "
        f"LEFT JOIN account_match_key k USING (account_id) {join} WHERE {where}"
    ).df()


KEY_CHUNK = 250_000  # accounts keyed per step: memory stays bounded on a full rebuild


def refresh_keys(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo) -> tuple[list, list, list]:
    """Recompute keys of new and changed accounts; drop keys of deleted ones.

    Returns (changed, removed, moved) ids. ``moved``: the accounts whose duplicate pairs can have
    changed, those whose keys moved, came or went, or whose CRM parent moved (a parent and its
    child are never duplicates). Most edits of a day (an owner, a head count, a rating) move
    neither, and their pairs and clusters stay as they are."""
    # The ids first, then their fields a chunk at a time: a first build's million accounts in one frame
    # held a gigabyte for the whole keying.
    ids = [r[0] for r in con.execute(
        f"SELECT a.account_id FROM account a LEFT JOIN account_match_key k USING (account_id) "
        f"WHERE {LIVE_ACCOUNT} AND ({STALE_KEYS})").fetchall()]
    removed = [r[0] for r in con.execute(REMOVED_KEYS).fetchall()]
    if ids:  # keys read country spellings: from the warehouse, where unify keeps them, not rebuilt here (0.8 s)
        COUNTRY_KEYS.prime(con)
    with block_index.rewriting(con, KEYS, ids + list(removed), KEY_COLUMNS) as moved:
        for start in range(0, len(ids), KEY_CHUNK):
            chunk = _chunk_frame(con, ids[start:start + KEY_CHUNK])
            keys = match_keys(chunk, default_country=settings.default_country, prefer="website").assign(
                _modstamp=chunk["_modstamp"].values, _key_version=KEY_VERSION, _keyed_at=run.now)
            keys.insert(0, "account_id", chunk["account_id"].values)
            upsert(con, "account_match_key", keys, ["account_id"])
        if removed:
            con.execute("DELETE FROM account_match_key WHERE account_id IN (SELECT unnest(?))", [removed])
    # The last build's parent (account_master, built by ensure_tables before the first build): a
    # dangling parent, which the hierarchy drops, counts as moved each time, never as unmoved.
    reparented = [r[0] for r in con.execute(
        "SELECT a.account_id FROM account a LEFT JOIN account_master m USING (account_id) "
        "WHERE a.account_id IN (SELECT unnest(?)) AND nullif(a.parent_id, '') IS DISTINCT FROM m.parent_id",
        [ids]).fetchall()] if ids else []
    return ids, removed, sorted(set(moved) | set(reparented))


def _chunk_frame(con: duckdb.DuckDBPyConnection, ids: list) -> pd.DataFrame:
    """:func:`_account_frame` of these accounts."""
    con.register("_key_chunk", pd.DataFrame({"account_id": pd.Series(ids, dtype=object)}))
    try:
        return _account_frame(con, "a.account_id IN (SELECT account_id FROM _key_chunk)")
    finally:
        con.unregister("_key_chunk")


def _deduper(con: duckdb.DuckDBPyConnection, settings: MatchingSettings) -> Deduper:
    """The account deduper: CRM accounts count overlapping names only with ``master.corroborated_by``,
    and a CRM parent and its child are two entities by the CRM's own word, never duplicates."""
    parents = con.execute("SELECT account_id, parent_id FROM account WHERE parent_id IS NOT NULL").df()
    # The ZIP codes' table the dedupe rules read a US state from, from the warehouse (enrichment keeps
    # it there) rather than built again from zipcodes in this process (a second of CPU).
    geo.ZIPS.prime(con)
    return Deduper(settings, corroborated_by=settings.master.corroborated_by,
                   confirmed_name_levels=settings.master.confirmed_name_levels,
                   apart=(parents["account_id"].to_numpy(), parents["parent_id"].to_numpy()))


def _fingerprint(settings: MatchingSettings) -> str:
    return model_store.settings_hash(settings.model, settings.dedupe)


def dedupe_model(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, deduper: Deduper, run: RunInfo, *,
                 full: bool, pairs: pd.DataFrame | None = None, progress=lambda m: None) -> tuple[object, bool]:
    """The stored dedupe model, or a new one learned from all accounts (and stored): (model, learned now)."""
    linker = deduper.linker
    stored = model_store.load(con, "dedupe", linker.comparisons, _fingerprint(settings))
    accounts = scalar(con, f"SELECT count(*) FROM {KEYS.relation}")
    if stored is not None and not full:
        seen = stored.stats.get("records_right", accounts) if stored.learned else accounts
        if abs(accounts - seen) <= RELEARN_GROWTH * max(seen, 1):
            linker.use(stored)
            return stored, False
    labels = _merge_labels(con, settings)
    params = linker.learn(con, KEYS, KEYS, pairs=pairs, labels=labels, label_tables=(MERGED_KEYS, KEYS),
                          progress=progress)
    model_store.save(con, params, _fingerprint(settings), run.now)
    return params, True


MERGED_KEYS = KeyTable("_merged_keys", "account_id")


def _merge_labels(con: duckdb.DuckDBPyConnection, settings: MatchingSettings) -> pd.DataFrame | None:
    """The CRM's own merge history as labelled duplicates: a deleted account with a MasterRecordId
    was merged into that account by a person. Registers the merged-away accounts' keys as
    ``_merged_keys`` (they have none stored: deleted accounts are never matched); returns the pairs
    (``l_id`` merged away, ``r_id`` survivor), or None when the CRM keeps no such history."""
    if "master_record_id" not in _account_columns(con):
        return None
    where = ("coalesce(a.is_deleted, false) AND a.master_record_id IS NOT NULL AND a.master_record_id <> a.account_id "
             "AND a.master_record_id IN (SELECT account_id FROM account_match_key)")
    merged = _account_frame(con, where)
    if merged.empty:
        return None
    keys = match_keys(merged, default_country=settings.default_country, prefer="website")
    keys.insert(0, "account_id", merged["account_id"].values)
    con.execute("DROP TABLE IF EXISTS _merged_keys")
    with registered(con, "_merged", keys):
        con.execute("CREATE TEMP TABLE _merged_keys AS SELECT * FROM _merged")
    return con.execute(f"SELECT a.account_id AS l_id, a.master_record_id AS r_id FROM account a WHERE {where}").df()


def find_duplicates(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, changed: list, removed: list,
                    run: RunInfo, *, full: bool, progress=lambda m: None,
                    deduper: Deduper | None = None) -> tuple[int, object, np.ndarray | None, bool]:
    """Replace the duplicate pairs that involve changed or removed accounts.

    Returns (pairs found, the model, on a full rebuild the clusters already resolved (a label per
    account of ``account_match_key`` in id order), and whether the model was learned now).
    """
    deduper = deduper or _deduper(con, settings)
    touched = pd.DataFrame({"account_id": list(changed) + list(removed)}, dtype=object)
    con.register("_touched", touched)
    try:
        if full:
            con.execute("DELETE FROM account_duplicate")
        else:
            con.execute("DELETE FROM account_duplicate WHERE account_id IN (SELECT account_id FROM _touched) "
                        "OR duplicate_id IN (SELECT account_id FROM _touched)")
        labels = None
        if full:
            pairs = deduper.linker.candidates(con, KEYS, KEYS)
            for line in describe_blocking(blocking_report(con, deduper.linker.rules, KEYS, KEYS, pairs)):
                progress(line)
            params, learned = dedupe_model(con, settings, deduper, run, full=True, pairs=pairs, progress=progress)
            ids, values = _key_values(con, deduper)
            ones = {k: pd.Series(dtype=float) for k in deduper.frequency_keys()}
            scored = deduper.rescore(deduper.score(con, KEYS, KEYS, pairs=pairs), ones, values)
            first = deduper.cluster(con, KEYS, ids, scored, ones, values)
            freq = entity_frequencies(values, first, deduper.frequency_keys())
            scored = deduper.rescore(scored, freq, values)
            labels = deduper.cluster(con, KEYS, ids, scored, freq, values)
        else:
            params, learned = dedupe_model(con, settings, deduper, run, full=False, progress=progress)
            if not changed:
                return 0, params, None, learned
            con.execute("CREATE OR REPLACE TEMP TABLE _changed_keys AS SELECT * FROM account_match_key "
                        "WHERE account_id IN (SELECT account_id FROM _touched)")
            master_entities(con)
            # The lead match keeps the accounts' side of its blocking; most dedupe rules hold the same rows.
            deduper.linker.borrow_from = blocking_rules(settings.blocking)
            try:
                scored = deduper.score(con, KeyTable("_changed_keys", "account_id"), KEYS, entities="_master_entities")
            finally:
                deduper.linker.borrow_from = None
    finally:
        con.unregister("_touched")
    pairs = scored[(scored["ruled_out"] == "") & (scored["score"] >= deduper.threshold_bits)]
    if pairs.empty:
        return 0, params, labels, learned
    pairs = deduper.linker.explain(pairs)
    edges = pd.DataFrame({
        "account_id": np.minimum(pairs["l_id"].astype(str), pairs["r_id"].astype(str)),
        "duplicate_id": np.maximum(pairs["l_id"].astype(str), pairs["r_id"].astype(str)),
        "confidence": pairs["confidence"].values, "score": pairs["score"].values, "reason": pairs["reason"].values,
    }).sort_values("confidence", ascending=False).drop_duplicates(["account_id", "duplicate_id"])
    edges["_found_at"] = run.now
    upsert(con, "account_duplicate", edges, ["account_id", "duplicate_id"])
    return len(edges), params, labels, learned


def _key_values(con: duckdb.DuckDBPyConnection, deduper: Deduper, where: str = "TRUE"
                ) -> tuple[np.ndarray, pd.DataFrame]:
    """Every keyed account id (sorted; those ``where`` holds) and the values frequencies are counted on."""
    values = con.execute(f"SELECT account_id, {', '.join(deduper.frequency_keys())} FROM account_match_key "
                         f"WHERE {where} ORDER BY account_id").df().set_index("account_id")
    return values.index.to_numpy(), values


def master_entities(con: duckdb.DuckDBPyConnection) -> None:
    """``_master_entities`` (id, entity): the companies of the last build, what frequencies count.

    A view, read right after it is made (before the master is written again): a frequency is counted
    for the few values a batch's pairs agree on, and a copy of the whole master cost 0.07-0.11 s of CPU
    at a million accounts in every tick that matched a lead."""
    con.execute("CREATE OR REPLACE TEMP VIEW _master_entities AS "
                "SELECT account_id AS id, master_id AS entity FROM account_master")


def resolve_clusters(con: duckdb.DuckDBPyConnection, settings: MatchingSettings,
                     deduper: Deduper | None = None, scope: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Keyed account ids and their clusters (a position), from the stored duplicate pairs; groups of
    three or more are resolved without chaining, with their missing pairs scored by the stored model.

    ``scope``: only these accounts (whole groups of linked accounts, see :func:`cluster_scope`)."""
    deduper = deduper or _deduper(con, settings)
    params = model_store.load(con, "dedupe", deduper.linker.comparisons)
    if params is not None:
        deduper.linker.use(params)
    inside = "TRUE"
    if scope is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE _cluster_scope AS SELECT unnest(?::VARCHAR[]) AS account_id",
                    [list(scope)])
        inside = "account_id IN (SELECT account_id FROM _cluster_scope)"
    try:
        ids, values = _key_values(con, deduper, inside)
        edges = con.execute("SELECT account_id, duplicate_id, coalesce(score, 10.0) AS score FROM account_duplicate "
                            f"WHERE {inside} AND {inside.replace('account_id IN', 'duplicate_id IN')}").df()
        frequencies = _stored_frequencies(con, deduper, inside)
    finally:
        con.execute("DROP TABLE IF EXISTS _cluster_scope")
    frame = pd.DataFrame({"l_id": edges["account_id"], "r_id": edges["duplicate_id"], "score": edges["score"],
                          "ruled_out": ""})
    return ids, deduper.cluster(con, KEYS, ids, frame, frequencies, values)


def linked_accounts(con: duckdb.DuckDBPyConnection, ids: list) -> list:
    """``ids`` and every account linked to one of them through stored duplicate pairs: the groups
    clustering resolves as one (connected components of ``account_duplicate``)."""
    if not len(ids):
        return []
    edges = con.execute("SELECT account_id, duplicate_id FROM account_duplicate").df()
    if edges.empty:
        return sorted(set(ids))
    codes, nodes = pd.factorize(np.concatenate([edges["account_id"].to_numpy(dtype=object),
                                                edges["duplicate_id"].to_numpy(dtype=object)]))
    group = components(len(nodes), codes[:len(edges)], codes[len(edges):])
    at = pd.Index(nodes).get_indexer(list(ids))
    hit = np.isin(group, group[at[at >= 0]])
    return sorted(set(ids) | set(nodes[hit].tolist()))


def cluster_scope(con: duckdb.DuckDBPyConnection, before: list, moved: list,
                  unplaced: list | None = None) -> list | None:
    """The accounts whose cluster can differ from the last build's, or None when that is most of them.

    ``before``: the groups of the moved accounts before their pairs were replaced
    (:func:`linked_accounts`). A group none of whose accounts moved keeps the same pairs (a pair
    changes only with one of its accounts), so its clusters stand. Redone: the groups the moved
    accounts are in now, and the groups they were in, which may have split into several, none of
    them holding a moved account. Keyed accounts the last build did not place (``unplaced``, found
    here when not given) are added."""
    unplaced = _unplaced(con) if unplaced is None else unplaced
    scope = linked_accounts(con, sorted(set(before) | set(moved) | set(unplaced)))
    keyed = scalar(con, "SELECT count(*) FROM account_match_key")
    return None if len(scope) > INCREMENTAL_SHARE * max(keyed, 1) else scope


def _unplaced(con: duckdb.DuckDBPyConnection) -> list:
    """Keyed accounts without a row in the last build (a build that stopped before writing it)."""
    return [r[0] for r in con.execute(
        "SELECT account_id FROM account_match_key WHERE account_id NOT IN (SELECT account_id FROM account_master)"
    ).fetchall()]


def _stored_clusters(con: duckdb.DuckDBPyConnection) -> pd.Series:
    """The last build's clusters of two or more (keyed account -> its survivor): what stands for the
    accounts outside the scope clustering redid (an account alone is its own cluster)."""
    kept = con.execute("SELECT account_id, master_id FROM account_master WHERE cluster_size > 1 "
                       "AND account_id IN (SELECT account_id FROM account_match_key)").df()
    return pd.Series(kept["master_id"].to_numpy(dtype=object), index=kept["account_id"].to_numpy(dtype=object))


def _stored_frequencies(con: duckdb.DuckDBPyConnection, deduper: Deduper, inside: str = "TRUE"
                        ) -> dict[str, pd.Series]:
    """Value -> companies of the last build, for each frequency key: for the values of accounts in a
    stored duplicate pair (``inside`` the scope clustered), the only ones clustering looks up (it
    scores missing pairs inside groups of them). Each account's company is joined once for every
    key, and the counts are made only over those values, where counting every value of a million
    accounts took seconds per build."""
    keys = deduper.frequency_keys()
    if not keys:
        return {}
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _freq_ends AS
                    SELECT {', '.join(keys)} FROM account_match_key WHERE {inside} AND account_id IN
                    (SELECT account_id FROM account_duplicate UNION SELECT duplicate_id FROM account_duplicate)""")
    try:
        return {key: con.execute(
            f"""SELECT {key} AS v, count(DISTINCT coalesce(m.master_id, k.account_id)) AS n
                FROM account_match_key k LEFT JOIN account_master m USING (account_id)
                WHERE k.{key} IN (SELECT {key} FROM _freq_ends) GROUP BY 1""").df().set_index("v")["n"]
            for key in keys}
    finally:
        con.execute("DROP TABLE IF EXISTS _freq_ends")


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


def build_master(con: duckdb.DuckDBPyConnection, settings: MatchingSettings | None, run: RunInfo, *,
                 incremental: bool = True) -> StageResult:
    """Bring the account master up to date with the accounts changed since the last build.

    ``incremental=False`` redoes the duplicates of every changed account and the clusters of every
    account, as builds did before they followed the moved accounts (the tests hold both equal)."""
    settings = settings or MatchingSettings()
    result = StageResult("master")
    ensure_tables(con, MASTER_TABLES)
    full = not scalar(con, "SELECT count(*) FROM account_match_key")
    clock, cpu = time.perf_counter(), time.process_time()
    changed, removed, moved = refresh_keys(con, settings, run)
    if not incremental:
        moved = sorted(set(changed) | set(removed))
    seconds = {"keys": time.perf_counter() - clock}
    cpu_seconds = {"keys": time.process_time() - cpu}
    # Every run: an edit of the ops domain list applies even when no account changed.
    domains, domain_warnings = build_account_domains(con, settings)
    result.warnings += domain_warnings
    master_rows = scalar(con, "SELECT count(*) FROM account_master")
    live = scalar(con, "SELECT count(*) FROM account WHERE NOT coalesce(is_deleted, false)")
    if not changed and not removed and master_rows == live:
        result.counts = {"accounts_changed": 0, "master_rows": int(master_rows), "account_domains": domains}
        result.rows = 0
        return result
    clock, cpu = time.perf_counter(), time.process_time()
    notes: list[str] = []
    deduper = _deduper(con, settings)  # built once: it indexes every CRM parent and child pair
    # The groups the moved accounts were in, before their pairs are replaced (they may split).
    before = linked_accounts(con, moved) if incremental and not full else None
    gone = set(removed)
    pairs_found, params, labels, learned = find_duplicates(
        con, settings, [i for i in moved if i not in gone], removed, run, full=full, progress=notes.append,
        deduper=deduper)
    seconds["duplicates"] = time.perf_counter() - clock
    cpu_seconds["duplicates"] = time.process_time() - cpu
    clock, cpu = time.perf_counter(), time.process_time()
    # A new model scores the missing pairs of every group otherwise: all clusters are redone.
    incremental_scope = before is not None and not learned
    unplaced = _unplaced(con) if incremental_scope else []  # read once: the scope and the rebuild's seeds
    scope = cluster_scope(con, before, moved, unplaced) if incremental_scope else None
    if labels is not None:
        cluster_of = _named(_key_values(con, deduper)[0], labels)
    elif scope is None:
        cluster_of = _named(*resolve_clusters(con, settings, deduper))
    else:
        stored = _stored_clusters(con)
        cluster_of = pd.concat([stored[~stored.index.isin(scope)],
                                _named(*resolve_clusters(con, settings, deduper, scope))])
    reclustered = scalar(con, "SELECT count(*) FROM account_match_key") if scope is None else len(scope)
    if scope is None:
        rows_written = _rebuild(con, settings, run, cluster_of)
    else:
        seeds = sorted(set(moved) | set(unplaced))
        rows_written = _rebuild(con, settings, run, cluster_of, seeds=seeds, reclustered=scope)
    seconds["clusters_and_hierarchy"] = time.perf_counter() - clock
    cpu_seconds["clusters_and_hierarchy"] = time.process_time() - cpu
    result.details["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    result.details["cpu_seconds"] = {k: round(v, 2) for k, v in cpu_seconds.items()}
    result.details["model"] = params.describe()
    for key, prefix in (("blocking", "blocking "), ("learning", "EM on ")):
        lines = [n for n in notes if n.startswith(prefix)]
        if lines:
            result.details[key] = lines
    summary = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE cluster_size > 1), count(*) FILTER (WHERE is_survivor),
               count(*) FILTER (WHERE hierarchy_issue IS NOT NULL), coalesce(max(depth), 0),
               coalesce(max(cluster_size), 0),
               arg_min(account_id || ': ' || hierarchy_issue, account_id) FILTER (WHERE hierarchy_issue IS NOT NULL)
        FROM account_master""").fetchall()[0]
    rows, in_clusters, entities, issues, depth, big, example = summary
    result.rows = len(changed) + len(removed)
    result.counts = {
        "accounts_changed": len(changed),
        "accounts_removed": len(removed),
        "accounts_moved": len(moved),  # keys or parent moved: their duplicates were looked for again
        "accounts_reclustered": int(reclustered),
        "master_rows": int(rows),
        "master_rows_written": rows_written,
        "duplicate_pairs_found": pairs_found,
        "accounts_in_duplicate_clusters": int(in_clusters),
        "master_entities": int(entities),
        "hierarchy_issues": int(issues),
        "max_depth": int(depth),
        "account_domains": domains,
    }
    if issues:
        result.warnings.append(f"{issues} account(s) with hierarchy problems, e.g. {example}")
    if big > 20:
        result.warnings.append(f"a duplicate cluster has {big} accounts; check account_duplicate for a "
                               f"shared domain or phone that ties different companies together")
    result.preview = con.execute(
        "SELECT * EXCLUDE (_built_at) FROM account_master ORDER BY cluster_size > 1 DESC, master_id, account_id "
        "LIMIT 10").df()
    return result


def _named(ids: np.ndarray, labels: np.ndarray) -> pd.Series:
    """Each id's cluster (``labels``: positions into ``ids``), named by one of its accounts."""
    return pd.Series(ids[labels], index=ids)


_HIERARCHY = ["parent_id", "ultimate_parent_id", "global_ultimate_id", "domestic_ultimate_id", "depth",
              "hierarchy_path", "hierarchy_issue"]


def _rebuild(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo, cluster_of: pd.Series, *,
             seeds: list | None = None, reclustered: list | None = None) -> int:
    """Survivors and hierarchy given each keyed account's cluster (named by one of its accounts),
    written to account_master; returns the rows written or removed.

    ``seeds``: the accounts that moved, came or went since the last build. Then only the rows that
    can differ are worked out: those at or below a seed in the hierarchy (a moved parent moves its
    subtree), those ``reclustered``, and every cluster of two or more (an opportunity opened or a
    type changed can change a survivor). None: every live account, and the hierarchy from scratch."""
    have = _account_columns(con)
    optional = {c: (f"a.{c}" if c in have else "NULL") for c in ("type", "created_at", "last_activity_at")}
    rank_sql, rank_params = _type_rank_sql(settings.tie_breakers.type_rank if "type" in have else [])
    live = "NOT coalesce(a.is_deleted, false)"
    below: list = []
    if seeds is not None:
        below = _at_or_below(con, seeds)
        sizes = cluster_of.map(cluster_of.value_counts())
        wanted = sorted(set(cluster_of.index[sizes.to_numpy() > 1]) | set(reclustered or []) | set(below))
        con.execute("CREATE OR REPLACE TEMP TABLE _rebuilt AS SELECT unnest(?::VARCHAR[]) AS account_id", [wanted])
        live += " AND a.account_id IN (SELECT account_id FROM _rebuilt)"
    try:
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
            WHERE {live} ORDER BY a.account_id
            """,
            rank_params if "type" in have else [],
        ).df()
        if seeds is None:
            tree = build_hierarchy(accounts[["account_id", "parent_id", "country"]])
        else:
            tree = _hierarchy_of(con, accounts["account_id"], below)
    finally:
        con.execute("DROP TABLE IF EXISTS _rebuilt")
    named = cluster_of.reindex(accounts["account_id"].to_numpy()).to_numpy()
    accounts["cluster"] = pd.factorize(np.where(pd.isna(named), accounts["account_id"].to_numpy(), named))[0]
    accounts["depth"] = tree["depth"].to_numpy()
    order = [_SURVIVOR_SQL[c] for c in settings.master.survivor]
    by = ["cluster"] + [col for col, _, _ in order] + ["account_id"]
    asc = [True] + [d == "ASC" for _, d, _ in order] + [True]
    accounts["cluster_size"] = np.bincount(accounts["cluster"].to_numpy())[accounts["cluster"].to_numpy()]
    # Only clusters of two or more have a survivor to choose (a few hundred thousand of a million
    # accounts); an account alone is its own.
    shared = accounts["cluster_size"].to_numpy() > 1
    ranked = accounts[shared].sort_values(by, ascending=asc, na_position="last", kind="stable")
    first = ranked.drop_duplicates("cluster")
    survivor_of = pd.Series(first["account_id"].to_numpy(), index=first["cluster"].to_numpy())
    master_id = accounts["account_id"].to_numpy(dtype=object).copy()
    master_id[shared] = survivor_of.reindex(accounts.loc[shared, "cluster"]).to_numpy()
    accounts["master_id"] = master_id
    accounts["is_survivor"] = accounts["master_id"] == accounts["account_id"]
    accounts["survivor_reason"] = np.where(
        accounts["cluster_size"] > 1,
        "survivor by " + ", then ".join(words for _, _, words in order), None)
    out = tree.drop(columns=["depth"]).assign(depth=accounts["depth"].to_numpy())
    for col in ("master_id", "is_survivor", "cluster_size", "survivor_reason"):
        out[col] = accounts[col].to_numpy()
    return _write_changes(con, out, run, whole=seeds is None)


def _at_or_below(con: duckdb.DuckDBPyConnection, seeds: list) -> list:
    """The live accounts among ``seeds`` and below them (children of children...): the accounts whose
    chain of parents passes through one that moved. A deleted seed's children count (their parent is
    gone), and a cycle ends (each account is taken once)."""
    return [r[0] for r in con.execute("""
        WITH RECURSIVE down(account_id) AS (
            SELECT unnest(?::VARCHAR[])
            UNION
            SELECT a.account_id FROM account a JOIN down d ON a.parent_id = d.account_id
            WHERE NOT coalesce(a.is_deleted, false))
        SELECT account_id FROM down WHERE account_id IN
            (SELECT account_id FROM account a WHERE NOT coalesce(a.is_deleted, false))
        ORDER BY 1""", [list(seeds)]).fetchall()]


def _hierarchy_of(con: duckdb.DuckDBPyConnection, ids: pd.Series, below: list) -> pd.DataFrame:
    """Hierarchy rows of ``ids`` (sorted): worked out afresh for those ``below`` a moved account (and any
    the last build has no row for), from their chains of parents up to the top; read from the last
    build for the rest (their chains did not move)."""
    stored = con.execute(f"SELECT account_id, {', '.join(_HIERARCHY)} FROM account_master "
                         "WHERE account_id IN (SELECT account_id FROM _rebuilt)").df()
    todo = set(below) | (set(ids) - set(stored["account_id"]))
    stored = stored[~stored["account_id"].isin(todo)]
    fresh = pd.DataFrame(columns=["account_id", *_HIERARCHY])
    if todo:
        chains = con.execute("""
            WITH RECURSIVE up(account_id) AS (
                SELECT unnest(?::VARCHAR[])
                UNION
                SELECT a.parent_id FROM account a JOIN up u ON a.account_id = u.account_id
                WHERE nullif(a.parent_id, '') IS NOT NULL AND NOT coalesce(a.is_deleted, false))
            SELECT a.account_id, a.parent_id, k.country FROM account a LEFT JOIN account_match_key k USING (account_id)
            WHERE a.account_id IN (SELECT account_id FROM up) AND NOT coalesce(a.is_deleted, false)
            ORDER BY a.account_id""", [sorted(todo)]).df()
        fresh = build_hierarchy(chains)
        fresh = fresh[fresh["account_id"].isin(todo)]
    rows = pd.concat([fresh, stored], ignore_index=True).set_index("account_id").reindex(ids.to_numpy())
    rows["depth"] = rows["depth"].astype(int)
    return rows.reset_index(names="account_id")


def _write_changes(con: duckdb.DuckDBPyConnection, master: pd.DataFrame, run: RunInfo, *, whole: bool = True) -> int:
    """Write only the account_master rows that differ from what is stored (one changed account
    moves a handful of rows, not a million); returns how many rows were written or removed.

    ``whole``: ``master`` holds every live account (others are removed); else only the rows worked
    out again, compared with their stored rows alone, and the rows of accounts gone are removed."""
    cols = ", ".join(f'"{c}"' for c in master.columns)
    con.register("_master", master)
    try:
        con.execute("BEGIN")
        stored = "account_master" if whole else "account_master WHERE account_id IN (SELECT account_id FROM _master)"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _master_changed AS "
                    f"SELECT {cols} FROM _master EXCEPT SELECT {cols} FROM {stored}")
        kept = ("(SELECT account_id FROM _master)" if whole else
                "(SELECT account_id FROM account WHERE NOT coalesce(is_deleted, false))")
        removed = con.execute(f"DELETE FROM account_master WHERE account_id NOT IN {kept}").fetchall()[0][0]
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

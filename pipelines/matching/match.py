"""Match: lead x account_master -> lead_match (lead-to-account, then lead-to-lead).

For each lead whose enriched version is newer than its match:

1. its match keys are computed (the accounts' are stored by the master stage);
2. the engine (:class:`pipelines.matching.link.Linker`: blocking, comparison levels,
   weighted classifier) scores it against the candidate accounts;
3. among accounts at or above ``link.threshold``, the best wins; accounts within
   ``tie_breakers.margin`` bits of the best tie and go by ``tie_breakers.order``
   (account type rank, top of the hierarchy, recent activity, oldest...);
4. the matched record is replaced by its cluster's survivor, then by the account at
   ``link.hierarchy_level`` (a lead of a business unit may route as its domestic or
   global ultimate), then by that account's survivor: ``lead_match.account_id`` is the
   account routing uses, ``matched_account_id`` the record that matched;
5. a lead that matches no account is linked to an existing lead of the same company
   (same domain or normalised name) owned by an active user, so it can follow that rep.
"""

from __future__ import annotations

import time
from datetime import timedelta

import duckdb
import pandas as pd

from pipelines.matching import parameters as model_store
from pipelines.matching.domains import alias_lead_domains, name_listed_domains
from pipelines.matching.index import KeyTable
from pipelines.matching.fields import PERSON_NAME
from pipelines.matching.keys import FIELDS, match_keys, registered
from pipelines.matching.link import Linker, best_per_left
from pipelines.matching.master import KEYS, ensure_tables, master_entities
from pipelines.matching.parameters import Parameters
from pipelines.matching.pending import lead_inputs, leads_pending, newer_leads
from pipelines.matching.settings import MatchingSettings
from pipelines.stage import RunInfo, StageResult
from pipelines.unify.value_maps import COUNTRY_KEYS
from pipelines.warehouse.db import scalar, upsert
from pipelines.warehouse.inputs import among, forget

_TODO = """
    SELECT l.lead_id, e._modstamp, {inputs} AS _inputs {columns}
    FROM lead_enriched e JOIN lead l USING (lead_id) LEFT JOIN lead_match m USING (lead_id)
    WHERE {among} AND ({pending})
"""
_ORDER_COLUMNS = {
    "type": ("type_rank", True),
    "top_of_hierarchy": ("depth", True),
    "recent_activity": ("last_activity_at", False),
    "open_opportunities": ("open_opportunities", False),
    "most_complete": ("completeness", False),
    "oldest": ("created_at", True),
    "newest": ("created_at", False),
}


def _lead_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The lead columns keys are computed from: :data:`FIELDS`, and the person's name beside its company."""
    have = {r[0] for r in con.execute("DESCRIBE lead").fetchall()}
    return [f for f in (*FIELDS, *PERSON_NAME) if f in have]


def accounts_to_match(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, now) -> KeyTable:
    """The account key table after the configured filters (deleted accounts never have keys)."""
    f = settings.filters
    if not f.skip_types and not f.skip_inactive_days:
        return KeyTable("account_match_key", "account_id")
    conditions, params = [], []
    if f.skip_types:
        conditions.append("coalesce(a.type, '') NOT IN (SELECT unnest(?))")
        params.append(list(f.skip_types))
    if f.skip_inactive_days:
        conditions.append("coalesce(a.last_activity_at, a.created_at) >= ?")
        params.append(now - timedelta(days=f.skip_inactive_days))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _match_accounts AS SELECT k.* FROM account_match_key k "
        f"JOIN account a USING (account_id) WHERE {' AND '.join(conditions)}",
        params,
    )
    return KeyTable("_match_accounts", "account_id")


LEARN_SAMPLE = 20_000  # leads the link model is learned from (all of them when fewer)
LINK_BATCH = 20_000  # leads linked at a time: a tick's memory is a batch's, however many leads it brings
RELEARN_GROWTH = 0.25  # learn again when the leads or accounts grew by this share


def _fingerprint(settings: MatchingSettings) -> str:
    return model_store.settings_hash(settings.model, settings.blocking, settings.link.lead_address)


def link_model(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo) -> Parameters:
    """The stored lead-to-account model, learned again (from up to :data:`LEARN_SAMPLE` of the org's
    leads against all accounts) when there is none, the settings changed, or the data grew."""
    linker = Linker(settings, keep_blocks=True)  # learned against the stored key table
    stored = model_store.load(con, "link", linker.comparisons, _fingerprint(settings))
    leads = int(scalar(con, "SELECT count(*) FROM lead_enriched"))
    accounts = int(scalar(con, "SELECT count(*) FROM account_match_key"))
    if stored is not None:
        seen_leads, seen_accounts = stored.stats.get("leads", 0), stored.stats.get("accounts", 0)
        grown = leads > (1 + RELEARN_GROWTH) * seen_leads or abs(accounts - seen_accounts) > RELEARN_GROWTH * seen_accounts
        if not grown:
            return stored
    columns = "".join(f', l."{c}"' for c in _lead_columns(con))
    sample = con.execute(f"SELECT l.lead_id {columns} FROM lead l JOIN lead_enriched USING (lead_id) "
                         f"ORDER BY hash(l.lead_id) LIMIT {LEARN_SAMPLE}").df()
    keys = match_keys(sample, default_country=settings.default_country, prefer="email")
    keys.insert(0, "lead_id", sample["lead_id"].values)
    with registered(con, "_learn_leads", keys):
        params = linker.learn(con, KeyTable("_learn_leads", "lead_id"), KeyTable("account_match_key", "account_id"))
    params.stats.update({"leads": leads, "accounts": accounts})
    model_store.save(con, params, _fingerprint(settings), run.now)
    return params


def link_leads(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, leads: pd.DataFrame,
               now, parameters: Parameters | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best account per lead (``leads`` has lead_id and the :data:`FIELDS` it knows), and candidate counts.

    ``parameters``: the model (default: the configured weights)."""
    keys = match_keys(leads, default_country=settings.default_country, prefer="email")
    keys.insert(0, "lead_id", leads["lead_id"].values)
    keys, accounts, listed = alias_lead_domains(con, keys, accounts_to_match(con, settings, now))
    with registered(con, "_lead_keys", keys):
        # The accounts' side of blocking is kept between ticks for the stored key table (not for a
        # filtered copy, which is made again each tick).
        linker = Linker(settings, parameters=parameters, keep_blocks=accounts.relation == KEYS.relation)
        entities = None
        if parameters is not None and ensure_master(con):
            master_entities(con)
            entities = "_master_entities"
        scored = linker.score_pairs(con, KeyTable("_lead_keys", "lead_id"), accounts, entities=entities)
    counts = scored.groupby("l_id").size().rename("candidates").reset_index()
    ok = scored[scored["confidence"] >= settings.link.threshold]
    if ok.empty:
        return linker.explain(ok), counts
    con.register("_ok", ok[["r_id"]].drop_duplicates())
    try:
        ranks = settings.tie_breakers.type_rank
        attrs = con.execute(
            f"""
            SELECT a.account_id AS r_id,
                   CASE a.type {' '.join(f'WHEN ? THEN {i}' for i in range(len(ranks)))} ELSE {len(ranks)} END
                       AS type_rank,
                   m.depth, a.last_activity_at, a.created_at, k.completeness,
                   (SELECT count(*) FROM opportunity o WHERE o.account_id = a.account_id
                      AND NOT coalesce(o.is_closed, false)) AS open_opportunities
            FROM _ok JOIN account a ON a.account_id = _ok.r_id
            LEFT JOIN account_master m USING (account_id) LEFT JOIN account_match_key k USING (account_id)
            """,
            ranks,
        ).df()
    finally:
        con.unregister("_ok")
    order = [_ORDER_COLUMNS[name] for name in settings.tie_breakers.order]
    best = best_per_left(ok.merge(attrs, on="r_id", how="left"), settings.link.threshold,
                         settings.tie_breakers.margin, order)
    return name_listed_domains(linker.explain(best), listed), counts


def ensure_master(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the account master holds rows (its clusters are the companies frequencies count)."""
    return bool(scalar(con, "SELECT count(*) FROM account_master"))


def match_leads(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo,
                newer: str | None = None) -> StageResult:
    """Match the new and changed leads. ``newer``: the leads :func:`newer_leads` found, when the
    caller asked already (and forgets them); otherwise they are found here."""
    if newer is None:
        ensure_tables(con, ("lead_match", "matching_parameters"))
        newer = newer_leads(con)
        try:
            return match_leads(con, settings, run, newer) if newer else _nothing_matched()
        finally:
            forget(con, newer)
    result = StageResult("match")
    ensure_tables(con, ("lead_match", "matching_parameters"))
    columns = _lead_columns(con)
    todo = con.execute(_TODO.format(columns="".join(f', l."{c}"' for c in columns), inputs=lead_inputs(con),
                                    pending=leads_pending(con), among=among("e", "lead_id", newer))).df()
    if todo.empty:
        return _nothing_matched()
    # Keys (of the learning sample and of every batch) read country spellings: from the warehouse, where
    # unify keeps them, not rebuilt in this process (0.8 s).
    COUNTRY_KEYS.prime(con)
    clock = time.perf_counter()
    params = link_model(con, settings, run)
    learned = time.perf_counter() - clock
    # In batches: a first tick or a backfill brings hundreds of thousands of leads at once, and the
    # candidate pairs and records of them all would be held together (15 GiB for 600,000 leads
    # against 1,000,000 accounts); each lead's best account depends on its own pairs only.
    parts = [link_leads(con, settings, todo.iloc[start:start + LINK_BATCH], run.now, params)
             for start in range(0, len(todo), LINK_BATCH)]
    best = pd.concat([b for b, _ in parts if len(b)] or [parts[0][0]], ignore_index=True)
    counts = pd.concat([c for _, c in parts if len(c)] or [parts[0][1]], ignore_index=True)
    result.details["seconds"] = {"model": round(learned, 2), "link": round(time.perf_counter() - clock - learned, 2)}
    result.details["model"] = params.describe()
    best = best.rename(columns={"l_id": "lead_id", "r_id": "matched_account_id"})
    frame = todo[["lead_id", "_modstamp", "_inputs"]].merge(
        best[["lead_id", "matched_account_id", "confidence", "reason", "score", "evidence"]], on="lead_id", how="left"
    ).merge(counts.rename(columns={"l_id": "lead_id"}), on="lead_id", how="left")
    frame["candidates"] = frame["candidates"].fillna(0).astype(int)
    con.register("_matched", frame)
    try:
        df = con.execute(_FINISH, [settings.link.hierarchy_level, bool(settings.lead_to_lead.enabled),
                                   "domain" in settings.lead_to_lead.by, "name" in settings.lead_to_lead.by,
                                   run.now]).df()
    finally:
        con.unregister("_matched")
    upsert(con, "lead_match", df, ["lead_id"])
    result.rows = len(todo)
    result.counts = {
        "leads_matched": len(df),
        "to_account": int(df["account_id"].notna().sum()),
        "to_lead_only": int((df["method"] == "lead").sum()),
        "unmatched": int((df["method"] == "none").sum()),
        "rolled_up_in_hierarchy": int((df["account_id"].notna() & (df["account_id"] != df["matched_account_id"])).sum()),
        "accounts_in_master": int(scalar(con, "SELECT count(*) FROM account_match_key")),
    }
    result.preview = df[["lead_id", "account_id", "confidence", "reason", "matched_lead_id"]].head(10)
    return result


def _nothing_matched() -> StageResult:
    result = StageResult("match")
    result.counts = {"leads_matched": 0}
    result.rows = 0
    return result


# Survivor of the matched record -> account at the hierarchy level -> that account's survivor;
# then lead-to-lead for leads without an account.
_FINISH = """
WITH params AS (SELECT $1::VARCHAR AS level),
rolled AS (
    SELECT t.*, m1.master_id AS matched_master_id,
           CASE (SELECT level FROM params)
               WHEN 'parent' THEN coalesce(ms.parent_id, m1.master_id)
               WHEN 'domestic_ultimate' THEN coalesce(ms.domestic_ultimate_id, m1.master_id)
               WHEN 'global_ultimate' THEN coalesce(ms.global_ultimate_id, m1.master_id)
               ELSE m1.master_id END AS level_account_id
    FROM _matched t
    LEFT JOIN account_master m1 ON m1.account_id = t.matched_account_id
    LEFT JOIN account_master ms ON ms.account_id = m1.master_id
),
routed AS (
    SELECT r.*, coalesce(m2.master_id, r.level_account_id, r.matched_account_id) AS route_account_id
    FROM rolled r LEFT JOIN account_master m2 ON m2.account_id = r.level_account_id
),
mine AS (SELECT e.lead_id, e.domain, e.company_norm FROM lead_enriched e WHERE e.lead_id IN
         (SELECT lead_id FROM routed WHERE route_account_id IS NULL)),
-- Two equi-joins, not one join on "same domain OR same name": DuckDB cannot hash an OR, and compared
-- every lead without an account with every lead (1,800 x 610,000 pairs, seconds, at a million accounts).
same AS (
    SELECT t.lead_id, t.domain, pe.lead_id AS peer_id, pe.domain AS peer_domain
    FROM mine t JOIN lead_enriched pe ON pe.domain = t.domain WHERE $3
    UNION
    SELECT t.lead_id, t.domain, pe.lead_id, pe.domain
    FROM mine t JOIN lead_enriched pe ON pe.company_norm = t.company_norm WHERE $4
),
peers AS (
    SELECT t.lead_id, p.lead_id AS matched_lead_id, p.owner_id AS matched_lead_owner_id,
           CASE WHEN t.domain IS NOT NULL AND t.peer_domain = t.domain THEN 'domain' ELSE 'name' END AS peer_by
    FROM same t
    JOIN lead p ON p.lead_id = t.peer_id AND p.lead_id <> t.lead_id
    JOIN crm_user u ON u.user_id = p.owner_id AND u.is_active
    WHERE $2
    QUALIFY row_number() OVER (PARTITION BY t.lead_id
                               ORDER BY (peer_by = 'domain') DESC, p.created_at DESC, p.lead_id) = 1
)
SELECT r.lead_id,
       r.route_account_id AS account_id,
       r.route_account_id AS master_id,
       r.matched_account_id,
       r.confidence,
       CASE WHEN r.route_account_id IS NOT NULL THEN r.reason
            WHEN p.matched_lead_id IS NOT NULL THEN
                 'no account; same company ' || CASE p.peer_by WHEN 'domain' THEN 'domain' ELSE 'name' END
                 || ' as existing lead ' || p.matched_lead_id
            ELSE 'no account or lead of this company found' END AS reason,
       CASE WHEN r.route_account_id IS NULL THEN p.matched_lead_id END AS matched_lead_id,
       CASE WHEN r.route_account_id IS NULL THEN p.matched_lead_owner_id END AS matched_lead_owner_id,
       CASE WHEN r.route_account_id IS NOT NULL THEN 'account'
            WHEN p.matched_lead_id IS NOT NULL THEN 'lead' ELSE 'none' END AS method,
       CASE WHEN r.route_account_id IS NOT NULL THEN (SELECT level FROM params) END AS hierarchy_level,
       r.score, r.evidence, r.candidates,
       r._modstamp, $5::TIMESTAMP AS _matched_at, r._inputs
FROM routed r LEFT JOIN peers p USING (lead_id)
"""

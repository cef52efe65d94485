"""Match: lead_enriched x account_master -> lead_match (lead-to-account, then lead-to-lead).

The first, exact matcher: a lead matches an account when its company domain (work
email, else website; never a free-mail provider) equals the account's website
domain, or its normalised company name equals the account's. Ties go by the
account type ranking in ``routing_rules/matching.yaml``, then to the oldest
account. A lead that matches no account is linked to an existing lead of the same
company (same domain or normalised name) owned by a user, so it can follow that
lead's owner.

The matching engine (issue 4) replaces the scoring behind :func:`match_leads`
without changing the ``lead_match`` contract.
"""

from __future__ import annotations

import duckdb

from pipelines.matching.settings import MatchingSettings
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import upsert

_TODO = """
    SELECT e.lead_id, e.domain, e.company_norm, e._modstamp
    FROM lead_enriched e JOIN lead l USING (lead_id) LEFT JOIN lead_match m USING (lead_id)
    WHERE (m.lead_id IS NULL OR e._modstamp > m._modstamp)
"""


def match_leads(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, run: RunInfo) -> StageResult:
    result = StageResult("match")
    ranks = settings.tie_breakers.type_rank
    rank_sql = "CASE a.type " + " ".join(f"WHEN ? THEN {i}" for i in range(len(ranks))) + f" ELSE {len(ranks)} END"
    df = con.execute(
        f"""
        WITH todo AS ({_TODO}),
        accounts AS (
            SELECT a.account_id, x.website_domain, x.name_norm, m.master_id, a.created_at,
                   {rank_sql} AS type_rank
            FROM account a JOIN account_enriched x USING (account_id)
            JOIN account_master m USING (account_id)
            WHERE NOT coalesce(a.is_deleted, false)
        ),
        candidates AS (
            SELECT t.lead_id, a.account_id, a.master_id, a.type_rank, a.created_at,
                   (t.domain IS NOT NULL AND t.domain = a.website_domain) AS by_domain,
                   (t.company_norm IS NOT NULL AND t.company_norm = a.name_norm) AS by_name
            FROM todo t JOIN accounts a
              ON (t.domain IS NOT NULL AND t.domain = a.website_domain)
              OR (t.company_norm IS NOT NULL AND t.company_norm = a.name_norm)
        ),
        best AS (
            SELECT * FROM candidates
            QUALIFY row_number() OVER (
                PARTITION BY lead_id
                ORDER BY (by_domain AND by_name) DESC, by_domain DESC, type_rank, created_at, account_id
            ) = 1
        ),
        peers AS (  -- lead-to-lead: existing leads of the same company owned by a user
            SELECT t.lead_id, p.lead_id AS matched_lead_id, p.owner_id AS matched_lead_owner_id
            FROM todo t
            JOIN lead_enriched pe ON pe.lead_id <> t.lead_id
              AND ((t.domain IS NOT NULL AND pe.domain = t.domain)
                   OR (t.company_norm IS NOT NULL AND pe.company_norm = t.company_norm))
            JOIN lead p ON p.lead_id = pe.lead_id
            JOIN crm_user u ON u.user_id = p.owner_id AND u.is_active
            QUALIFY row_number() OVER (PARTITION BY t.lead_id ORDER BY p.created_at DESC, p.lead_id) = 1
        )
        SELECT t.lead_id, b.account_id, b.master_id,
               CASE WHEN b.by_domain AND b.by_name THEN 0.99 WHEN b.by_domain THEN 0.95
                    WHEN b.by_name THEN 0.9 END AS confidence,
               CASE WHEN b.by_domain AND b.by_name THEN 'domain and company name agree'
                    WHEN b.by_domain THEN 'company domain equals account website domain'
                    WHEN b.by_name THEN 'normalised company name equals account name'
                    WHEN p.matched_lead_id IS NOT NULL THEN 'no account; same company as an existing lead'
                    ELSE 'no account or lead of this company found' END AS reason,
               CASE WHEN b.account_id IS NULL THEN p.matched_lead_id END AS matched_lead_id,
               CASE WHEN b.account_id IS NULL THEN p.matched_lead_owner_id END AS matched_lead_owner_id,
               t._modstamp AS _modstamp, ?::TIMESTAMP AS _matched_at
        FROM todo t LEFT JOIN best b USING (lead_id) LEFT JOIN peers p USING (lead_id)
        """,
        [*ranks, run.now],
    ).df()
    upsert(con, "lead_match", df, ["lead_id"])
    result.counts = {
        "leads_matched": len(df),
        "to_account": int(df["account_id"].notna().sum()),
        "to_lead_only": int((df["account_id"].isna() & df["matched_lead_id"].notna()).sum()),
        "unmatched": int((df["account_id"].isna() & df["matched_lead_id"].isna()).sum()),
    }
    result.preview = df.head(10)
    return result

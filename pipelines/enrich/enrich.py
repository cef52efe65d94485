"""Enrich: lead -> lead_enriched, account -> account_enriched.

Adds what matching and routing compare: registered domains (never a free-mail
provider's), normalised company names, ISO country and subdivision codes. All
reference data ships in Python packages; nothing is fetched at run time.

Incremental by version, like unify: only rows whose unified version is newer than
the enriched one are recomputed.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.matching import normalise
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import upsert


def _changed(con: duckdb.DuckDBPyConnection, source: str, target: str, key: str, columns: str) -> pd.DataFrame:
    return con.execute(
        f'SELECT {columns}, s._modstamp FROM "{source}" s LEFT JOIN "{target}" t USING ("{key}") '
        f"WHERE t.\"{key}\" IS NULL OR s._modstamp > t._modstamp"
    ).df()


def enrich_leads(df: pd.DataFrame) -> pd.DataFrame:
    """Derived fields for a batch of unified leads (pure: no warehouse access)."""
    out = pd.DataFrame({"lead_id": df["lead_id"]})
    out["email_domain"] = normalise.registered_domain(df["email"])
    out["website_domain"] = normalise.registered_domain(df["website"])
    free_email = normalise.is_free_mail(out["email_domain"])
    free_web = normalise.is_free_mail(out["website_domain"])
    out["is_free_mail"] = free_email
    work_email = out["email_domain"].where(~free_email)
    out["domain"] = work_email.fillna(out["website_domain"].where(~free_web))
    out["company_norm"] = normalise.company_name(df["company"])
    out["country_code"] = normalise.country_code(df["country"])
    out["state_code"] = normalise.state_code(out["country_code"], df["state"])
    out["postal_code_norm"] = df["postal_code"].astype("string").str.strip().str.upper().astype(object)
    out["_modstamp"] = df["_modstamp"].values
    return out


def enrich_accounts(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"account_id": df["account_id"]})
    domain = normalise.registered_domain(df["website"])
    out["website_domain"] = domain.where(~normalise.is_free_mail(domain))
    out["name_norm"] = normalise.company_name(df["name"])
    out["country_code"] = normalise.country_code(df["country"])
    out["state_code"] = normalise.state_code(out["country_code"], df["state"])
    out["_modstamp"] = df["_modstamp"].values
    return out


def enrich(con: duckdb.DuckDBPyConnection, run: RunInfo) -> StageResult:
    result = StageResult("enrich")
    leads = _changed(con, "lead", "lead_enriched", "lead_id",
                     "s.lead_id, s.email, s.website, s.company, s.country, s.state, s.postal_code")
    enriched = enrich_leads(leads)
    enriched["_enriched_at"] = run.now
    upsert(con, "lead_enriched", enriched, ["lead_id"])
    accounts = _changed(con, "account", "account_enriched", "account_id",
                        "s.account_id, s.website, s.name, s.country, s.state")
    acc = enrich_accounts(accounts)
    acc["_enriched_at"] = run.now
    upsert(con, "account_enriched", acc, ["account_id"])
    result.counts = {"leads_enriched": len(enriched), "accounts_enriched": len(acc)}
    if len(enriched):
        result.counts["leads_with_domain"] = int(enriched["domain"].notna().sum())
        result.counts["leads_free_mail"] = int(enriched["is_free_mail"].sum())
        result.counts["leads_with_country"] = int(enriched["country_code"].notna().sum())
        result.preview = enriched.head(10)
    return result

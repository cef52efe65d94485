"""Accounts with several domains: the ``account_domain`` table, and leads from any of them matched exactly.

The master stage gathers every domain of an account besides its ``Website`` into
``account_domain`` (account_id, domain, source) from two places, both optional
(``matching.yaml`` ``domains:``):

- a CRM field, e.g. a multi-value custom field mapped as ``domains`` in ``fields.yaml``
  (values separated by ``;``, ``,`` or spaces; URLs and emails give their registered domain);
- the list ops keep in the rules folder (:mod:`pipelines.matching.domain_list`).

Matching then reads a lead whose domain is listed for an account as if it wrote that
account's own domain (its website's, or its first listed when it has no website): the
domain blocking rule proposes the account and the domain comparison agrees exactly,
with the engine, weights and model unchanged. The lead keeps its own domain everywhere
else (``lead.domain``, its domain's country, lead-to-lead), and the match reason names
the domain and where it is listed: "same company domain (example.de, listed for
001...: routing_rules/account_domains.csv line 3)". A domain listed for accounts whose
own domains differ is ambiguous and left as it is.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.matching import normalise
from pipelines.matching.index import KeyTable
from pipelines.matching.settings import MatchingSettings
from pipelines.warehouse.db import upsert
from pipelines.warehouse.schema import TABLES

EXACT_WORDS = "same company domain"


def build_account_domains(con: duckdb.DuckDBPyConnection, settings: MatchingSettings) -> tuple[int, list[str]]:
    """Rebuild ``account_domain`` from the CRM field and the ops list; return (rows, warnings)."""
    con.execute(TABLES["account_domain"].ddl())
    have = {r[0] for r in con.execute("DESCRIBE account").fetchall()}
    live = "NOT coalesce(is_deleted, false)" if "is_deleted" in have else "TRUE"
    parts = []
    field = settings.domains.crm_field
    if field and field in have:
        crm = con.execute(f'SELECT account_id, "{field}" AS value FROM account WHERE {live} AND "{field}" IS NOT NULL').df()
        cells = crm.assign(value=crm["value"].astype(str).str.split(r"[;,\s]+")).explode("value")
        cells = cells[cells["value"].astype(str).str.strip() != ""]
        domains = normalise.registered_domain(cells["value"])
        ok = domains.notna() & ~normalise.is_free_mail(domains.fillna(""))
        parts.append(pd.DataFrame({"account_id": cells["account_id"][ok].to_numpy(), "domain": domains[ok].to_numpy(),
                                   "source": f"CRM field {field}"}))
    warnings: list[str] = []
    if settings.listed_domains:
        listed = pd.DataFrame(settings.listed_domains, columns=["account_id", "domain", "source"])
        known = set(con.execute(f"SELECT account_id FROM account WHERE {live} AND account_id IN "
                                "(SELECT unnest(?))", [list(listed["account_id"].unique())]).df()["account_id"])
        unknown = listed[~listed["account_id"].isin(known)]
        if len(unknown):
            warnings.append(f"{len(unknown)} listed domain(s) name an account the CRM does not have (or deleted), "
                            f"ignored: e.g. {unknown.iloc[0]['source']}: {unknown.iloc[0]['account_id']}")
        parts.append(listed[listed["account_id"].isin(known)])
    con.execute("DELETE FROM account_domain")
    rows = pd.concat(parts, ignore_index=True).drop_duplicates(["account_id", "domain"]) if parts else pd.DataFrame()
    if len(rows):
        upsert(con, "account_domain", rows[["account_id", "domain", "source"]], ["account_id", "domain"])
    return len(rows), warnings


def alias_lead_domains(con: duckdb.DuckDBPyConnection, keys: pd.DataFrame, accounts: KeyTable
                       ) -> tuple[pd.DataFrame, KeyTable, pd.DataFrame]:
    """Leads' keys with each listed domain read as its account's own; the account keys to match against
    (accounts with no website take their first listed domain); and per aliased lead
    (``lead_id``, ``listed_domain``, ``listed_for``, ``source``) for the match reason."""
    none = pd.DataFrame(columns=["lead_id", "listed_domain", "listed_for", "source"])
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "account_domain" not in have or keys.empty or keys["domain"].isna().all():
        return keys, accounts, none
    con.register("_alias_leads", keys[["lead_id", "domain"]].dropna())
    try:
        canon = con.execute(f"""
            WITH listed AS (SELECT d.account_id, d.domain, d.source, k.domain AS own
                            FROM account_domain d JOIN {accounts.relation} k ON k.account_id = d.account_id),
            firsts AS (SELECT account_id, min(domain) AS first FROM listed GROUP BY 1),
            canon AS (SELECT l.domain, l.source, l.account_id, coalesce(l.own, f.first) AS canonical
                      FROM listed l JOIN firsts f USING (account_id))
            SELECT a.lead_id, c.domain AS listed_domain, min(c.canonical) AS canonical,
                   min(c.account_id) AS listed_for, min(c.source) AS source
            FROM _alias_leads a JOIN canon c ON c.domain = a.domain
            GROUP BY ALL HAVING count(DISTINCT c.canonical) = 1 AND min(c.canonical) <> c.domain
        """).df()
        no_website = int(con.execute(f"""SELECT count(*) FROM {accounts.relation} k
            WHERE k.domain IS NULL AND k.account_id IN (SELECT account_id FROM account_domain)""").fetchall()[0][0])
    finally:
        con.unregister("_alias_leads")
    if canon.empty:
        return keys, accounts, none
    keys = keys.copy()
    rows = keys["lead_id"].isin(canon["lead_id"]).to_numpy()
    canonical = keys.loc[rows, "lead_id"].map(canon.set_index("lead_id")["canonical"])
    keys.loc[rows, "domain"] = canonical.to_numpy()
    keys.loc[rows, "domain_label"] = normalise.domain_label(canonical).to_numpy()
    if no_website:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _match_accounts_domains AS
            SELECT k.* REPLACE (coalesce(k.domain, f.first) AS domain,
                                coalesce(k.domain_label, split_part(f.first, '.', 1)) AS domain_label)
            FROM {accounts.relation} k
            LEFT JOIN (SELECT account_id, min(domain) AS first FROM account_domain GROUP BY 1) f USING (account_id)""")
        accounts = KeyTable("_match_accounts_domains", "account_id")
    return keys, accounts, canon[["lead_id", "listed_domain", "listed_for", "source"]]


def name_listed_domains(best: pd.DataFrame, aliased: pd.DataFrame) -> pd.DataFrame:
    """Matches (``l_id``, ``reason``, ``domain`` level by name) whose domain agreed through a listed domain:
    the reason names the domain and where it is listed."""
    if aliased.empty or best.empty:
        return best
    note = aliased.set_index("lead_id")
    words = " (" + note["listed_domain"] + ", listed for " + note["listed_for"] + ": " + note["source"] + ")"
    extra = best["l_id"].map(words)
    hit = extra.notna() & best["domain"].eq("exact") & best["reason"].astype(str).str.contains(EXACT_WORDS)
    if hit.any():
        best = best.copy()
        best.loc[hit, "reason"] = [r.replace(EXACT_WORDS, EXACT_WORDS + e, 1)
                                   for r, e in zip(best.loc[hit, "reason"], extra[hit])]
    return best

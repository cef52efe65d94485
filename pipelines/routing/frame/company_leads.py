"""The earlier leads of each lead's company, with their routing fields: for ``lead_owner`` with ``lead_where``.

The match stage links a lead with no account to *one* existing lead of its company (the
most recent, same domain first: ``match.matched_lead_owner_id``). A rule may ask for more:
"the most recent lead whose owner is an ADR", even when a newer lead has another owner.
For that the engine needs every earlier lead of the company, as routing frame rows
(``lead.*``, so the rule's condition reads them like any lead), loaded only when a rule
uses ``lead_where``.

A lead's company leads are the other leads with the same company domain, or the same
normalised company name (as lead-to-lead matching finds them), owned by an active user.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.frame.build import build_frame

COLUMNS = ["_for", "_by"]  # the lead routed, and how the earlier lead is of its company (domain | name)


def company_leads(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (lead of ``frame``, earlier lead of its company): ``_for``, ``_by`` and the earlier
    lead's routing frame columns (``lead_id``, ``lead.*``...)."""
    keys = pd.DataFrame({"lead_id": frame["lead_id"].to_numpy(),
                         "domain": frame.get("lead.domain", pd.Series(None, index=frame.index)).to_numpy(),
                         "company_norm": frame.get("lead.company_norm", pd.Series(None, index=frame.index)).to_numpy()})
    con.register("_company_keys", keys)
    try:
        pairs = con.execute("""
            SELECT k.lead_id AS _for, e.lead_id AS peer,
                   CASE WHEN k.domain IS NOT NULL AND e.domain = k.domain THEN 'domain' ELSE 'name' END AS _by
            FROM _company_keys k
            JOIN lead_enriched e ON e.lead_id <> k.lead_id
              AND ((k.domain IS NOT NULL AND e.domain = k.domain)
                   OR (k.company_norm IS NOT NULL AND e.company_norm = k.company_norm))
            JOIN lead p ON p.lead_id = e.lead_id
            JOIN crm_user u ON u.user_id = p.owner_id AND u.is_active""").df()
    finally:
        con.unregister("_company_keys")
    if pairs.empty:
        return pd.DataFrame(columns=COLUMNS + ["lead_id"])
    peers = build_frame(con, mapping, pd.Series(pairs["peer"].unique()))
    return pairs.merge(peers, left_on="peer", right_on="lead_id").drop(columns=["peer"])

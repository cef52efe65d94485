"""The routing frame: one row per lead to route, with every field a rule may name.

Rules name fields as ``namespace.column``:

- ``lead.*``: the unified lead (``routing_rules/fields.yaml``) plus its enrichment;
- ``account.*``: the matched account, its place in the hierarchy and its owners;
- ``match.*``: the match itself (``match.matched``, ``match.confidence``,
  ``match.reason``, ``match.matched_lead_owner_id``...).

The frame is built in one DuckDB query, and :func:`available_fields` lists the same
columns for the validator, so a rule can only name a field the engine will have.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.warehouse.schema import TABLES

_ENRICHED_LEAD = [c for c in TABLES["lead_enriched"].column_names if not c.startswith("_") and c != "lead_id"]
_ENRICHED_ACCOUNT = [c for c in TABLES["account_enriched"].column_names if not c.startswith("_") and c != "account_id"]
# Columns added to these tables in the schema reach the rules with no change here.
_MASTER = [c for c in TABLES["account_master"].column_names if not c.startswith("_") and c not in ("account_id", "parent_id")]
_MATCH = {"matched": "m.account_id IS NOT NULL"} | {
    c: f'm."{c}"' for c in TABLES["lead_match"].column_names if not c.startswith("_") and c != "lead_id"
}
_ACCOUNT_EXTRA = {
    "ultimate_parent_owner_id": "up.owner_id",
    "ultimate_parent_name": "up.name",
    "ultimate_parent_type": "up.type",
}


def available_fields(mapping: FieldMapping) -> dict[str, set[str]]:
    lead_cols = set(mapping.objects["lead"].fields) | set(_ENRICHED_LEAD)
    account_cols = set(mapping.objects["account"].fields) | set(_ENRICHED_ACCOUNT) | set(_MASTER) | set(_ACCOUNT_EXTRA)
    return {"lead": lead_cols, "account": account_cols, "match": set(_MATCH)}


def build_frame(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, lead_ids: pd.Series) -> pd.DataFrame:
    """The routing frame for ``lead_ids`` (in that order), with ``lead_id`` as a plain column too."""
    lead_cols = [c for c in mapping.objects["lead"].fields]
    account_cols = [c for c in mapping.objects["account"].fields]
    items = ["l.lead_id AS lead_id"]
    items += [f'l."{c}" AS "lead.{c}"' for c in lead_cols]
    items += [f'e."{c}" AS "lead.{c}"' for c in _ENRICHED_LEAD if c not in lead_cols]
    items += [f'{sql} AS "match.{c}"' for c, sql in _MATCH.items()]
    items += [f'a."{c}" AS "account.{c}"' for c in account_cols]
    items += [f'ae."{c}" AS "account.{c}"' for c in _ENRICHED_ACCOUNT if c not in account_cols]
    items += [f'am."{c}" AS "account.{c}"' for c in _MASTER]
    items += [f'{sql} AS "account.{c}"' for c, sql in _ACCOUNT_EXTRA.items()]
    ids = pd.DataFrame({"lead_id": lead_ids.values, "_order": range(len(lead_ids))})
    con.register("_route_ids", ids)
    try:
        return con.execute(
            f"""
            SELECT {', '.join(items)}
            FROM _route_ids i
            JOIN lead l ON l.lead_id = i.lead_id
            LEFT JOIN lead_enriched e ON e.lead_id = l.lead_id
            LEFT JOIN lead_match m ON m.lead_id = l.lead_id
            LEFT JOIN account a ON a.account_id = m.account_id
            LEFT JOIN account_enriched ae ON ae.account_id = m.account_id
            LEFT JOIN account_master am ON am.account_id = m.account_id
            LEFT JOIN account up ON up.account_id = am.ultimate_parent_id
            ORDER BY i._order
            """
        ).df()
    finally:
        con.unregister("_route_ids")

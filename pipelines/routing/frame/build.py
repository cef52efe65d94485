"""The routing frame: one row per lead to route, with every field a rule may name.

Rules name fields as ``namespace.column``:

- ``lead.*``: the unified lead (``routing_rules/fields.yaml``) plus its enrichment,
  plus ``lead.creator_role`` and ``lead.owner_role`` (the CRM users' roles) and
  ``lead.owner_queue`` (the queue that owns the lead, by developer name);
- ``account.*``: the matched account, its enrichment, its place in the hierarchy
  (``account_master``), its ultimate parent and ``account.open_opportunity_stages``
  (the stages of the open opportunities of its duplicate cluster, ``;``-separated);
- ``match.*``: the match itself (``match.matched``, ``match.confidence``,
  ``match.reason``, ``match.matched_lead_owner_id``, ``match.matched_lead_owner_role``...);
- the lead's history and activity (:mod:`.lead_history`): ``lead.last_rep_id``,
  ``lead.owner_history``, ``lead.open_meetings``, ``lead.sla_misses``...;
- for updated leads (:mod:`.update`): ``prior.<field>`` (a watched field's value when
  leadroute last looked) and ``last_decision.*`` (step, queue, owner_id, entry, created_at).

The frame is built in one DuckDB query; :func:`available_fields` lists the same
columns for the validator, so a rule can only name a field the engine will have.
Columns added to ``lead_enriched``, ``account_master`` or ``lead_match`` in the
schema reach the rules with no change here. :func:`load_related` adds what actions
look up beyond the lead's own row: the accounts above each matched account, and
open opportunities.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.routing.frame import lead_history
from pipelines.warehouse.inputs import keyed
from pipelines.warehouse.schema import TABLES

_ENRICHED_LEAD = [c for c in TABLES["lead_enriched"].column_names if not c.startswith("_") and c != "lead_id"]
_ENRICHED_ACCOUNT = [c for c in TABLES["account_enriched"].column_names if not c.startswith("_") and c != "account_id"]
# Columns added to these tables in the schema reach the rules with no change here.
_MASTER = [c for c in TABLES["account_master"].column_names if not c.startswith("_") and c not in ("account_id", "parent_id")]
_MATCH = {"matched": "m.account_id IS NOT NULL"} | {
    c: f'm."{c}"' for c in TABLES["lead_match"].column_names if not c.startswith("_") and c != "lead_id"
} | {"matched_lead_owner_role": "mlu.role"}
_LEAD_EXTRA = {"creator_role": "cu.role", "owner_role": "ou.role", "owner_queue": "oq.developer_name"}
_ACCOUNT_EXTRA = {
    "ultimate_parent_owner_id": "up.owner_id",
    "ultimate_parent_name": "up.name",
    "ultimate_parent_type": "up.type",
    "owner_role": "au.role",
    "open_opportunity_stages": "oo.stages",
    "open_opportunities": "coalesce(oo.n, 0)",
}
LAST_DECISION = ("step", "queue", "owner_id", "entry", "created_at", "action")

def _cluster_opportunities(masters: str) -> str:
    """SQL: the open opportunities of the master entities ``masters`` (SQL with a ``master_id``
    column) and of their duplicates (an account and its duplicates share one entity), each with its
    entity's ``master_id``. The entities' accounts are found first, so no join reads every row of
    ``account_master`` and only their opportunities are read, not every open one of a million accounts."""
    return f"""
    WITH masters AS ({masters}),
    members AS (SELECT account_id FROM account_master WHERE master_id IN (SELECT master_id FROM masters)
                UNION SELECT master_id FROM masters)
    SELECT o.opportunity_id, coalesce(am.master_id, o.account_id) AS master_id, o.account_id, o.stage,
           o.owner_id, o.name, o.close_date, o.amount
    FROM opportunity o
    LEFT JOIN (SELECT account_id, master_id FROM account_master
               WHERE account_id IN (SELECT account_id FROM members)) am ON am.account_id = o.account_id
    WHERE NOT coalesce(o.is_closed, false) AND NOT coalesce(o.is_deleted, false)
      AND o.account_id IN (SELECT account_id FROM members)
      AND coalesce(am.master_id, o.account_id) IN (SELECT master_id FROM masters)"""


# Open opportunities per master entity, for the entities of the batch's matched accounts only.
_BATCH_MASTERS = """SELECT DISTINCT coalesce(bm.master_id, m.account_id) AS master_id
    FROM _route_match m LEFT JOIN _route_master bm ON bm.account_id = m.account_id WHERE m.account_id IS NOT NULL"""
_OPEN_OPPS = f"""
    SELECT master_id, string_agg(DISTINCT stage, ';' ORDER BY stage) AS stages, count(*) AS n
    FROM ({_cluster_opportunities(_BATCH_MASTERS)})
    GROUP BY 1
"""


# Every big table is joined through the batch's rows of it (inputs.keyed).
_IDS = "SELECT lead_id FROM _route_ids"
_MATCHED = "SELECT account_id FROM _route_match WHERE account_id IS NOT NULL"
# The batch's matches and their accounts' master rows are read once, into temporary tables, before the
# frame's query: five of its joins start from them (the matched accounts, their enrichment and master
# rows, their ultimate parents, their clusters' open opportunities), and as subqueries each scanned
# the whole of lead_match and account_master again (10,000 leads at a million accounts: six scans of
# one, five of the other).
_BATCH_TABLES = (
    ("m", "_route_match", keyed("lead_match", "lead_id", _IDS)),
    ("am", "_route_master", keyed("account_master", "account_id", _MATCHED)),
)
_PARENTS = "SELECT ultimate_parent_id FROM _route_master WHERE ultimate_parent_id IS NOT NULL"


def available_fields(mapping: FieldMapping) -> dict[str, set[str]]:
    lead_cols = set(mapping.objects["lead"].fields) | set(_ENRICHED_LEAD) | set(_LEAD_EXTRA) | set(lead_history.FIELDS)
    account_cols = set(mapping.objects["account"].fields) | set(_ENRICHED_ACCOUNT) | set(_MASTER) | set(_ACCOUNT_EXTRA)
    return {"lead": lead_cols, "account": account_cols, "match": set(_MATCH), "last_decision": set(LAST_DECISION)}


def _account_items(mapping: FieldMapping, a: str, ae: str, am: str) -> list[str]:
    account_cols = list(mapping.objects["account"].fields)
    items = [f'{a}."{c}" AS "account.{c}"' for c in account_cols]
    items += [f'{ae}."{c}" AS "account.{c}"' for c in _ENRICHED_ACCOUNT if c not in account_cols]
    items += [f'{am}."{c}" AS "account.{c}"' for c in _MASTER]
    return items


def build_frame(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, lead_ids: pd.Series,
                fields: Collection[str] | None = None) -> pd.DataFrame:
    """The routing frame for ``lead_ids`` (in that order), with ``lead_id`` as a plain column too.

    ``fields`` (frame columns, e.g. ``lead.owner_queue``) narrows it to those columns and the joins
    they need: a day-2 rule asks one question of thousands of stalled leads every tick, and the whole
    frame for 12,000 of them cost 1.8 s of CPU at a million accounts. Every field must be a column of
    the frame (:func:`frame_columns`); a caller with a field that is not (``prior.*``) builds it whole.
    """
    every = _items(mapping)
    if fields is not None and set(fields) - {name for name, _ in every}:
        raise ValueError(f"not columns of the routing frame: {sorted(set(fields) - {n for n, _ in every})}")
    items = ["l.lead_id AS lead_id"] + [f'{sql} AS "{name}"' for name, sql in every
                                        if fields is None or name in fields]
    needed, joins = _joins(mapping, " ".join(items))
    ids = pd.DataFrame({"lead_id": lead_ids.values, "_order": range(len(lead_ids))})
    con.register("_route_ids", ids)
    made = []
    try:
        for alias, name, sql in _BATCH_TABLES:
            if alias in needed:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
                made.append(name)
        return con.execute(
            f"""
            SELECT {', '.join(items)}
            FROM _route_ids i
            JOIN ({keyed("lead", "lead_id", _IDS)}) l ON l.lead_id = i.lead_id
            {joins}
            ORDER BY i._order
            """
        ).df()
    finally:
        for name in made:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        con.unregister("_route_ids")


def frame_columns(mapping: FieldMapping) -> set[str]:
    """The frame's columns (besides ``lead_id``)."""
    return {name for name, _ in _items(mapping)}


def _items(mapping: FieldMapping) -> list[tuple[str, str]]:
    """(frame column, its SQL) for every column of the frame, in frame order."""
    lead_cols = list(mapping.objects["lead"].fields)
    items = [(f"lead.{c}", f'l."{c}"') for c in lead_cols]
    items += [(f"lead.{c}", f'e."{c}"') for c in _ENRICHED_LEAD if c not in lead_cols]
    items += [(f"lead.{c}", sql) for c, sql in _LEAD_EXTRA.items()]
    items += [(f"lead.{c}", sql) for c, sql in lead_history.FIELDS.items()]
    items += [(f"match.{c}", sql) for c, sql in _MATCH.items()]
    account_cols = list(mapping.objects["account"].fields)
    items += [(f"account.{c}", f'a."{c}"') for c in account_cols]
    items += [(f"account.{c}", f'ae."{c}"') for c in _ENRICHED_ACCOUNT if c not in account_cols]
    items += [(f"account.{c}", f'am."{c}"') for c in _MASTER]
    items += [(f"account.{c}", sql) for c, sql in _ACCOUNT_EXTRA.items()]
    return items


def _joins(mapping: FieldMapping, selected: str) -> tuple[set[str], str]:
    """The aliases the ``selected`` SQL reads with the aliases their ON clauses read, and their LEFT
    JOINs in order.

    Each joined table has one row per key (a user, a lead's match, an account, an entity's
    opportunity summary), so leaving a join out changes no other column."""
    joins = [  # (alias, the aliases its ON clause reads besides the lead's ``l``, the join)
        ("e", (), f'LEFT JOIN ({keyed("lead_enriched", "lead_id", _IDS)}) e '
                  f"ON e.lead_id = l.lead_id"),
        ("cu", (), "LEFT JOIN crm_user cu ON cu.user_id = l.created_by_id"),
        ("ou", (), "LEFT JOIN crm_user ou ON ou.user_id = l.owner_id"),
        ("oq", (), "LEFT JOIN crm_queue oq ON oq.queue_id = l.owner_id"),
        ("m", (), "LEFT JOIN _route_match m ON m.lead_id = l.lead_id"),
        ("mlu", ("m",), "LEFT JOIN crm_user mlu ON mlu.user_id = m.matched_lead_owner_id"),
        ("a", ("m",), f'LEFT JOIN ({keyed("account", "account_id", _MATCHED)}) a '
                      f"ON a.account_id = m.account_id"),
        ("au", ("a",), "LEFT JOIN crm_user au ON au.user_id = a.owner_id"),
        ("ae", ("m",), f'LEFT JOIN ({keyed("account_enriched", "account_id", _MATCHED)}) ae '
                       f"ON ae.account_id = m.account_id"),
        ("am", ("m",), "LEFT JOIN _route_master am ON am.account_id = m.account_id"),
        ("up", ("am", "m"), f'LEFT JOIN ({keyed("account", "account_id", _PARENTS)}) up '
                        f"ON up.account_id = am.ultimate_parent_id"),
        ("oo", ("am", "m"), f"LEFT JOIN ({_OPEN_OPPS}) oo ON oo.master_id = coalesce(am.master_id, m.account_id)"),
        ("h_", (), lead_history.joins(mapping)),  # h_owner, h_hist, ...: every one on l only
    ]
    needed = {alias for alias, _, _ in joins
              if re.search(rf"\b{alias}\w*\." if alias.endswith("_") else rf"\b{alias}\.", selected)}
    for alias, reads, _ in reversed(joins):  # a join reads only joins listed before it
        if alias in needed:
            needed |= set(reads)
    return needed, "\n".join(sql for alias, _, sql in joins if alias in needed)


def load_related(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, frame: pd.DataFrame
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts on the hierarchy paths of the frame's matched accounts, and their open opportunities.

    Returns ``(accounts, opportunities)``: accounts indexed by account_id with ``account.*``
    columns (so a ``parent_where`` condition reads like any account condition), and open
    opportunities with their master entity.
    """
    paths = frame.get("account.hierarchy_path", pd.Series(dtype=object)).dropna().astype(str)
    ids = sorted(set(paths.str.split(" > ").explode().dropna()))
    con.register("_route_accounts", pd.DataFrame({"account_id": ids or [None]}))
    try:
        of = "SELECT account_id FROM _route_accounts"
        accounts = con.execute(
            f"""SELECT a.account_id AS _id, {', '.join(_account_items(mapping, 'a', 'ae', 'am'))}
                FROM _route_accounts x JOIN ({keyed("account", "account_id", of)}) a
                    USING (account_id)
                LEFT JOIN ({keyed("account_enriched", "account_id", of)}) ae USING (account_id)
                LEFT JOIN ({keyed("account_master", "account_id", of)}) am USING (account_id)"""
        ).df().set_index("_id")
        opportunities = con.execute(_cluster_opportunities(
            """SELECT DISTINCT coalesce(am.master_id, x.account_id) AS master_id FROM _route_accounts x
               LEFT JOIN (SELECT account_id, master_id FROM account_master
                          WHERE account_id IN (SELECT account_id FROM _route_accounts)) am USING (account_id)"""
        )).df()
    finally:
        con.unregister("_route_accounts")
    return accounts, opportunities

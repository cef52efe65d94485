"""Routing KPIs from the seeds, computed from the warehouse (the source of truth).

- leads routed per rep and per pool (current decisions);
- share of leads unroutable (the Unroutable queue) or quarantined;
- reroutes (decisions that replace another);
- time from lead creation to assignment (to the owner being set in the CRM);
- fairness within each pool: each member's share, max/min, and how often members
  were skipped (availability, caps) with the last reason;
- field fill rates, unified and enriched;
- day-2 routing (:mod:`.day2`): SLA compliance per SLA, pool and rep, time to first touch,
  reroutes by reason, recycled and reopened leads, leakage.

One SQL query per KPI; :func:`long_format` flattens them into the ``kpi`` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from pipelines.crm.fields import FieldMapping
from pipelines.kpis import day2 as day2_kpis
from pipelines.unify.fill_rates import fill_rates
from pipelines.warehouse.db import table_exists

ENRICHED_FILL = ["country_code", "state_code", "sales_region", "size_band", "naics_sector", "domain", "phone_country",
                 "time_zone", "county", "company_industry", "company_employees"]


@dataclass
class Kpis:
    totals: dict[str, float] = field(default_factory=dict)
    per_owner: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_pool: pd.DataFrame = field(default_factory=pd.DataFrame)
    fairness: pd.DataFrame = field(default_factory=pd.DataFrame)
    fill: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    day2: day2_kpis.Day2Kpis = field(default_factory=day2_kpis.Day2Kpis)


def compute_kpis(con: duckdb.DuckDBPyConnection, mapping: FieldMapping, rules=None) -> Kpis:
    """Every KPI; ``rules`` (the loaded RuleSet, when valid) adds day-2 times in working hours."""
    k = Kpis()
    row = con.execute(
        """SELECT (SELECT count(*) FROM lead WHERE NOT coalesce(is_deleted, false)) AS leads,
               count(*) AS decided,
               count(*) FILTER (WHERE action <> 'keep') AS routed,
               count(*) FILTER (WHERE queue = 'Unroutable') AS unroutable,
               (SELECT count(*) FROM routing_decision WHERE replaces_decision_id IS NOT NULL) AS reroutes,
               (SELECT count(DISTINCT record_id) FROM quarantine WHERE object = 'lead' AND resolved_at IS NULL)
                   AS quarantined
        FROM current_decision"""
    ).df().iloc[0]
    leads_seen = int(row["decided"]) + int(row["quarantined"])
    k.totals = {
        "leads": int(row["leads"]), "decided": int(row["decided"]), "routed": int(row["routed"]),
        "unroutable": int(row["unroutable"]), "quarantined": int(row["quarantined"]), "reroutes": int(row["reroutes"]),
        "share_unroutable_pct": round(100.0 * int(row["unroutable"]) / max(int(row["routed"]), 1), 2),
        "share_quarantined_pct": round(100.0 * int(row["quarantined"]) / max(leads_seen, 1), 2),
    }
    # Leads created before leadroute's first tick were waiting before it existed: their wait is not its speed.
    t = con.execute(
        """WITH since AS (SELECT min(created_at) AS first_tick FROM routing_decision),
                pushed AS (SELECT g.pushed_at, l.created_at, l.created_at < since.first_tick AS before
                           FROM ledger g JOIN lead l USING (lead_id), since
                           WHERE g.kind = 'owner' AND g.status = 'pushed' AND l.created_at IS NOT NULL)
           SELECT median(epoch(pushed_at - created_at)) FILTER (WHERE NOT before) / 60 AS median_min,
                  quantile_cont(epoch(pushed_at - created_at), 0.9) FILTER (WHERE NOT before) / 60 AS p90_min,
                  count(*) FILTER (WHERE before) AS excluded
           FROM pushed"""
    ).df().iloc[0]
    k.totals["minutes_to_assignment_median"] = round(float(t["median_min"]), 1) if pd.notna(t["median_min"]) else None
    k.totals["minutes_to_assignment_p90"] = round(float(t["p90_min"]), 1) if pd.notna(t["p90_min"]) else None
    k.totals["leads_before_leadroute"] = int(t["excluded"] or 0)
    k.per_owner = con.execute(
        """SELECT coalesce('queue ' || cur.queue, u.name, cur.owner_id) AS routed_to, count(*) AS leads
        FROM current_decision cur LEFT JOIN crm_user u ON u.user_id = cur.owner_id
        WHERE cur.action <> 'keep' GROUP BY ALL ORDER BY leads DESC, routed_to"""
    ).df()
    k.per_pool = con.execute(
        """SELECT regexp_extract(reason, 'pool ([A-Za-z0-9_]+)', 1) AS pool, count(*) AS leads,
               count(DISTINCT owner_id) AS members_assigned
        FROM current_decision WHERE regexp_matches(reason, 'pool [A-Za-z0-9_]+') GROUP BY ALL ORDER BY leads DESC"""
    ).df()
    k.fairness = con.execute(
        """SELECT m.pool, count(*) AS members, sum(m.assigned_total) AS assigned,
                  max(m.assigned_total) AS max_assigned, min(m.assigned_total) AS min_assigned,
                  round(max(m.assigned_total) / nullif(sum(m.assigned_total), 0) * 100, 1) AS max_share_pct,
                  round(min(m.assigned_total) / nullif(sum(m.assigned_total), 0) * 100, 1) AS min_share_pct,
                  round(max(m.assigned_total) / nullif(min(m.assigned_total), 0), 2) AS max_min_ratio,
                  sum(coalesce(m.skipped_total, 0)) AS skipped,
                  string_agg(DISTINCT m.last_skip_reason, '; ') AS skip_reasons
           FROM pool_member_state m GROUP BY m.pool ORDER BY m.pool"""
    ).df()
    if k.fairness.empty and not k.per_pool.empty:
        # Pool member state not kept yet: fall back to current decisions per pool member.
        k.fairness = con.execute(
            """WITH per AS (
                SELECT regexp_extract(reason, 'pool ([A-Za-z0-9_]+)', 1) AS pool, owner_id, count(*) AS n
                FROM current_decision WHERE regexp_matches(reason, 'pool [A-Za-z0-9_]+') GROUP BY ALL)
            SELECT pool, count(*) AS members, sum(n) AS assigned, max(n) AS max_assigned, min(n) AS min_assigned,
                   round(max(n) / sum(n) * 100, 1) AS max_share_pct, round(min(n) / sum(n) * 100, 1) AS min_share_pct,
                   round(max(n) / min(n), 2) AS max_min_ratio, NULL::BIGINT AS skipped, NULL AS skip_reasons
            FROM per GROUP BY pool ORDER BY pool"""
        ).df()
    k.fill = _fill(con, mapping)
    k.quarantine = con.execute(
        """SELECT stage, object, reason, count(*) AS records FROM quarantine WHERE resolved_at IS NULL
           GROUP BY ALL ORDER BY records DESC"""
    ).df()
    k.checks = con.execute(
        """SELECT check_name, asset, blocking, passed, failing_rows, seconds FROM quality_check
           WHERE run_id = (SELECT run_id FROM quality_check ORDER BY checked_at DESC LIMIT 1) ORDER BY check_name"""
    ).df()
    if table_exists(con, "assignment"):  # a warehouse from before day-2 routing has none
        k.day2 = day2_kpis.compute(con, rules)
    return k


def _fill(con: duckdb.DuckDBPyConnection, mapping: FieldMapping) -> pd.DataFrame:
    rates = fill_rates(con, mapping, "lead")[["column", "before_pct", "after_pct"]]
    rates.insert(0, "table", "lead")
    n = con.execute("SELECT count(*) FROM lead_enriched").fetchall()[0][0]
    if n:
        items = ", ".join(f'round(100.0 * count("{c}") / count(*), 1) AS "{c}"' for c in ENRICHED_FILL)
        row = con.execute(f"SELECT {items} FROM lead_enriched").df().iloc[0]
        enriched = pd.DataFrame({"table": "lead_enriched", "column": ENRICHED_FILL,
                                 "before_pct": pd.Series([float("nan")] * len(ENRICHED_FILL), dtype=float),
                                 "after_pct": [float(row[c]) for c in ENRICHED_FILL]})
        rates = pd.concat([rates, enriched], ignore_index=True)
    return rates


def long_format(k: Kpis, run_id: str, now: datetime) -> pd.DataFrame:
    """The KPIs as (measure, dimension, value) rows for the ``kpi`` table."""
    rows = [(m, "", float(v)) for m, v in k.totals.items() if v is not None]
    rows += [("leads_per_owner", r.routed_to, float(r.leads)) for r in k.per_owner.itertuples()]
    rows += [("leads_per_pool", r.pool, float(r.leads)) for r in k.per_pool.itertuples()]
    for r in k.fairness.itertuples():
        if pd.notna(r.max_min_ratio):
            rows.append(("pool_max_min_ratio", r.pool, float(r.max_min_ratio)))
        if pd.notna(r.skipped):
            rows.append(("pool_skipped", r.pool, float(r.skipped)))
    rows += [("fill_pct", f"{r.table}.{r.column}", float(r.after_pct)) for r in k.fill.itertuples()
             if pd.notna(r.after_pct)]
    rows += [("quarantined_by_reason", f"{r.stage}/{r.object}/{r.reason}", float(r.records)) for r in k.quarantine.itertuples()]
    rows += day2_kpis.long_rows(k.day2)
    df = pd.DataFrame(rows, columns=["measure", "dimension", "value"]).drop_duplicates(["measure", "dimension"])
    df.insert(0, "computed_at", now)
    df.insert(0, "run_id", run_id)
    return df

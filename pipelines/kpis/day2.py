"""Day-2 KPIs: what happened to leads after their first assignment.

- **SLA compliance** per SLA, pool and rep: of the assignments whose SLA was judged (touched, or
  missed), the share touched before the due time;
- **time to first touch**, from the owner change landing in the CRM to the first touch, on the
  calendar and in the rep's working hours;
- **reroutes by reason**: every decision that replaced another, by kind (changed, sla, inactive
  owner, recycled, reopened, released, backfill) and outcome;
- **recycled** and **reopened** leads, and leads asleep now;
- **leakage**: leads assigned to a rep and never touched, past their SLA or older than
  ``leakage_after`` (day2.yaml), that are still with that rep: the leads that die in the dark.

All from the warehouse (``assignment``, ``routing_decision``, ``dormant_lead``), as of the latest
extract, so a report computed later says the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipelines.routing.pools.catalog import days_off_of
from pipelines.routing.roster import working_time
from pipelines.warehouse.schema import open_lead

AS_OF = "(SELECT coalesce(max(extracted_at), current_timestamp::TIMESTAMP) FROM extract_log)"
DEFAULT_LEAKAGE_DAYS = 3.0
JUDGED = "('touched', 'touched_late', 'missed')"


@dataclass
class Day2Kpis:
    totals: dict[str, float | None] = field(default_factory=dict)
    sla: pd.DataFrame = field(default_factory=pd.DataFrame)  # per SLA and pool
    sla_per_rep: pd.DataFrame = field(default_factory=pd.DataFrame)
    reroutes: pd.DataFrame = field(default_factory=pd.DataFrame)
    leakage: pd.DataFrame = field(default_factory=pd.DataFrame)  # per rep


def _round(value) -> float | None:
    return round(float(value), 1) if value is not None and pd.notna(value) else None


def compute(con: duckdb.DuckDBPyConnection, rules=None) -> Day2Kpis:
    """The day-2 KPIs; ``rules`` (a RuleSet) adds working-hour times and the configured leakage window."""
    k = Day2Kpis()
    leak_days = DEFAULT_LEAKAGE_DAYS
    config = getattr(rules, "day2", None)
    if config is not None and config.leakage_after is not None:
        leak_days = config.leakage_after.minutes / 1440
    k.sla = con.execute(
        f"""SELECT a.sla, coalesce(a.pool, a.step) AS pool_or_step, count(*) AS judged,
                   count(*) FILTER (WHERE a.outcome = 'touched') AS in_time,
                   count(*) FILTER (WHERE a.outcome = 'touched_late') AS late,
                   count(*) FILTER (WHERE a.outcome = 'missed') AS missed,
                   round(100.0 * count(*) FILTER (WHERE a.outcome = 'touched') / count(*), 1) AS compliance_pct
            FROM assignment a WHERE a.sla IS NOT NULL AND a.outcome IN {JUDGED}
            GROUP BY ALL ORDER BY a.sla, pool_or_step""").df()
    k.sla_per_rep = con.execute(
        f"""SELECT coalesce(u.name, a.owner_id) AS rep, count(*) AS judged,
                   count(*) FILTER (WHERE a.outcome = 'touched') AS in_time,
                   count(*) FILTER (WHERE a.outcome = 'touched_late') AS late,
                   count(*) FILTER (WHERE a.outcome = 'missed') AS missed,
                   round(100.0 * count(*) FILTER (WHERE a.outcome = 'touched') / count(*), 1) AS compliance_pct,
                   round(median(epoch(a.touched_at - a.started_at)) / 60, 1) AS median_minutes_to_touch
            FROM assignment a LEFT JOIN crm_user u ON u.user_id = a.owner_id
            WHERE a.sla IS NOT NULL AND a.outcome IN {JUDGED}
            GROUP BY ALL ORDER BY compliance_pct, rep""").df()
    touched = con.execute(
        """SELECT owner_id, started_at, touched_at FROM assignment
           WHERE touched_at IS NOT NULL AND started_at IS NOT NULL""").df()
    minutes = (touched["touched_at"] - touched["started_at"]).dt.total_seconds() / 60 if len(touched) else pd.Series(dtype=float)
    working = pd.Series(dtype=float)
    if len(touched) and rules is not None:
        working = working_time.minutes_between(touched["started_at"], touched["touched_at"], touched["owner_id"],
                                               rules.reps, days_off_of(rules.pools))
    k.reroutes = con.execute(
        """SELECT d.entry AS kind,
                  coalesce(json_extract_string(d.trace, '$.reroute.outcome'), d.action) AS outcome,
                  d.step AS rule, count(*) AS decisions
           FROM routing_decision d WHERE d.replaces_decision_id IS NOT NULL
           GROUP BY ALL ORDER BY decisions DESC, kind, rule""").df()
    k.leakage = con.execute(
        f"""WITH live AS (
                SELECT a.*, (a.touched_at IS NULL AND (a.missed_at IS NOT NULL
                             OR a.started_at <= {AS_OF} - to_minutes(CAST(? AS BIGINT)))) AS leaked
                FROM assignment a JOIN current_decision cur USING (decision_id) JOIN lead l ON l.lead_id = a.lead_id
                WHERE a.started_at IS NOT NULL AND l.owner_id = a.owner_id AND {open_lead("l")})
            SELECT coalesce(u.name, live.owner_id) AS rep, count(*) AS assigned,
                   count(*) FILTER (WHERE leaked) AS leaked,
                   round(100.0 * count(*) FILTER (WHERE leaked) / count(*), 1) AS leakage_pct
            FROM live LEFT JOIN crm_user u ON u.user_id = live.owner_id
            GROUP BY ALL ORDER BY leaked DESC, rep""", [round(leak_days * 1440)]).df()
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE sla IS NOT NULL AND outcome IN {JUDGED}) AS judged,
                   count(*) FILTER (WHERE sla IS NOT NULL AND outcome = 'touched') AS in_time,
                   count(*) FILTER (WHERE sla IS NOT NULL AND outcome = 'missed') AS missed,
                   (SELECT count(*) FROM routing_decision WHERE entry = 'recycled') AS recycled,
                   (SELECT count(*) FROM routing_decision WHERE entry = 'reopened') AS reopened,
                   (SELECT count(*) FROM dormant_lead WHERE woken_at IS NULL AND ended_at IS NULL) AS dormant,
                   (SELECT count(*) FROM reroute_blocked) AS reroutes_blocked
            FROM assignment""").df().iloc[0]
    assigned, leaked = int(k.leakage["assigned"].sum()), int(k.leakage["leaked"].sum())
    judged = int(row["judged"])
    k.totals = {
        "sla_judged": judged,
        "sla_missed": int(row["missed"]),
        "sla_compliance_pct": round(100.0 * int(row["in_time"]) / judged, 1) if judged else None,
        "minutes_to_first_touch_median": _round(minutes.median()) if len(minutes) else None,
        "minutes_to_first_touch_p90": _round(minutes.quantile(0.9)) if len(minutes) else None,
        "working_minutes_to_first_touch_median": _round(working.median()) if len(working) else None,
        "reroutes_by_day2": int(k.reroutes.loc[k.reroutes["kind"] != "updated", "decisions"].sum()) if len(k.reroutes) else 0,
        "reroutes_blocked_by_policy": int(row["reroutes_blocked"]),
        "recycled": int(row["recycled"]),
        "reopened": int(row["reopened"]),
        "dormant_now": int(row["dormant"]),
        "assigned_open": assigned,
        "leaked": leaked,
        "leakage_pct": round(100.0 * leaked / assigned, 1) if assigned else None,
    }
    return k


def long_rows(k: Day2Kpis) -> list[tuple[str, str, float]]:
    """The day-2 KPIs as (measure, dimension, value) rows for the ``kpi`` table."""
    rows = [(m, "", float(v)) for m, v in k.totals.items() if v is not None]
    for r in k.sla.itertuples():
        rows.append(("sla_compliance_pct", f"{r.sla}/{r.pool_or_step}", float(r.compliance_pct)))
        rows.append(("sla_missed", f"{r.sla}/{r.pool_or_step}", float(r.missed)))
    for r in k.sla_per_rep.itertuples():
        rows.append(("sla_compliance_pct_per_rep", str(r.rep), float(r.compliance_pct)))
    for r in k.reroutes.itertuples():
        rows.append(("reroutes_by_reason", f"{r.kind}/{r.outcome}/{r.rule}", float(r.decisions)))
    for r in k.leakage.itertuples():
        if r.leaked:
            rows.append(("leaked_per_rep", str(r.rep), float(r.leaked)))
    return rows

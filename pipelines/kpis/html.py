"""``leadroute report --html``: one self-contained page (Jinja2 template, Altair charts drawn by the Vega
libraries inlined in it, no network needed to view it): tiles, trends over the last ticks, the current
breakdowns, day 2, data quality, and the routing flow as a picture."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import altair as alt
import duckdb
import jinja2
import pandas as pd
import vl_convert

from pipelines.kpis import charts, trends
from pipelines.kpis.compute import Kpis
from pipelines.kpis.formats import frame, minutes, number, pct, when
from pipelines.routing.language.diagram import step_rows

VEGA_LITE = "6.4"  # the Vega-Lite version of the inlined libraries; Altair 6 writes v6 specs


@dataclass
class Section:
    title: str
    note: str = ""
    charts: list[tuple[str, str]] = field(default_factory=list)  # (element id, spec JSON)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (caption, formatted frame)
    empty: str = ""


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (shipped inside vl-convert-python: nothing downloaded)."""
    return vl_convert.javascript_bundle(vl_version=VEGA_LITE)


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("pipelines.kpis", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"]))


class _Charts:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, chart: alt.TopLevelMixin) -> tuple[str, str]:
        self.n += 1
        spec = chart.to_dict()
        return f"chart{self.n}", json.dumps(spec, default=str).replace("</", "<\\/")


def render(k: Kpis, generated_at: datetime, con: duckdb.DuckDBPyConnection | None = None, rules=None,
           last: int = 50) -> str:
    """The page. ``con`` adds the trends over the last ``last`` ticks; ``rules`` the flow diagram."""
    chart = _Charts()
    t, d = k.totals, k.day2.totals
    tiles = [("leads", number(t.get("leads"))), ("routed", number(t.get("routed"))),
             ("unroutable", pct(t.get("share_unroutable_pct"))), ("quarantined", pct(t.get("share_quarantined_pct"))),
             ("reroutes", number(t.get("reroutes"))),
             ("to assignment, median", minutes(t.get("minutes_to_assignment_median"))),
             ("to assignment, p90", minutes(t.get("minutes_to_assignment_p90")))]
    if d:
        tiles += [("SLA compliance", pct(d.get("sla_compliance_pct"))),
                  ("first touch, median", minutes(d.get("minutes_to_first_touch_median"))),
                  ("leaked", number(d.get("leaked")))]
    sections = []
    if con is not None:
        sections += _trends(con, last, chart)
    sections += _now(k, chart)
    if rules is not None:
        names = dict(zip(rules.reps["user_id"], rules.reps["name"])) if hasattr(rules, "reps") else {}
        flows = Section("The routing flow", "How a new lead is routed (routing_rules/flow.yaml): each step is asked "
                        "in turn; the first whose condition holds and that finds an owner decides.")
        flows.charts.append(chart(charts.flow(step_rows(rules.flows["new"], names), "new leads")))
        sections.append(flows)
    excluded = t.get("leads_before_leadroute")
    return _env().get_template("report.html.j2").render(
        generated=when(generated_at), tiles=tiles, sections=sections, bundle=vega_bundle(),
        assignment_note=(f"Time to assignment counts leads created since leadroute's first tick; "
                         f"{number(excluded)} older leads are left out." if excluded else ""),
    )


def _trends(con: duckdb.DuckDBPyConnection, last: int, chart: _Charts) -> list[Section]:
    ticks = trends.recent_ticks(con, last)
    if ticks.empty:
        return [Section("Trends", empty="No tick has run yet.")]
    out = Section(f"Trends over the last {len(ticks)} tick(s)", "Each bar or point is one tick, in local time.")
    outcomes = trends.outcomes_per_tick(ticks)
    if len(outcomes):
        out.charts.append(chart(charts.stacked_per_tick(outcomes, "outcome", "leads", "Leads in, by what became of them")))
    steps = trends.steps_per_tick(con, ticks)
    if len(steps):
        top = steps.groupby("step")["decisions"].sum().nlargest(12).index
        steps["step"] = steps["step"].where(steps["step"].isin(top), "other steps")
        out.charts.append(chart(charts.stacked_per_tick(steps, "step", "decisions", "Decisions per rule step")))
    owners = trends.owners_per_tick(con, ticks)
    if len(owners):
        out.charts.append(chart(charts.heat_per_tick(owners, "rep", "leads", "Leads per rep")))
    for measure, prefix, title, unit, series in (
            ("leads_per_owner", "queue ", "Queue sizes (current decisions in each queue)", "leads", "queue"),
            ("sla_compliance_pct", "", "First-touch SLA compliance (per SLA and pool)", "%", "SLA / pool"),
            ("share_unroutable_pct", "", "Unroutable share of routed leads", "%", "share"),
            ("pool_max_min_ratio", "", "Fairness per pool (most / fewest assignments; 1 is even)", "ratio", "pool")):
        series_df = trends.kpi_series(con, ticks, measure, prefix)
        if len(series_df):
            series_df = series_df.rename(columns={"dimension": series})
            if measure == "share_unroutable_pct":
                series_df[series] = "unroutable"
            out.charts.append(chart(charts.lines_per_tick(series_df, series, "value", title, unit)))
    return [out]


def _now(k: Kpis, chart: _Charts) -> list[Section]:
    owners = Section("Leads per owner or queue (current decisions)")
    if len(k.per_owner):
        owners.charts.append(chart(charts.bars(k.per_owner.head(30), "routed_to", "leads", "", "leads")))
    pools = Section("Pools", "Each member's share of the pool's assignments; max/min ratio 1 is perfectly even. "
                    "Skipped: members passed over for availability or caps.",
                    tables=[("leads per pool", frame(k.per_pool)), ("fairness within each pool", frame(k.fairness))])
    out = [owners, pools]
    d = k.day2
    if d.totals:
        day2 = Section("Day 2: after the first assignment", "Of the assignments whose SLA was judged (touched or "
                       "missed), the share touched in time.")
        if len(d.sla_per_rep):
            day2.charts.append(chart(charts.bars(d.sla_per_rep, "rep", "compliance_pct", "First-touch SLA compliance per rep",
                                                 "%")))
        day2.tables += [("per SLA and pool", frame(d.sla)), ("reroutes by reason", frame(d.reroutes)),
                        ("leakage per rep (never touched, past their SLA)", frame(d.leakage))]
        out.append(day2)
    quality = Section("Data quality")
    fill = k.fill[k.fill["after_pct"].notna()] if len(k.fill) else k.fill
    if len(fill):
        shown = fill.assign(field=fill["table"] + "." + fill["column"])
        quality.charts.append(chart(charts.bars(shown, "field", "after_pct", "Fields filled after unification "
                                                "and enrichment", "% filled")))
    quality.tables += [("quarantine (open)", frame(k.quarantine)), ("checks (latest run)", frame(k.checks))]
    out.append(quality)
    return out

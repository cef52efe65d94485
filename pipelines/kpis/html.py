"""A self-contained HTML page of the KPIs: tables and inline SVG bar charts, no scripts, no network."""

from __future__ import annotations

import html
from datetime import datetime

import pandas as pd

from pipelines.kpis.compute import Kpis

_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right}.tiles{display:flex;gap:1em;flex-wrap:wrap}
.tile{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}.tile b{display:block;font-size:1.5em}
svg text{font:12px system-ui,sans-serif}"""


def bar_chart(labels: list[str], values: list[float], unit: str = "", color: str = "#3b7dd8",
              second: list[float | None] | None = None) -> str:
    """Horizontal bars; ``second`` draws a lighter bar behind each (e.g. fill rate before unification)."""
    if not labels:
        return "<p>(none)</p>"
    top = max([v for v in values if v is not None] + [v for v in (second or []) if v is not None] + [1e-9])
    row, width, left = 22, 420, 230
    parts = [f'<svg width="{left + width + 90}" height="{row * len(labels) + 6}" role="img">']
    for i, (label, value) in enumerate(zip(labels, values)):
        y = i * row + 3
        if second is not None and second[i] is not None:
            parts.append(f'<rect x="{left}" y="{y}" width="{width * second[i] / top:.1f}" height="{row - 6}" '
                         f'fill="#cfd8e3"/>')
        parts.append(f'<rect x="{left}" y="{y + 3 if second else y}" width="{width * (value or 0) / top:.1f}" '
                     f'height="{row - 12 if second else row - 6}" fill="{color}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{html.escape(str(label))[:34]}</text>')
        parts.append(f'<text x="{left + width * (value or 0) / top + 4:.1f}" y="{y + 13}">'
                     f'{value:,.1f}{unit}</text>' if value is not None else "")
    parts.append("</svg>")
    return "".join(parts)


def table_html(df: pd.DataFrame) -> str:
    if df is None or df.empty:
        return "<p>(none)</p>"
    head = "".join(f'<th class="{"n" if pd.api.types.is_numeric_dtype(df[c]) else ""}">{html.escape(str(c))}</th>'
                   for c in df.columns)
    body = []
    for r in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, r):
            cls = "n" if pd.api.types.is_numeric_dtype(df[c]) else ""
            text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else (
                f"{v:,.1f}" if isinstance(v, float) else str(v))
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(k: Kpis, generated_at: datetime) -> str:
    t = k.totals
    tiles = [("leads", t.get("leads")), ("routed", t.get("routed")), ("unroutable", f"{t.get('share_unroutable_pct')}%"),
             ("quarantined", f"{t.get('share_quarantined_pct')}%"), ("reroutes", t.get("reroutes")),
             ("to assignment (median)", f"{t.get('minutes_to_assignment_median')} min"),
             ("to assignment (p90)", f"{t.get('minutes_to_assignment_p90')} min")]
    fill = k.fill.fillna({"before_pct": float("nan")}) if not k.fill.empty else k.fill
    owners = k.per_owner.head(25)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>leadroute KPIs</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>leadroute: routing KPIs</h1><p>Generated {generated_at:%Y-%m-%d %H:%M} UTC from the warehouse.</p>",
        "<div class='tiles'>" + "".join(f"<div class='tile'>{html.escape(n)}<b>{html.escape(str(v))}</b></div>"
                                       for n, v in tiles) + "</div>",
        "<h2>Leads routed per owner or queue</h2>",
        bar_chart(owners["routed_to"].tolist(), owners["leads"].astype(float).tolist()) if len(owners) else "<p>(none)</p>",
        "<h2>Leads routed per pool</h2>", table_html(k.per_pool),
        "<h2>Fairness within each pool</h2>",
        "<p>Each member's share of the pool's assignments; max/min ratio 1.0 is perfectly even. "
        "Skipped: members passed over for availability or caps.</p>", table_html(k.fairness),
        *_day2_sections(k),
        "<h2>Field fill rates</h2><p>Light bar: the first CRM field alone; dark bar: after unification "
        "(and enrichment, for lead_enriched columns).</p>",
        bar_chart([f"{r.table}.{r.column}" for r in fill.itertuples()], fill["after_pct"].tolist(), "%",
                  second=[None if pd.isna(v) else v for v in fill["before_pct"]]) if not fill.empty else "",
        "<h2>Quarantine (open)</h2>", table_html(k.quarantine),
        "<h2>Data quality checks (latest run)</h2>", table_html(k.checks),
        "</body></html>",
    ]
    return "\n".join(parts)


def _day2_sections(k: Kpis) -> list[str]:
    """Day 2: first-touch SLAs, time to first touch, reroutes by reason, recycling, leakage."""
    d = k.day2
    if not d.totals:
        return []
    t = d.totals
    tiles = [("SLA compliance", f"{t.get('sla_compliance_pct')}%"), ("SLA misses", t.get("sla_missed")),
             ("first touch (median)", f"{t.get('minutes_to_first_touch_median')} min"),
             ("first touch, working time (median)", f"{t.get('working_minutes_to_first_touch_median')} min"),
             ("recycled", t.get("recycled")), ("reopened", t.get("reopened")),
             ("leaked", f"{t.get('leaked')} ({t.get('leakage_pct')}%)"),
             ("kept by the reroute policy", t.get("reroutes_blocked_by_policy"))]
    reps = d.sla_per_rep
    return [
        "<h2>Day 2: after the first assignment</h2>",
        "<div class='tiles'>" + "".join(f"<div class='tile'>{html.escape(n)}<b>{html.escape(str(v))}</b></div>"
                                       for n, v in tiles) + "</div>",
        "<h2>First-touch SLA compliance per rep</h2><p>Of the assignments whose SLA was judged (touched or missed), "
        "the share touched in time.</p>",
        bar_chart(reps["rep"].tolist(), reps["compliance_pct"].astype(float).tolist(), "%") if len(reps) else "<p>(none)</p>",
        "<h2>First-touch SLA compliance per SLA and pool</h2>", table_html(d.sla),
        "<h2>Reroutes by reason</h2>", table_html(d.reroutes),
        "<h2>Leakage per rep</h2><p>Leads still with the rep they were assigned to, never touched, past their SLA "
        "or older than leakage_after (day2.yaml).</p>", table_html(d.leakage),
    ]

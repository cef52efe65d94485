"""``leadroute report``: what the pipeline has done: ticks, decisions, the ledger, quarantine,
data quality (fill rates, checks), the routing KPIs and day 2 (SLAs, reroutes, recycling,
leakage), in the terminal (rich tables, numbers and local times for people) and as an HTML page."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import friendly, require_warehouse, settings
from pipelines.kpis.formats import frame, local_zone
from pipelines.ledger.summary import WRITE_KINDS
from pipelines.warehouse import db

# A terminal gets its own width; a pipe or a file 120 columns, so tables stay readable in logs.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def show(title: str, df: pd.DataFrame, note: str = "", max_rows: int = 30) -> None:
    """A titled table, every value formatted for people, long columns wrapped to the terminal."""
    console.print()
    console.print(f"[bold]{title}[/bold]" + (f"  [dim]{note}[/dim]" if note else ""))
    if df is None or df.empty:
        console.print("  (none)")
        return
    shown = frame(df.head(max_rows))
    t = Table(show_edge=False, header_style="bold", pad_edge=False)
    for c in shown.columns:
        numeric = df[c.replace(" ", "_")].dtype.kind in "iuf" if c.replace(" ", "_") in df else False
        if numeric:  # numbers never wrap; text wraps at word boundaries in what is left
            t.add_column(c, justify="right", no_wrap=True)
        elif shown[c].str.contains(r"\s").any():  # words wrap at their spaces in what is left
            t.add_column(c, overflow="fold", min_width=min(len(c), 12), max_width=60)
        else:  # ids, codes and times stay whole
            t.add_column(c, no_wrap=True)
    for row in shown.itertuples(index=False):
        t.add_row(*row)
    console.print(t)
    if len(df) > max_rows:
        console.print(f"  … {len(df) - max_rows:,} more")


def ticks_table(con, last: int) -> pd.DataFrame:
    rows = con.execute("SELECT run_id, finished_at, summary FROM tick_log ORDER BY finished_at DESC LIMIT ?",
                       [last]).fetchall()
    out = []
    for run_id, finished, summary in rows:
        s = json.loads(summary) if isinstance(summary, str) else {}
        outcomes = s.get("lead_outcomes") or {}
        writes = s.get("writes") or {}
        out.append({"run": run_id[:8], "finished_at": finished,
                    "leads_in": s.get("leads_in", s.get("leads_extracted")),
                    **{key: outcomes.get(key) if outcomes else None for key in ("routed", "kept", "converted",
                                                                                  "quarantined")},
                    "day_2": s.get("day2_decisions"),
                    "pushed": sum(w.get("pushed", 0) for w in writes.values()) if writes else s.get("pushed"),
                    "failed": s.get("failed"), "push_stopped": s.get("push_stopped")})
    return pd.DataFrame(out)


@click.command()
@click.option("--ticks", default=10, show_default=True, type=click.IntRange(min=1), help="How many recent ticks to list.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML page with charts and trends (no network needed to view).")
@click.option("--trend", default=50, show_default=True, type=click.IntRange(min=1),
              help="How many recent ticks the HTML page's trend charts cover.")
@friendly
def report(ticks: int, html_path: Path | None, trend: int) -> None:
    """Recent ticks, leads to try `explain` on, routing by step and owner, push status, quarantine,
    data quality and KPIs. Times are local, with their zone."""
    from pipelines.routing.stages.explain import examples

    s = settings()
    require_warehouse(s, "the report reads what ticks recorded")
    with db.connect(s.warehouse, read_only=True) as con:
        show("Recent ticks", ticks_table(con, ticks), f"leads in by outcome; times in {local_zone()}")
        show("Leads to try `leadroute explain` on", examples(con), "one per kind of outcome")
        show("Decisions by step (all time)", con.execute(
            "SELECT step, count(*) AS decisions FROM routing_decision GROUP BY step ORDER BY decisions DESC, step").df())
        show("Leads per owner or queue (current decisions)", con.execute(
            """SELECT coalesce('queue ' || cur.queue, u.name, cur.owner_id) AS routed_to, count(*) AS leads
               FROM current_decision cur LEFT JOIN crm_user u ON u.user_id = cur.owner_id
               WHERE cur.action <> 'keep' GROUP BY ALL ORDER BY leads DESC, routed_to""").df())
        ledger = con.execute("SELECT kind, status, count(*) AS writes FROM ledger GROUP BY ALL ORDER BY kind, writes DESC").df()
        ledger["kind"] = ledger["kind"].map(lambda k: WRITE_KINDS.get(k, k))
        ledger["status"] = ledger["status"].str.replace("_", " ")
        show("CRM writes by status (the ledger)", ledger)
        pending = con.execute(
            """SELECT lead_id, kind, status, attempts, next_attempt_at, last_error_code, last_error FROM ledger
               WHERE status IN ('pending', 'in_flight') ORDER BY updated_at DESC, lead_id LIMIT 20""").df()
        if len(pending):
            show("Waiting to be pushed (retried by the next ticks), with the last error", pending)
        failed = con.execute(
            """SELECT lead_id, kind, last_error_code AS error, last_error AS message, attempts FROM ledger
               WHERE status = 'failed' ORDER BY updated_at DESC, lead_id LIMIT 20""").df()
        if len(failed):
            show("Failed pushes (need a person)", failed)
        deleted = con.execute(
            """SELECT lead_id, kind, updated_at FROM ledger WHERE status = 'skipped_deleted'
               ORDER BY updated_at DESC, lead_id LIMIT 20""").df()
        if len(deleted):
            show("Leads deleted in the CRM before their push (nothing to do)", deleted)
        show("Quarantined records (open)", con.execute(
            """SELECT stage, object, record_id, reason, detail FROM quarantine
               WHERE resolved_at IS NULL ORDER BY last_seen_at DESC, record_id LIMIT 20""").df())
        _quality_and_kpis(con, s, html_path, trend)


def _quality_and_kpis(con, s, html_path: Path | None, trend: int) -> None:
    from pipelines.crm.fields import load_field_mapping
    from pipelines.kpis.compute import compute_kpis

    if not db.table_exists(con, "quality_check"):
        return  # a warehouse from before data quality was measured
    rules = _rules_or_none(s.rules)
    k = compute_kpis(con, load_field_mapping(s.fields_file), rules)
    show("Quarantine by stage and reason (open)", k.quarantine)
    fill = k.fill[k.fill["table"] == "lead"]
    fill = fill[(fill["after_pct"] > 0) | fill["before_pct"].fillna(0).gt(0)]
    show("Lead fill rates: first CRM field alone -> unified", fill[["column", "before_pct", "after_pct"]], max_rows=40)
    enriched = k.fill[k.fill["table"] == "lead_enriched"]
    show("Enriched lead fields filled", enriched[["column", "after_pct"]], max_rows=40)
    show("Data quality checks (latest run)", k.checks)
    show("Routing KPIs", _kpi_rows(k.totals),
         "time to assignment: leads created since the first tick" if k.totals.get("leads_before_leadroute") else "")
    if len(k.fairness):
        show("Fairness within pools", k.fairness)
    _day2(k.day2)
    if html_path:
        from pipelines.kpis.html import render

        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render(k, datetime.now(UTC).replace(tzinfo=None), con, rules, trend), encoding="utf-8")
        console.print(f"\nReport page written to {html_path}")


def _kpi_rows(totals: dict) -> pd.DataFrame:
    """KPIs as (kpi, value) text rows, each value formatted by its own unit."""
    from pipelines.kpis.formats import cell

    return pd.DataFrame([{"kpi": n.replace("_", " "), "value": cell(n, v)} for n, v in totals.items()])


def _rules_or_none(path):
    """The rules, for working-hour times; None when they do not load (the report still shows the rest)."""
    from pipelines.routing.ruleset.load import load_rules
    from pipelines.sourcefile import ConfigError

    try:
        return load_rules(path)
    except (ConfigError, OSError):
        return None


def _day2(d) -> None:
    """Day 2: what happened after the first assignment."""
    if not d.totals:
        return
    show("Day 2: first touch, reroutes, recycling, leakage", _kpi_rows(d.totals))
    show("First-touch SLA compliance per SLA and pool", d.sla, "judged: touched or missed")
    show("First-touch SLA compliance per rep", d.sla_per_rep)
    show("Reroutes by reason (decisions that replaced another)", d.reroutes)
    leaked = d.leakage[d.leakage["leaked"] > 0] if len(d.leakage) else d.leakage
    show("Leakage: assigned leads never touched, past their SLA or too old, per rep", leaked)


COMMANDS = [report]

"""``leadroute report``: what the pipeline has done: ticks, decisions, the ledger, quarantine,
data quality (fill rates, checks), the routing KPIs and day 2 (SLAs, reroutes, recycling,
leakage), in the terminal and as an HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import pandas as pd

from pipelines.cli.common import friendly, settings, table
from pipelines.warehouse import db


@click.command()
@click.option("--ticks", default=10, show_default=True, help="How many recent ticks to list.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the KPIs as a self-contained HTML page with charts (no network needed to view).")
@friendly
def report(ticks: int, html_path: Path | None) -> None:
    """Recent ticks, routing by step and owner, push status, quarantine, data quality and KPIs."""
    s = settings()
    with db.connect(s.warehouse, read_only=True) as con:
        click.echo("Recent ticks")
        click.echo(table(con.execute(
            """SELECT substr(run_id, 1, 8) AS run, finished_at,
                      summary->>'leads_extracted' AS leads_in, summary->>'leads_decided' AS decided,
                      summary->>'pushed' AS pushed, summary->>'failed' AS failed,
                      summary->>'push_stopped' AS push_stopped
               FROM tick_log ORDER BY finished_at DESC LIMIT ?""", [ticks]).df()))
        click.echo("\nDecisions by step (all time)")
        click.echo(table(con.execute(
            "SELECT step, count(*) AS leads FROM routing_decision GROUP BY step ORDER BY leads DESC").df()))
        click.echo("\nLeads routed per owner or queue (current decisions)")
        click.echo(table(con.execute(
            """SELECT coalesce('queue ' || cur.queue, u.name, cur.owner_id) AS routed_to, count(*) AS leads
               FROM current_decision cur LEFT JOIN crm_user u ON u.user_id = cur.owner_id
               WHERE cur.action <> 'keep' GROUP BY ALL ORDER BY leads DESC""").df()))
        click.echo("\nLedger by push status")
        click.echo(table(con.execute(
            "SELECT kind, status, count(*) AS rows FROM ledger GROUP BY ALL ORDER BY kind, rows DESC").df()))
        pending = con.execute(
            """SELECT lead_id, kind, status, attempts, next_attempt_at, last_error_code, last_error FROM ledger
               WHERE status IN ('pending', 'in_flight') ORDER BY updated_at DESC, lead_id LIMIT 20""").df()
        if len(pending):
            click.echo("\nWaiting to be pushed (retried by the next ticks), with the last error")
            click.echo(table(pending))
        failed = con.execute(
            """SELECT lead_id, kind, last_error_code, last_error, attempts FROM ledger
               WHERE status = 'failed' ORDER BY updated_at DESC LIMIT 20""").df()
        if len(failed):
            click.echo("\nFailed pushes (need a person)")
            click.echo(table(failed))
        deleted = con.execute(
            """SELECT lead_id, kind, updated_at FROM ledger WHERE status = 'skipped_deleted'
               ORDER BY updated_at DESC LIMIT 20""").df()
        if len(deleted):
            click.echo("\nLeads deleted in the CRM before their push (nothing to do)")
            click.echo(table(deleted))
        quarantined = con.execute(
            """SELECT stage, object, record_id, reason, detail FROM quarantine
               WHERE resolved_at IS NULL ORDER BY last_seen_at DESC LIMIT 20""").df()
        click.echo("\nQuarantined records (open)")
        click.echo(table(quarantined))
        _quality_and_kpis(con, s, html_path)


def _quality_and_kpis(con, s, html_path: Path | None) -> None:
    from pipelines.crm.fields import load_field_mapping
    from pipelines.kpis.compute import compute_kpis
    from pipelines.kpis.html import render

    if not db.table_exists(con, "quality_check"):
        return  # a warehouse from before data quality was measured
    k = compute_kpis(con, load_field_mapping(s.fields_file), _rules_or_none(s.rules))
    click.echo("\nQuarantine by stage and reason (open)")
    click.echo(table(k.quarantine))
    fill = k.fill[k.fill["table"] == "lead"]
    fill = fill[(fill["after_pct"] > 0) | fill["before_pct"].fillna(0).gt(0)]
    click.echo("\nLead fill rates: first CRM field alone -> unified (%)")
    click.echo(table(fill[["column", "before_pct", "after_pct"]], max_rows=40))
    enriched = k.fill[k.fill["table"] == "lead_enriched"]
    click.echo("\nEnriched lead fields filled (%)")
    click.echo(table(enriched[["column", "after_pct"]], max_rows=40))
    click.echo("\nData quality checks (latest run)")
    click.echo(table(k.checks))
    click.echo("\nRouting KPIs")
    click.echo(table(pd.DataFrame([{"kpi": n, "value": v} for n, v in k.totals.items()])))
    if len(k.fairness):
        click.echo("\nFairness within pools")
        click.echo(table(k.fairness))
    _day2(k.day2)
    if html_path:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render(k, datetime.now(UTC).replace(tzinfo=None)), encoding="utf-8")
        click.echo(f"\nKPI page written to {html_path}")


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
    click.echo("\nDay 2: first touch, reroutes, recycling, leakage")
    click.echo(table(pd.DataFrame([{"kpi": n, "value": v} for n, v in d.totals.items()])))
    click.echo("\nFirst-touch SLA compliance per SLA and pool (judged: touched or missed)")
    click.echo(table(d.sla))
    click.echo("\nFirst-touch SLA compliance per rep")
    click.echo(table(d.sla_per_rep))
    click.echo("\nReroutes by reason (decisions that replaced another)")
    click.echo(table(d.reroutes))
    leaked = d.leakage[d.leakage["leaked"] > 0] if len(d.leakage) else d.leakage
    click.echo("\nLeakage: assigned leads never touched, past their SLA or too old, per rep")
    click.echo(table(leaked))


COMMANDS = [report]

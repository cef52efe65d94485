"""``leadroute report``: what the pipeline has done: ticks, decisions, the ledger, quarantine."""

from __future__ import annotations

import click

from pipelines.cli.common import friendly, settings, table
from pipelines.warehouse import db


@click.command()
@click.option("--ticks", default=10, show_default=True, help="How many recent ticks to list.")
@friendly
def report(ticks: int) -> None:
    """Recent ticks, routing by step and owner, push status and quarantined records."""
    with db.connect(settings().warehouse, read_only=True) as con:
        click.echo("Recent ticks")
        click.echo(table(con.execute(
            """SELECT substr(run_id, 1, 8) AS run, finished_at,
                      summary->>'leads_extracted' AS leads_in, summary->>'leads_decided' AS decided,
                      summary->>'pushed' AS pushed, summary->>'failed' AS failed
               FROM tick_log ORDER BY finished_at DESC LIMIT ?""", [ticks]).df()))
        click.echo("\nDecisions by step (all time)")
        click.echo(table(con.execute(
            "SELECT step, count(*) AS leads FROM routing_decision GROUP BY step ORDER BY leads DESC").df()))
        click.echo("\nLeads routed per owner or queue (current decisions)")
        click.echo(table(con.execute(
            """WITH cur AS (SELECT * FROM routing_decision QUALIFY row_number() OVER
                            (PARTITION BY lead_id ORDER BY created_at DESC, decision_id DESC) = 1)
               SELECT coalesce('queue ' || cur.queue, u.name, cur.owner_id) AS routed_to, count(*) AS leads
               FROM cur LEFT JOIN crm_user u ON u.user_id = cur.owner_id
               WHERE cur.action <> 'keep' GROUP BY ALL ORDER BY leads DESC""").df()))
        click.echo("\nLedger by push status")
        click.echo(table(con.execute(
            "SELECT kind, status, count(*) AS rows FROM ledger GROUP BY ALL ORDER BY kind, rows DESC").df()))
        failed = con.execute(
            """SELECT lead_id, last_error_code, last_error, attempts FROM ledger
               WHERE status = 'failed' ORDER BY updated_at DESC LIMIT 20""").df()
        if len(failed):
            click.echo("\nFailed pushes (need a person)")
            click.echo(table(failed))
        quarantined = con.execute(
            """SELECT stage, object, record_id, reason, detail FROM quarantine
               WHERE resolved_at IS NULL ORDER BY last_seen_at DESC LIMIT 20""").df()
        click.echo("\nQuarantined records (open)")
        click.echo(table(quarantined))


COMMANDS = [report]

"""``leadroute tick``: one run of the tick job, in-process, with a summary."""

from __future__ import annotations

import json
import sys

import click

from pipelines.cli.common import friendly, settings
from pipelines.warehouse import db


def print_summary(summary: dict, seconds: float) -> None:
    click.echo(f"Tick {summary['run_id'][:8]} finished in {seconds:.1f} s")
    ex = summary["extracted"]
    new = summary.get("new_versions", {})
    click.echo("  extracted: " + ", ".join(f"{v:,} {k} ({new.get(k, 0):,} new)" for k, v in ex.items()))
    click.echo(f"  leads decided: {summary['leads_decided']:,} "
               f"(matched to an account: {summary['leads_matched_to_account']:,})")
    if summary.get("day2_decisions"):
        click.echo(f"  decisions: {summary['decisions']:,}, of which {summary['day2_decisions']:,} by day-2 routing "
                   f"(a lead the tick found owned can be kept, then moved)")
    for step, n in summary["per_step"].items():
        click.echo(f"    {n:>7,}  {step}")
    if summary["queued"]:
        click.echo("  in queues: " + ", ".join(f"{k} {v:,}" for k, v in summary["queued"].items()))
    click.echo(f"  pushed to the CRM: {summary['pushed']:,}   unchanged: {summary['unchanged']:,}   "
               f"retry later: {summary['retry_pending']:,}   failed: {summary['failed']:,}")
    if summary.get("reconciled") or summary.get("deleted_in_crm"):
        click.echo(f"  already in the CRM (read back, not written again): {summary.get('reconciled', 0):,}   "
                   f"deleted in the CRM (nothing to do): {summary.get('deleted_in_crm', 0):,}")
    if summary.get("quarantined"):
        click.echo("  quarantined: " + ", ".join(f"{v:,} {k}" for k, v in summary["quarantined"].items())
                   + " (reasons: `leadroute report`)")


@click.command()
@click.option("--now", "frozen_at", help="Run as if it were this UTC time (ISO 8601); for replays and tests.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Show Dagster's step-by-step log.")
@friendly
def tick(frozen_at: str | None, as_json: bool, verbose: bool) -> None:
    """Run one tick of the pipeline (the same Dagster job the schedule runs), in-process.

    Uses the Dagster instance in DAGSTER_HOME when set, so the run shows in the UI;
    otherwise a temporary instance.
    """
    from pipelines.defs.resources import ClockResource, default_resources
    from pipelines.runner import TickBusy, run_tick

    s = settings()
    if s.crm == "local" and not s.crm_path.exists():
        raise click.ClickException(f"No local CRM at {s.crm_path}. Create one with `leadroute demo init`.")
    resources = default_resources(s)
    if frozen_at:
        resources["clock"] = ClockResource(frozen_at=frozen_at)
    try:
        outcome = run_tick(resources=resources, log_level="DEBUG" if verbose else "ERROR")
    except TickBusy as exc:
        raise click.ClickException(str(exc)) from None
    for line in outcome.dead_runs:
        click.secho(f"A run had died: {line}", fg="yellow", err=True)
    if not outcome.success:
        click.secho(f"Tick {outcome.run_id[:8]} did not complete:", fg="red", err=True)
        for failure in outcome.failures:
            click.echo(f"  {failure}", err=True)
        if outcome.skipped:
            click.echo(f"  not run: {', '.join(outcome.skipped)}. Leads not routed stay pending for the next tick.",
                       err=True)
        sys.exit(1)
    with db.connect(s.warehouse, read_only=True) as con:
        row = db.first_row(con, "SELECT summary FROM tick_log WHERE run_id = ?", [outcome.run_id])
    summary = json.loads(row[0])
    summary["seconds"] = round(outcome.seconds, 2)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        print_summary(summary, outcome.seconds)
    if summary.get("push_stopped"):
        # The tick did its work, but writes wait: a scheduler or a person must hear why, in one line.
        click.secho(f"Push stopped early: {summary['push_stopped']} ({summary['retry_pending']:,} write(s) wait "
                    f"for the next tick)", fg="red", err=True)
        sys.exit(1)


COMMANDS = [tick]

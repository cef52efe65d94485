"""``leadroute backfill``: re-evaluate the leads created on a range of days under the current rules."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from pipelines.cli.common import Failure, IsoTime, friendly, require_warehouse, settings, table
from pipelines.warehouse import db


def summary(con, run_id: str) -> tuple[dict, object]:
    run = con.execute("SELECT * FROM backfill_run WHERE run_id = ? ORDER BY started_at DESC", [run_id]).df()
    if run.empty:
        raise Failure(f"backfill run {run_id[:8]} recorded nothing; see the Dagster run log")
    row = run.iloc[0]
    moves = con.execute(
        """WITH c AS (SELECT * FROM backfill_change WHERE backfill_id = ?)
           SELECT coalesce(uf.name, c.from_target) AS "from", coalesce(ut.name, c.to_target) AS "to",
                  count(*) AS leads, count(*) FILTER (WHERE c.moved) AS moved,
                  string_agg(c.lead_id, ', ' ORDER BY c.lead_id) FILTER (WHERE true) AS leads_ids
           FROM c LEFT JOIN crm_user uf ON 'user:' || uf.user_id = c.from_target
                  LEFT JOIN crm_user ut ON 'user:' || ut.user_id = c.to_target
           GROUP BY ALL ORDER BY leads DESC""",
        [row["backfill_id"]],
    ).df()
    moves["examples"] = moves.pop("leads_ids").str.split(", ").str[:3].str.join(", ")
    return row.to_dict(), moves


@click.command()
@click.option("--from", "start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="First lead-creation day.")
@click.option("--to", "end", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Last lead-creation day (included).")
@click.option("--dry-run", is_flag=True, help="Write the decisions' diff only: nothing pushed, nothing recorded as decided.")
@click.option("--now", "frozen_at", type=IsoTime(), help="Run as if it were this UTC time (ISO 8601).")
@friendly
def backfill(start: datetime, end: datetime, dry_run: bool, frozen_at: datetime | None) -> None:
    """Re-route the leads created from --from to --to under the current rules, in one run.

    The same job as a backfill launched from the Dagster UI (asset rerouted_leads). Leads whose
    owner, queue or pool would change get a new decision, pushed once; a dry run only reports them.
    It never overlaps a tick: it waits for none and refuses to start while one runs.
    """
    from pipelines.defs.resources import ClockResource, default_resources
    from pipelines.runner import TickBusy, run_backfill

    first, last = start.date(), end.date()
    if last < first:
        raise Failure(f"--to {last} is before --from {first}")
    s = settings()
    require_warehouse(s, "a backfill re-routes leads ticks have decided")
    resources = default_resources(s)
    if frozen_at:
        resources["clock"] = ClockResource(frozen_at=frozen_at.isoformat())
    try:
        outcome = run_backfill(first, last, dry_run=dry_run, resources=resources, log_level="ERROR")
    except TickBusy as exc:
        raise Failure(str(exc)) from None
    if not outcome.success:
        click.secho(f"Backfill {outcome.run_id[:8]} did not complete:", fg="red", err=True)
        for failure in outcome.failures:
            click.echo(f"  {failure}", err=True)
        sys.exit(1)
    with db.connect(s.warehouse, read_only=True) as con:
        run, moves = summary(con, outcome.run_id)
    verb = "would move" if dry_run else "moved"
    click.echo(f"Backfill {first}..{last}{' (dry run)' if dry_run else ''}, rules {run['rules_version']}: "
               f"{run['leads']:,} leads re-evaluated, {run['moved']:,} {verb}, "
               f"{run['blocked']:,} kept by the rerouting policy ({outcome.seconds:.1f} s)")
    if len(moves):
        click.echo(table(moves))
    if dry_run:
        click.echo("Nothing was pushed. Run again without --dry-run to move them.")


COMMANDS = [backfill]

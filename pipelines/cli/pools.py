"""``leadroute pools``: each pool's members, who is available now and why not, counts, caps, turns."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from pipelines.cli.common import IsoTime, friendly, settings, table
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.pools.report import member_table, overview
from pipelines.warehouse import db


@click.command("pools")
@click.option("--now", "now_text", type=IsoTime(), help="The time to check availability at (ISO 8601, UTC); default: now.")
@click.option("--pool", "only", multiple=True, help="Show only this pool (repeatable).")
@friendly
def pools_command(now_text: str | None, only: tuple[str, ...]) -> None:
    """Each pool: members, availability now and why, counts today and this week, caps used, turns."""
    s = settings()
    now = now_text or datetime.now(UTC).replace(tzinfo=None)
    rules = load_rules(s.rules)
    unknown = [p for p in only if p not in rules.pools]
    if unknown:
        raise click.UsageError(f"unknown pool(s) {unknown}; pools are {', '.join(rules.pools)}")
    if s.warehouse.exists():
        with db.connect(s.warehouse, read_only=True) as con:
            pools, members = overview(con, rules, now)
    else:
        import duckdb

        with duckdb.connect() as con:  # no warehouse yet: availability only, no counts
            pools, members = overview(con, rules, now)
        click.echo(f"note: no warehouse at {s.warehouse}: counts are empty until a tick runs", err=True)
    click.echo(f"Pools at {now:%Y-%m-%d %H:%M} UTC ({s.rules}/pools.yaml)")
    for row in pools.itertuples(index=False):
        if only and row.pool not in only:
            continue
        click.echo(f"\n{row.pool}: {row.how}")
        click.echo(f"  {row.available_now} of {row.members} members available now; {row.assigned_total} leads assigned "
                   f"({row.sticky_total} sticky, {row.pointer} by turns), {row.to_fallback_total} to the fallback; "
                   f"last lead to {row.last_lead_to or 'nobody yet'}; fallback: {row.fallback}")
        click.echo("  " + table(member_table(members[members["pool"] == row.pool])).replace("\n", "\n  "))


COMMANDS = [pools_command]

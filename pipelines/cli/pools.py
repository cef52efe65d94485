"""``leadroute pools``: each pool's members, who is available now and why not, counts, caps, turns."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime

import click

from pipelines.cli.common import IsoTime, friendly, settings, table
from pipelines.routing.pools import turn_order
from pipelines.routing.pools.book import load_states
from pipelines.routing.pools.report import Moment, crm_users, member_table, overview
from pipelines.routing.ruleset.load import load_rules
from pipelines.warehouse import db, writer


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
        if row.turn_set:
            click.echo(f"  {row.turn_set}")
        click.echo("  " + table(member_table(members[members["pool"] == row.pool])).replace("\n", "\n  "))


@click.command("turn")
@click.argument("pool")
@click.option("--next", "next_rep", help="Make this member next (user id or name); without it, only show.")
@click.option("--why", help="Why (required with --next): recorded with the change.")
@click.option("--by", "by", default=lambda: os.environ.get("USER") or getpass.getuser(), show_default="$USER",
              help="Who sets it: recorded with the change.")
@click.option("--now", "now_text", type=IsoTime(), help="The time to check availability at (ISO 8601, UTC); default: now.")
@friendly
def turn_command(pool: str, next_rep: str | None, why: str | None, by: str, now_text: datetime | None) -> None:
    """Show the rotation of POOL and whose turn it is; with --next, make that member next.

    The rotation is the order of the pool's members: list in pools.yaml (a filter rotates in
    user-id order). Setting the turn restarts the round at that member; the change is recorded
    with who and why, and shown here and by `leadroute pools`.
    """
    s = settings()
    now = now_text or datetime.now(UTC).replace(tzinfo=None)
    rules = load_rules(s.rules)
    if pool not in rules.pools:
        raise click.UsageError(f"unknown pool {pool!r}; pools are {', '.join(rules.pools)}")
    decl = rules.pools[pool]
    if next_rep is not None:
        if not why:
            raise click.UsageError("say why with --why: it is recorded with the change (e.g. --why 're-org')")
        try:
            user_id = turn_order.member_of(decl, rules, next_rep)
            with writer.hold(s.warehouse, "leadroute pool turn"), db.connect(s.warehouse) as con:
                was = _next_user(con, decl, rules, now)
                turn_order.set_next(con, decl, rules, user_id)
                name = rules.reps.set_index("user_id")["name"].get(user_id, user_id)
                turn_order.log(con, pool, user_id, name, by=by, why=why, was=was, now=now)
        except turn_order.TurnError as exc:
            raise click.UsageError(str(exc)) from None
        click.echo(f"{pool}: {name} is next (set by {by}: {why})")
    if s.warehouse.exists():
        with db.connect(s.warehouse, read_only=True) as con:
            _show(con, decl, rules, now)
    else:
        import duckdb

        with duckdb.connect() as con:
            _show(con, decl, rules, now)


def _rotation(con, decl, rules, now: datetime):
    """The pool's members in rotation order and the position of the next in turn (None: nobody can take one)."""
    book = load_states(con, read_only=True)
    active, _ = crm_users(con)
    return turn_order.next_in_turn(decl, rules, Moment(now=now, crm_active=active, pool_states=book))


def _next_user(con, decl, rules, now: datetime) -> str | None:
    order, nxt = _rotation(con, decl, rules, now)
    return None if nxt is None else str(order["user_id"].iloc[nxt])


def _show(con, decl, rules, now: datetime) -> None:
    """Print the rotation, whose turn it is, and the latest turn ops set."""
    order, nxt = _rotation(con, decl, rules, now)
    if decl.method == "load_balanced":
        click.echo(f"{decl.name} is load balanced: the member with the fewest open leads gets the next lead")
    click.echo(f"{decl.name}: rotation ({'as listed in pools.yaml' if decl.members else 'user-id order'}):")
    for i, row in enumerate(order.itertuples(index=False)):
        mark = "->" if i == nxt else "  "
        click.echo(f"  {mark} {i + 1}. {row.name} ({row.user_id}) {row.status}")
    click.echo("nobody can take a lead now" if nxt is None else f"next in turn: {order['name'].iloc[nxt]}")
    line = turn_order.describe(turn_order.latest(con).get(decl.name))
    if line:
        click.echo(line)


COMMANDS = [pools_command]

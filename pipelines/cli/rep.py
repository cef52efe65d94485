"""``leadroute rep pause|resume|status|overrides``: take a rep out of routing for a while, without a pull request."""

from __future__ import annotations

import contextlib
import getpass
from datetime import UTC, datetime

import click

from pipelines.cli.common import Failure, IsoTime, friendly, require_warehouse, settings, table
from pipelines.ops import overrides as ops
from pipelines.routing.ruleset.load import load_rules
from pipelines.warehouse import db, writer
from pipelines.warehouse.schema import TABLES

NOW = click.option("--now", "now_text", type=IsoTime(), help="The time it happens at (ISO 8601, UTC); default: now.")


def now_of(now: datetime | None) -> datetime:
    return now or datetime.now(UTC).replace(tzinfo=None)


@contextlib.contextmanager
def writing():
    """The warehouse for a write: the writer lock (a running tick says so at once), the override table."""
    s = settings()
    require_warehouse(s, "overrides are kept in the warehouse next to the decisions they change")
    with writer.hold(s.warehouse, what="leadroute rep"), db.connect(s.warehouse) as con:
        con.execute(TABLES[ops.OVERRIDE_TABLE].ddl())
        yield con


@contextlib.contextmanager
def reading():
    """The warehouse read-only, and the rules."""
    s = settings()
    require_warehouse(s, "overrides are kept in the warehouse")
    rules = load_rules(s.rules)
    with db.connect(s.warehouse, read_only=True) as con:
        yield con, rules


@click.group("rep")
def rep() -> None:
    """Pause and resume reps (sick, in a meeting block): stored in the warehouse with who, when, why and
    until when; honoured by pools, SLA clocks and holds from the next tick; reps.csv is never edited."""


@rep.command("pause")
@click.argument("who")
@click.option("--until", help="When the pause ends by itself: HH:MM (today, the rep's time zone) or an ISO time; "
                              "default: until `rep resume`.")
@click.option("--reason", required=True, help="Why (shown in explain, the pool state and the audit trail).")
@click.option("--by", default=getpass.getuser, show_default="your user name", help="Who pauses.")
@NOW
@friendly
def pause(who: str, until: str | None, reason: str, by: str, now_text: datetime | None) -> None:
    """Pause WHO (user_id, email or name in reps.csv): no pool gives them a lead from the next tick."""
    rules = load_rules(settings().rules)
    try:
        with writing() as con:
            row = ops.pause(con, rules.reps, who, now=now_of(now_text), by=by, reason=reason, until=until)
    except ops.OverrideError as exc:
        raise Failure(str(exc)) from None
    until_text = f"until {row['until']:%Y-%m-%d %H:%M} UTC" if row["until"] else "until `leadroute rep resume`"
    click.echo(f"paused {row['name']} ({row['user_id']}) {until_text}: {row['reason']} (override {row['override_id']})")


@rep.command("resume")
@click.argument("who")
@click.option("--reason", default="", help="Why the pause ends early.")
@click.option("--by", default=getpass.getuser, show_default="your user name", help="Who resumes.")
@NOW
@friendly
def resume(who: str, reason: str, by: str, now_text: datetime | None) -> None:
    """End WHO's pause now: pools give them leads again from the next tick."""
    rules = load_rules(settings().rules)
    try:
        with writing() as con:
            n = ops.resume(con, rules.reps, who, now=now_of(now_text), by=by, reason=reason)
    except ops.OverrideError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"resumed {ops.find_rep(rules.reps, who)['name']} ({n} pause(s) ended)")


@rep.command("status")
@click.option("--all", "history", is_flag=True, help="Every pause ever set (expired and resumed too).")
@NOW
@friendly
def status(history: bool, now_text: datetime | None) -> None:
    """Who is paused now, by whom, why and until when (``--all``: the whole audit trail)."""
    with reading() as (con, rules):
        rows = ops.status(con, rules.reps, now_of(now_text), history=history)
    if rows.empty:
        click.echo("nobody is paused" if not history else "no pause recorded")
        return
    click.echo(table(rows.drop(columns=["user_id"]).fillna(""), max_rows=200))


@rep.command("overrides")
@click.option("--as-csv", "as_csv", is_flag=True, required=True,
              help="Print reps.csv with the pauses active now written as out-of-office dates.")
@NOW
@friendly
def overrides_command(as_csv: bool, now_text: datetime | None) -> None:
    """What a permanent change would be: reps.csv with today's pauses as ooo_from/ooo_to (for a pull request)."""
    with reading() as (con, rules):
        click.echo(ops.as_csv(settings().rules, rules.reps, con, now_of(now_text)), nl=False)


COMMANDS = [rep]

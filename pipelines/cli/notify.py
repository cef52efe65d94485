"""``leadroute notify status|digest``: what the notifications did, and the managers' daily digest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click

from pipelines.cli.common import IsoTime, friendly, require_warehouse, settings, table
from pipelines.notify import status as outbox_status
from pipelines.notify.channels import Courier
from pipelines.notify.digest import send_digest
from pipelines.notify.outbox import OUTBOX
from pipelines.routing.ruleset.load import load_rules
from pipelines.stage import RunInfo
from pipelines.warehouse import db, writer
from pipelines.warehouse.schema import TABLES


@click.group("notify")
def notify() -> None:
    """Notifications to owners, managers and channels (rules `notify:`; README "Notifications")."""


@notify.command("status")
@friendly
def status() -> None:
    """Messages by status and channel; every failed, unconfirmed or skipped one with its reason."""
    s = settings()
    require_warehouse(s, "the outbox is kept in the warehouse")
    with db.connect(s.warehouse, read_only=True) as con:
        if not db.table_exists(con, OUTBOX):
            click.echo("No notification yet: no tick has run with `notify:` in the rules.")
            return
        click.echo(table(outbox_status.counts(con)))
        looks = outbox_status.problems(con)
    click.echo(f"\nNeeds a look ({len(looks)}): failed, unconfirmed (maybe delivered, never resent), skipped")
    click.echo(table(looks))


@notify.command("digest")
@click.option("--now", "now", type=IsoTime(), help="The time it runs at (ISO 8601, UTC); default: now. "
                                                   "One digest per manager and day.")
@friendly
def digest(now: datetime | None) -> None:
    """Send each manager today's digest: their team's SLA misses and leaked leads, the queues' waiting leads."""
    s = settings()
    require_warehouse(s, "the digest reads the day-2 KPIs from the warehouse")
    rules = load_rules(s.rules)
    run = RunInfo(f"digest-{uuid.uuid4().hex[:12]}", now or datetime.now(UTC).replace(tzinfo=None))
    with writer.hold(s.warehouse, what="leadroute notify digest"), db.connect(s.warehouse) as con:
        con.execute(TABLES[OUTBOX].ddl())
        result = send_digest(con, rules, run, Courier())
    click.echo(result.line())


COMMANDS = [notify]

"""``leadroute demo``: a realistic, messy local CRM to try leadroute on, and a trickle of new leads."""

from __future__ import annotations

import time
from datetime import datetime

import click

from pipelines.cli.common import Failure, IsoTime, friendly, settings


@click.group()
def demo() -> None:
    """Build and feed the embedded local CRM (data/crm.sqlite)."""


@demo.command()
@click.option("--accounts", default=5_000, show_default=True, type=click.IntRange(min=1), help="Accounts to generate (1,000,000 takes minutes).")
@click.option("--leads", default=3_000, show_default=True, type=click.IntRange(min=1), help="Leads to generate (historical and new).")
@click.option("--seed", default=42, show_default=True, help="Same seed, same CRM.")
@click.option("--now", type=IsoTime(), help="Pretend it is this UTC time (ISO 8601).")
@click.option("--keep-warehouse", is_flag=True, help="Keep data/warehouse.duckdb (by default it is reset, "
              "because its watermarks and ledger describe the old CRM).")
@friendly
def init(accounts: int, leads: int, seed: int, now: datetime | None, keep_warehouse: bool) -> None:
    """Create a new demo CRM, replacing any existing one, and its ground truth."""
    from pipelines.demo.generator import generate_crm

    s = settings()
    started = time.perf_counter()
    summary = generate_crm(s.crm_path, s.truth_dir, accounts=accounts, leads=leads, seed=seed,
                           now=now, rules_dir=s.rules, progress=lambda m: click.echo(f"  {m}"))
    click.echo(f"Demo CRM written to {s.crm_path} in {time.perf_counter() - started:.1f} s")
    for line in summary.describe().splitlines():
        click.echo(f"  {line}")
    if not keep_warehouse:
        from pipelines.warehouse.db import wal_path

        for path in (s.warehouse, wal_path(s.warehouse)):
            if path.exists():
                path.unlink()
                click.echo(f"  reset {path} (it described the previous CRM)")
    click.echo("Next: `leadroute tick` routes the new leads.")


@demo.command()
@click.option("--leads", default=25, show_default=True, type=click.IntRange(min=1), help="New inbound leads to add.")
@click.option("--seed", type=int, help="Seed (default: differs on every call).")
@click.option("--now", type=IsoTime(), help="Create them at this UTC time (ISO 8601), e.g. to replay a day with `tick --now`.")
@friendly
def trickle(leads: int, seed: int | None, now: datetime | None) -> None:
    """Add new inbound leads to the demo CRM, as a web form would."""
    from pipelines.demo.trickle import trickle as add_leads

    s = settings()
    if not s.crm_path.exists():
        raise Failure(f"No demo CRM at {s.crm_path}; run `leadroute demo init` first.")
    summary = add_leads(s.crm_path, s.truth_dir, leads=leads, seed=seed, rules_dir=s.rules, now=now)
    click.echo(summary.describe())


@demo.command()
@click.option("--now", required=True, type=IsoTime(), help="When it happens (UTC, ISO 8601); tick at this time or later to see it.")
@click.option("--touch", "touch_share", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the reps' open New leads they touch (the rest will miss their SLA).")
@click.option("--progress", default=3, show_default=True, type=click.IntRange(min=0), help="Working leads that move on (qualified or disqualified).")
@click.option("--reengage", default=2, show_default=True, type=click.IntRange(min=0), help="Nurtured leads that fill in a form again.")
@click.option("--rep-leaves", help="Deactivate this user id in the CRM, or `auto`: the SDR or AE with the most open leads.")
@click.option("--seed", type=int, help="Seed (default: from the CRM and the time).")
@friendly
def activity(now: datetime, touch_share: float, progress: int, reengage: int, rep_leaves: str | None, seed: int | None) -> None:
    """Day-2 life: reps touch some new leads, others progress, a rep may leave, nurtured leads come back."""
    from pipelines.demo.day2 import simulate

    s = settings()
    if not s.crm_path.exists():
        raise Failure(f"No demo CRM at {s.crm_path}; run `leadroute demo init` first.")
    try:
        summary = simulate(s.crm_path, now=now, seed=seed, touch_share=touch_share, progress=progress,
                           reengage=reengage, rep_leaves=rep_leaves)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary.describe())



@demo.command("account-edits")
@click.option("--edit", "edit", default=200, show_default=True, type=click.IntRange(min=0),
              help="Accounts edited where no match key reads (one more employee).")
@click.option("--rename", default=20, show_default=True, type=click.IntRange(min=0),
              help="Accounts renamed (their name keys move, so their duplicates are looked for again).")
@click.option("--seed", type=int, help="Seed (default: the number of live accounts).")
@click.option("--now", type=IsoTime(), help="Stamp the edits at this UTC time (ISO 8601).")
@friendly
def account_edits(edit: int, rename: int, seed: int | None, now: datetime | None) -> None:
    """A day of account upkeep: some accounts edited, a few renamed; the next tick updates the master."""
    from pipelines.demo.account_edits import edit_accounts

    s = settings()
    if not s.crm_path.exists():
        raise Failure(f"No demo CRM at {s.crm_path}; run `leadroute demo init` first.")
    try:
        summary = edit_accounts(s.crm_path, edit=edit, rename=rename, seed=seed, now=now)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    click.echo(summary.describe())

COMMANDS = [demo]

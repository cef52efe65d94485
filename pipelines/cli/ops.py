"""``leadroute pool credit`` and ``leadroute assign``: turns given back and manual decisions, through the warehouse."""

from __future__ import annotations

import getpass
from datetime import datetime
import uuid

import click

from pipelines.crm.fields import load_field_mapping
from pipelines.cli.common import Failure, friendly, settings
from pipelines.cli.pools import turn_command
from pipelines.cli.rep import NOW, now_of, writing
from pipelines.ops.assign import assign as assign_lead
from pipelines.ops.credit import credit as credit_turns
from pipelines.ops.overrides import OverrideError
from pipelines.routing.ruleset.load import load_rules
from pipelines.stage import RunInfo

BY = click.option("--by", default=getpass.getuser, show_default="your user name", help="Who does it.")


@click.group("pool")
def pool() -> None:
    """Change a pool's memory by hand, with an audit trail (the rules stay in pools.yaml): whose turn, turns given back."""


pool.add_command(turn_command)


@pool.command("credit")
@click.argument("rep")
@click.option("--pool", "pool_name", required=True, help="The pool to give the turns back in.")
@click.option("--leads", default=1, show_default=True, type=click.IntRange(min=1), help="How many turns.")
@click.option("--reason", required=True, help="Why (a junk lead, a lead reassigned by hand).")
@BY
@NOW
@friendly
def credit(rep: str, pool_name: str, leads: int, reason: str, by: str, now_text: datetime | None) -> None:
    """Give REP turns back in a pool: they go that many turns early; shown in `leadroute pools` (credited)."""
    rules = load_rules(settings().rules)
    try:
        with writing() as con:
            row = credit_turns(con, rules, rep, pool=pool_name, leads=leads, reason=reason, by=by, now=now_of(now_text))
    except OverrideError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"credited {row['name']} {row['leads']} turn(s) in {row['pool']} ({row['owed']} owed now): {row['reason']}")


@click.command("assign")
@click.argument("lead_id")
@click.option("--to", "to", required=True, help="A rep (user_id, email or name in reps.csv) or a queue of queues.yaml.")
@click.option("--reason", required=True, help="Why (shown in explain).")
@click.option("--force", is_flag=True, help="Move it even when the reroute policy protects it.")
@click.option("--credit-back", is_flag=True, help="Give the previous owner their turn back in the pool that gave the lead.")
@BY
@NOW
@friendly
def assign(lead_id: str, to: str, reason: str, force: bool, credit_back: bool, by: str, now_text: datetime | None) -> None:
    """Decide LEAD_ID by hand: recorded like any decision, pushed once by the next tick, explained."""
    s = settings()
    rules = load_rules(s.rules)
    mapping = load_field_mapping(s.rules / "fields.yaml")
    run = RunInfo(f"manual-{uuid.uuid4().hex[:12]}", now_of(now_text))
    try:
        with writing() as con:
            out = assign_lead(con, rules, mapping, lead_id, to, reason=reason, by=by, run=run, force=force,
                              credit_back=credit_back)
    except OverrideError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"{lead_id} -> {out['target']} (decision {out['decision_id']}); the next tick pushes it")
    if out["credited"]:
        c = out["credited"]
        click.echo(f"credited {c['name']} 1 turn in {c['pool']}")


COMMANDS = [pool, assign]

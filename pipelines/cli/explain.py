"""``leadroute explain LEAD_ID``: why a lead went where it did."""

from __future__ import annotations

import click

from pipelines.cli.common import friendly, settings
from pipelines.routing.stages.explain import explain as explain_lead
from pipelines.warehouse import db


@click.command()
@click.argument("lead_id")
@friendly
def explain(lead_id: str) -> None:
    """Explain every routing decision about LEAD_ID, from its stored trace."""
    with db.connect(settings().warehouse, read_only=True) as con:
        click.echo(explain_lead(con, lead_id))


COMMANDS = [explain]

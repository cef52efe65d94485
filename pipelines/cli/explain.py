"""``leadroute explain LEAD``: why a lead went where it did, found by id, email or company."""

from __future__ import annotations

import sys

import click

from pipelines.cli.common import friendly, require_warehouse, settings, table
from pipelines.routing.stages.explain import FIND_LIMIT, choices, examples, explain as explain_lead, find
from pipelines.warehouse import db


@click.command()
@click.argument("lead", required=False)
@friendly
def explain(lead: str | None) -> None:
    """Explain every routing decision about LEAD (an id, an email or a company name), from its stored trace.

    Without LEAD: a handful of real leads to try, one per kind of outcome. Several leads
    match: a short list to choose an id from. Exit status 1 when no lead matches, 2 when
    the warehouse cannot be read (none yet, or busy).
    """
    s = settings()
    require_warehouse(s, "explanations come from the decisions a tick recorded")
    with db.connect(s.warehouse, read_only=True) as con:
        if lead is None:
            click.echo("Leads to try, one per kind of outcome (`leadroute explain ID`; an email or a company works too):")
            click.echo(table(examples(con)))
            return
        hits = find(con, lead)
        if hits.empty:
            click.secho(f"No lead matches {lead!r} (an id, an email or a company name) in {s.warehouse}. "
                        f"`leadroute report` lists lead ids to try.", fg="red", err=True)
            sys.exit(1)
        if len(hits) > 1:
            more = "at least " if len(hits) == FIND_LIMIT else ""
            click.echo(f"{more}{len(hits)} leads match {lead!r}; explain one by its id:")
            shown = choices(con, hits)
            shown["created_at"] = shown["created_at"].dt.strftime("%Y-%m-%d %H:%M").fillna("—")
            click.echo(table(shown.fillna("—")))
            return
        text = explain_lead(con, hits.iloc[0]["lead_id"])
    click.echo(text)


COMMANDS = [explain]

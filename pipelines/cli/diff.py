"""``leadroute diff``: what a rules change would move, before it is merged."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import click

from pipelines.cli.common import IsoTime, Failure, friendly, settings, table
from pipelines.crm.fields import load_field_mapping
from pipelines.routing.stages.simulate import Diff, diff_rules
from pipelines.warehouse import db


def render_text(d: Diff, examples: int) -> str:
    lines = [f"Rules {d.base} -> {d.head}: {d.moved:,} of {d.leads:,} recent leads would move."]
    if d.moved:
        lines += ["", "Moves (from -> to):", table(d.by_move(), max_rows=examples * 10)]
        lines += ["", "By step:", table(d.by_step())]
    changed_pools = d.pools[d.pools["change"] != 0]
    if len(changed_pools):
        lines += ["", "Pool balance:", table(changed_pools)]
    return "\n".join(lines)


def render_markdown(d: Diff, examples: int) -> str:
    head = f"### leadroute diff: {d.moved:,} of {d.leads:,} recent leads would move"
    lines = [head, "", f"Rules `{d.base}` → `{d.head}`."]
    if not d.moved:
        lines += ["", "No lead changes owner, queue or pool."]
        return "\n".join(lines)
    lines += ["", "| from | to | leads | examples |", "|---|---|---:|---|"]
    for row in d.by_move().head(examples * 10).itertuples(index=False):
        lines.append(f"| {row[0]} | {row[1]} | {row[2]:,} | {row[3]} |")
    lines += ["", "| step before | step after | leads |", "|---|---|---:|"]
    for row in d.by_step().itertuples(index=False):
        lines.append(f"| {row[0]} | {row[1]} | {row[2]:,} |")
    changed_pools = d.pools[d.pools["change"] != 0]
    if len(changed_pools):
        lines += ["", "| pool | before | after | change |", "|---|---:|---:|---:|"]
        for row in changed_pools.itertuples(index=False):
            lines.append(f"| {row[0]} | {row[1]:,} | {row[2]:,} | {row[3]:+,} |")
    return "\n".join(lines)


@click.command()
@click.option("--base", "base_ref", default="HEAD", show_default=True,
              help="Git reference of the rules to compare against (in CI: the target branch, e.g. origin/main).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluate leads created on or after this day (default: the last 30 days).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="markdown: a pull-request comment.")
@click.option("--examples", default=3, show_default=True, type=click.IntRange(min=0), help="Example lead ids per move.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when any lead would move (like git diff --exit-code).")
@click.option("--fail-over", type=click.IntRange(min=0), help="Exit 1 when more than this many leads would move.")
@click.option("--now", "frozen_at", type=IsoTime(), help="Evaluate as of this UTC time (ISO 8601); availability depends on it.")
@friendly
def diff(base_ref: str, since: datetime | None, fmt: str, examples: int, exit_code: bool, fail_over: int | None,
         frozen_at: datetime | None) -> None:
    """Route recent leads (from the warehouse) under the rules at --base and under the working tree,
    and report which would move: from whom to whom, per step, and each pool's balance.

    Nothing is written: not the warehouse, not the CRM, not the pools' turns. Leads placed
    by a pool compare as "pool X", so a round robin's turn order is not reported as moves.
    Exit status: 0, or 1 with --exit-code / --fail-over when leads would move; 2 on errors.
    """
    s = settings()
    now = frozen_at or datetime.now(UTC).replace(tzinfo=None)
    since = since or now - timedelta(days=30)
    mapping = load_field_mapping(s.fields_file)
    try:
        with db.connect(s.warehouse, read_only=True) as con:
            result = diff_rules(con, mapping, s.rules, base_ref, since, now)
    except RuntimeError as exc:
        raise Failure(str(exc)) from None
    click.echo(render_markdown(result, examples) if fmt == "markdown" else render_text(result, examples))
    if (exit_code and result.moved) or (fail_over is not None and result.moved > fail_over):
        sys.exit(1)


COMMANDS = [diff]

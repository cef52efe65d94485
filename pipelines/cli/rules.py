"""``leadroute validate`` and ``leadroute rules``: checking the rules ops edit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from pipelines.cli.common import friendly, settings
from pipelines.routing.language.model import ACTIONS, SIDE_ACTIONS
from pipelines.routing.language.tables import KEY_KINDS
from pipelines.routing.ruleset.folder import check_folder
from pipelines.routing.language.vocabulary import OPERATORS
from pipelines.warehouse.errors import WarehouseBusy


def _crm_users(warehouse: Path):
    """CRM users from the warehouse when it is there and free; None otherwise (checks that need them are skipped)."""
    if not warehouse.exists():
        return None, "no warehouse yet: reps were not checked against the CRM"
    from pipelines.warehouse import db  # DuckDB only when there is a warehouse to read

    try:
        with db.connect(warehouse, read_only=True, wait_seconds=0.5) as con:
            if not db.table_exists(con, "crm_user"):
                return None, "no CRM users in the warehouse yet"
            return con.execute("SELECT user_id, is_active FROM crm_user").df(), None
    except WarehouseBusy:
        return None, "the warehouse is busy (a tick is running): reps were not checked against the CRM"


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Do not read CRM users from the warehouse (for CI without data).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(path: Path | None, offline: bool, strict: bool) -> None:
    """Check the routing rules in PATH (default: routing_rules/); exit 1 when anything is wrong.

    Every problem names its file and line. Fast enough for a git pre-commit hook.
    """
    s = settings()
    path = path or s.rules
    started = time.perf_counter()
    users, note = (None, "--offline: reps were not checked against the CRM") if offline else _crm_users(s.warehouse)
    rules, problems = check_folder(path, crm_users=users)  # the account domain list too (matching.yaml)
    errors = [p for p in problems if p.severity == "error" or strict]
    for p in problems:
        click.secho(str(p), fg="red" if p.severity == "error" or strict else "yellow", err=True)
    elapsed = time.perf_counter() - started
    if note:
        click.echo(f"note: {note}", err=True)
    if errors:
        click.secho(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) in {path} ({elapsed:.2f} s)",
                    fg="red", err=True)
        sys.exit(1)
    click.secho(f"{path}: valid, rules version {rules.version} "
                f"({len(problems)} warning(s), {elapsed:.2f} s)", fg="green")


@click.group()
def rules() -> None:
    """The rules language: its vocabulary."""


@rules.command()
@friendly
def vocabulary() -> None:
    """List every condition operator, action, side action and table key kind the rules may use."""
    click.echo(vocabulary_text())


def vocabulary_text() -> str:
    """The rules language's vocabulary, from the same registries the loader, validator and engine use."""
    lines = ["Fields: lead.*, account.*, match.*; in the updated flow also prior.<watched field> and last_decision.*",
             "", "Condition operators ({field: lead.x, <operator>: value}):"]
    lines += [f"  {op.name:<14} {op.doc}" for op in OPERATORS.values()]
    lines += ["  in_table       {in_table: <table>, lookup: {<key>: <field>}}: a row of the table matches",
              "  changed        {changed: <watched field>, from: [..], to: [..]}: updated flow only",
              "  all/any/not    {all: [..]}, {any: [..]}, {not: {..}}",
              "", "Actions (assign: <action>):"]
    for a in ACTIONS.values():
        needs = f"  [needs: {', '.join(a.required)}]" if a.required else ""
        lines.append(f"  {a.name:<22} {a.doc}{needs}")
        if a.example:
            lines.append(f"  {'':<22} e.g. {a.example}")
    lines += ["", "Side actions (on a step, next to its action):"]
    for s in SIDE_ACTIONS.values():
        lines += [f"  {s.name:<10} {s.doc}", f"  {'':<10} e.g. {s.example}"]
    lines += ["", "Table key kinds (tables: <name>: {keys: {<column>: <kind>}}):"]
    lines += [f"  {k:<13} {doc}" for k, doc in KEY_KINDS.items()]
    return "\n".join(lines)


COMMANDS = [validate, rules]

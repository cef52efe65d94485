"""``leadroute validate`` and ``leadroute rules``: checking the rules ops edit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from pipelines.cli.common import friendly, settings
from pipelines.crm.fields import load_field_mapping
from pipelines.routing.loader import load_rules
from pipelines.routing.model import ACTIONS
from pipelines.routing.validate import validate as validate_rules
from pipelines.routing.vocabulary import OPERATORS
from pipelines.sourcefile import ConfigError
from pipelines.warehouse import db


def _crm_users(warehouse: Path):
    """CRM users from the warehouse when it is there and free; None otherwise (checks that need them are skipped)."""
    if not warehouse.exists():
        return None, "no warehouse yet: reps were not checked against the CRM"
    try:
        with db.connect(warehouse, read_only=True, wait_seconds=0.5) as con:
            if not db.table_exists(con, "crm_user"):
                return None, "no CRM users in the warehouse yet"
            return con.execute("SELECT user_id, is_active FROM crm_user").df(), None
    except db.WarehouseBusy:
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
    try:
        rules = load_rules(path)
        mapping = load_field_mapping(path / "fields.yaml")
        users, note = (None, "--offline: reps were not checked against the CRM") if offline else _crm_users(s.warehouse)
        problems = validate_rules(rules, mapping, crm_users=users)
    except ConfigError as exc:
        problems, note = exc.problems, None
    errors = [p for p in problems if p.severity == "error" or strict]
    for p in problems:
        click.secho(str(p), fg="red" if p in errors else "yellow", err=True)
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
    """List every condition operator and action the rules may use."""
    click.echo("Condition operators ({field: lead.x, <operator>: value}):")
    for op in OPERATORS.values():
        click.echo(f"  {op.name:<14} {op.doc}")
    click.echo("\nActions (assign: <action>):")
    for a in ACTIONS.values():
        needs = f"  [needs: {', '.join(a.required)}]" if a.required else ""
        click.echo(f"  {a.name:<22} {a.doc}{needs}")


COMMANDS = [validate, rules]

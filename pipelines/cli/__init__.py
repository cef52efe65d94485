"""``leadroute``: the same code as the Dagster assets, from the shell.

Each command group lives in its own module; this one only assembles them. Modules are
imported when their command runs, not before: ``leadroute validate`` runs as a git
pre-commit hook, and importing the matching engine, the simulator and Dagster to check a
CSV would cost the hook most of its second.
"""

from __future__ import annotations

import importlib
import sys

import click

# command name -> the module under pipelines.cli that defines it (in its COMMANDS list)
COMMANDS = {
    "demo": "demo", "tick": "tick", "validate": "rules", "rules": "rules", "explain": "explain",
    "report": "report", "pools": "pools", "dedupe": "matching", "match": "matching", "eval": "matching",
    "diff": "diff", "backfill": "backfill", "crm": "crm", "warehouse": "warehouse", "prod": "prod",
    "rep": "rep", "pool": "ops", "assign": "ops", "notify": "notify",
    "preview": "preview",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (click's documented lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        commands = importlib.import_module(f"pipelines.cli.{module}").COMMANDS
        return next(c for c in commands if c.name == cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leadroute")
@click.option("-v", "--verbose", is_flag=True, help="Show the traceback of an unexpected error.")
def cli(verbose: bool) -> None:
    """Inbound leads reach the right sales rep fast, and none is lost.

    Paths come from LEADROUTE_CRM_PATH, LEADROUTE_WAREHOUSE and LEADROUTE_RULES
    (defaults: data/crm.sqlite, data/warehouse.duckdb, routing_rules).
    """


def main() -> None:
    """Run the CLI. An error no command anticipated is one line (its type and message); ``-v`` shows the traceback."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the commands turn the errors a user can fix into their own messages
        if "-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]:
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        click.secho(f"leadroute: {type(exc).__name__}: {first} (run again with -v for the traceback)", fg="red",
                    err=True)
        sys.exit(3)

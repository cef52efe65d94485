"""``leadroute``: the same code as the Dagster assets, from the shell.

Each command group lives in its own module; this one only assembles them. Modules are
imported when their command runs, not before: ``leadroute validate`` runs as a git
pre-commit hook, and importing the matching engine, the simulator and Dagster to check a
CSV would cost the hook most of its second.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from pipelines import gc_pause

# command name -> the module under pipelines.cli that defines it (in its COMMANDS list)
COMMANDS = {
    "demo": "demo", "tick": "tick", "validate": "rules", "rules": "rules", "explain": "explain",
    "report": "report", "pools": "pools", "dedupe": "matching", "match": "matching", "eval": "matching",
    "diff": "diff", "backfill": "backfill", "crm": "crm", "warehouse": "warehouse", "prod": "prod",
    "rep": "rep", "pool": "ops", "assign": "ops", "notify": "notify",
    "preview": "preview",
}
# Commands whose process ends when their run ends: `leadroute tick` runs every five minutes, and tearing
# the interpreter down after it (freeing Dagster's, SQLAlchemy's and pandas' objects module by module)
# costs 0.3-0.5 s of CPU once the work is committed and every connection closed. Their process exits
# without that teardown (:func:`main`); in-process callers (tests, CliRunner) are not affected.
EXIT_WITHOUT_TEARDOWN = {"tick"}
_invoked: list[str] = []  # the command this process ran
_entry_point = False  # True in the `leadroute` process itself (main), not under CliRunner or in tests


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

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        _invoked.append(name or "")
        if _entry_point and name in EXIT_WITHOUT_TEARDOWN:
            # This process ends with the command, without teardown: what start-up and big imports
            # build may be frozen out of the garbage collector (see pipelines.gc_pause).
            gc_pause.process_ends_with_command()
        return name, command, rest


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
    global _entry_point
    _entry_point = True
    try:
        cli(standalone_mode=True)
    except SystemExit as done:  # click ends every command so, success included
        if _invoked and _invoked[-1] in EXIT_WITHOUT_TEARDOWN:
            _exit_without_teardown(done.code)
        raise
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


def _exit_without_teardown(code: int | str | None) -> None:
    """Flush what the command wrote (stdout, stderr, log handlers) and end the process at once."""
    if isinstance(code, str):  # sys.exit("message"): what SystemExit would print, and status 1
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)

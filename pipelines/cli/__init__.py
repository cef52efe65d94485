"""``leadroute``: the same code as the Dagster assets, from the shell.

Each command group lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import sys

import click

from pipelines.cli import backfill, crm, demo, diff, explain, matching, pools, report, rules, tick


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leadroute")
def cli() -> None:
    """Inbound leads reach the right sales rep fast, and none is lost.

    Paths come from LEADROUTE_CRM_PATH, LEADROUTE_WAREHOUSE and LEADROUTE_RULES
    (defaults: data/crm.sqlite, data/warehouse.duckdb, routing_rules).
    """


for module in (demo, tick, rules, explain, report, pools, matching, diff, backfill, crm):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)

"""``leadroute crm check``: does the CRM have every field the mapping reads and writes?"""

from __future__ import annotations

import sys

import click

from pipelines.cli.common import friendly, settings


@click.group()
def crm() -> None:
    """The CRM connection (LEADROUTE_CRM: local or salesforce)."""


@crm.command()
@friendly
def check() -> None:
    """Describe the CRM's objects and report mapped fields that do not exist or cannot be written.

    Reads routing_rules/fields.yaml (LEADROUTE_RULES), connects to the configured CRM
    (for Salesforce, the SALESFORCE_* variables; see the README) and uses the describe
    API: one call per object. Exit status 1 when a field is missing or not updateable.
    """
    from pipelines.crm.base import CrmUnavailable
    from pipelines.crm.check import check_mapping
    from pipelines.crm.fields import load_field_mapping
    from pipelines.defs.resources import open_crm

    s = settings()
    mapping = load_field_mapping(s.fields_file)
    try:
        with open_crm(s) as adapter:
            problems = check_mapping(adapter, mapping, getattr(adapter, "task_key_field", None))
            calls = adapter.counter.calls
    except (CrmUnavailable, ValueError) as exc:
        raise click.ClickException(f"Could not describe the {s.crm} CRM: {exc}") from None
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        click.secho(str(p), fg="red" if p.severity == "error" else "yellow")
    objects = len({m.sobject for m in mapping.objects.values()})
    verdict = f"{len(errors)} problem(s)" if errors else "every mapped field exists and every written field is updateable"
    click.echo(f"{s.fields_file} against the {s.crm} CRM ({objects} objects, {calls} API call(s)): {verdict}")
    if errors:
        sys.exit(1)


COMMANDS = [crm]

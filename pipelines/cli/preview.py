"""``leadroute preview --field value …``: where would this lead go? (one hypothetical lead, nothing written)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from pipelines.cli.common import Failure, friendly, require_warehouse, settings

SHOWN = ("country_code", "state_code", "sales_region", "domain", "is_free_mail", "size_band", "company_norm")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
@friendly
def preview(ctx: click.Context) -> None:
    """Route one hypothetical lead under the rules in the working tree, writing nothing.

    Give the lead's fields as pairs: `leadroute preview --company Globex --email hans@globex.de
    --country Germany --lead-source Webinar` (names from fields.yaml; - and _ both work). It is
    enriched, matched to the account master and routed as a real lead would be.
    """
    from pipelines.crm.fields import load_field_mapping
    from pipelines.enrich.settings import load_enrichment_settings
    from pipelines.matching.settings import load_matching_settings
    from pipelines.routing.ruleset.load import load_rules
    from pipelines.routing.stages.explain import trace_lines
    from pipelines.routing.stages.preview import fields_of, preview as run_preview

    s = settings()
    mapping = load_field_mapping(s.fields_file)
    allowed = fields_of(mapping)
    values, args = {}, list(ctx.args)
    while args:
        name = args.pop(0)
        if not name.startswith("--") or not args:
            raise click.UsageError(f"expected --field value pairs, got {name!r}")
        field = name[2:].replace("-", "_")
        if field not in allowed:
            raise click.UsageError(f"unknown lead field {name!r}; fields: {', '.join(allowed)}")
        values[field] = args.pop(0)
    if not values:
        raise click.UsageError("give the lead's fields, e.g. --company Globex --email hans@globex.de --country DE")
    require_warehouse(s, "a preview matches the lead against the account master a tick built")
    rules = load_rules(s.rules)
    try:
        p = run_preview(s.warehouse, rules, mapping, load_enrichment_settings(s.rules / "enrichment.yaml"),
                        load_matching_settings(s.rules / "matching.yaml"), values,
                        datetime.now(UTC).replace(tzinfo=None))
    except ValueError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"Preview under the working-tree rules ({rules.version}); nothing was written.")
    click.echo("  lead: " + ", ".join(f"{k} = {v}" for k, v in values.items()))
    found = {k: p.enriched.get(k) for k in SHOWN if p.enriched.get(k) not in (None, "") and str(p.enriched.get(k)) != "nan"}
    if found:
        click.echo("  enriched: " + ", ".join(f"{k} = {v}" for k, v in found.items()))
    m = p.match
    if isinstance(m.get("account_id"), str):
        click.echo(f"  matched account: {m['account_name']} ({m['account_id']}, {m['account_type']}), "
                   f"confidence {m['confidence']:.2f}: {m['reason']}")
    else:
        click.echo(f"  matched account: none ({m.get('reason') or 'no account of this company found'})")
    d = p.decision
    for line in trace_lines(d.get("trace") or {}, d.get("step", ""), "  "):
        click.echo(line)
    if isinstance(d.get("pool"), str):
        target = f"pool {d['pool']} (the member is picked when the lead arrives: turns, availability, caps)"
    elif isinstance(d.get("queue"), str):
        target = f"queue {d['queue']}"
    else:
        target = d.get("owner_name") or "(nobody)"
    click.echo(f"  would go to: {target}")


COMMANDS = [preview]

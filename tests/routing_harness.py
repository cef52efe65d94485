"""Route a handful of leads through rules written inline: the real loader, validator and engine.

Scenario tests of routing methods read like the rules they test::

    decided = route_leads(rules_dir, '''
        - step: by_state
          assign: table
          table: states
          lookup: {state: lead.state_code}
    ''', tables={"states": ("{state: exact}", "state,owner\\nTX,005000000000012AAA\\n")},
        leads=[{"lead.state_code": "TX"}])

Leads are rows of ``namespace.field`` values (the routing frame the pipeline builds
from the warehouse); fields a lead does not give are empty. The rules are validated
first, so a test cannot pass on rules ``leadroute validate`` would reject; fields that
enrichment work adds later (``pending``) are the only exemption.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

from pipelines.crm.fields import load_field_mapping
from pipelines.routing import engine
from pipelines.routing.frame.build import available_fields
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.ruleset.checks import validate
from tests.conftest import NOW


def write_rules(rules_dir: Path, steps: str, tables: dict[str, tuple[str, str]] | None = None,
                updated: str | None = None, watch: list[str] | None = None, day2: str | None = None) -> None:
    """Replace the flow with ``steps`` (YAML list items) and the tables with ``tables`` (name -> (keys, csv));
    ``day2.yaml`` with ``day2`` (none by default: the shipped one names the shipped steps)."""
    if day2 is None:
        (rules_dir / "day2.yaml").unlink(missing_ok=True)
    else:
        (rules_dir / "day2.yaml").write_text(textwrap.dedent(day2).lstrip())
    lines = ["version: 1", "tables:"]
    for name, (keys, csv) in (tables or {}).items():
        suffix = ".geojson" if csv.lstrip().startswith("{") else ".csv"
        (rules_dir / "tables" / f"{name}{suffix}").write_text(textwrap.dedent(csv).lstrip())
        value = "" if "area_only" in name else "    value: owner\n"
        lines.append(f"  {name}:\n    file: tables/{name}{suffix}\n    keys: {keys}\n{value}    allow_gaps: true")
    if not tables:
        lines[-1] = "tables: {}"
    lines += ["flows:", "  new:", textwrap.indent(textwrap.dedent(steps).strip("\n"), "    ")]
    if updated:
        lines += ["  updated:", f"    watch: {watch or []}", "    steps:",
                  textwrap.indent(textwrap.dedent(updated).strip("\n"), "      ")]
    (rules_dir / "flow.yaml").write_text("\n".join(lines) + "\n")


def frame_of(leads: list[dict], rules_dir: Path, pending: tuple[str, ...] = ()) -> pd.DataFrame:
    """A routing frame with every field the mapping offers, and the pending ones (empty unless a lead gives it)."""
    fields = available_fields(load_field_mapping(rules_dir / "fields.yaml"))
    columns = [f"{ns}.{c}" for ns, cols in fields.items() if ns != "last_decision" for c in sorted(cols)] + list(pending)
    given = sorted({k for lead in leads for k in lead} - set(columns))
    rows = [{"lead_id": f"00Q{i:015d}", **{c: None for c in columns + given}, **lead} for i, lead in enumerate(leads, 1)]
    return pd.DataFrame(rows)


def route_leads(rules_dir: Path, steps: str, leads: list[dict], tables: dict | None = None, *, entry: str = "new",
                updated: str | None = None, watch: list[str] | None = None, pending: tuple[str, ...] = (),
                accounts: pd.DataFrame | None = None, opportunities: pd.DataFrame | None = None,
                ctx: engine.RouteContext | None = None) -> pd.DataFrame:
    """Decisions for ``leads`` under the inline rules, one row per lead, indexed like ``leads``."""
    write_rules(rules_dir, steps, tables, updated, watch)
    rules = load_rules(rules_dir)
    problems = [p for p in validate(rules, load_field_mapping(rules_dir / "fields.yaml"), now=NOW)
                if p.severity == "error" and not any(f"'{f}'" in p.message for f in pending)]
    assert not problems, [str(p) for p in problems]
    ctx = ctx or engine.RouteContext(now=NOW, queue_ids={}, user_names=dict(zip(rules.reps["user_id"], rules.reps["name"])))
    ctx.accounts, ctx.opportunities = accounts, opportunities
    return engine.route(frame_of(leads, rules_dir, pending), rules, entry, ctx).reset_index(drop=True)

"""Routing by the account family, as rules ops would write them: a subsidiary's lead routed as its parent.

The Openprise guide's "route by hierarchy": the lead lands in the territory of its ultimate
parent (or of the first parent above a size), as if it had the parent's country and
employee count, whoever owns the parent. Same harness and style as test_routing_methods.py.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from pipelines.routing.ruleset.checks import validate
from pipelines.routing.ruleset.load import load_rules
from pipelines.crm.fields import load_field_mapping
from pipelines.routing.stages.explain import explain
from pipelines.sourcefile import ConfigError
from pipelines.warehouse import db
from tests.conftest import AVA, HANNAH, KENJI, LIAM, LUKAS, MARCUS, MORGAN, NOW, ZOE
from tests.routing_harness import route_leads, write_rules

SHARK = """
- step: shark_tank
  assign: queue
  queue: Shark_Tank
"""

# Globex AG (DE, 12,000 people, owned by Morgan, who is no territory rep)
#   > Globex Americas (US-TX, 2,000, no owner) > Globex Labs (US-CA, 40, Liam)
# Initech (US-NY, 300): a single account, its own ultimate parent.
ACCOUNTS = pd.DataFrame({
    "account.account_id": ["001G", "001A", "001L", "001I"],
    "account.name": ["Globex AG", "Globex Americas", "Globex Labs", "Initech"],
    "account.owner_id": [MORGAN, None, LIAM, ZOE],
    "account.country_code": ["DE", "US", "US", "US"],
    "account.state_code": [None, "TX", "CA", "NY"],
    "account.employees": [12000, 2000, 40, 300],
    "account.hierarchy_path": ["001G", "001G > 001A", "001G > 001A > 001L", "001I"],
}, index=["001G", "001A", "001L", "001I"])

TERRITORIES = ("{country: exact, state: exact}", f"""
    country,state,owner
    US,CA,{AVA}
    US,TX,{HANNAH}
    US,NY,{MARCUS}
    DE,,{LUKAS}
    JP,,{KENJI}
""")

AS_ULTIMATE_PARENT = """
- step: territory_of_the_group
  description: A subsidiary's lead goes to the territory of the group it belongs to.
  route_as: ultimate_parent
  when: {field: account.employees, at_least: 1000}
  assign: table
  table: territories
  lookup: {country: account.country_code, state: account.state_code}
"""

AS_BIG_PARENT = """
- step: territory_of_the_first_big_parent
  route_as:
    parent_where: {field: account.employees, at_least: 1000}
  assign: table
  table: territories
  lookup: {country: account.country_code, state: account.state_code}
- step: own_territory
  assign: table
  table: territories
  lookup: {country: account.country_code, state: account.state_code}
"""


def lead_of(account_id: str | None, **lead) -> dict:
    """A lead matched to ``account_id`` (its frame fields as the pipeline builds them), or unmatched."""
    if account_id is None:
        return {"match.matched": False, **lead}
    row = ACCOUNTS.loc[account_id]
    return {"match.matched": True, **{c: row[c] for c in ACCOUNTS.columns}, **lead}


def owner(decided: pd.DataFrame, i: int = 0) -> str:
    row = decided.iloc[i]
    return row["owner_id"] if isinstance(row["owner_id"], str) else f"queue:{row['queue']}"


@pytest.mark.parametrize(("account", "lead", "expected"), [
    ("001L", {"lead.country_code": "US", "lead.state_code": "CA"}, LUKAS),  # Labs (CA, 40 people) -> Globex AG's DE
    ("001A", {}, LUKAS),                                                    # Americas (TX) -> the group's DE
    ("001G", {}, LUKAS),                                                    # the group itself
    ("001I", {}, "queue:Shark_Tank"),                                       # its own ultimate parent, 300 people
    (None, {"lead.country_code": "DE"}, "queue:Shark_Tank"),                # no account: the step does not apply
])
def test_route_as_the_ultimate_parent_reads_the_parents_country_and_size(rules_dir, account, lead, expected):
    decided = route_leads(rules_dir, AS_ULTIMATE_PARENT + SHARK, [lead_of(account, **lead)],
                          tables={"territories": TERRITORIES}, accounts=ACCOUNTS)
    assert owner(decided) == expected


@pytest.mark.parametrize(("account", "expected"), [
    ("001L", HANNAH),   # Labs (CA, 40) -> nearest parent with 1,000+ people: Americas (TX), not Globex AG (DE)
    ("001A", LUKAS),    # Americas itself is big, but only parents count: Globex AG
    ("001G", LUKAS),    # nobody above the group: it goes on to its own territory (DE)
    ("001I", MARCUS),   # no parent at all: goes on to its own territory (NY)
])
def test_route_as_the_first_parent_above_a_size_else_own_territory(rules_dir, account, expected):
    decided = route_leads(rules_dir, AS_BIG_PARENT + SHARK, [lead_of(account)],
                          tables={"territories": TERRITORIES}, accounts=ACCOUNTS)
    assert owner(decided) == expected
    stepped = decided.loc[0, "step"]
    assert stepped == ("territory_of_the_first_big_parent" if account in ("001L", "001A") else "own_territory")


def test_route_as_keeps_the_leads_own_fields_as_lead_and_the_parents_owner_as_account_owner(rules_dir):
    steps = """
    - step: german_speaking_leads_of_big_groups
      route_as: ultimate_parent
      when:
        all:
          - {field: account.employees, at_least: 10000}
          - {field: lead.country_code, in: [AT, CH]}
      assign: account_owner
    """
    leads = [lead_of("001L", **{"lead.country_code": "AT"}), lead_of("001L", **{"lead.country_code": "US"})]
    decided = route_leads(rules_dir, textwrap.dedent(steps) + SHARK, leads, accounts=ACCOUNTS)
    assert [owner(decided, i) for i in range(2)] == [MORGAN, "queue:Shark_Tank"]  # the group's owner, not Liam


def test_the_trace_says_whom_the_lead_was_routed_as_and_with_which_values(rules_dir):
    decided = route_leads(rules_dir, AS_ULTIMATE_PARENT + SHARK, [lead_of("001L")],
                          tables={"territories": TERRITORIES}, accounts=ACCOUNTS)
    trace = json.loads(decided.loc[0, "trace"])
    assert trace["detail"].startswith("routed as Globex AG (001G): account.employees 12000, "
                                      "account.country_code DE, account.state_code (empty); table territories")
    assert trace["evidence"]["account.country_code"] == "DE"  # the parent's values, not Labs' US
    assert trace["evidence"]["account.name"] == "Globex AG"


def test_a_flows_route_as_applies_to_each_step_unless_the_step_says_otherwise(rules_dir):
    write_rules(rules_dir, "")
    flow = f"""version: 1
tables:
  territories:
    file: tables/territories.csv
    keys: {{country: exact, state: exact}}
    value: owner
    allow_gaps: true
flows:
  new:
    route_as: ultimate_parent
    steps:
      - step: group_territory
        assign: table
        table: territories
        lookup: {{country: account.country_code, state: account.state_code}}
      - step: own_owner
        route_as: null
        assign: account_owner
"""
    (rules_dir / "tables" / "territories.csv").write_text("country,state,owner\nJP,,%s\n" % KENJI)
    (rules_dir / "flow.yaml").write_text(flow)
    rules = load_rules(rules_dir)
    steps = rules.flows["new"].steps
    assert [s.route_as.kind if s.route_as else None for s in steps] == ["ultimate_parent", None]
    assert steps[0].route_as.where.line == 10  # the flow's route_as line


def problems_of(rules_dir):
    """What loading and validating the rules finds (a mistake in the YAML stops the load)."""
    try:
        return validate(load_rules(rules_dir), load_field_mapping(rules_dir / "fields.yaml"), now=NOW)
    except ConfigError as e:
        return e.problems


@pytest.mark.parametrize(("route_as", "message"), [
    ("parent", "`route_as` takes ultimate_parent or {parent_where: <condition>}"),
    ("{level: 1}", "`route_as` takes ultimate_parent or {parent_where: <condition>}, not ['level']"),
    ("{parent_where: {field: lead.employees, at_least: 5}}", "must be one of account.* here"),
    ("{parent_where: {field: account.employes, at_least: 5}}", "unknown field 'account.employes'"),
])
def test_a_wrong_route_as_is_named_at_its_line(rules_dir, route_as, message):
    steps = f"""
    - step: by_parent
      route_as: {route_as}
      assign: account_owner
    """
    write_rules(rules_dir, steps)
    hits = [p for p in problems_of(rules_dir) if message in str(p)]
    assert hits, [str(p) for p in problems]
    assert hits[0].where.file.endswith("flow.yaml") and hits[0].where.line == 6


def test_route_as_on_a_step_that_reads_no_account_field_is_a_warning(rules_dir):
    write_rules(rules_dir, """
    - step: by_parent
      route_as: ultimate_parent
      when: {field: lead.country_code, equals: DE}
      assign: user
      user: '005000000000015AAA'
    """)
    problems = validate(load_rules(rules_dir), load_field_mapping(rules_dir / "fields.yaml"), now=NOW)
    warned = [p for p in problems if "`route_as` changes only the account.* fields" in p.message]
    assert [p.severity for p in warned] == ["warning"] and warned[0].where.line == 6


@pytest.mark.slow
def test_a_subsidiarys_lead_lands_in_the_groups_territory_through_the_pipeline_and_explain(pipeline, crm, rules_dir):
    flow = rules_dir / "flow.yaml"
    step = ("    - step: group_territory\n"
            "      description: A subsidiary of a group of 10,000+ people goes to the group's territory.\n"
            "      route_as: ultimate_parent\n"
            "      when: {field: account.employees, at_least: 10000}\n"
            "      assign: table\n"
            "      table: europe\n"
            "      lookup: {country: account.country_code}\n")
    flow.write_text(flow.read_text().replace("  new:\n", "  new:\n" + step, 1))
    group = crm.account("Globex AG", website="globex.de", owner="005000000000001AAA", country="Germany",
                        NumberOfEmployees=12000)
    crm.account("Globex Labs Inc", website="globex-labs.com", owner=LIAM, parent=group, state="CA",
                NumberOfEmployees=40)
    lead = crm.lead(company="Globex Labs", email="ann@globex-labs.com", country="US", state="CA")
    pipeline.tick()
    decision = pipeline.query("SELECT owner_id, step FROM routing_decision WHERE lead_id = ?", [lead]).iloc[0]
    assert (decision["owner_id"], decision["step"]) == (LUKAS, "group_territory")  # DE: Lukas, not Liam or CA
    with db.connect(pipeline.warehouse, read_only=True) as con:
        text = explain(con, lead)
    how = next(line for line in text.splitlines() if line.strip().startswith("how:"))
    assert "routed as Globex AG (" in how and "account.employees 12000, account.country_code DE" in how, how

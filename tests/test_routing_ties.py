"""Ties, as rules ops would write them: two open opportunities in one stage, and which earlier lead counts.

- ``opportunity_owner``: an earlier stage in ``stages`` wins; two open in the same stage go by
  ``tie_break`` (documented default: the latest close date).
- ``lead_owner`` with ``lead_where``: the company's most recent lead whose fields satisfy the
  condition (the latest ADR-owned lead, even when a newer lead has another owner).
Same harness and style as test_routing_methods.py; the last test runs the pipeline.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from pipelines.crm.fields import load_field_mapping
from pipelines.routing import engine
from pipelines.routing.ruleset.checks import validate
from pipelines.routing.ruleset.load import load_rules
from pipelines.sourcefile import ConfigError
from tests.conftest import AVA, DIEGO, HANNAH, MARCUS, NOW
from tests.routing_harness import route_leads, write_rules

OLIVIA, NOAH = "005000000000030AAA", "005000000000031AAA"  # ADRs
SHARK = """
- step: shark_tank
  assign: queue
  queue: Shark_Tank
"""

# Acme (001A) has two deals in Negotiation and one in Scoping:
#   Renewal  (Ava)    Negotiation  closes 2026-12-15   $20,000
#   Upsell   (Diego)  Negotiation  closes 2027-01-31   $5,000
#   Pilot    (Hannah) Scoping      closes 2026-12-01   $90,000
OPPS = pd.DataFrame({
    "opportunity_id": ["006R", "006U", "006P"], "master_id": ["001A"] * 3, "account_id": ["001A"] * 3,
    "stage": ["Negotiation", "Negotiation", "Scoping"], "owner_id": [AVA, DIEGO, HANNAH],
    "name": ["Renewal", "Upsell", "Pilot"],
    "close_date": pd.to_datetime(["2026-12-15", "2027-01-31", "2026-12-01"]), "amount": [20000.0, 5000.0, 90000.0]})
ACME = {"account.account_id": "001A", "account.master_id": "001A"}


def open_deal(tie_break: str | None, stages: str = "[Negotiation, Scoping]") -> str:
    return f"""
- step: open_deal
  assign: opportunity_owner
  stages: {stages}
""" + (f"  tie_break: {tie_break}\n" if tie_break else "")


@pytest.mark.parametrize(("tie_break", "stages", "owner", "deal"), [
    (None, "[Negotiation, Scoping]", DIEGO, "Upsell"),                   # default: the latest close date
    ("latest_close_date", "[Negotiation, Scoping]", DIEGO, "Upsell"),
    ("earliest_close_date", "[Negotiation, Scoping]", AVA, "Renewal"),
    ("largest_amount", "[Negotiation, Scoping]", AVA, "Renewal"),
    ("smallest_amount", "[Negotiation, Scoping]", DIEGO, "Upsell"),
    ("largest_amount", "[Scoping, Negotiation]", HANNAH, "Pilot"),       # the stage listed first still wins
    (None, "[Scoping]", HANNAH, "Pilot"),                                 # one deal in the stage: no tie
])
def test_two_open_opportunities_in_one_stage_break_on_the_configured_key(rules_dir, tie_break, stages, owner, deal):
    decided = route_leads(rules_dir, open_deal(tie_break, stages) + SHARK, [ACME], opportunities=OPPS)
    assert decided.loc[0, "owner_id"] == owner
    reason = decided.loc[0, "reason"]
    assert f"opportunity {deal} (" in reason
    tied = stages.startswith("[Negotiation")
    words = (tie_break or "latest_close_date").replace("_", " ")
    assert (f"(2 open in the stage: the {words} won)" in reason) == tied, reason


def test_an_unknown_tie_break_is_named_at_its_line(rules_dir):
    write_rules(rules_dir, open_deal("biggest_amount"))
    with pytest.raises(ConfigError) as caught:
        load_rules(rules_dir)
    problem = caught.value.problems[0]
    assert "unknown tie_break 'biggest_amount'" in problem.message and "largest_amount" in problem.message
    assert problem.where.line == 8  # the tie_break line of flow.yaml


# Initech's earlier leads, newest first: Marcus (AE) on 11-18, Olivia (ADR) on 11-10, Noah (ADR) on
# 10-01 by name only (another domain). The match stage links a new Initech lead to Marcus's, the newest.
EARLIER = pd.DataFrame({
    "_for": ["00Q000000000000001"] * 3, "_by": ["domain", "domain", "name"],
    "lead_id": ["00QM", "00QO", "00QN"], "lead.owner_id": [MARCUS, OLIVIA, NOAH],
    "lead.owner_role": ["AE", "ADR", "ADR"], "lead.status": ["Working", "Working", "Nurture"],
    "lead.created_at": pd.to_datetime(["2026-11-18", "2026-11-10", "2026-10-01"]),
})
NEW_LEAD = {"match.matched": False, "match.matched_lead_owner_id": MARCUS}


@pytest.mark.parametrize(("lead_where", "owner", "why"), [
    (None, MARCUS, "owner of the company's existing lead"),              # lead-to-lead as matched: the newest
    ("{field: lead.owner_role, equals: ADR}", OLIVIA, "00QO (same company domain)"),  # the latest ADR-owned lead
    ("{field: lead.status, equals: Nurture}", NOAH, "00QN (same company name)"),
    ("{field: lead.owner_role, equals: CSM}", "queue:Shark_Tank", None),  # none: the next step
])
def test_lead_to_lead_can_ask_for_the_latest_lead_whose_owner_meets_a_condition(rules_dir, lead_where, owner, why):
    steps = "- step: same_company\n  when: {field: match.matched, is_false}\n  assign: lead_owner\n"
    if lead_where:
        steps += f"  lead_where: {lead_where}\n"
    ctx = engine.RouteContext(now=NOW, queue_ids={}, company_leads=EARLIER)
    decided = route_leads(rules_dir, steps + SHARK, [NEW_LEAD], ctx=ctx)
    row = decided.iloc[0]
    assert (row["owner_id"] if isinstance(row["owner_id"], str) else f"queue:{row['queue']}") == owner
    if why:
        assert why in row["reason"]


def test_lead_where_reads_lead_fields_only(rules_dir):
    write_rules(rules_dir, "- step: s\n  assign: lead_owner\n  lead_where: {field: account.type, equals: Customer}\n")
    problems = validate(load_rules(rules_dir), load_field_mapping(rules_dir / "fields.yaml"), now=NOW)
    assert any("must be one of lead.* here" in p.message and p.where.line == 7 for p in problems), problems


@pytest.mark.slow
def test_the_latest_adr_owned_lead_through_the_pipeline(pipeline, crm, rules_dir):
    flow = rules_dir / "flow.yaml"
    text = flow.read_text()
    step = ("    - step: latest_adr_lead\n"
            "      description: A new lead of a company an ADR already works goes to that ADR.\n"
            "      when: {field: match.matched, is_false}\n"
            "      assign: lead_owner\n"
            "      lead_where: {field: lead.owner_role, equals: ADR}\n")
    flow.write_text(text.replace("  new:\n", "  new:\n" + step, 1))
    crm.lead(company="Initech", email="p@initech.io", owner=OLIVIA, status="Working", created=NOW - timedelta(days=10))
    crm.lead(company="Initech", email="m@initech.io", owner=MARCUS, status="Working", created=NOW - timedelta(days=2))
    new = crm.lead(company="Initech LLC", email="bill@initech.io")
    pipeline.tick()
    match = pipeline.query("SELECT matched_lead_owner_id FROM lead_match WHERE lead_id = ?", [new]).iloc[0]
    assert match["matched_lead_owner_id"] == MARCUS  # lead-to-lead alone: the newest lead's owner
    decision = pipeline.query("SELECT owner_id, step, reason FROM routing_decision WHERE lead_id = ?", [new]).iloc[0]
    assert (decision["owner_id"], decision["step"]) == (OLIVIA, "latest_adr_lead")
    assert "owner of the company's latest lead where lead.owner_role is ADR 00Q" in decision["reason"]

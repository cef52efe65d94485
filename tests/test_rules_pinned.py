"""The rules a run checks are the rules it routes with: loaded once, pinned, never swapped mid-run.

A ``git pull`` on the tick machine can land at any moment. The blocking ``rules_valid``
check validates the rule set the run loaded; routing uses that same object; and a run
whose folder changed after the check says so and routes nothing on rules nobody checked.
The next tick checks the new rules and routes with them.
"""

from __future__ import annotations

import pytest

import pipelines.defs.rules
from tests.conftest import MARCUS

pytestmark = pytest.mark.slow

EVERYONE_TO_MARCUS = f"""
    - step: everyone_to_marcus
      description: An edit nobody has checked yet.
      assign: user
      user: '{MARCUS}'
"""


def add_first_step(rules_dir) -> None:
    flow = rules_dir / "flow.yaml"
    text = flow.read_text()
    anchor = "  new:\n"
    assert anchor in text
    flow.write_text(text.replace(anchor, anchor + EVERYONE_TO_MARCUS.lstrip("\n"), 1))


def test_rules_edited_between_the_check_and_routing_route_nothing(pipeline, crm, rules_dir, monkeypatch):
    leads = [crm.lead(company="Initech", email="bob@initech.com", country="US", state="TX"),
             crm.lead(company="Globex", email="hans@globex.de", country="Germany")]
    checked = pipelines.defs.rules.validate

    def check_then_pull(ruleset, mapping, **kwargs):
        problems = checked(ruleset, mapping, **kwargs)
        add_first_step(rules_dir)  # lands right after the check, before routing
        return problems

    monkeypatch.setattr(pipelines.defs.rules, "validate", check_then_pull)
    out = pipeline.tick(expect_success=False)

    assert not out.success
    assert any(f.startswith("routing_decision:") and "changed during this run" in f for f in out.failures), out.failures
    first_version = out.metadata["routing_rules"]["rules_version"]
    assert pipeline.query("SELECT count(*) AS n FROM routing_decision")["n"].iloc[0] == 0, "nothing routed"
    assert "crm_push" in out.skipped
    assert all(crm.owner_of(lead) == crm.queue_ids["Inbound_Leads"] for lead in leads), "the CRM is untouched"

    monkeypatch.setattr(pipelines.defs.rules, "validate", checked)
    out = pipeline.tick()
    new_version = out.metadata["routing_rules"]["rules_version"]
    assert new_version != first_version, "the next tick checks the edited rules"
    decided = pipeline.query("SELECT lead_id, step, owner_id, rules_version FROM routing_decision ORDER BY lead_id")
    assert decided["lead_id"].tolist() == sorted(leads)
    assert set(decided["step"]) == {"everyone_to_marcus"} and set(decided["owner_id"]) == {MARCUS}
    assert set(decided["rules_version"]) == {new_version}, "decisions carry the version the check validated"


def test_every_stage_of_a_run_uses_the_one_rule_set_it_loaded(pipeline, crm, monkeypatch):
    """The rules, the field mapping and the settings are read once per run, not once per stage."""
    from pipelines.defs import resources

    crm.lead(company="Initech", email="bob@initech.com", country="US", state="TX")
    reads = {"rules": 0, "mapping": 0}
    load_rules, load_mapping = resources.load_rules, resources.load_field_mapping

    def counted(what, load):
        def call(*args, **kwargs):
            reads[what] += 1
            return load(*args, **kwargs)
        return call

    monkeypatch.setattr(resources, "load_rules", counted("rules", load_rules))
    monkeypatch.setattr(resources, "load_field_mapping", counted("mapping", load_mapping))
    pipeline.tick()
    assert reads == {"rules": 1, "mapping": 1}

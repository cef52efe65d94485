"""``leadroute crm check``: the field mapping against the CRM's own description, on both CRMs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from tests.sf_emulator.sample import write_sample_crm


@pytest.fixture(params=["local", "salesforce"])
def env(request, tmp_path, rules_dir):
    """The environment `leadroute` runs in, for the local CRM or an emulated org (session id + CA bundle)."""
    path = write_sample_crm(tmp_path / "crm.sqlite")
    env = {"LEADROUTE_CRM": request.param, "LEADROUTE_CRM_PATH": str(path), "LEADROUTE_RULES": str(rules_dir)}
    if request.param == "salesforce":
        emu = request.getfixturevalue("sf_emulator").load_sqlite(path)
        env |= {"SALESFORCE_INSTANCE_URL": emu.instance_url, "SALESFORCE_SESSION_ID": emu.new_session(),
                "REQUESTS_CA_BUNDLE": emu.ca_bundle_path}
    return env


def run(env):
    return CliRunner().invoke(cli, ["crm", "check"], env=env)


def test_the_shipped_mapping_matches_the_crm(env):
    result = run(env)
    assert result.exit_code == 0, result.output
    assert "every mapped field exists and every written field is updateable" in result.output
    # lead, account, user, opportunity, queue, task, event: one describe call each
    assert f"against the {env['LEADROUTE_CRM']} CRM (7 objects, 7 API call(s))" in result.output


@pytest.mark.parametrize(("edit", "at", "expected"), [
    (("Sector__c]", "Sector__c, Segment__c]"), "Segment__c",
     "error: Lead.Segment__c does not exist in the CRM, or this user cannot read it (objects.lead.fields.industry)"),
    (("      routing_reason: Routing_Reason__c", "      routing_reason: Routing_Reason__c\n      converted: IsConverted"),
     "converted: IsConverted",
     "error: Lead.IsConverted is not updateable by this user (objects.lead.writes.converted)"),
    (("      routing_reason: Routing_Reason__c", "      routing_reason: Routing_Reason2__c"), "Routing_Reason2__c",
     "error: Lead.Routing_Reason2__c does not exist in the CRM, so routing_reason cannot be written"),
    (("sobject: Opportunity", "sobject: Deal__c"), "sobject: Deal__c",
     "error: Deal__c does not exist in the CRM, or this user cannot see it (objects.opportunity.sobject)"),
])
def test_a_field_the_crm_lacks_or_cannot_update_is_reported_at_its_line(env, rules_dir, edit, at, expected):
    fields = rules_dir / "fields.yaml"
    text = fields.read_text()
    assert edit[0] in text
    text = text.replace(edit[0], edit[1], 1)
    fields.write_text(text)
    line = next(n for n, content in enumerate(text.splitlines(), start=1) if at in content)
    result = run(env)
    assert result.exit_code == 1, result.output
    assert f"fields.yaml:{line}: {expected}" in result.output
    assert "1 problem(s)" in result.output


def test_a_crm_that_cannot_be_reached_is_said_plainly(env):
    if env["LEADROUTE_CRM"] == "local":
        env = {**env, "LEADROUTE_CRM_PATH": "/nonexistent/crm.sqlite"}
        expected = "No local CRM at /nonexistent/crm.sqlite"
    else:
        env = {**env, "SALESFORCE_SESSION_ID": None}
        expected = "SALESFORCE_INSTANCE_URL with SALESFORCE_SESSION_ID"
    result = run(env)
    assert result.exit_code != 0 and expected in result.output

"""Accounts with several domains: from a CRM multi-value field or the list ops keep; a lead from any matches.

The account's Website holds one domain; its regional sites and acquired brands are listed
either in a CRM field (mapped as ``domains`` in fields.yaml) or in
``routing_rules/account_domains.csv``. A lead whose email is on any of them matches the
account exactly, with a reason naming the domain and where it is listed.
"""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.matching.domain_list import read_domain_list
from pipelines.matching.settings import load_matching_settings
from pipelines.sourcefile import ConfigError
from tests.conftest import AVA, LUKAS


def write_list(rules_dir, text: str) -> None:
    (rules_dir / "account_domains.csv").write_text(textwrap.dedent(text).lstrip())


@pytest.mark.slow
def test_a_lead_from_any_listed_domain_matches_the_account_exactly(pipeline, crm, rules_dir):
    crm.con.execute("ALTER TABLE Account ADD COLUMN Website_Domains__c TEXT")
    fields = rules_dir / "fields.yaml"
    fields.write_text(fields.read_text().replace("      website: Website\n",
                                                 "      website: Website\n      domains: Website_Domains__c\n", 1))
    acme = crm.account("Acme Corp", website="https://www.acme.com", type="Customer", owner=AVA, state="CA")
    globex = crm.account("Globex GmbH", website="globex.de", owner=LUKAS, country="Germany",
                         Website_Domains__c="globex.fr; https://www.globex-research.com/en")
    write_list(rules_dir, f"""
        account_id,domain
        {acme},acme.de
        {acme},https://labs.acme-labs.io/
    """)
    leads = {
        "labs": crm.lead(company="Acme Labs GmbH", email="jo@acme-labs.io", country="Germany"),
        "research": crm.lead(company="Globex Research", email="mia@globex-research.com", country="France"),
        "own": crm.lead(company="Acme", email="al@acme.com", country="US", state="CA"),
        # the same name from a domain nobody listed: the name alone is not enough
        "stranger": crm.lead(company="Acme Labs GmbH", email="x@acmelabs-consulting.io", country="Germany"),
    }
    outcome = pipeline.tick()
    assert outcome.metadata["account_master"]["account_domains"] == 4

    table = pipeline.query("SELECT account_id, domain, source FROM account_domain ORDER BY domain")
    assert table.values.tolist() == [
        [acme, "acme-labs.io", "routing_rules/account_domains.csv line 3"],
        [acme, "acme.de", "routing_rules/account_domains.csv line 2"],
        [globex, "globex-research.com", "CRM field domains"],
        [globex, "globex.fr", "CRM field domains"],
    ]
    m = pipeline.query("SELECT * FROM lead_match").set_index("lead_id")
    assert m.loc[leads["labs"], "account_id"] == acme
    assert ("same company domain (acme-labs.io, listed for " + acme + ": routing_rules/account_domains.csv line 3)"
            in m.loc[leads["labs"], "reason"])
    assert m.loc[leads["research"], "account_id"] == globex
    assert "same company domain (globex-research.com, listed for " + globex + ": CRM field domains)" in \
        m.loc[leads["research"], "reason"]
    assert m.loc[leads["own"], "account_id"] == acme and "listed for" not in m.loc[leads["own"], "reason"]
    assert m.loc[leads["stranger"], "method"] != "account"
    routed = pipeline.query("SELECT lead_id, owner_id FROM routing_decision").set_index("lead_id")["owner_id"]
    assert routed[leads["labs"]] == AVA  # the shipped customer step: the lead is a customer account's


@pytest.mark.parametrize(("rows", "line", "message"), [
    ("001A,gmail.com", 2, "gmail.com is a free-mail provider"),
    ("001A,not a domain", 2, "'not a domain' is not a web domain"),
    ('001A,"acme.de, acme.fr"', 2, "'acme.de, acme.fr' holds more than one value: one domain per row"),
    ("001A,Acme GmbH & Co.KG", 2, "'Acme GmbH & Co.KG' is not a web domain"),  # not the domain co.kg
    (",acme.de", 2, "empty account_id"),
    ("001A,acme.de\n001B,www.acme.de", 3, "acme.de is already listed for account 001A at line 2"),
    ("001A,acme.de\n001A,https://acme.de/x", 3, "acme.de is listed twice at line 2"),
])
def test_each_mistake_in_the_domain_list_is_named_at_its_line(rules_dir, rows, line, message):
    write_list(rules_dir, "account_id,domain\n" + rows + "\n")
    with pytest.raises(ConfigError) as caught:
        load_matching_settings(rules_dir / "matching.yaml")
    problem = caught.value.problems[0]
    assert message in problem.message, problem
    assert (problem.where.file, problem.where.line) == ("routing_rules/account_domains.csv", line)


def test_the_domain_list_is_optional_and_its_file_configurable(rules_dir):
    assert load_matching_settings(rules_dir / "matching.yaml").listed_domains == []
    (rules_dir / "brands.csv").write_text("account_id,domain\n001A,Example-Labs.IO\n")
    (rules_dir / "matching.yaml").write_text((rules_dir / "matching.yaml").read_text()
                                             + "\ndomains: {file: brands.csv}\n")
    assert load_matching_settings(rules_dir / "matching.yaml").listed_domains == [
        ("001A", "example-labs.io", "routing_rules/brands.csv line 2")]
    assert read_domain_list(rules_dir / "brands.csv", "b.csv")[0][2] == "b.csv line 2"


def test_leadroute_validate_names_a_bad_domain_row_at_its_line(rules_dir):
    write_list(rules_dir, "account_id,domain\n001A,example.de\n001A,hotmail.com\n")
    result = CliRunner().invoke(cli, ["validate", "--offline", str(rules_dir)])
    assert result.exit_code == 1
    assert "account_domains.csv:3: error: hotmail.com is a free-mail provider" in result.output


def test_a_lead_whose_company_is_its_own_name_matches_no_account_by_that_name(pipeline, crm):
    """Salesforce asks every lead for a company; where there is none, a form or a rep types the person's
    name. John Smith at a free-mail address is no lead of the account "John Smith Plumbing"."""
    plumbing = crm.account("John Smith Plumbing", website="smithplumbing.com", owner=AVA, state="CA")
    own = crm.lead(company="John Smith", FirstName="John", last_name="Smith", email="jsmith@gmail.com",
                   country="US", state="CA")
    customer = crm.lead(company="John Smith Plumbing", FirstName="Ann", last_name="Lee", email="ann.lee@gmail.com",
                        country="US", state="CA")
    pipeline.tick()
    m = pipeline.query("SELECT * FROM lead_match").set_index("lead_id")
    assert m.loc[customer, "account_id"] == plumbing
    assert m.loc[own, "method"] != "account", m.loc[own, "reason"]
    norm = pipeline.query("SELECT lead_id, company_norm FROM lead_enriched").set_index("lead_id")["company_norm"]
    assert norm[own] is None and norm[customer] == "john smith plumbing"

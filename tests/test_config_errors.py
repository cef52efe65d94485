"""Ops-owned configuration: every mistake is reported with its file, line and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipelines.crm.fields import load_field_mapping
from pipelines.routing.loader import load_rules
from pipelines.routing.validate import validate
from pipelines.sourcefile import ConfigError, read_csv


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


# -- field mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (("email: {source: Email,", "email: {typo: 1, source: Email,"), 29, "email.typo: unknown key (check its spelling)"),
        (("        type: int\n        on_invalid", "        type: integer\n        on_invalid"), 48,
         "employees.type: Input should be 'text'"),
        (("      lead_id: Id\n", "      lead_id: Name\n"), 25, "lead_id must be the object's key field 'Id'"),
        (("      owner_id: OwnerId\n", ""), 25, "objects.lead.fields must define owner_id"),
    ],
)
def test_field_mapping_errors_name_the_line(rules_dir, edit, line, message):
    path = rules_dir / "fields.yaml"
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError) as exc:
        load_field_mapping(path)
    found = problems(exc)
    assert any(f"fields.yaml:{line}:" in p and message in p for p in found), found


def test_malformed_yaml_points_at_the_line(tmp_path):
    path = write(tmp_path / "fields.yaml", """
        version: 1
        objects:
          lead:
            sobject: [Lead
    """)
    with pytest.raises(ConfigError) as exc:
        load_field_mapping(path)
    assert "fields.yaml:5" in problems(exc)[0] or "fields.yaml:4" in problems(exc)[0]
    assert "malformed YAML" in problems(exc)[0]


def test_csv_rows_with_the_wrong_number_of_cells_are_reported_by_line(tmp_path):
    path = write(tmp_path / "t.csv", """
        country,state,owner
        US,CA,005000000000000010
        US,NY,Marcus, the east coast AE
    """)
    with pytest.raises(ConfigError) as exc:
        read_csv(path)
    assert "t.csv:3: error: row has 4 cells but the header has 3" in problems(exc)[0]


# -- routing rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("when: {field: account.type, in: [Customer]}", "when: {field: account.type, inn: [Customer]}",
         "routing_rules/flow.yaml:20: error: condition on 'account.type' needs exactly one operator (did you mean 'in'?)"),
        ("when: {field: account.type, in: [Customer]}", "when: {field: account.type, op: equal, value: Customer}",
         "routing_rules/flow.yaml:20: error: unknown operator 'equal' (did you mean 'equals'?)"),
        ("when: {field: account.type, in: [Customer]}", "when: {field: account.type, in: Customer}",
         "routing_rules/flow.yaml:20: error: operator 'in' needs a list, e.g. [A, B]"),
        ("assign: account_owner", "assign: acount_owner",
         "routing_rules/flow.yaml:21: error: unknown action 'acount_owner' (did you mean 'account_owner'?)"),
        ("      assign: pool\n      pool: inbound_sdr", "      assign: pool",
         "routing_rules/flow.yaml:31: error: action 'pool' needs `pool`"),
    ],
)
def test_structural_rule_errors_name_file_and_line(rules_dir, old, new, expected):
    flow = rules_dir / "flow.yaml"
    text = flow.read_text()
    assert old in text
    flow.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as exc:
        load_rules(rules_dir)
    assert expected in problems(exc)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("pool: inbound_sdr", "pool: inbound_sdrs", "routing_rules/flow.yaml:31: error: unknown pool 'inbound_sdrs' (did you mean 'inbound_sdr'?)"),
        ("queue: Unroutable", "queue: Unroutabel", "routing_rules/flow.yaml:36: error: unknown queue 'Unroutabel' (did you mean 'Unroutable'?)"),
        ("{field: account.type,", "{field: account.typ,", "routing_rules/flow.yaml:20: error: unknown field 'account.typ' (did you mean 'type'?)"),
        ("lookup: {country: lead.country_code,", "lookup: {nation: lead.country_code,",
         "routing_rules/flow.yaml:25: error: table 'territories' has no key column 'nation'; its keys are country, state"),
    ],
)
def test_cross_reference_errors_name_file_and_line(rules_dir, mapping, old, new, expected):
    flow = rules_dir / "flow.yaml"
    flow.write_text(flow.read_text().replace(old, new, 1))
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert expected in found, found


def test_a_step_after_a_catch_all_queue_can_never_run(rules_dir, mapping):
    flow = rules_dir / "flow.yaml"
    flow.write_text(flow.read_text() + "    - step: too_late\n      assign: user\n      user: '005000000000000010'\n")
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert any("step 'too_late' can never run" in p for p in found), found


def test_table_rows_with_unknown_owners_and_duplicate_keys(rules_dir, mapping):
    table = rules_dir / "tables" / "territories.csv"
    lines = table.read_text().splitlines()
    lines.insert(2, "US,CA,005000000000000777")  # duplicate key, and not a rep
    table.write_text("\n".join(lines) + "\n")
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert "routing_rules/tables/territories.csv:3: error: duplicate key {'country': 'US', 'state': 'CA'} in table " \
           "'territories' (an earlier row has the same key)" in found
    assert "routing_rules/tables/territories.csv:3: error: owner '005000000000000777' is not in reps.csv" in found


def test_reps_inactive_or_missing_in_the_crm_are_errors(rules_dir, mapping):
    import pandas as pd

    users = pd.DataFrame({"user_id": ["005000000000000010"], "is_active": [False]})
    found = [str(p) for p in validate(load_rules(rules_dir), mapping, crm_users=users)]
    assert any("reps.csv:2: error: Morgan Reyes (005000000000000001) is not a user in the CRM" in p for p in found)
    assert any("Ava Thompson (005000000000000010) is active in reps.csv but inactive in the CRM" in p for p in found)


def test_the_shipped_rules_are_valid(mapping):
    from tests.conftest import RULES

    errors = [p for p in validate(load_rules(RULES), mapping) if p.severity == "error"]
    assert errors == []


@pytest.fixture
def mapping(rules_dir):
    return load_field_mapping(rules_dir / "fields.yaml")

"""Ops-owned configuration: every mistake is reported with its file, line and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipelines.crm.fields import load_field_mapping
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.ruleset.checks import validate
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
        US,CA,005000000000010AAA
        US,NY,Marcus, the east coast AE
    """)
    with pytest.raises(ConfigError) as exc:
        read_csv(path)
    assert "t.csv:3: error: row has 4 cells but the header has 3" in problems(exc)[0]


# -- routing rules --------------------------------------------------------------------------------


def edit(rules_dir: Path, file: str, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` in a rules file; return the line where ``new`` starts."""
    path = rules_dir / file
    text = path.read_text()
    assert old in text, f"{old!r} is not in {file}"
    at = text.index(old)
    path.write_text(text.replace(old, new, 1))
    return text[:at].count("\n") + 1 + new[: len(new) - len(new.lstrip("\n"))].count("\n")


CUSTOMER_WHEN = "when: {field: account.type, equals: Customer}"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (CUSTOMER_WHEN, "when: {field: account.type, equal: Customer}",
         "condition on 'account.type' needs exactly one operator (did you mean 'equals'?)"),
        (CUSTOMER_WHEN, "when: {field: account.type, op: equal, value: Customer}",
         "unknown operator 'equal' (did you mean 'equals'?)"),
        (CUSTOMER_WHEN, "when: {field: account.type, in: Customer}", "operator 'in' needs a list, e.g. [A, B]"),
        ("      assign: account_owner\n      fallback: ultimate", "      assign: acount_owner\n      fallback: ultimate",
         "unknown action 'acount_owner' (did you mean 'account_owner'?)"),
        ("      assign: pool\n      pool: inbound_sdr", "      assign: pool", "action 'pool' needs `pool`"),
        ("    keys: {zip: range}\n    value: owner", "    keys: {zip: ranges}\n    value: owner",
         "table 'california_zips': key 'zip' has unknown kind 'ranges' (did you mean 'range'?)"),
        ("      task: {subject: \"Call back", "      task: {title: \"Call back",
         "`task` does not take ['title']; it takes subject, due_in_hours, due_in_days, priority, description"),
        ("      assign: opportunity_owner\n      stages: [Negotiation, Scoping]",
         "      assign: opportunity_owner\n      stages: Negotiation", "`stages` needs a list, e.g. [Scoping, Negotiation]"),
        ("    watch: [lead.status, lead.lead_score, lead.country_code, lead.state_code, lead.postal_code_norm,\n"
         "            lead.industry, lead.size_band]\n", "\n",
         "flow 'updated' needs `watch: [fields]`: the fields whose change sends an already routed lead through it"),
    ],
)
def test_structural_rule_errors_name_file_and_line(rules_dir, old, new, message):
    line = edit(rules_dir, "flow.yaml", old, new)
    with pytest.raises(ConfigError) as exc:
        load_rules(rules_dir)
    found = problems(exc)
    assert any(p.startswith("routing_rules/flow.yaml:") and p.endswith(f"error: {message}") for p in found), found
    if "watch" not in old:
        assert f"routing_rules/flow.yaml:{line}: error: {message}" in found


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("pool: inbound_sdr", "pool: inbound_sdrs", "unknown pool 'inbound_sdrs' (did you mean 'inbound_sdr'?)"),
        ("queue: Unqualified_Hold", "queue: Unqualified_Hld", "unknown queue 'Unqualified_Hld' (did you mean 'Unqualified_Hold'?)"),
        (CUSTOMER_WHEN, "when: {field: account.typ, equals: Customer}", "unknown field 'account.typ' (did you mean 'type'?)"),
        ("lookup: {country: lead.country_code, state: lead.state_code}", "lookup: {nation: lead.country_code, state: lead.state_code}",
         "table 'linguistic_regions' has no key column 'nation'; its keys are country, state"),
        ("field: account.adr_id", "field: account.adr", "unknown field 'account.adr' (did you mean 'adr_id'?)"),
        ("{field: lead.lead_score, less_than: 20}", "{field: prior.lead.lead_score, less_than: 20}",
         "field 'prior.lead.lead_score' only exists for updated leads (the updated flow), not in flow 'new'"),
        ("- {changed: lead.lead_score}", "- {changed: lead.rating}",
         "`changed: lead.rating` needs 'lead.rating' under `watch:` of the updated flow"),
        ("set: {routing_reason:", "set: {routing_reasons:",
         "cannot set 'routing_reasons': it is not under writes: of the lead in fields.yaml (did you mean 'routing_reason'?)"),
        ("due_in_hours: 24}", "due_in_hours: 24, description: 'Owner {account.ownr_id}'}",
         "unknown field 'account.ownr_id' (did you mean 'owner_id'?)"),
        ("assign: flow\n        flow: new", "assign: flow\n        flow: updated", "flow 'updated' cannot send leads to itself"),
        ("      table: california_zips\n      lookup: {zip: lead.postal_code_norm}",
         "      table: bay_area_zips\n      lookup: {zip: lead.postal_code_norm}",
         "table 'bay_area_zips' has no `value:` column, so it cannot assign an owner; use it in a condition (in_table) "
         "or declare its owner column"),
    ],
)
def test_cross_reference_errors_name_file_and_line(rules_dir, mapping, old, new, message):
    line = edit(rules_dir, "flow.yaml", old, new)
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert any(p.startswith("routing_rules/flow.yaml:") and p.endswith(f"error: {message}") for p in found), found
    assert any(p.startswith(f"routing_rules/flow.yaml:{line}:") for p in found) or "task" in old, found


def test_a_step_after_a_catch_all_queue_can_never_run(rules_dir, mapping):
    flow = rules_dir / "flow.yaml"
    edit(rules_dir, "flow.yaml", "      pool: inbound_sdr\n", "      pool: inbound_sdr\n\n    - step: shark_tank\n"
                                                         "      assign: queue\n      queue: Shark_Tank\n\n"
                                                         "    - step: too_late\n      assign: user\n"
                                                         "      user: '005000000000010AAA'\n")
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert any("step 'too_late' can never run" in p for p in found), found


def test_table_rows_with_unknown_owners_and_duplicate_keys(rules_dir, mapping):
    table = rules_dir / "tables" / "us_states.csv"
    lines = table.read_text().splitlines()
    lines.insert(2, "CA,005000000000777AAA")  # duplicate key, and not a rep
    table.write_text("\n".join(lines) + "\n")
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert "routing_rules/tables/us_states.csv:3: error: duplicate key {'state': 'CA'} in table " \
           "'us_states' (an earlier row has the same key)" in found
    assert "routing_rules/tables/us_states.csv:3: error: owner '005000000000777AAA' is not in reps.csv" in found


@pytest.mark.parametrize(
    ("file", "rows", "message"),
    [
        ("california_zips.csv", ["90000,93599,005000000000010AAA,South", "93500,96199,005000000000011AAA,North"],
         "california_zips.csv:3: error: range 93500-96199 of 'zip' overlaps the range up to 93599 on line 2; "
         "a lead could fall in both"),
        ("california_zips.csv", ["90000,93599,005000000000010AAA,South", "93700,96199,005000000000011AAA,North"],
         "california_zips.csv:3: error: gap in 'zip': no row covers the values after 93599 (line 2) and before 93700; "
         "add a row, or set allow_gaps: true on table 'california_zips'"),
        ("california_zips.csv", ["90000,93599,005000000000010AAA,South", "93600,95999,005000000000011AAA,North"],
         "flow.yaml:{covers}: error: table 'california_zips' does not cover zip 90000-96199: the first value not "
         "covered comes after 95999"),
        ("world_alphabet.csv", ["0,9,005000000000018AAA", "A,H,005000000000018AAA", "J,Z,005000000000017AAA"],
         "flow.yaml:{covers}: error: table 'world_alphabet' does not cover company A-Z: the first value not covered "
         "comes after h"),
    ],
)
def test_ranges_must_not_overlap_or_leave_gaps_and_must_cover_what_they_say(rules_dir, mapping, file, rows, message):
    path = rules_dir / "tables" / file
    header = path.read_text().splitlines()[0]
    path.write_text("\n".join([header, *rows]) + "\n")
    flow_lines = (rules_dir / "flow.yaml").read_text().splitlines()
    table = file.removesuffix(".csv")
    decl = next(i for i, line in enumerate(flow_lines) if line.strip() == f"{table}:")
    covers = next(i for i in range(decl, len(flow_lines)) if flow_lines[i].strip().startswith("- {key:")) + 1
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    expected = message.format(covers=covers)
    assert any(p.endswith(expected) and p.startswith("routing_rules/") for p in found), found


def test_a_table_that_misses_a_us_state_says_which(rules_dir, mapping):
    path = rules_dir / "tables" / "us_states.csv"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith(("TX,", "VT,"))) + "\n")
    found = [str(p) for p in validate(load_rules(rules_dir), mapping)]
    assert any("error: table 'us_states' has no row for state TX, VT (it must cover us_states); "
               "add them to tables/us_states.csv" in p for p in found), found
    assert any(p.startswith("routing_rules/flow.yaml:") for p in found if "us_states" in p)


@pytest.mark.parametrize(
    ("keys", "header", "row", "message"),
    [
        ("{employees: number_range}", "employees_from,employees_to,owner", "1000,lots,005000000000010AAA",
         "t.csv:2: error: employees_to must be a number, got 'lots'"),
        ("{area: area}", "area,owner", '"POLYGON((0 0, 1 1, 1",005000000000010AAA',
         "t.csv:2: error: area must be a polygon (WKT, e.g. POLYGON((lon lat, ...)))"),
        ("{area: area}", "area,owner", '"POINT(1 1)",005000000000010AAA', "t.csv:2: error: area must be a polygon"),
        ("{zip: range}", "zip,owner", "94000,005000000000010AAA",
         "t.csv:1: error: missing column(s) ['zip_from', 'zip_to']; table 't' declares them in routing_rules/flow.yaml"),
    ],
)
def test_bad_table_cells_are_reported_by_line(rules_dir, keys, header, row, message):
    (rules_dir / "tables" / "t.csv").write_text(f"{header}\n{row}\n")
    flow = rules_dir / "flow.yaml"
    flow.write_text(flow.read_text().replace("tables:\n", f"tables:\n  t:\n    file: tables/t.csv\n    keys: {keys}\n"
                                                           f"    value: owner\n", 1))
    with pytest.raises(ConfigError) as exc:
        load_rules(rules_dir)
    assert any(message in p for p in problems(exc)), problems(exc)


def test_reps_inactive_or_missing_in_the_crm_are_errors(rules_dir, mapping):
    import pandas as pd

    users = pd.DataFrame({"user_id": ["005000000000010AAA"], "is_active": [False]})
    found = [str(p) for p in validate(load_rules(rules_dir), mapping, crm_users=users)]
    assert any("reps.csv:2: error: Morgan Reyes (005000000000001AAA) is not a user in the CRM" in p for p in found)
    assert any("Ava Thompson (005000000000010AAA) is active in reps.csv but inactive in the CRM" in p for p in found)


def test_the_shipped_rules_are_valid(mapping):
    from tests.conftest import RULES

    errors = [p for p in validate(load_rules(RULES), mapping) if p.severity == "error"]
    assert errors == []


@pytest.fixture
def mapping(rules_dir):
    return load_field_mapping(rules_dir / "fields.yaml")


def test_a_warehouse_created_before_a_column_was_declared_gains_it(tmp_path, rules_dir):
    """The warehouse migrates itself: a declared column missing from an existing table is added."""
    from pipelines.crm.fields import load_field_mapping
    from pipelines.warehouse import db

    path = tmp_path / "old.duckdb"
    mapping = load_field_mapping(rules_dir / "fields.yaml")
    with db.connect(path) as con:
        db.migrate(con, mapping.mapped_columns())
        con.execute("ALTER TABLE routing_decision DROP COLUMN pool")
        con.execute("INSERT INTO routing_decision (decision_id, lead_id) VALUES ('d1', 'l1')")
    with db.connect(path) as con:
        db.migrate(con, mapping.mapped_columns())
        assert con.execute("SELECT decision_id, lead_id, pool FROM routing_decision").fetchall() == [("d1", "l1", None)]

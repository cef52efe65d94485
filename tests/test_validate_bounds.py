"""``leadroute validate`` on the files issue 16 broke it with: each is an error at file:line, never a
traceback, a hang or another file's content in the log; and rules that would leave new leads
undecided are errors.

Each scenario edits a copy of the shipped rules the way a careless (or hostile) edit would, and
names the problem ``validate`` must report, as ops read it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.rules import validate
from pipelines.routing.language.model import FieldCondition
from pipelines.routing.language.pools import fallback_ends
from pipelines.routing.ruleset.checks import conditions
from pipelines.routing.ruleset.load import load_rules
from pipelines.sourcefile import MAX_DEPTH, MAX_NODES, MAX_SETTINGS_BYTES, MAX_TABLE_BYTES

CONTENT_STEP = "when: {field: lead.lead_source, in: [White Paper, E-book]}"  # flow.yaml:191


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def insert_line(path: Path, at: int, line: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines.insert(at - 1, line)
    path.write_bytes(b"\n".join(lines))


def check(rules_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(validate, [str(rules_dir), "--offline"], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def latin1_comment(d: Path) -> None:
    insert_line(d / "flow.yaml", 3, "# Z\u00fcrich".encode("latin-1"))


def latin1_roster(d: Path) -> None:
    replace(d / "reps.csv", "Morgan Reyes", "Jos\u00e9 Reyes")
    (d / "reps.csv").write_bytes((d / "reps.csv").read_text(encoding="utf-8").encode("latin-1"))


def pools_as_a_list(d: Path) -> None:
    (d / "pools.yaml").write_text("- inbound_sdr\n- hot_inbound\n", encoding="utf-8")


def matching_as_a_list(d: Path) -> None:
    (d / "matching.yaml").write_text("- blocking\n- model\n", encoding="utf-8")


def tables_as_a_list(d: Path) -> None:
    replace(d / "flow.yaml", "tables:\n  federal_domains:", "tables:\n  - federal_domains\nunused:\n  federal_domains:")


def queue_as_a_string(d: Path) -> None:
    replace(d / "queues.yaml", "  Shark_Tank:\n    label: Shark Tank\n    purpose: Open leads any SDR may claim.\n",
            "  Shark_Tank: a string\n")


def pool_members_as_a_string(d: Path) -> None:
    replace(d / "pools.yaml", "    members: {role: SDR, team: SDR Inbound}\n    method: round_robin\n    fallback",
            "    members: SDR Inbound\n    method: round_robin\n    fallback")


def nested_thousands_deep(d: Path) -> None:
    with open(d / "day2.yaml", "a", encoding="utf-8") as fh:
        fh.write("\ndeep: " + "[" * 100_000 + "]" * 100_000 + "\n")


def anchors_expanding_to_billions(d: Path) -> None:
    text = (d / "flow.yaml").read_text(encoding="utf-8")
    anchors = "x-anchors:\n  - &a0 [US, CA, MX, BR, DE, FR, GB, JP, IN, CN]\n" + "".join(
        f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
    (d / "flow.yaml").write_text(anchors + text.replace(CONTENT_STEP, "when: {field: lead.country_code, in: *a9}"),
                                 encoding="utf-8")


def a_boolean_among_codes(d: Path) -> None:
    replace(d / "flow.yaml", CONTENT_STEP, "when: {field: lead.country_code, in: [SE, true, FI]}")


def reversed_between(d: Path) -> None:
    replace(d / "flow.yaml", CONTENT_STEP, "when: {field: lead.lead_score, between: [90, 10]}")


def a_huge_cell(d: Path) -> None:
    replace(d / "tables" / "california_zips.csv", "Southern California", "x" * 200_000)


def header_only_roster(d: Path) -> None:
    (d / "reps.csv").write_text((d / "reps.csv").read_text(encoding="utf-8").split("\n")[0] + "\n", encoding="utf-8")


def a_300_character_time_zone(d: Path) -> None:
    replace(d / "reps.csv", "America/Los_Angeles", "America/" + "x" * 300)


def table_outside_the_folder(d: Path) -> None:
    (d.parent / "outside.csv").write_text("state,owner\nCA,005000000000010AAA\n", encoding="utf-8")
    replace(d / "flow.yaml", "file: tables/us_states.csv", "file: ../outside.csv")


def table_is_etc_passwd(d: Path) -> None:
    replace(d / "flow.yaml", "file: tables/us_states.csv", "file: /etc/passwd")


def table_links_to_dev_zero(d: Path) -> None:
    (d / "tables" / "zero.csv").symlink_to("/dev/zero")
    replace(d / "flow.yaml", "file: tables/us_states.csv", "file: tables/zero.csv")


def table_is_a_pipe(d: Path) -> None:
    os.mkfifo(d / "tables" / "pipe.csv")
    replace(d / "flow.yaml", "file: tables/us_states.csv", "file: tables/pipe.csv")


def domain_list_outside_the_folder(d: Path) -> None:
    with open(d / "matching.yaml", "a", encoding="utf-8") as fh:
        fh.write("\ndomains:\n  file: ../../../../etc/passwd\n")


def a_huge_settings_file(d: Path) -> None:
    with open(d / "quality.yaml", "a", encoding="utf-8") as fh:
        fh.write("# padding\n" * (MAX_SETTINGS_BYTES // 10 + 1))


def a_huge_table(d: Path) -> None:
    with open(d / "tables" / "us_states.csv", "a", encoding="utf-8") as fh:
        fh.write("\n" * (MAX_TABLE_BYTES + 1))


def a_huge_value(d: Path) -> None:
    replace(d / "queues.yaml", "label: Shark Tank", "label: " + "y" * 200_000)


def fallback_loop_through_3000_pools(d: Path) -> None:
    with open(d / "pools.yaml", "a", encoding="utf-8") as fh:
        fh.write("\n" + "".join(f"  loop_{i}:\n    members: [\"005000000000040AAA\"]\n"
                                f"    fallback: {{assign: pool, pool: loop_{(i + 1) % 3000}}}\n" for i in range(3000)))


def no_intake_queue(d: Path) -> None:
    replace(d / "queues.yaml", "    intake: true", "    intake: no")


def a_pool_nobody_is_in(d: Path) -> None:
    with open(d / "pools.yaml", "a", encoding="utf-8") as fh:
        fh.write("\n  empty_pool:\n    members: []\n")


PASSWD = "root:x:0:0"
TABLE_LINE = 61  # flow.yaml: `us_states:` under tables


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (latin1_comment, "routing_rules/flow.yaml:3: error: not UTF-8: byte 0xfc at line 3; save the file as UTF-8"),
        (latin1_roster, "routing_rules/reps.csv:2: error: not UTF-8: byte 0xe9 at line 2; save the file as UTF-8"),
        (pools_as_a_list, "routing_rules/pools.yaml:1: error: expected a mapping"),
        (matching_as_a_list, "routing_rules/matching.yaml:1: error: expected a mapping"),
        (tables_as_a_list, "routing_rules/flow.yaml:38: error: `tables` needs a mapping of named tables"),
        (queue_as_a_string, "routing_rules/queues.yaml:16: error: queue 'Shark_Tank' must be a mapping"),
        (pool_members_as_a_string, "routing_rules/pools.yaml:25: error: pool 'inbound_sdr' has no members"),
        (nested_thousands_deep, f"error: nested more than {MAX_DEPTH} levels deep; flatten it"),
        (anchors_expanding_to_billions, f"error: expands to more than {MAX_NODES:,} values"),
        (a_boolean_among_codes, "routing_rules/flow.yaml:191: error: operator 'in': a list of values holds a boolean"),
        (reversed_between, "is reversed (90 > 10); write [10, 90]"),
        (a_huge_cell, "routing_rules/tables/california_zips.csv:2: error: a cell is longer than 131,072 characters"),
        (header_only_roster, "routing_rules/reps.csv:1: error: no reps: the file has no row after its header"),
        (a_300_character_time_zone, "routing_rules/reps.csv:2: error: time_zone 'America/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                    "... (308 characters)' is not an IANA time zone"),
        (table_outside_the_folder, f"routing_rules/flow.yaml:{TABLE_LINE}: error: table 'us_states': file "
                                   f"'../outside.csv' is outside the rules folder"),
        (table_is_etc_passwd, f"routing_rules/flow.yaml:{TABLE_LINE}: error: table 'us_states': file '/etc/passwd' "
                              f"is outside the rules folder"),
        (table_links_to_dev_zero, f"routing_rules/flow.yaml:{TABLE_LINE}: error: table 'us_states': file "
                                  f"'tables/zero.csv' is outside the rules folder"),
        (domain_list_outside_the_folder, "error: domains.file: '../../../../etc/passwd' is outside the rules folder"),
        (table_is_a_pipe, "routing_rules/tables/pipe.csv:1: error: is not a regular file"),
        (a_huge_settings_file, "/quality.yaml:1: error: the file has 2,"),
        (a_huge_table, "routing_rules/tables/us_states.csv:1: error: the file has 8,"),  # 8,388,6xx bytes
        (a_huge_value, "routing_rules/queues.yaml:17: error: a value of 200,000 characters, above the limit of 10,000"),
        (fallback_loop_through_3000_pools, "error: pool 'loop_0': the fallback chain loops (loop_0 -> loop_1 -> "
                                           "loop_2 -> loop_3 -> loop_4 -> loop_5 -> ...); end it in a queue"),
        (no_intake_queue, "routing_rules/queues.yaml:6: error: no queue has `intake: true`"),
        (a_pool_nobody_is_in, "error: pool 'empty_pool' has no members"),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_a_broken_file_is_an_error_at_its_file_and_line(rules_dir, edit, expected):
    edit(rules_dir)
    code, output = check(rules_dir)
    assert code == 1
    assert expected in output
    assert PASSWD not in output


def test_yaml_1_1_booleans_stay_country_codes(rules_dir):
    """``NO`` is Norway and ``ON`` Ontario (YAML 1.2): validate accepts them, and they route as codes."""
    replace(rules_dir / "flow.yaml", CONTENT_STEP, "when: {field: lead.country_code, in: [SE, NO, ON, yes, off]}")
    code, output = check(rules_dir)
    assert code == 0, output
    values = [c.value for f in load_rules(rules_dir).flows.values() for s in f.steps for c in conditions(s.when)
              if isinstance(c, FieldCondition) and c.field == "lead.country_code" and isinstance(c.value, list)]
    assert ["SE", "NO", "ON", "yes", "off"] in values


def test_queue_intake_is_read_as_a_boolean_not_as_the_truth_of_a_string(rules_dir):
    replace(rules_dir / "queues.yaml", "    intake: true", '    intake: "false"')
    assert "no queue has `intake: true`" in check(rules_dir)[1]


def test_the_shipped_rules_are_valid(rules_dir):
    code, output = check(rules_dir)
    assert code == 0, output


def test_every_pool_knows_where_its_fallback_chain_ends_or_that_it_loops(rules_dir):
    """Chains that join share their tail: a pool leading into a loop loops too; one leading to a queue ends there."""
    (rules_dir / "pools.yaml").write_text("""pools:
  inbound_sdr: {members: {role: SDR}, fallback: {assign: queue, queue: Shark_Tank}}
  a: {members: ["005000000000040AAA"], fallback: {assign: pool, pool: b}}
  b: {members: ["005000000000040AAA"], fallback: {assign: pool, pool: c}}
  c: {members: ["005000000000040AAA"], fallback: {assign: pool, pool: b}}
  d: {members: ["005000000000040AAA"], fallback: {assign: pool, pool: inbound_sdr}}
  e: {members: ["005000000000040AAA"], fallback: {assign: pool, pool: d}}
  f: {members: ["005000000000040AAA"]}
""", encoding="utf-8")
    pools = load_rules(rules_dir).pools
    ends = {name: (end.params.get("queue") if end is not None else None, loops)
            for name, (end, loops) in fallback_ends(pools).items()}
    assert ends["a"][1] and ends["b"][1] and ends["c"][1]
    assert ends["d"] == ("Shark_Tank", False)
    assert ends["e"] == ("Shark_Tank", False)
    assert ends["f"] == (None, False)

"""pools.yaml, reps.csv and holidays.csv: every mistake is reported at its file and line, and the
checks `leadroute validate` makes on pools (members, fallback chains, who is available today)."""

from __future__ import annotations

import textwrap
from datetime import datetime

import pandas as pd
import pytest

from pipelines.crm.fields import load_field_mapping
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.ruleset.checks import validate
from pipelines.sourcefile import ConfigError
from tests.conftest import NOW


@pytest.fixture
def mapping(rules_dir):
    return load_field_mapping(rules_dir / "fields.yaml")


def structural(rules_dir) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_rules(rules_dir)
    return [str(p) for p in exc.value.problems]


POOL = textwrap.dedent("""
    pools:
      p:
        members: {role: SDR, team: SDR Inbound}
        method: round_robin
        caps: {daily: 10}
        sticky: {by: lead.domain, days: 30}
        fallback: {assign: queue, queue: Shark_Tank}
""").lstrip()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("method: round_robin", "method: round_robbin",
         "pools.yaml:4: error: pool 'p': unknown method 'round_robbin'; expected one of round_robin, "
         "weighted_round_robin, load_balanced"),
        ("caps: {daily: 10}", "caps: {daily: -1}", "pools.yaml:5: error: pool 'p': caps.daily: Input should be greater than or equal to 0"),
        ("caps: {daily: 10}", "caps: {dayly: 10}", "pools.yaml:5: error: pool 'p': caps.dayly: unknown key (check its spelling)"),
        ("days: 30", "days: 900", "pools.yaml:6: error: pool 'p': sticky.days: Input should be less than or equal to 365"),
        ("by: lead.domain", "by: account.website", "pools.yaml:6: error: pool 'p': sticky.by: sticky `by` names lead fields"),
        ("method: round_robin", "method: round_robin\n    working_hours: sometimes",
         "pools.yaml:5: error: pool 'p': working_hours: Input should be 'respect' or 'ignore'"),
        ("method: round_robin", "method: round_robin\n    langauge: prefer", "pools.yaml:2: error: pool 'p': unknown key(s) ['langauge']"),
    ],
)
def test_pool_declaration_errors_name_the_line(rules_dir, old, new, expected):
    (rules_dir / "pools.yaml").write_text(POOL.replace(old, new))
    found = structural(rules_dir)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("working_hours", "8am-5pm", "working_hours must look like 08:00-17:00 (local time), got '8am-5pm'"),
        ("time_zone", "Europe/Atlantis", "time_zone 'Europe/Atlantis' is not an IANA time zone"),
        ("working_days", "Mon-Fry", "working_days must look like Mon-Fri or Mon;Wed;Fri, got 'Mon-Fry'"),
        ("daily_cap", "sixty", "daily_cap must be a whole number of leads (or empty for no cap), got 'sixty'"),
        ("weight", "-1", "weight must be a number >= 0 (0 pauses the rep), got '-1'"),
        ("holiday_calendar", "US-XX", "holiday_calendar 'US-XX' is unknown"),
        ("ooo_to", "2026-11-01", "ooo_to is before ooo_from"),
    ],
)
def test_roster_errors_name_the_reps_line(rules_dir, column, value, expected):
    reps = pd.read_csv(rules_dir / "reps.csv", dtype=str, keep_default_na=False)
    row = reps.index[reps["user_id"] == "005000000000042AAA"][0]  # Mateo, line 23
    reps.loc[row, column] = value
    reps.to_csv(rules_dir / "reps.csv", index=False)
    found = structural(rules_dir)
    assert any(p.startswith(f"{rules_dir.name}/reps.csv:{row + 2}: error: {expected}") for p in found), found


def test_holidays_csv_errors_name_the_line(rules_dir, mapping):
    with open(rules_dir / "holidays.csv", "a") as fh:
        fh.write("2026-13-01,everyone,Nonsense\n2026-12-28,Night Shift,Nobody has this team\n")
    found = structural(rules_dir)
    assert "routing_rules/holidays.csv:5: error: date must be YYYY-MM-DD, got '2026-13-01'" in found
    lines = (rules_dir / "holidays.csv").read_text().splitlines()
    (rules_dir / "holidays.csv").write_text("\n".join(lines[:4] + lines[5:]) + "\n")
    found = [str(p) for p in validate(load_rules(rules_dir), mapping, now=NOW)]
    assert "routing_rules/holidays.csv:5: error: applies_to 'Night Shift' is not 'everyone', a team or a user id " \
           "in reps.csv" in found


@pytest.mark.parametrize(
    ("pools_yaml", "expected", "severity"),
    [
        ("""
         a: {members: ["005000000000040AAA"], fallback: {assign: pool, pool: b}}
         b: {members: ["005000000000041AAA"], fallback: {assign: pool, pool: a}}
         """, "pool 'a': the fallback chain loops (a -> b -> a); end it in a queue", "error"),
        ("""
         a: {members: ["005000000000040AAA"]}
         """, "pool 'a': the fallback chain (a) does not end in a queue", "warning"),
        ("""
         a: {members: ["005000000000040AAA", "005000000000777AAA"], fallback: {assign: queue, queue: Shark_Tank}}
         """, "member of pool 'a' '005000000000777AAA' is not in reps.csv", "error"),
        ("""
         a: {members: {role: SDR, squad: Inbound}, fallback: {assign: queue, queue: Shark_Tank}}
         """, "pool 'a' filters on 'squad', which is not a reps.csv column", "error"),
        ("""
         a: {members: {role: Astronaut}, fallback: {assign: queue, queue: Shark_Tank}}
         """, "pool 'a' has no members", "error"),
        ("""
         a: {members: ["005000000000042AAA"]}
         """, "pool 'a' has no member available today: Mateo Garcia out of office until 2026-11-30", "error"),
        ("""
         a: {members: ["005000000000042AAA"], fallback: {assign: queue, queue: Shark_Tank}}
         """, "pool 'a' has no member available today: Mateo Garcia out of office until 2026-11-30", "warning"),
    ],
    ids=["fallback loop", "no queue at the end", "unknown member", "unknown column", "empty filter",
         "nobody today", "nobody today, with fallback"],
)
def test_validate_checks_pools_against_the_roster(rules_dir, mapping, pools_yaml, expected, severity):
    (rules_dir / "pools.yaml").write_text("pools:\n  inbound_sdr: {members: {role: SDR}, fallback: {assign: queue, "
                                          "queue: Shark_Tank}}\n" + textwrap.indent(textwrap.dedent(pools_yaml), "  "))
    found = [p for p in validate(load_rules(rules_dir), mapping, now=NOW)]
    hits = [p for p in found if expected in p.message]
    assert hits and hits[0].severity == severity and hits[0].where.line, [str(p) for p in found]


def test_the_shipped_pools_validate_cleanly_today_and_name_each_pool_the_flow_uses(mapping):
    from tests.conftest import RULES

    rules = load_rules(RULES)
    assert {"inbound_sdr", "hot_inbound", "cold_list", "content_downloads", "webinar", "bay_area_non_target"} <= set(rules.pools)
    methods = {p.method for p in rules.pools.values()}
    assert methods == {"round_robin", "weighted_round_robin", "load_balanced"}
    assert any(p.sticky for p in rules.pools.values()) and any(p.ramp for p in rules.pools.values())
    assert any(p.language for p in rules.pools.values()) and any(p.caps.daily for p in rules.pools.values())
    pool_problems = [str(p) for p in validate(rules, mapping, now=datetime(2026, 11, 20, 15, 0))
                     if "pools.yaml" in str(p.where) or "reps.csv" in str(p.where) or "holidays" in str(p.where)]
    assert pool_problems == []

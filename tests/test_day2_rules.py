"""Day-2 rules without ticks: time in working hours, the reroute policy, holding until business hours,
and every day-2 configuration mistake reported at its file and line."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from pipelines.crm.fields import load_field_mapping
from pipelines.routing import engine
from pipelines.routing.engine import policy
from pipelines.routing.roster import working_time
from pipelines.routing.ruleset.load import load_rules
from pipelines.routing.pools.catalog import days_off_of
from pipelines.routing.ruleset.checks import validate
from pipelines.sourcefile import ConfigError
from tests.conftest import ELLA, LIAM, MATEO, NOW, RULES
from tests.routing_harness import frame_of, route_leads


@pytest.fixture(scope="module")
def shipped():
    return load_rules(RULES)


# -- time counted in the owner's working hours --------------------------------------------------------


@pytest.mark.parametrize(("who", "start", "minutes", "working", "due"), [
    # Liam: New York, 08:00-17:00 Mon-Fri, US-NY holidays
    (LIAM, "2026-11-20 15:00", 60, True, "2026-11-20 16:00"),        # 10:00 on a Friday: an hour later
    (LIAM, "2026-11-20 21:30", 60, True, "2026-11-23 13:30"),        # 16:30 Friday: half an hour, the rest Monday
    (LIAM, "2026-11-21 12:00", 60, True, "2026-11-23 14:00"),        # Saturday: from Monday 08:00 (EST)
    (LIAM, "2026-11-25 21:30", 60, True, "2026-11-27 13:30"),        # the eve of Thanksgiving: Friday, not Thursday
    (LIAM, "2026-11-20 15:00", 16 * 60, True, "2026-11-23 22:00"),   # two working days: 7 hours Friday, 9 Monday
    (LIAM, "2026-11-21 12:00", 24 * 60, False, "2026-11-22 12:00"),  # a calendar SLA ignores hours
    # Ella: Stockholm, 09:00-18:00; Mateo: out of office until 2026-11-30 (included)
    (ELLA, "2026-11-20 16:30", 60, True, "2026-11-23 08:30"),        # 17:30 local: 30 minutes Friday, 30 Monday
    (MATEO, "2026-11-20 15:00", 60, True, "2026-12-01 15:00"),       # back on Tuesday 08:00 in Chicago
    ("005000000000999AAA", "2026-11-21 12:00", 60, True, "2026-11-21 13:00"),  # not in reps.csv: the calendar
])
def test_sla_time_counts_in_the_owners_working_hours(shipped, who, start, minutes, working, due):
    got = working_time.due_at(pd.Series([pd.Timestamp(start)]), pd.Series([float(minutes)]), pd.Series([who]),
                              pd.Series([working]), shipped.reps, days_off_of(shipped.pools))
    assert got.iloc[0] == pd.Timestamp(due)


def test_a_night_shift_counts_across_midnight_and_touch_times_in_working_minutes(shipped):
    reps = shipped.reps[shipped.reps["user_id"] == LIAM].copy()
    reps["_shift"] = [(22 * 60, 6 * 60)]  # 22:00-06:00 New York time, starting Monday to Friday
    monday_0530_local = pd.Timestamp("2026-11-23 10:30")  # 05:30 in New York
    due = working_time.due_at(pd.Series([monday_0530_local]), pd.Series([60.0]), pd.Series([LIAM]), pd.Series([True]),
                              reps, days_off_of(shipped.pools))
    assert due.iloc[0] == pd.Timestamp("2026-11-24 03:30"), "30 minutes before 06:00, the rest from 22:00"
    spent = working_time.minutes_between(pd.Series([pd.Timestamp("2026-11-20 21:30")]),
                                         pd.Series([pd.Timestamp("2026-11-23 13:30")]), pd.Series([LIAM]),
                                         shipped.reps, days_off_of(shipped.pools))
    assert spent.iloc[0] == 60.0, "Friday 16:30 to Monday 08:30 in New York is one working hour"


# -- the reroute policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(("lead", "kept_by"), [
    ({"lead.status": "New", "lead.owner_is_active": True}, None),
    ({"lead.status": "Working", "lead.owner_is_active": True, "lead.open_meetings": 1}, "meeting_booked"),
    ({"lead.status": "New", "lead.owner_is_active": True, "account.open_opportunities": 2}, "open_opportunity"),
    ({"lead.status": "New", "lead.owner_is_active": False, "account.open_opportunities": 2}, None),  # the rep left
    ({"lead.status": "Qualified", "lead.owner_is_active": True}, "rep_moved_it_on"),
    ({"lead.status": "Qualified", "lead.owner_is_active": False}, None),
    ({"lead.status": "Nurture", "lead.owner_is_active": True}, None),  # dormant: may wake up and move
    ({"lead.status": "Qualified", "lead.owner_queue": "Shark_Tank"}, None),  # a queue's lead: nobody's work
])
def test_the_reroute_policy_keeps_leads_someone_is_working_and_says_why(shipped, lead, kept_by):
    frame = frame_of([lead], RULES)
    ok, why = policy.movable(frame, shipped)
    assert bool(ok[0]) is (kept_by is None)
    if kept_by:
        assert why.iloc[0].startswith(f"the reroute policy keeps it ({kept_by}): ")
    else:
        assert why.iloc[0] is None


# -- hold until business hours --------------------------------------------------------------------


@pytest.mark.parametrize(("now", "held"), [
    (datetime(2026, 11, 21, 12, 0), True),   # Saturday: nobody in the pool works
    (datetime(2026, 11, 23, 8, 30), False),  # Monday 09:30 in Stockholm: Ella is at her desk
])
def test_a_step_can_hold_leads_until_the_team_is_at_work(rules_dir, now, held):
    decided = route_leads(rules_dir, """
        - step: demo_requests
          when: {field: lead.lead_source, equals: Web - Demo Request}
          hold: {until_working_hours: hot_inbound}
          assign: pool
          pool: hot_inbound
    """, leads=[{"lead.lead_source": "Web - Demo Request", "lead.created_at": now - timedelta(minutes=5),
                 "lead.owner_queue": "Inbound_Leads"}], ctx=engine.RouteContext(now=now, queue_ids={}))
    row = decided.iloc[0]
    if held:
        assert (row["action"], row["queue"]) == ("hold", "Inbound_Leads")
        assert row["reason"] == ("demo_requests: held until a member of pool hot_inbound is in working hours "
                                 "(next in working hours: Ella Johansson at 2026-11-23 08:00 UTC)")
    else:
        assert (row["action"], row["owner_id"]) == ("pool", ELLA)


# -- configuration mistakes, at their line ----------------------------------------------------------


@pytest.mark.parametrize(("file", "old", "new", "at", "message"), [
    ("day2.yaml", "within: {working_minutes: 60}", "within: {working_minute: 60}", "within:",
     "SLA 'hot_inbound_first_touch': within needs one of minutes, hours, days, working_minutes, working_hours"),
    ("day2.yaml", "reassign: {skip_previous: 2}", "reassign: {skip_previous: two}", "skip_previous: two",
     "SLA 'hot_inbound_first_touch': skip_previous must be a whole number, 0 or more"),
    ("day2.yaml", "after_misses: {count: 3, queue: Shark_Tank}", "after_misses: {count: 3}", "after_misses: {count: 3}",
     "SLA 'hot_inbound_first_touch': after_misses needs `count: K` and `queue: <holding queue>`"),
    ("day2.yaml", "stalled_for: {days: 45}", "stalled_for: {working_hours: 45}", "stalled_for:",
     "recycle rule 'stalled_working': stalled_for needs one of minutes, hours, days with a number, e.g. {days: 30}"),
    ("flow.yaml", "keep_when: {field: lead.open_meetings, greater_than: 0}", "when: {field: lead.open_meetings, greater_than: 0}",
     "- name: meeting_booked", "each protection of the reroute policy needs `name` and `keep_when: <condition>`"),
])
def test_structural_day2_mistakes_name_file_and_line(rules_dir, file, old, new, at, message):
    path = rules_dir / file
    text = path.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text)
    line = text[:text.index(at)].count("\n") + 1
    with pytest.raises(ConfigError) as exc:
        load_rules(rules_dir)
    found = [str(p) for p in exc.value.problems]
    assert any(p.startswith(f"routing_rules/{file}:{line}: error: ") and message in p for p in found), (line, found)


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("day2.yaml", "applies_to: {pools: [hot_inbound]}", "applies_to: {pools: [hot_inbnd]}",
     "unknown pool 'hot_inbnd'; declare it in pools.yaml"),
    ("day2.yaml", "after_misses: {count: 2, queue: Unworked}", "after_misses: {count: 2, queue: Unwork}",
     "unknown queue 'Unwork'; declare it in queues.yaml"),
    ("day2.yaml", "applies_to: {steps: [california_zip,", "applies_to: {steps: [california,",
     "SLA 'territory_first_touch': no step 'california' in flow.yaml"),
    ("day2.yaml", "activity_field: lead.last_activity_at   #", "activity_field: lead.last_activty_at   #",
     "unknown field 'lead.last_activty_at' (did you mean 'last_activity_at'?)"),
    ("day2.yaml", "set: {routing_reason:", "set: {routing_reasn:",
     "cannot set 'routing_reasn': it is not under writes: of the lead in fields.yaml"),
    ("flow.yaml", "keep_when: {field: lead.open_meetings, greater_than: 0}",
     "keep_when: {field: lead.open_meeting, greater_than: 0}", "unknown field 'lead.open_meeting' (did you mean 'open_meetings'?)"),
    ("flow.yaml", "keep_when: {field: lead.open_meetings, greater_than: 0}",
     "keep_when: {changed: lead.status}", "`changed` only applies in the updated flow"),
])
def test_day2_cross_references_are_checked_at_their_line(rules_dir, file, old, new, message):
    path = rules_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    problems = [str(p) for p in validate(load_rules(rules_dir), load_field_mapping(rules_dir / "fields.yaml"), now=NOW)]
    assert any(p.startswith(f"routing_rules/{file}:") and p.endswith(f"error: {message}") for p in problems), problems

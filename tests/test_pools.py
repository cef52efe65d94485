"""Distribution pools, behaviour by behaviour: each method and each rule of availability, caps,
stickiness, language, working hours and fallback, on the shipped roster with a test pool.

The pool under test is written into a private copy of ``routing_rules/pools.yaml``; leads are
routing frames as the engine passes them (oldest first); ``NOW`` is Friday 2026-11-20 15:00 UTC:
Liam (New York, 10:00) and Ella (Stockholm, 16:00) are working, Zoe (Los Angeles, 07:00) is not
yet, Mateo is out of office until 2026-11-30.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import datetime, timedelta

import pandas as pd
import pytest

from pipelines.crm.local_schema import make_id
from pipelines.routing import pools
from pipelines.routing.engine import RouteContext
from pipelines.routing.ruleset.load import load_rules
from tests.conftest import ELLA, LIAM, MATEO, NOW, ZOE

RYAN, CHLOE, ISAAC = "005000000000044AAA", "005000000000045AAA", "005000000000046AAA"  # SDR Outbound; Chloe weight 2
MIA, OWEN = "005000000000047AAA", "005000000000048AAA"  # SDR Events; Mia speaks German
OLIVIA, NOAH = "005000000000030AAA", "005000000000031AAA"  # ADRs, Los Angeles and New York
INBOUND = {"role": "SDR", "team": "SDR Inbound"}


def write_pool(rules_dir, body: str, name: str = "p", extra: str = ""):
    """Replace pools.yaml with one pool ``name`` declared by ``body`` (YAML), and load the rules."""
    text = f"pools:\n  {name}:\n" + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ") + extra
    (rules_dir / "pools.yaml").write_text(text)
    rules = load_rules(rules_dir)
    return rules.pools[name], rules


def set_rep(rules_dir, user_id: str, **values) -> None:
    path = rules_dir / "reps.csv"
    reps = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert user_id in set(reps["user_id"])
    for column, value in values.items():
        reps.loc[reps["user_id"] == user_id, column] = str(value)
    reps.to_csv(path, index=False)


def leads(n: int, *, domains=None, languages=None, first: int = 0) -> pd.DataFrame:
    return pd.DataFrame({
        "lead_id": [make_id("Lead", first + i) for i in range(n)],
        "lead.domain": domains if domains is not None else [f"company{first + i}.com" for i in range(n)],
        "lead.company_norm": [None] * n,
        "lead.language": languages if languages is not None else [None] * n,
    })


def ctx(now: datetime = NOW, book: pools.PoolBook | None = None, crm_active=None) -> RouteContext:
    return RouteContext(now=now, queue_ids={}, crm_active=crm_active, pool_states=book or pools.PoolBook())


def route(pool, rules, frame, context) -> tuple[list, list[str]]:
    owners, detail = pools.assign(pool, frame, rules, context)
    assert owners.index.equals(frame.index) and detail.index.equals(frame.index)
    assert detail.notna().all(), "every lead gets a line saying how or why not"
    return [None if pd.isna(o) else o for o in owners], detail.tolist()


# -- round robin -------------------------------------------------------------------------------


@pytest.mark.parametrize("batches", [[6], [1, 1, 1, 1, 1, 1], [2, 3, 1], [5, 1]],
                         ids=["one run", "a lead per run", "uneven runs", "five then one"])
def test_round_robin_takes_turns_in_roster_order_and_resumes_after_the_last_member_served(rules_dir, batches):
    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Inbound}\nmethod: round_robin")
    book, got = pools.PoolBook(), []
    for i, size in enumerate(batches):
        owners, _ = route(pool, rules, leads(size, first=sum(batches[:i])), ctx(NOW + timedelta(minutes=5 * i), book))
        got += owners
    assert got == [LIAM, ZOE, ELLA, LIAM, ZOE, ELLA], "Mateo (out of office) is skipped; the order never restarts"
    assert book.state("p").last_user_id == ELLA and book.state("p").pointer == 6


def test_round_robin_gives_a_returning_member_their_turn_without_a_flood_of_catch_up_leads(rules_dir):
    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Inbound}")
    book = pools.PoolBook()
    route(pool, rules, leads(30), ctx(NOW, book))  # Mateo away: 10 each for Liam, Zoe, Ella
    back = NOW + timedelta(days=11)  # Tuesday 1 December: Mateo is back
    owners, _ = route(pool, rules, leads(8, first=30), ctx(back, book))
    assert Counter(owners) == {LIAM: 2, ZOE: 2, MATEO: 2, ELLA: 2}


# -- availability ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "now", "crm_inactive", "reason"),
    [
        ({"active": "false"}, NOW, False, "inactive in reps.csv"),
        ({}, NOW, True, "not an active user in the CRM"),
        ({"start_date": "2026-12-01"}, NOW, False, "starts on 2026-12-01"),
        ({"ooo_from": "2026-11-19", "ooo_to": "2026-11-20"}, NOW, False, "out of office until 2026-11-20"),
        ({"ooo_from": "2026-11-19", "ooo_to": ""}, NOW, False, "out of office until further notice"),
        ({}, datetime(2026, 11, 26, 15, 0), False, "on holiday (Thanksgiving Day, US-NY)"),
        ({"holiday_calendar": "SE"}, datetime(2026, 11, 26, 15, 0), False, None),  # a Swede works on Thanksgiving
        ({"team": "Night Shift"}, datetime(2026, 12, 30, 15, 0), False, "on holiday (Night shift off)"),
    ],
    ids=["inactive", "not in the CRM", "not started", "out of office", "open-ended leave", "public holiday",
         "another country's holiday", "team day off"],
)
def test_a_member_who_cannot_work_today_is_skipped_and_the_lead_says_why(rules_dir, change, now, crm_inactive, reason):
    with open(rules_dir / "holidays.csv", "a") as fh:
        fh.write("2026-12-30,Night Shift,Night shift off\n")
    set_rep(rules_dir, LIAM, **change)
    pool, rules = write_pool(rules_dir, "members: [\"005000000000040AAA\", \"005000000000043AAA\"]")  # Liam, Ella
    everyone = {LIAM, ZOE, MATEO, ELLA} - ({LIAM} if crm_inactive else set())
    owners, detail = route(pool, rules, leads(4), ctx(now, crm_active=everyone))
    if reason is None:
        assert owners == [LIAM, ELLA, LIAM, ELLA]
    else:
        assert owners == [ELLA] * 4
        assert all(f"skipped: Liam Walsh {reason}" in d for d in detail)


def test_a_company_day_off_for_everyone_leaves_the_pool_empty_and_says_so(rules_dir):
    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Inbound}")
    owners, detail = route(pool, rules, leads(2), ctx(datetime(2026, 12, 24, 15, 0)))  # holidays.csv
    assert owners == [None, None]
    assert "nobody can take it" in detail[0] and "Zoe Kim on holiday (Company holiday (Christmas Eve))" in detail[0]


# -- weights and ramping -----------------------------------------------------------------------


@pytest.mark.parametrize("per_run", [40, 1], ids=["one run", "one lead per run"])
def test_weighted_round_robin_shares_leads_by_weight_even_one_lead_at_a_time(rules_dir, per_run):
    set_rep(rules_dir, ISAAC, start_date="2025-01-06")  # no ramp question here
    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Outbound}\nmethod: weighted_round_robin")
    book, got = pools.PoolBook(), []
    for i in range(40 // per_run):
        got += route(pool, rules, leads(per_run, first=i * per_run), ctx(NOW + timedelta(minutes=i), book))[0]
    assert Counter(got) == {CHLOE: 20, RYAN: 10, ISAAC: 10}, "Chloe has weight 2 in reps.csv"


@pytest.mark.parametrize(
    ("now", "isaac_share"),
    [
        (datetime(2026, 11, 2, 15, 0), 0.25),  # first day: a quarter share
        (datetime(2026, 11, 30, 15, 0), 0.625),  # four of eight weeks: halfway from 0.25 to 1
        (datetime(2027, 1, 4, 15, 0), 1.0),  # after eight weeks: a full share
    ],
    ids=["first day", "halfway", "ramped"],
)
def test_ramping_gives_a_new_rep_a_share_growing_from_start_share_to_a_full_one(rules_dir, now, isaac_share):
    pool, rules = write_pool(rules_dir, """
        members: {role: SDR, team: SDR Outbound}
        method: round_robin
        ramp: {weeks: 8, start_share: 0.25}
    """)
    owners, detail = route(pool, rules, leads(150), ctx(now))  # within the outbound daily cap of 80
    counts = Counter(owners)
    assert counts[RYAN] == pytest.approx(counts[CHLOE], abs=1), "round robin ignores reps.csv weight; the ramp scales it"
    assert counts[ISAAC] == pytest.approx(counts[RYAN] * isaac_share, abs=1)
    assert any("Isaac Levi (next in turn at weight" in d for d in detail)


# -- load balancing ----------------------------------------------------------------------------


def test_load_balancing_feeds_the_emptiest_book_first_so_a_new_rep_catches_up(rules_dir):
    set_rep(rules_dir, CHLOE, weight="1")
    pool, rules = write_pool(rules_dir, """
        members: {role: SDR, team: SDR Outbound}
        method: load_balanced
        open_statuses: [New, Working]
    """)
    book = pools.PoolBook(open_leads=pd.DataFrame({
        "owner_id": [RYAN, RYAN, CHLOE, ISAAC],
        "status": ["Working", "Nurture", "New", "Working"],  # Nurture is not open in this pool
        "n": [12, 40, 9, 2],
    }))
    owners, detail = route(pool, rules, leads(20), ctx(NOW, book))
    assert owners[:7] == [ISAAC] * 7, "Isaac goes from 2 to 9 open leads, level with Chloe"
    assert Counter(owners) == {ISAAC: 12, CHLOE: 5, RYAN: 3}, "then Isaac and Chloe reach Ryan's 12; then turns"
    assert detail[0].startswith("pool p (load balanced): Isaac Levi (fewest open leads: 2")


def test_load_balancing_counts_leads_given_by_other_pools_in_the_same_run(rules_dir):
    extra = textwrap.indent(textwrap.dedent("""
        q:
          members: {role: SDR, team: SDR Outbound}
          method: load_balanced
    """), "  ")
    pool, rules = write_pool(rules_dir, "members: [\"005000000000046AAA\"]", extra=extra)
    book = pools.PoolBook()
    assert route(pool, rules, leads(4), ctx(NOW, book))[0] == [ISAAC] * 4  # Isaac takes 4 from pool p
    owners, _ = route(rules.pools["q"], rules, leads(6, first=4), ctx(NOW, book))
    assert Counter(owners) == {CHLOE: 4, RYAN: 2}, "Isaac already holds 4; Chloe (weight 2) levels at twice Ryan's"


# -- caps ---------------------------------------------------------------------------------------


def test_caps_stop_a_member_for_the_day_and_the_count_starts_again_on_their_next_local_day(rules_dir):
    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Inbound}\ncaps: {daily: 2}")
    book = pools.PoolBook()
    owners, detail = route(pool, rules, leads(8), ctx(NOW, book))
    assert Counter(owners) == {LIAM: 2, ZOE: 2, ELLA: 2, None: 2}
    assert "nobody can take it" in detail[-1] and "Liam Walsh pool daily cap reached (2 of 2 today)" in detail[-1]
    # 23:30 UTC: still Friday in New York and Los Angeles, already Saturday in Stockholm
    late = datetime(2026, 11, 20, 23, 30)
    owners, _ = route(pool, rules, leads(3, first=8), ctx(late, book))
    assert owners == [ELLA, ELLA, None]
    member = book.member("p", LIAM)
    # skipped for leads given while he was capped: 2 after his second lead, 2 nobody took, 3 at 23:30
    assert (member.assigned_today, member.skipped_cap_total) == (2, 2 + 2 + 3)


def test_a_reps_daily_cap_counts_leads_from_every_pool(rules_dir):
    set_rep(rules_dir, LIAM, daily_cap="3")
    extra = "  q:\n    members: [\"005000000000040AAA\"]\n"
    pool, rules = write_pool(rules_dir, "members: [\"005000000000040AAA\"]", extra=extra)
    book = pools.PoolBook()
    assert route(pool, rules, leads(2), ctx(NOW, book))[0] == [LIAM, LIAM]
    owners, detail = route(rules.pools["q"], rules, leads(2, first=2), ctx(NOW, book))
    assert owners == [LIAM, None]
    assert detail[1].endswith("nobody can take it; skipped: Liam Walsh daily cap reached (3 of 3 today)")


def test_a_weekly_cap_holds_across_days(rules_dir):
    set_rep(rules_dir, ELLA, weekly_cap="3")
    pool, rules = write_pool(rules_dir, "members: [\"005000000000043AAA\"]")
    book = pools.PoolBook()
    assert route(pool, rules, leads(2), ctx(datetime(2026, 11, 16, 12, 0), book))[0] == [ELLA, ELLA]  # Monday
    owners, detail = route(pool, rules, leads(2, first=2), ctx(datetime(2026, 11, 18, 12, 0), book))  # Wednesday
    assert owners == [ELLA, None] and "weekly cap" in detail[1]
    assert route(pool, rules, leads(1, first=4), ctx(datetime(2026, 11, 23, 12, 0), book))[0] == [ELLA]  # next week


# -- working hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected", "passed_over"),
    [
        # Friday 15:00 UTC: New York 10:00, Stockholm 16:00; Los Angeles 07:00. Rotation Liam, Zoe,
        # (Mateo away), Ella: every lead to Ella passed over Zoe's turn.
        (NOW, {LIAM, ELLA}, {"Zoe Kim": [1, 3, 5]}),
        # Stockholm 19:00 is off: Ella's turn comes between Zoe and Liam, so Liam's 2nd and 3rd leads pass it.
        (datetime(2026, 11, 20, 18, 0), {LIAM, ZOE}, {"Ella Johansson": [2, 4]}),
        (datetime(2026, 11, 20, 16, 30), {LIAM, ZOE, ELLA}, {}),  # all three at their desks
    ],
    ids=["morning in New York", "evening in Stockholm", "overlap"],
)
def test_a_pool_respecting_working_hours_serves_only_members_at_their_desk(rules_dir, now, expected, passed_over):
    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Inbound}\nworking_hours: respect")
    owners, detail = route(pool, rules, leads(6), ctx(now))
    assert set(owners) == expected
    for name, leads_passing in passed_over.items():
        # the "skipped" list of a lead names a member only when that lead passed over their turn
        assert [i for i, d in enumerate(detail) if f"{name} outside working hours" in d] == leads_passing


@pytest.mark.parametrize(
    ("policy", "owners", "says"),
    [
        ("next_to_start", [ELLA, ELLA, ELLA], "next to start, at 2026-11-23 08:00 UTC"),  # Monday 09:00 Stockholm
        ("anyone", [LIAM, ZOE, ELLA], "nobody is in working hours, so anyone in the pool"),
        ("fallback", [None, None, None], "nobody is in working hours (next: Ella Johansson at 2026-11-23 08:00 UTC)"),
    ],
)
def test_when_nobody_is_working_the_pool_policy_decides(rules_dir, policy, owners, says):
    pool, rules = write_pool(rules_dir, f"""
        members: {{role: SDR, team: SDR Inbound}}
        working_hours: respect
        outside_hours: {policy}
    """)
    saturday_night = datetime(2026, 11, 21, 3, 0)
    got, detail = route(pool, rules, leads(3), ctx(saturday_night))
    assert got == owners
    assert all(says in d for d in detail)


# -- sticky ----------------------------------------------------------------------------------------

STICKY = """
    members: {role: SDR, team: SDR Inbound}
    working_hours: respect
    sticky: {by: [lead.domain, lead.company_norm], days: 30}
    caps: {daily: 3}
"""


def test_sticky_sends_a_companys_leads_in_one_run_to_one_member(rules_dir):
    pool, rules = write_pool(rules_dir, STICKY)
    owners, detail = route(pool, rules, leads(5, domains=["acme.com", "initech.com", "ACME.com ", "acme.com", None]), ctx())
    assert owners[0] == owners[2] == owners[3] != owners[1]
    assert "sticky: lead.domain=acme.com, like lead 00Q000000000000EAA in this run" in detail[3]


@pytest.mark.parametrize(
    ("days_later", "liam_change", "sticks"),
    [
        (3, {}, True),
        (3, {"working_hours": "11:00-12:00"}, True),  # outside his hours: still his company
        (3, {"daily_cap": "0"}, True),  # over his cap: still his company
        (3, {"ooo_from": "2026-11-23", "ooo_to": "2026-11-27"}, False),  # away: someone else takes it
        (31, {}, False),  # past the 30-day window
    ],
    ids=["within the window", "outside hours", "over the cap", "out of office", "window passed"],
)
def test_a_companys_next_lead_goes_to_the_member_who_had_its_last_one(rules_dir, days_later, liam_change, sticks):
    pool, rules = write_pool(rules_dir, STICKY)
    book = pools.PoolBook()
    first, _ = route(pool, rules, leads(1, domains=["acme.com"]), ctx(NOW, book))
    assert first == [LIAM]
    set_rep(rules_dir, LIAM, **liam_change)
    rules = load_rules(rules_dir)
    later = datetime(2026, 11, 23, 15, 0) + timedelta(days=days_later - 3)
    owners, detail = route(rules.pools["p"], rules, leads(1, domains=["acme.com"], first=1), ctx(later, book))
    assert (owners == [LIAM]) is sticks
    if sticks:
        assert "sticky: had lead.domain=acme.com's lead 00Q000000000000EAA on 2026-11-20, within 30 days" in detail[0]


# -- language --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "language", "mia_away", "owners"),
    [
        ("prefer", "de", False, [MIA, MIA, MIA]),
        ("prefer", "German", False, [MIA, MIA, MIA]),  # language names are understood
        ("prefer", "de", True, [OWEN, OWEN, OWEN]),  # no German speaker: the others take them
        ("require", "de", True, [None, None, None]),
        ("require", "fr", False, [None, None, None]),  # nobody speaks French
        ("require", None, False, [MIA, OWEN, MIA]),  # no language: everyone
    ],
)
def test_a_pool_prefers_or_requires_members_speaking_the_leads_language(rules_dir, mode, language, mia_away, owners):
    if mia_away:
        set_rep(rules_dir, MIA, ooo_from="2026-11-20", ooo_to="2026-11-20")
    pool, rules = write_pool(rules_dir, f"members: {{role: SDR, team: SDR Events}}\nlanguage: {mode}")
    got, detail = route(pool, rules, leads(3, languages=[language] * 3), ctx())
    assert got == owners
    if owners[0] is None:
        assert f"nobody speaking '{language}' can take it" in detail[0]


# -- fallback: no lead is ever lost ------------------------------------------------------------------


def test_a_pool_nobody_can_serve_hands_its_leads_to_its_fallback_chain_ending_in_a_queue(rules_dir):
    from pipelines.routing import engine

    for uid in (LIAM, ZOE, MATEO, ELLA):
        set_rep(rules_dir, uid, active="false")
    (rules_dir / "pools.yaml").write_text(textwrap.dedent("""
        pools:
          inbound_sdr:
            members: {role: SDR, team: SDR Inbound}
            fallback: {assign: pool, pool: events}
          events:
            members: {role: SDR, team: SDR Events}
            language: require
            fallback: {assign: queue, queue: Shark_Tank}
    """))
    rules = load_rules(rules_dir)
    frame = leads(3, languages=["de", "fr", None]).assign(**{
        "account.type": None, "lead.country_code": "ZZ", "lead.state_code": None})
    out = engine.route(frame, rules, "new", ctx())
    assert out["owner_id"].tolist()[::2] == [MIA, OWEN] and out["queue"].tolist()[1] == "Shark_Tank"
    reason = out["reason"][1]
    chain = ["pool inbound_sdr (round robin): nobody can take it", "Liam Walsh inactive in reps.csv",
             "nobody speaking 'fr' can take it", "pool events fallback: queue Shark_Tank"]
    positions = [reason.find(part) for part in chain]
    assert -1 not in positions and positions == sorted(positions), reason  # each hop, and why, in order


# -- state kept for ops ------------------------------------------------------------------------------


def test_pool_state_round_trips_through_the_warehouse(tmp_path, rules_dir):
    from pipelines.crm.fields import load_field_mapping
    from pipelines.warehouse import db

    pool, rules = write_pool(rules_dir, "members: {role: SDR, team: SDR Inbound}\ncaps: {daily: 5}")
    with db.connect(tmp_path / "w.duckdb") as con:
        db.migrate(con, load_field_mapping(rules_dir / "fields.yaml").mapped_columns())
        book = pools.load_states(con)
        route(pool, rules, leads(4), ctx(NOW, book))
        pools.save_states(con, book, NOW)
        again = pools.load_states(con)
        owners, _ = route(pool, rules, leads(3, first=4), ctx(NOW + timedelta(minutes=5), again))
        assert owners == [ZOE, ELLA, LIAM], "resumes after Liam, who got lead 4"
        pools.save_states(con, again, NOW + timedelta(minutes=5))
        members = con.execute("SELECT * FROM pool_member_state ORDER BY user_id").df().set_index("user_id")
        pool_row = con.execute("SELECT * FROM pool_state").df().iloc[0]
    assert members.loc[LIAM, "assigned_today"] == 3 and members.loc[ZOE, "assigned_total"] == 2
    assert members.loc[MATEO, "status"] == "out_of_office" and members.loc[MATEO, "skipped_unavailable_total"] == 7
    assert members.loc[MATEO, "last_skip_reason"] == "out of office until 2026-11-30"
    assert members.loc[LIAM, "daily_cap"] == 5 and members.loc[LIAM, "status"] == "available"
    assert (pool_row["pointer"], pool_row["assigned_total"], pool_row["last_user_id"]) == (7, 7, LIAM)

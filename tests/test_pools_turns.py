"""A pool's turn: members rotate in the order pools.yaml lists them, and ops can say who is next.

Same test pool and roster as test_pools.py (``NOW`` is Friday 2026-11-20 15:00 UTC; these
members are all available and the pool ignores working hours). The pool book lives in an
in-memory DuckDB warehouse, as the route stage and ``leadroute pool turn`` keep it.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.routing import pools
from pipelines.routing.pools import turn_order
from pipelines.warehouse.schema import TABLES
from tests.conftest import ELLA, LIAM, MATEO, NOW
from tests.test_pools import OWEN, RYAN, ctx, leads, route, write_pool

LISTED = "members: ['005000000000048AAA', '005000000000040AAA', '005000000000044AAA']\nmethod: round_robin"


@pytest.mark.parametrize("batches", [[6], [1, 1, 1, 1, 1, 1], [2, 3, 1]], ids=["one run", "a lead per run", "uneven"])
def test_members_take_turns_in_the_order_pools_yaml_lists_them(rules_dir, batches):
    pool, rules = write_pool(rules_dir, LISTED)
    book, got = pools.PoolBook(), []
    for i, size in enumerate(batches):
        owners, _ = route(pool, rules, leads(size, first=sum(batches[:i])), ctx(NOW + timedelta(minutes=5 * i), book))
        got += owners
    assert got == [OWEN, LIAM, RYAN, OWEN, LIAM, RYAN], "Owen (…048) first, as listed; not user-id order"


def warehouse() -> duckdb.DuckDBPyConnection:
    """An empty warehouse with what the pool book reads."""
    con = duckdb.connect()
    pools.book.prepare(con)
    con.execute("CREATE TABLE lead (lead_id VARCHAR, owner_id VARCHAR, status VARCHAR)")
    con.execute(TABLES["ledger"].ddl())
    return con


def serve(con, pool, rules, n: int, first: int, when) -> list:
    """Route ``n`` leads through the pool as a run does: load the book, assign, save the book."""
    book = pools.load_states(con)
    owners, _ = route(pool, rules, leads(n, first=first), ctx(when, book))
    pools.save_states(con, book, when)
    return owners


@pytest.mark.parametrize(("next_rep", "then"), [
    (OWEN, [OWEN, LIAM, RYAN, OWEN]),   # back to the top of the list
    (LIAM, [LIAM, RYAN, OWEN, LIAM]),   # Liam again, though he had the last lead
    (RYAN, [RYAN, OWEN, LIAM, RYAN]),   # what would have happened anyway
])
def test_ops_set_who_is_next_and_the_rotation_goes_on_from_there(rules_dir, next_rep, then):
    pool, rules = write_pool(rules_dir, LISTED)
    con = warehouse()
    assert serve(con, pool, rules, 2, 0, NOW) == [OWEN, LIAM]
    order, nxt = turn_order.next_in_turn(pool, rules, ctx(NOW, pools.load_states(con)))
    assert order["user_id"].iloc[nxt] == RYAN
    turn_order.set_next(con, pool, rules, next_rep)
    order, nxt = turn_order.next_in_turn(pool, rules, ctx(NOW, pools.load_states(con)))
    assert order["user_id"].iloc[nxt] == next_rep
    assert serve(con, pool, rules, 4, 2, NOW + timedelta(minutes=5)) == then
    state = con.execute("SELECT pointer, assigned_total FROM pool_state WHERE pool = 'p'").fetchall()
    assert state == [(6, 6)], "setting the turn keeps the pool's counts"


def test_a_turn_set_on_a_weighted_pool_starts_there_too(rules_dir):
    pool, rules = write_pool(rules_dir, LISTED.replace("round_robin", "weighted_round_robin"))
    con = warehouse()
    serve(con, pool, rules, 1, 0, NOW)
    turn_order.set_next(con, pool, rules, RYAN)
    assert serve(con, pool, rules, 3, 1, NOW + timedelta(minutes=5)) == [RYAN, OWEN, LIAM]


def test_a_load_balanced_pool_has_no_turn_and_a_stranger_is_no_member(rules_dir):
    pool, rules = write_pool(rules_dir, LISTED.replace("round_robin", "load_balanced"))
    with pytest.raises(turn_order.TurnError, match="load balanced: the next lead goes to the member with the fewest"):
        turn_order.set_next(warehouse(), pool, rules, OWEN)
    with pytest.raises(turn_order.TurnError, match=r"'Zoe Kim' is not a member of pool p; its members are Owen Hughes"):
        turn_order.member_of(pool, rules, "Zoe Kim")
    assert turn_order.member_of(pool, rules, "ryan patel") == RYAN


def test_leadroute_pool_turn_shows_sets_and_records_who_and_why(rules_dir, tmp_path):
    write_pool(rules_dir, LISTED)
    env = {"LEADROUTE_RULES": str(rules_dir), "LEADROUTE_WAREHOUSE": str(tmp_path / "w.duckdb")}
    now = ["--now", "2026-11-20T15:00:00"]
    assert CliRunner().invoke(cli, ["warehouse", "upgrade"], env=env).exit_code == 0  # as before the first tick
    shown = CliRunner().invoke(cli, ["pool", "turn", "p", *now], env=env)
    assert shown.exit_code == 0, shown.output
    assert "rotation (as listed in pools.yaml)" in shown.output and "next in turn: Owen Hughes" in shown.output
    refused = CliRunner().invoke(cli, ["pool", "turn", "p", "--next", "Ryan Patel", *now], env=env)
    assert refused.exit_code == 2 and "say why with --why" in refused.output
    done = CliRunner().invoke(cli, ["pool", "turn", "p", "--next", "Ryan Patel", "--why", "re-org", "--by", "ana",
                                    *now], env=env)
    assert done.exit_code == 0, done.output
    assert "p: Ryan Patel is next (set by ana: re-org)" in done.output
    assert "-> 3. Ryan Patel" in done.output and "next in turn: Ryan Patel" in done.output
    assert "turn set to Ryan Patel by ana (re-org) at 2026-11-20 15:00 UTC" in done.output
    listed = CliRunner().invoke(cli, ["pools", "--pool", "p", *now], env=env)
    assert "turn set to Ryan Patel by ana (re-org)" in listed.output
    with duckdb.connect(env["LEADROUTE_WAREHOUSE"], read_only=True) as con:
        assert con.execute("SELECT next_user_id, set_by, why, was_next_user_id FROM pool_turn_set").fetchall() == [
            (RYAN, "ana", "re-org", OWEN)]


@pytest.mark.parametrize("batches", [[5], [1, 1, 1, 1, 1], [2, 3]], ids=["one run", "a lead per run", "two runs"])
def test_a_leads_skipped_list_names_only_the_members_whose_turn_it_passed_over(rules_dir, batches):
    # Rotation Liam, Mateo (out of office until 30 November), Ella, Ryan: once per round, the lead
    # after Liam's passes over Mateo's turn; the other leads name nobody.
    pool, rules = write_pool(rules_dir, f"members: ['{LIAM}', '{MATEO}', '{ELLA}', '{RYAN}']")
    book, owners, details = pools.PoolBook(), [], []
    for i, size in enumerate(batches):
        got, detail = route(pool, rules, leads(size, first=sum(batches[:i])), ctx(NOW + timedelta(minutes=5 * i), book))
        owners, details = owners + got, details + detail
    assert owners == [LIAM, ELLA, RYAN, LIAM, ELLA]
    skipped = [d.partition("; skipped: ")[2] for d in details]
    assert skipped == ["", "Mateo Garcia out of office until 2026-11-30", "", "",
                       "Mateo Garcia out of office until 2026-11-30"]


def test_when_nobody_can_take_a_lead_it_still_says_why_for_every_member(rules_dir):
    pool, rules = write_pool(rules_dir, f"members: ['{MATEO}']")
    owners, detail = route(pool, rules, leads(1), ctx(NOW))
    assert owners == [None] and "nobody can take it; skipped: Mateo Garcia out of office" in detail[0]

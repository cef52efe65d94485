"""Ops pause and resume reps without a pull request: stored with who, when, why and until; expired by
themselves; honoured by every pool, SLA working time and holds from the next tick; shown in explain,
the pool state and `leadroute rep status`; `rep overrides --as-csv` shows the permanent change."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.ops import overrides as ops
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.engine.hold import working_now
from pipelines.routing.pools.membership import members
from pipelines.routing.pools.report import overview
from pipelines.routing.roster import overrides
from pipelines.routing.roster.availability import member_status
from pipelines.routing.roster.working_time import due_at
from pipelines.routing.ruleset.load import load_rules
from pipelines.warehouse import db
from pipelines.warehouse.schema import TABLES
from tests.conftest import ELLA, LIAM, MATEO, NOW, RULES, ZOE

# NOW is Friday 2026-11-20 15:00 UTC: 10:00 for Liam in New York (works 08:00-17:00 Mon-Fri).


@pytest.fixture(scope="module")
def rules():
    return load_rules(RULES)


@pytest.fixture
def con(tmp_path):
    with db.connect(tmp_path / "warehouse.duckdb") as c:
        c.execute(TABLES[ops.OVERRIDE_TABLE].ddl())
        yield c


def liam(reps: pd.DataFrame, con) -> pd.DataFrame:
    return overrides.with_pauses(reps, overrides.load(con)).set_index("user_id").loc[[LIAM]].reset_index()


@pytest.mark.parametrize("at, code, why, next_start", [
    # (minutes after NOW, then:)
    (0, "paused", "paused by nina until 2026-11-20 16:30 UTC (sick)", datetime(2026, 11, 20, 16, 30)),
    (89, "paused", "paused by nina until 2026-11-20 16:30 UTC (sick)", datetime(2026, 11, 20, 16, 30)),
    (90, None, None, datetime(2026, 11, 20, 16, 30)),  # expired by itself: available again
])
def test_a_pause_holds_until_it_expires_by_itself(rules, con, at, code, why, next_start):
    ops.pause(con, rules.reps, "Liam Walsh", now=NOW, by="nina", reason="sick", until="2026-11-20T16:30")
    status = member_status(liam(rules.reps, con), NOW + timedelta(minutes=at), None, pd.DataFrame(
        columns=["date", "scope", "name"])).iloc[0]
    assert (status["code"], status["reason"]) == (code, why)
    assert status["next_start"] == (next_start if at < 90 else NOW + timedelta(minutes=at))


def test_a_pause_ending_after_hours_makes_the_next_start_the_next_working_morning(rules, con):
    # Until 23:00 UTC = 18:00 in New York, after Liam's 17:00: he is back Monday 08:00 New York (13:00 UTC).
    ops.pause(con, rules.reps, LIAM, now=NOW, by="nina", reason="offsite", until="2026-11-20T23:00")
    status = member_status(liam(rules.reps, con), NOW, None, pd.DataFrame(columns=["date", "scope", "name"])).iloc[0]
    assert status["next_start"] == datetime(2026, 11, 23, 13, 0)


def test_resume_ends_the_pause_early_and_the_audit_trail_keeps_both(rules, con):
    ops.pause(con, rules.reps, "liam.walsh@leadroute.example", now=NOW, by="nina", reason="meeting block")
    assert ops.resume(con, rules.reps, LIAM, now=NOW + timedelta(minutes=40), by="omar", reason="meeting cancelled") == 1
    later = NOW + timedelta(minutes=41)
    status = member_status(liam(rules.reps, con), later, None, pd.DataFrame(columns=["date", "scope", "name"])).iloc[0]
    assert status["code"] is None
    trail = ops.status(con, rules.reps, later)
    assert trail[["rep", "state", "reason", "by", "resumed"]].values.tolist() == [
        ["Liam Walsh", "resumed", "meeting block", "nina", "2026-11-20 15:40 by omar"]]
    assert trail["until"].isna().all()
    with pytest.raises(ops.OverrideError, match="Liam Walsh is not paused now"):
        ops.resume(con, rules.reps, LIAM, now=later, by="omar")


@pytest.mark.parametrize("rep, until, reason, error", [
    ("Nobody Here", None, "sick", "no rep 'Nobody Here' in reps.csv"),
    (LIAM, "2026-11-20T14:00", "sick", "is not in the future"),
    (LIAM, "tomorrow", "sick", "'tomorrow' is not a time"),
    (LIAM, None, "  ", "say why"),
])
def test_a_pause_that_cannot_be_set_says_why(rules, con, rep, until, reason, error):
    with pytest.raises(ops.OverrideError, match=error):
        ops.pause(con, rules.reps, rep, now=NOW, by="nina", reason=reason, until=until)
    assert con.execute("SELECT count(*) FROM rep_override").fetchall() == [(0,)]


def test_until_as_a_clock_time_is_the_reps_own_time_today(rules, con):
    row = ops.pause(con, rules.reps, LIAM, now=NOW, by="nina", reason="dentist", until="13:00")  # New York
    assert row["until"] == datetime(2026, 11, 20, 18, 0)


def test_a_paused_stretch_is_not_working_time_for_sla_clocks(rules, con):
    # One working hour given to Liam at 15:00 UTC, paused 15:00-15:45: due at 16:45, not 16:00.
    ops.pause(con, rules.reps, LIAM, now=NOW, by="nina", reason="sick", until="2026-11-20T15:45")
    roster = overrides.with_pauses(rules.reps, overrides.load(con))
    args = (pd.Series([NOW, NOW]), pd.Series([60.0, 60.0]), pd.Series([LIAM, ZOE]), pd.Series([True, True]))
    due = due_at(*args, roster, pd.DataFrame(columns=["date", "scope", "name"]))
    assert due.tolist() == [pd.Timestamp("2026-11-20 16:45"), pd.Timestamp("2026-11-20 17:00")]  # Zoe starts 16:00 UTC


def test_a_paused_rep_shows_paused_with_the_reason_in_every_pool_they_belong_to(rules, con):
    ops.pause(con, rules.reps, LIAM, now=NOW, by="nina", reason="sick", until="2026-11-20T17:00")
    _, table = overview(con, rules, NOW)
    his = table[table["user_id"] == LIAM]
    belongs = [p.name for p in rules.pools.values() if LIAM in set(members(p, rules.reps)["user_id"])]
    assert sorted(his["pool"]) == sorted(belongs) and len(belongs) >= 2
    assert set(his["status"]) == {"paused"}
    assert set(his["why"]) == {"paused by nina until 2026-11-20 17:00 UTC (sick)"}


def test_overrides_as_csv_writes_active_pauses_as_out_of_office_dates(rules, con, tmp_path):
    ops.pause(con, rules.reps, LIAM, now=NOW, by="nina", reason="flu", until="2026-11-24T05:00")  # Mon 00:00 NY
    ops.pause(con, rules.reps, ZOE, now=NOW, by="nina", reason="leave")  # open-ended
    ops.pause(con, rules.reps, ELLA, now=NOW - timedelta(hours=3), by="nina", reason="over", until="2026-11-20T13:00")
    text = ops.as_csv(RULES, rules.reps, con, NOW)
    rows = {r["user_id"]: r for r in csv.DictReader(io.StringIO(text))}
    original = {r["user_id"]: r for r in csv.DictReader(io.StringIO((RULES / "reps.csv").read_text()))}
    assert (rows[LIAM]["ooo_from"], rows[LIAM]["ooo_to"]) == ("2026-11-20", "2026-11-23")
    assert (rows[ZOE]["ooo_from"], rows[ZOE]["ooo_to"]) == ("2026-11-20", "")
    changed = [u for u in original if original[u] != rows[u]]
    assert sorted(changed) == sorted([LIAM, ZOE]), "Ella's pause expired; Mateo keeps his own dates"
    assert rows[MATEO]["ooo_to"] == "2026-11-30"


# -- Through the CLI and real ticks ------------------------------------------------------------------


def nowhere_leads(crm, n: int, first: int = 0) -> list[str]:
    return [crm.lead(company=f"Nowhere {first + i}", email=f"x{first + i}@nowhere{first + i}.io", country="Atlantis")
            for i in range(n)]


@pytest.mark.slow
def test_a_paused_rep_gets_no_lead_says_why_in_explain_and_takes_leads_again_after_expiry(pipeline, crm, monkeypatch):
    from pipelines.cli import cli

    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_RULES", str(pipeline.rules_dir))
    pipeline.tick()  # the warehouse exists; nothing to route yet
    run = CliRunner()
    out = run.invoke(cli, ["rep", "pause", "Liam Walsh", "--until", "2026-11-20T16:00", "--reason", "sick",
                           "--by", "nina", "--now", pipeline.now.isoformat()])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("paused Liam Walsh (005000000000040AAA) until 2026-11-20 16:00 UTC: sick")
    status = run.invoke(cli, ["rep", "status", "--now", pipeline.now.isoformat()])
    assert "Liam Walsh" in status.output and "active" in status.output and "nina" in status.output

    crm.now = pipeline.now + timedelta(minutes=1)
    first = nowhere_leads(crm, 3)
    pipeline.tick()
    decided = pipeline.query("SELECT lead_id, owner_id, trace FROM routing_decision").set_index("lead_id").loc[first]
    assert LIAM not in set(decided["owner_id"]) and set(decided["owner_id"]) == {ZOE, ELLA}
    detail = json.loads(decided["trace"].iloc[0])["detail"]
    assert "skipped: Liam Walsh paused by nina until 2026-11-20 16:00 UTC (sick)" in detail
    explained = run.invoke(cli, ["explain", first[0]])
    assert "Liam Walsh paused by nina until 2026-11-20 16:00 UTC (sick)" in explained.output
    state = pipeline.query(f"SELECT status FROM pool_member_state WHERE pool = 'inbound_sdr' AND user_id = '{LIAM}'")
    assert state["status"].tolist() == ["paused"]

    crm.now = datetime(2026, 11, 20, 16, 1)
    later = nowhere_leads(crm, 3, first=3)
    pipeline.tick(datetime(2026, 11, 20, 16, 5))  # the pause has expired by itself
    owners = pipeline.query("SELECT lead_id, owner_id FROM routing_decision").set_index("lead_id").loc[later, "owner_id"]
    assert LIAM in set(owners)
    expired = run.invoke(cli, ["rep", "status", "--all", "--now", "2026-11-20T16:05:00"])
    assert "expired" in expired.output


@pytest.mark.slow
def test_ops_without_a_shell_pause_and_resume_from_the_dagster_jobs_typed_config(pipeline):
    from pipelines.defs.policy import build_defs

    pipeline.tick()
    defs = build_defs(pipeline.resources(pipeline.now))
    pause = defs.resolve_job_def("rep_pause").execute_in_process(
        instance=pipeline.instance, run_config={"ops": {"pause_rep": {"config": {
            "rep": "zoe.kim@leadroute.example", "reason": "sick", "until": "2026-11-20T18:00", "by": "ops-ui"}}}})
    assert pause.success
    rows = pipeline.query("SELECT user_id, until, reason, created_by, resumed_at FROM rep_override")
    assert rows[["user_id", "reason", "created_by"]].values.tolist() == [[ZOE, "sick", "ops-ui"]]
    assert rows["until"].tolist() == [pd.Timestamp("2026-11-20 18:00")]
    resume = defs.resolve_job_def("rep_resume").execute_in_process(
        instance=pipeline.instance, run_config={"ops": {"resume_rep": {"config": {"rep": ZOE, "by": "ops-ui"}}}})
    assert resume.success
    assert pipeline.query("SELECT resumed_by FROM rep_override")["resumed_by"].tolist() == ["ops-ui"]
    bad = defs.resolve_job_def("rep_resume").execute_in_process(
        instance=pipeline.instance, raise_on_error=False,
        run_config={"ops": {"resume_rep": {"config": {"rep": ZOE}}}})
    assert not bad.success


def test_a_hold_waiting_for_working_hours_does_not_count_a_paused_rep_as_working(rules, con):
    # At 15:00 UTC Liam (New York) and Ella (Stockholm) are in their hours; Zoe (Los Angeles) starts at 16:00 UTC.
    ctx = RouteContext(now=NOW, queue_ids={})
    assert working_now("hot_inbound", rules, ctx) == (True, "")
    for rep in (LIAM, ELLA):
        ops.pause(con, rules.reps, rep, now=NOW, by="nina", reason="offsite", until="2026-11-20T17:00")
    paused = overrides.honoured(con, rules)
    assert working_now("hot_inbound", paused, ctx) == (False, "next in working hours: Zoe Kim at 2026-11-20 16:00 UTC")
    assert rules.reps is not paused.reps and overrides.PAUSED not in rules.reps, "the loaded roster is untouched"

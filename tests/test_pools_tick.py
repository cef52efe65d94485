"""Pools in real ticks: state kept between ticks, the reason in every decision, the CRM's open
workload driving load balancing, and what ops see in `leadroute pools` and the Dagster UI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import ELLA, LIAM, MATEO, NOW, ZOE

pytestmark = pytest.mark.slow
RYAN, CHLOE, ISAAC = "005000000000044AAA", "005000000000045AAA", "005000000000046AAA"


def nowhere_leads(crm, n: int, first: int = 0) -> list[str]:
    """Leads no territory covers, so the flow sends them to its pool."""
    return [crm.lead(company=f"Nowhere {first + i}", email=f"x{first + i}@nowhere{first + i}.io", country="Atlantis")
            for i in range(n)]


def test_a_pool_keeps_its_turns_between_ticks_and_every_decision_says_who_and_why(pipeline, crm, tmp_path, monkeypatch):
    first = nowhere_leads(crm, 4)
    one = pipeline.tick()
    crm.now = pipeline.now + timedelta(minutes=2)
    second = nowhere_leads(crm, 2, first=4)
    pipeline.tick()

    decisions = pipeline.query("SELECT lead_id, owner_id, reason, trace FROM routing_decision").set_index("lead_id")
    assert decisions.loc[first + second, "owner_id"].tolist() == [LIAM, ZOE, ELLA, LIAM, ZOE, ELLA]
    trace = json.loads(decisions.loc[first[0], "trace"])
    assert trace["detail"].startswith("pool inbound_sdr (round robin): Liam Walsh (next in turn; lead 1 today")
    assert "skipped" not in trace["detail"], "Liam's turn came first: nobody's turn was passed over"
    ella = json.loads(decisions.loc[first[2], "trace"])["detail"]  # Zoe, then Mateo's turn, then Ella
    assert "skipped: Mateo Garcia out of office until 2026-11-30" in ella

    members = pipeline.query("SELECT * FROM pool_member_state WHERE pool = 'inbound_sdr'").set_index("user_id")
    assert members.loc[[LIAM, ZOE, ELLA], "assigned_today"].tolist() == [2, 2, 2]
    assert members.loc[MATEO, "status"] == "out_of_office" and members.loc[MATEO, "skipped_unavailable_total"] == 6
    state = pipeline.query("SELECT * FROM pool_state WHERE pool = 'inbound_sdr'").iloc[0]
    assert (state["pointer"], state["last_user_id"], state["last_run_assigned"]) == (6, ELLA, 2)

    ui = one.metadata["distribution_pools"]
    assert ui["pools"] == 6 and "### inbound_sdr" in ui["pool_state"] and "out of office until 2026-11-30" in ui["pool_state"]

    from pipelines.cli import cli

    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_RULES", str(pipeline.rules_dir))
    out = CliRunner().invoke(cli, ["pools", "--now", NOW.isoformat(), "--pool", "inbound_sdr"])
    assert out.exit_code == 0, out.output
    assert "3 of 4 members available now; 6 leads assigned" in out.output
    assert "last lead to Ella Johansson" in out.output
    liam = next(line for line in out.output.splitlines() if "Liam Walsh" in line)
    assert liam.split()[2:6] == ["available", "10:00", "2", "2"]  # status, local time, today, this week
    assert liam.split()[6] == "58", "left under his daily cap of 60"


def test_load_balancing_reads_each_reps_open_leads_from_the_crm_so_the_new_rep_catches_up(pipeline, crm):
    flow = pipeline.rules_dir / "flow.yaml"
    flow.write_text(flow.read_text().replace("pool: inbound_sdr", "pool: content_downloads"))
    for owner, n in ((RYAN, 6), (CHLOE, 12), (ISAAC, 1)):  # Chloe has weight 2: her load counts half
        for i in range(n):
            crm.lead(company=f"Old {owner[-2:]} {i}", email=f"o{i}@old{owner[-2:]}{i}.com", owner=owner, status="Working")
    crm.lead(company="Closed Co", email="c@closed.com", owner=ISAAC, status="Unqualified")  # not open
    leads = nowhere_leads(crm, 9)
    pipeline.tick()
    owners = pipeline.query("SELECT lead_id, owner_id FROM routing_decision").set_index("lead_id").loc[leads, "owner_id"]
    assert owners.tolist()[:5] == [ISAAC] * 5, "Isaac's 1 open lead rises to Ryan's 6"
    assert owners.value_counts().to_dict() == {ISAAC: 6, RYAN: 1, CHLOE: 2}
    members = pipeline.query("SELECT user_id, open_workload FROM pool_member_state WHERE pool = 'content_downloads'")
    assert dict(zip(members["user_id"], members["open_workload"])) == {RYAN: 6, CHLOE: 12, ISAAC: 1}


def test_when_nobody_in_the_pool_can_take_a_lead_it_lands_in_the_fallback_queue_with_the_reason(pipeline, crm):
    flow = pipeline.rules_dir / "flow.yaml"
    flow.write_text(flow.read_text().replace("pool: inbound_sdr", "pool: hot_inbound"))
    (pipeline.rules_dir / "pools.yaml").write_text(
        (pipeline.rules_dir / "pools.yaml").read_text().replace("outside_hours: next_to_start\n    language: prefer",
                                                                "outside_hours: fallback\n    language: prefer"))
    lead = nowhere_leads(crm, 1)[0]
    saturday_night = NOW + timedelta(hours=12)
    pipeline.tick(saturday_night)
    row = pipeline.query("SELECT queue, reason FROM routing_decision WHERE lead_id = ?", [lead]).iloc[0]
    assert row["queue"] == "Shark_Tank"
    assert "pool hot_inbound fallback: queue Shark_Tank" in row["reason"]
    # Why the pool could not take it is kept on the pool (the engine's fallback line replaces the pool's
    # line in the decision's trace; see the README, "Distribution pools").
    state = pipeline.query("SELECT last_detail, last_run_unassigned FROM pool_state WHERE pool = 'hot_inbound'").iloc[0]
    assert state["last_run_unassigned"] == 1
    assert "Ella Johansson outside working hours (04:00 Sat in Europe/Stockholm" in state["last_detail"]

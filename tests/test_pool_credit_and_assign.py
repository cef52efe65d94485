"""Ops give turns back (`leadroute pool credit`) and decide a lead by hand (`leadroute assign`): through the
warehouse with an audit trail, a manual decision pushed once by the next tick, explained, and refused when
the reroute policy protects the lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import ELLA, LIAM, ZOE

pytestmark = pytest.mark.slow


def nowhere_leads(crm, n: int, first: int = 0) -> list[str]:
    """Leads no territory covers: the flow sends them to the inbound_sdr round robin (Mateo is out of office)."""
    return [crm.lead(company=f"Nowhere {first + i}", email=f"x{first + i}@nowhere{first + i}.io", country="Atlantis")
            for i in range(n)]


@pytest.fixture
def cli(pipeline, monkeypatch):
    from pipelines.cli import cli as group

    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_RULES", str(pipeline.rules_dir))
    monkeypatch.setenv("LEADROUTE_CRM_PATH", str(pipeline.crm_path))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        out = runner.invoke(group, list(args))
        assert out.exit_code == code, out.output
        return out.output

    return run


def owners(pipeline, leads: list[str]) -> list[str]:
    return pipeline.query("SELECT lead_id, owner_id FROM current_decision").set_index("lead_id").loc[leads, "owner_id"].tolist()


def test_turns_given_back_go_first_then_the_rotation_carries_on(pipeline, crm, cli):
    first = nowhere_leads(crm, 4)
    pipeline.tick()
    assert owners(pipeline, first) == [LIAM, ZOE, ELLA, LIAM]
    out = cli("pool", "credit", "Zoe Kim", "--pool", "inbound_sdr", "--leads", "2", "--reason", "two junk leads",
              "--by", "nina", "--now", pipeline.now.isoformat())
    assert out.strip() == "credited Zoe Kim 2 turn(s) in inbound_sdr (2 owed now): two junk leads"
    pools = cli("pools", "--now", pipeline.now.isoformat(), "--pool", "inbound_sdr")
    assert "credited" in pools

    crm.now = pipeline.now + timedelta(minutes=1)
    second = nowhere_leads(crm, 4, first=4)
    pipeline.tick()
    # Next in the rotation was Zoe: her two credited turns come first, then her own, then Ella's.
    assert owners(pipeline, second) == [ZOE, ZOE, ZOE, ELLA]
    zoe = pipeline.query(f"SELECT credit_owed, credited_total, assigned_total, next_turn FROM pool_member_state "
                         f"WHERE pool = 'inbound_sdr' AND user_id = '{ZOE}'").iloc[0].tolist()
    ella = pipeline.query(f"SELECT next_turn FROM pool_member_state WHERE pool = 'inbound_sdr' AND user_id = '{ELLA}'")
    assert zoe[:3] == [0, 2, 4], "credit used up, counted, and the leads counted as assigned"
    assert zoe[3] == ella["next_turn"][0], "the credit moved her ahead, it did not push her own turn back"
    audit = pipeline.query("SELECT pool, user_id, leads, reason, created_by FROM pool_credit")
    assert audit.values.tolist() == [["inbound_sdr", ZOE, 2, "two junk leads", "nina"]]


def test_credit_mistakes_say_what_to_do(pipeline, cli):
    pipeline.tick()
    assert "Kenji Sato is not a member of pool inbound_sdr" in cli(
        "pool", "credit", "Kenji Sato", "--pool", "inbound_sdr", "--reason", "x", code=2)
    assert "no pool 'nope'" in cli("pool", "credit", LIAM, "--pool", "nope", "--reason", "x", code=2)


def test_a_manual_assignment_is_pushed_once_explained_and_gives_the_turn_back(pipeline, crm, cli):
    leads = nowhere_leads(crm, 1)
    pipeline.tick()
    assert owners(pipeline, leads) == [LIAM]
    out = cli("assign", leads[0], "--to", "Ella Johansson", "--reason", "speaks Swedish", "--credit-back",
              "--by", "nina", "--now", (pipeline.now + timedelta(minutes=1)).isoformat())
    assert out.splitlines()[1] == "credited Liam Walsh 1 turn in inbound_sdr"
    ledger = pipeline.query("SELECT d.entry, d.step, d.action, d.reason, g.status FROM current_decision d "
                            "JOIN ledger g USING (decision_id) WHERE g.kind = 'owner'")
    assert ledger.values.tolist() == [["manual", "(manual)", "user",
                                       "(manual): Ella Johansson, decided by nina: speaks Swedish", "pending"]]
    pipeline.tick()
    assert crm.owner_of(leads[0]) == ELLA
    pushed = pipeline.query("SELECT status, attempts FROM ledger l JOIN current_decision d USING (decision_id) "
                            "WHERE l.kind = 'owner'")
    assert pushed.values.tolist() == [["pushed", 1]]
    pipeline.tick()  # nothing left to push: the manual decision stands, pushed once
    assert pipeline.query("SELECT count(*) AS n FROM ledger WHERE kind = 'owner' AND status = 'pushed'")["n"][0] == 2
    assert "(manual): Ella Johansson, decided by nina: speaks Swedish" in cli("explain", leads[0])
    liam = pipeline.query(f"SELECT credit_owed, credited_total FROM pool_member_state "
                          f"WHERE pool = 'inbound_sdr' AND user_id = '{LIAM}'").iloc[0].tolist()
    assert liam == [1, 1]


def test_the_reroute_policy_protects_a_lead_from_a_hand_move_unless_forced(pipeline, crm, cli):
    leads = nowhere_leads(crm, 1)
    pipeline.tick()
    crm.event(leads[0], owner=LIAM, starts=pipeline.now + timedelta(days=2))
    pipeline.tick()
    refused = cli("assign", leads[0], "--to", "Unqualified_Hold", "--reason", "spam", code=2)
    assert "the reroute policy keeps it (meeting_booked)" in refused and "--force" in refused
    cli("assign", leads[0], "--to", "Unqualified_Hold", "--reason", "spam", "--force", "--by", "nina")
    row = pipeline.query("SELECT action, queue, reason FROM current_decision").iloc[0].tolist()
    assert row == ["queue", "Unqualified_Hold",
                   "(manual): queue Unqualified_Hold, decided by nina: spam (forced past the reroute policy)"]

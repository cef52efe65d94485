"""`leadroute demo activity` plays day-2 life on the demo CRM, and the next tick shows it: SLA reroutes,
a departed rep's leads reassigned, nurtured leads woken up (stalled leads are recycled by the first tick)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from pipelines.demo.generator import generate_crm
from tests.conftest import RULES, Pipeline

pytestmark = pytest.mark.slow
START = datetime(2026, 11, 20, 14, 0)  # the demo CRM is built at 14:00; the first tick runs at 15:00


def test_demo_activity_drives_every_kind_of_day2_reroute(tmp_path, rules_dir, monkeypatch):
    crm_path = tmp_path / "crm.sqlite"
    generate_crm(crm_path, tmp_path / "truth", accounts=300, leads=400, seed=7, now=START, rules_dir=RULES)
    pipeline = Pipeline(tmp_path, rules_dir, crm_path)
    first = pipeline.tick(START + timedelta(hours=1))
    assert first.metadata["reroutes"]["recycled"] > 0, "leads stalled for months are recycled by the first tick"
    again = pipeline.tick(START + timedelta(hours=1, minutes=5))
    assert again.metadata["crm_push"]["due"] == 0 and again.metadata["reroutes"]["rerouted"] == 0, \
        "the tick after the demo's first pushes nothing"

    from pipelines.cli import cli

    monkeypatch.setenv("LEADROUTE_CRM_PATH", str(crm_path))
    result = CliRunner().invoke(cli, ["demo", "activity", "--now", "2026-11-20T15:40:00", "--rep-leaves", "auto",
                                      "--reengage", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Day-2 activity at 2026-11-20 15:40 UTC:"
    assert "2 nurtured lead(s) filled in a form again" in result.output
    left = next(line for line in lines if "left the company" in line)
    departed = left.split("(")[1].split(")")[0]
    with sqlite3.connect(crm_path) as con:
        assert con.execute('SELECT IsActive FROM "User" WHERE Id = ?', [departed]).fetchone() == (0,)
    # The same afternoon, account upkeep: three head counts refreshed, two companies renamed.
    edits = CliRunner().invoke(cli, ["demo", "account-edits", "--edit", "3", "--rename", "2", "--seed", "3",
                                     "--now", "2026-11-20T15:40:00"])
    assert edits.exit_code == 0, edits.output
    assert "3 account(s) got one more employee" in edits.output and "2 account(s) renamed" in edits.output
    with sqlite3.connect(crm_path) as con:
        renamed = dict(con.execute("SELECT Id, Name FROM Account WHERE Name LIKE '% Holdings'").fetchall())
    assert len(renamed) == 2

    out = pipeline.tick(START + timedelta(hours=2, minutes=5))
    kinds = out.metadata["reroutes"]
    assert kinds["sla"] > 0 and kinds["touches_found"] > 0, "some new leads touched, others missed their hour"
    assert kinds["inactive_owner"] > 0 and kinds["reopened"] >= 1
    moved = pipeline.query("SELECT DISTINCT lead_id FROM routing_decision WHERE entry = 'inactive_owner'")["lead_id"]
    with sqlite3.connect(crm_path) as con:
        owners = dict(con.execute(f"SELECT Id, OwnerId FROM Lead WHERE Id IN ({','.join('?' * len(moved))})",
                                  list(moved)).fetchall())
    assert departed not in owners.values(), "every lead the departed rep's reroute moved has a new owner in the CRM"
    assert out.metadata["crm_push"]["failed"] == 0
    assert out.metadata["account_master"]["accounts_changed"] == 5, "the master re-keys the five edited accounts"
    names = pipeline.query("SELECT account_id, name FROM account_match_key WHERE account_id IN "
                           f"({', '.join(repr(i) for i in renamed)})")
    assert len(names) == 2 and names["name"].str.endswith("holdings").all(), "the renamed accounts' keys moved"

    # Day-2 rules ask stalled leads one question with a narrowed frame: on this lived-in warehouse
    # (matches, parents, opportunities, owner history), each column of it equals the whole frame's.
    _narrowed_frames_equal_the_whole(pipeline)
    # Recycled, reassigned, woken and released leads have several decisions each: the flag the decision
    # log keeps names the latest of every lead, as the window over all decisions defines it.
    from pipelines.warehouse.schema import LATEST_DECISION

    flagged = pipeline.query("SELECT decision_id FROM current_decision ORDER BY 1")["decision_id"].tolist()
    latest = pipeline.query(f"SELECT decision_id FROM ({LATEST_DECISION}) ORDER BY 1")["decision_id"].tolist()
    assert pipeline.query("SELECT count(*) AS n FROM routing_decision")["n"][0] > len(latest)
    assert flagged == latest


def _narrowed_frames_equal_the_whole(pipeline: Pipeline) -> None:
    import random

    import pandas as pd

    from pipelines.crm.fields import load_field_mapping
    from pipelines.routing.frame.build import build_frame, frame_columns
    from pipelines.warehouse import db

    mapping = load_field_mapping(pipeline.rules_dir / "fields.yaml")
    with db.connect(pipeline.warehouse, read_only=True) as con:
        ids = con.execute("SELECT lead_id FROM lead ORDER BY lead_id DESC").df()["lead_id"]
        whole = build_frame(con, mapping, ids)
        columns = sorted(frame_columns(mapping))
        assert columns == sorted(whole.columns.drop("lead_id"))
        assert whole["account.ultimate_parent_name"].notna().any() and whole["lead.owner_history"].notna().any()
        rng = random.Random(5)
        with pytest.raises(ValueError, match=r"prior\.lead\.status"):  # callers build the whole frame then
            build_frame(con, mapping, ids, fields=["lead.status", "prior.lead.status"])
        for asked in [[c] for c in columns] + [rng.sample(columns, 6) for _ in range(20)]:
            narrowed = build_frame(con, mapping, ids, fields=asked)
            pd.testing.assert_frame_equal(narrowed, whole[["lead_id", *[c for c in whole.columns if c in asked]]])

"""`leadroute diff`: exactly the leads a rules change moves, nothing written, an exit status CI can use."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.crm.fields import load_field_mapping
from pipelines.routing.stages.simulate import diff_rules
from pipelines.warehouse import db
from tests.conftest import NOW, RULES, Pipeline, copy_world
from tests.crm_builder import CrmBuilder

pytestmark = pytest.mark.slow
GMAIL = dict(email="someone@gmail.com")


def git(path, *args):
    subprocess.run(["git", "-C", str(path), "-c", "user.name=ops", "-c", "user.email=ops@example.com", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Leads decided by the state table (TX, NY) and by a round-robin pool, with the rules in git.

    Decided once for the module (a tick costs seconds); each test works on its own copy."""
    base = tmp_path_factory.mktemp("decided")
    rules = base / "routing_rules"
    shutil.copytree(RULES, rules)
    crm = CrmBuilder(base / "crm.sqlite", NOW - timedelta(minutes=1), rules_dir=rules)
    leads = {
        "texas": [crm.lead(company=f"Lone Star {i}", country="US", state="TX", **GMAIL) for i in range(3)],
        "new_york": [crm.lead(company=f"Empire {i}", country="US", state="NY", **GMAIL) for i in range(2)],
        "pool": [crm.lead(company=f"Demo {i}", LeadSource="Web - Demo Request", **GMAIL) for i in range(4)],
    }
    Pipeline(base, rules, crm.path).tick()
    crm.close()
    git(rules, "init", "-q")
    git(rules, "add", ".")
    git(rules, "commit", "-q", "-m", "rules as deployed")
    return base, leads


@pytest.fixture
def rules_dir(world, tmp_path):
    return copy_world(world[0], tmp_path)


@pytest.fixture
def pipeline(world, tmp_path, rules_dir):
    return Pipeline(tmp_path, rules_dir, tmp_path / "crm.sqlite")


@pytest.fixture
def decided(world):
    return world[1]


def move_texas(rules_dir, to="005000000000013AAA"):
    table = rules_dir / "tables" / "us_states.csv"
    text = table.read_text()
    assert "\nTX,005000000000012AAA\n" in text
    table.write_text(text.replace("\nTX,005000000000012AAA\n", f"\nTX,{to}\n"))


def run_diff(pipeline, rules_dir):
    mapping = load_field_mapping(rules_dir / "fields.yaml")
    with db.connect(pipeline.warehouse, read_only=True) as con:
        return diff_rules(con, mapping, rules_dir, "HEAD", NOW - timedelta(days=30), NOW + timedelta(minutes=10))


def test_diff_reports_exactly_the_leads_a_changed_table_moves(pipeline, rules_dir, decided):
    move_texas(rules_dir)
    d = run_diff(pipeline, rules_dir)
    assert d.leads == 9
    assert sorted(d.changes["lead_id"]) == sorted(decided["texas"])
    assert set(d.changes["from"]) == {"Hannah Brooks"} and set(d.changes["to"]) == {"Marcus Bell"}
    assert set(d.changes["base_step"]) == set(d.changes["head_step"]) == {"us_state"}
    assert d.by_move().to_dict("records")[0]["leads"] == 3


def test_pool_leads_are_not_reported_as_moving_when_only_the_turn_order_differs(pipeline, rules_dir, decided):
    d = run_diff(pipeline, rules_dir)  # no change at all
    assert d.moved == 0
    assert d.pools.set_index("pool").loc["hot_inbound"].to_dict() == {"before": 4, "after": 4, "change": 0}


def test_diff_writes_nothing(pipeline, rules_dir, decided):
    before = {t: pipeline.query(f"SELECT * FROM {t} ORDER BY ALL") for t in ("routing_decision", "ledger", "pool_state")}
    move_texas(rules_dir)
    run_diff(pipeline, rules_dir)
    for table, frame in before.items():
        assert pipeline.query(f"SELECT * FROM {table} ORDER BY ALL").equals(frame), table


@pytest.fixture
def env(pipeline, rules_dir, decided, monkeypatch):
    monkeypatch.setenv("LEADROUTE_RULES", str(rules_dir))
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    return ["diff", "--now", (NOW + timedelta(minutes=10)).isoformat(), "--since", f"{NOW - timedelta(days=30):%Y-%m-%d}"]


@pytest.mark.parametrize(
    ("change", "flags", "code", "says"),
    [
        (False, ["--exit-code"], 0, "0 of 9 recent leads would move"),
        (True, [], 0, "3 of 9 recent leads would move"),
        (True, ["--exit-code"], 1, "Hannah Brooks"),
        (True, ["--fail-over", "3"], 0, "Marcus Bell"),
        (True, ["--fail-over", "2"], 1, "us_state"),
        (True, ["--format", "markdown"], 0, "| Hannah Brooks | Marcus Bell | 3 |"),
        (False, ["--base", "no-such-ref"], 2, "no-such-ref"),
    ],
)
def test_the_command_line_speaks_to_ci(env, rules_dir, change, flags, code, says):
    if change:
        move_texas(rules_dir)
    result = CliRunner().invoke(cli, env + flags)
    assert result.exit_code == code, result.output
    assert says in result.output

"""A tick killed with SIGKILL at each commit point, then the next tick: nothing lost, nothing written twice.

The killed tick is a real `leadroute tick` in a subprocess (``tests/crash_tick.py``), stopped
dead where it commits something: after the decisions, after the ledger rows, after the
CRM carried out the owner changes (or conversions, or tasks) but before their answers were
recorded, before the watermarks move. Its Dagster run is left "started", as a killed
process leaves it. The next tick must then run by itself (the dead run marked failed,
with the reason), and in the end every lead is decided, the CRM holds every owner the
ledger says, and each record was written once: writes are counted where they land (a
trigger in the local CRM's SQLite file; the emulated org's write log).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import AVA, HANNAH, LUKAS, NOW, ROOT

pytestmark = pytest.mark.slow

# Writes counted where they land in the local CRM: an owner change (a conversion, which also
# sets the owner, is counted apart), a conversion, a task created or updated.
WRITE_LOG = """
CREATE TABLE IF NOT EXISTS _WriteLog (sobject TEXT, record_id TEXT, op TEXT);
CREATE TRIGGER IF NOT EXISTS _owner_write AFTER UPDATE OF OwnerId ON Lead WHEN NEW.IsConverted = 0
BEGIN INSERT INTO _WriteLog VALUES ('Lead', NEW.Id, 'owner'); END;
CREATE TRIGGER IF NOT EXISTS _convert_write AFTER UPDATE OF IsConverted ON Lead WHEN NEW.IsConverted = 1
BEGIN INSERT INTO _WriteLog VALUES ('Lead', NEW.Id, 'convert'); END;
CREATE TRIGGER IF NOT EXISTS _task_insert AFTER INSERT ON Task WHEN NEW.LeadRoute_Key__c IS NOT NULL
BEGIN INSERT INTO _WriteLog VALUES ('Task', NEW.LeadRoute_Key__c, 'task'); END;
CREATE TRIGGER IF NOT EXISTS _task_update AFTER UPDATE ON Task WHEN NEW.LeadRoute_Key__c IS NOT NULL
BEGIN INSERT INTO _WriteLog VALUES ('Task', NEW.LeadRoute_Key__c, 'task'); END;
"""


def seed(crm) -> dict[str, str]:
    """Owner changes of every kind of step, a conversion with its task, and a lead already owned."""
    crm.account("Acme Corp", website="https://www.acme.com", type="Customer", owner=AVA, state="CA")
    crm.account("Globex GmbH", website="globex.de", owner=LUKAS, country="Germany")
    leads = {
        "acme": crm.lead(company="ACME", email="jo@us.acme.com", country="USA", state="California"),
        "texas": crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX"),
        "owned": crm.lead(company="Old Co", email="o@old.com", owner=HANNAH, status="Working"),
    }
    for i in range(3):
        leads[f"globex{i}"] = crm.lead(company="Globex", email=f"h{i}@globex.de", country="Germany")
    return leads


class Crash:
    """Ticks in subprocesses sharing the test's warehouse, CRM, rules and a persistent Dagster instance."""

    def __init__(self, pipeline, tmp_path: Path, monkeypatch, crm_kind: str):
        home = tmp_path / "dagster_home"
        home.mkdir()
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        pipeline.instance = dg.DagsterInstance.get()
        self.pipeline = pipeline
        self.env = {**os.environ, "LEADROUTE_CRM": crm_kind, "LEADROUTE_CRM_PATH": str(pipeline.crm_path),
                    "LEADROUTE_WAREHOUSE": str(pipeline.warehouse), "LEADROUTE_RULES": str(pipeline.rules_dir),
                    "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "False"}

    def start(self, point: str, now) -> subprocess.Popen:
        """A tick that stops at ``point`` and waits there, holding what a live tick holds."""
        if hasattr(self.pipeline, "twin"):
            self.pipeline.twin.before_tick(now)
            self.env.update({k: v for k, v in os.environ.items() if k.startswith(("SALESFORCE_", "REQUESTS_"))})
        proc = subprocess.Popen([sys.executable, "-m", "tests.crash_tick", point, "--now", now.isoformat()],
                                cwd=ROOT, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith(f"AT {point}"):
                return proc
        proc.wait()
        pytest.fail(f"the tick never reached {point} (exit {proc.returncode}): {proc.stderr.read()[-2000:]}")

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        proc.kill()  # SIGKILL
        proc.wait()
        assert proc.returncode == -9


def assert_nothing_lost(pipeline, leads: dict[str, str], owners: dict[str, str]) -> None:
    ledger = pipeline.query(
        """SELECT g.lead_id, g.target_owner_id, g.status FROM ledger g JOIN routing_decision d USING (decision_id)
           WHERE g.kind = 'owner' QUALIFY row_number() OVER (PARTITION BY g.lead_id
                                                            ORDER BY d.created_at DESC, d.decision_id DESC) = 1""")
    assert set(ledger["lead_id"]) == set(leads.values()), "every lead decided, with its ledger row"
    assert set(ledger["status"]) <= {"pushed", "skipped_unchanged"}, ledger
    for row in ledger.itertuples():
        assert owners[row.lead_id] == row.target_owner_id, f"{row.lead_id}: the CRM differs from the ledger"


def assert_written_once(writes: Counter, leads: dict[str, str]) -> None:
    owner = Counter({k[1]: n for k, n in writes.items() if k[0] == "owner"})
    changed = set(leads.values()) - {leads["owned"]}
    assert set(owner) == changed, f"owner writes: {owner}"
    assert max(writes.values()) == 1, f"written twice: {[k for k, n in writes.items() if n > 1]}"
    assert ("convert", leads["acme"]) in writes and any(k[0] == "task" for k in writes), \
        "the conversion and its task were written (once)"


def local_writes(crm_path) -> Counter:
    with sqlite3.connect(crm_path) as con:
        return Counter((op, rid) for op, rid in con.execute("SELECT op, record_id FROM _WriteLog"))


def org_writes(emu) -> Counter:
    out = Counter(("owner", w.record_id) for w in emu.writes("Lead", field="OwnerId", op="update"))
    out.update(("convert", w.record_id) for w in emu.writes("Lead", op="convert"))
    out.update(("task", w.values.get("LeadRoute_Key__c") or w.record_id) for w in emu.writes("Task"))
    return out


def dead_run_marked_failed(pipeline) -> None:
    runs = pipeline.instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    dead = [r.dagster_run for r in runs if "leadroute/failed_because" in r.dagster_run.tags]
    assert len(dead) == 1, "the killed tick's run is marked failed, by itself"
    assert "is gone" in dead[0].tags["leadroute/failed_because"]


POINTS = ["after_decisions", "after_ledger", "after_crm_write", "before_watermark"]


@pytest.mark.parametrize("point", POINTS)
def test_a_tick_killed_at_each_commit_point_on_the_local_crm_loses_nothing_and_writes_once(
        point, pipeline, crm, tmp_path, monkeypatch):
    leads = seed(crm)
    crm.con.executescript(WRITE_LOG)
    crash = Crash(pipeline, tmp_path, monkeypatch, "local")
    killed = crash.start(point, NOW)
    crash.kill(killed)

    after = pipeline.tick(NOW + timedelta(minutes=5))
    dead_run_marked_failed(pipeline)
    assert_nothing_lost(pipeline, leads, {lead: crm.owner_of(lead) for lead in leads.values()})
    writes = local_writes(crm.path)
    assert_written_once(writes, leads)
    push = after.metadata["crm_push"]
    if point == "after_crm_write":
        # Five owner changes, and the routing reason acme's rule writes in the same update: read back, not resent.
        assert push["reconciled"] == 6
        kinds = pipeline.query("SELECT kind, count(*) AS n FROM ledger WHERE reconciled_at IS NOT NULL GROUP BY kind")
        assert dict(zip(kinds["kind"], kinds["n"])) == {"owner": 5, "fields": 1}
    if point == "before_watermark":
        assert push["due"] == 0 and push["crm_api_calls"] == 0, "everything was recorded: nothing to send"
    assert pipeline.query("SELECT count(*) AS n FROM watermark WHERE object = 'lead' AND value IS NOT NULL"
                          ).iloc[0]["n"] == 1, "the lead watermark moved once a push completed"


@pytest.mark.parametrize("crm_twin", ["salesforce"], indirect=True)
@pytest.mark.parametrize("point", ["after_crm_write", "after_conversions", "after_tasks"])
def test_a_tick_killed_mid_push_on_salesforce_leaves_no_tick_stuck_and_nothing_written_twice(
        point, twin_pipeline, crm_twin, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli import cli
    from pipelines.runner import TickBusy

    leads = seed(crm_twin)
    crash = Crash(twin_pipeline, tmp_path, monkeypatch, "salesforce")
    paused = crash.start(point, NOW)

    # While it is alive and mid-push, another tick is refused at once, in one line.
    with pytest.raises(TickBusy, match=r"^busy: .*pid \d+"):
        twin_pipeline.tick(NOW + timedelta(minutes=1), expect_success=False)
    if point == "after_crm_write":
        out = CliRunner().invoke(cli, ["tick"], env=crash.env)
        assert out.exit_code == 1 and out.output.strip().count("\n") == 0 and "busy" in out.output, out.output

    crash.kill(paused)
    twin_pipeline.tick(NOW + timedelta(minutes=5))
    dead_run_marked_failed(twin_pipeline)
    assert_nothing_lost(twin_pipeline, leads, crm_twin.owners())
    assert_written_once(org_writes(crm_twin.emu), leads)
    quiet = twin_pipeline.tick(NOW + timedelta(minutes=10))
    assert quiet.metadata["crm_push"]["due"] == 0 and quiet.metadata["crm_push"]["crm_api_calls"] == 0


@pytest.mark.parametrize("crm_twin", ["salesforce"], indirect=True)
@pytest.mark.parametrize("lost", [("owner", "PATCH", "/composite/sobjects"),
                                  ("convert", "POST", "/services/Soap/u/"),
                                  ("task", "PATCH", "/composite/sobjects/Task/")], ids=lambda x: x[0])
def test_a_write_that_lands_but_whose_answer_is_lost_is_read_back_and_never_written_twice(lost, twin_pipeline, crm_twin):
    kind, method, path = lost
    leads = seed(crm_twin)
    twin_pipeline.twin.before_tick(NOW)
    crm_twin.emu.faults.lose_answer(path_contains=path, method=method, times=1)
    first = twin_pipeline.tick(NOW).metadata["crm_push"]
    assert first["details"]["stopped"].startswith("OUTCOME_UNKNOWN"), "a write with no answer is not sent again"
    assert first["reconciled"] >= 1, "the same push read the records back and found the write there"
    assert twin_pipeline.query("SELECT count(*) AS n FROM ledger WHERE status = 'in_flight'").iloc[0]["n"] == 0

    twin_pipeline.tick(NOW + timedelta(minutes=5))
    assert_nothing_lost(twin_pipeline, leads, crm_twin.owners())
    writes = org_writes(crm_twin.emu)
    assert_written_once(writes, leads)


def test_the_schedule_marks_a_run_whose_process_died_failed_and_starts_the_tick_but_waits_for_a_live_one():
    with dg.instance_for_test() as instance:
        _schedule_with_dead_and_live_runs(instance)


def _schedule_with_dead_and_live_runs(instance) -> None:
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.defs.policy import WRITER_TAG, fail_dead_runs
    from pipelines.defs.schedules import every_five_minutes
    from pipelines.warehouse import writer

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead_tags = {**WRITER_TAG, writer.PID_TAG: str(ended.pid), writer.HOST_TAG: writer.process_tags("dead-tick")[writer.HOST_TAG],
                 writer.STARTED_TAG: "1", writer.RUN_TAG: "dead-tick"}
    instance.add_run(DagsterRun(job_name="tick", run_id="dead-tick", status=dg.DagsterRunStatus.STARTED, tags=dead_tags))
    request = every_five_minutes(dg.build_schedule_context(instance=instance))
    assert isinstance(request, dg.RunRequest), "a dead run does not hold the schedule up"
    dead = instance.get_run_by_id("dead-tick")
    assert dead.status == dg.DagsterRunStatus.FAILURE
    assert f"pid {ended.pid}" in dead.tags["leadroute/failed_because"]

    # Its retry, starting after the crash, carries the dead run's tags (Dagster copies them) until its own
    # process writes its own: it is not the dead run.
    instance.add_run(DagsterRun(job_name="tick", run_id="its-retry", status=dg.DagsterRunStatus.STARTING,
                                tags={**dead_tags, "dagster/parent_run_id": "dead-tick"}))
    assert fail_dead_runs(instance) == []
    assert instance.get_run_by_id("its-retry").status == dg.DagsterRunStatus.STARTING, "the retry is not the dead run"
    instance.report_run_failed(instance.get_run_by_id("its-retry"), "cleared by the test")

    live_tags = {**WRITER_TAG, **writer.process_tags("live-tick")}  # this very process: alive
    instance.add_run(DagsterRun(job_name="tick", run_id="live-tick", status=dg.DagsterRunStatus.STARTED, tags=live_tags))
    skipped = every_five_minutes(dg.build_schedule_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason) and "live-tic" in skipped.skip_message
    assert instance.get_run_by_id("live-tick").status == dg.DagsterRunStatus.STARTED

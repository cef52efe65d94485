"""The production topology end to end: PostgreSQL, a code server per org, the daemon, the webserver.

One test, because bringing the topology up is the expensive part: two orgs side by side, each
with its own demo CRM, rules folder, warehouse and cadence; the daemon's sensor launches their
ticks through the run queue; a crash (kill -9 of the daemon and the org's code server mid-run)
that run monitoring detects and the next run recovers from; and a backfill launched through the
GraphQL API the UI uses, which waits in the queue instead of colliding with a tick.

Every wait polls with a deadline. Skipped only when PostgreSQL is not installed (`.ci/run`
installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.deploy.orgs import Orgs
from pipelines.deploy.postgres import PostgresMissing, find_bindir
from pipelines.deploy.topology import Topology, free_port
from tests.conftest import ROOT, RULES

def _postgres_missing() -> str | None:
    try:
        find_bindir()
    except PostgresMissing as exc:
        return str(exc)
    return None


pytestmark = [pytest.mark.slow, pytest.mark.starts_first, pytest.mark.timeout(900),
              pytest.mark.skipif(_postgres_missing() is not None, reason=str(_postgres_missing()))]

# Each org its own demo CRM and cadence (seconds between sensor evaluations).
ORGS = {"north": {"accounts": 300, "leads": 200, "seed": 11, "every": 20},
        "south": {"accounts": 200, "leads": 120, "seed": 29, "every": 30}}

RUNS_QUERY = """query($location: String!) { runsOrError(filter: {tags: [{key: "dagster/code_location", value: $location}]},
  limit: 100) { ... on Runs { results { runId jobName status creationTime startTime endTime
  tags { key value } } } } }"""
STEPS_QUERY = """query($runId: ID!) { runOrError(runId: $runId) { ... on Run { status
  stepStats { stepKey status } } } }"""
EVENTS_QUERY = """query($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection { events {
  __typename ... on MessageEvent { message } ... on MaterializationEvent { assetKey { path } } } } } }"""
SENSOR_QUERY = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor {
  sensorState { id selectorId status } } } }"""
STOP_SENSOR = """mutation($id: String!, $selectorId: String!) { stopSensor(id: $id, jobSelectorId: $selectorId) {
  __typename } }"""
START_SENSOR = """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }"""
LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""


def wait_for(what: str, probe, seconds: float, every: float = 0.25):
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Run:
    run_id: str
    job: str
    status: str
    created: float
    start: float | None
    end: float | None
    tags: dict[str, str]


class Org:
    def __init__(self, name: str, folder: Path, every: int):
        self.name, self.folder, self.every = name, folder, every
        self.crm = folder / "crm.sqlite"
        self.warehouse = folder / "warehouse.duckdb"
        self.rules = folder / "routing_rules"

    def env(self) -> dict[str, str]:
        return {"LEADROUTE_CRM": "local", "LEADROUTE_CRM_PATH": str(self.crm),
                "LEADROUTE_WAREHOUSE": str(self.warehouse), "LEADROUTE_RULES": str(self.rules),
                "LEADROUTE_DATA": str(self.folder), "LEADROUTE_TICK_EVERY_SECONDS": str(self.every)}

    def leadroute(self, *args: str) -> None:
        env = {**os.environ, **self.env(), "LEADROUTE_ORG": self.name}
        subprocess.run([str(Path(sys.executable).parent / "leadroute"), *args], env=env, check=True,
                       capture_output=True, cwd=ROOT)

    def crm_query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.crm, timeout=30) as con:
            return con.execute(sql).fetchall()

    def record_owner_writes(self) -> None:
        """At the network edge: every write of a lead's owner, as the CRM sees it (a conversion also
        sets the owner; conversions are counted apart)."""
        with sqlite3.connect(self.crm) as con:
            con.executescript("""
                CREATE TABLE _owner_write (lead_id TEXT, owner_id TEXT);
                CREATE TRIGGER _owner_write AFTER UPDATE OF OwnerId ON Lead WHEN NEW.IsConverted = OLD.IsConverted
                BEGIN INSERT INTO _owner_write VALUES (NEW.Id, NEW.OwnerId); END;""")

    def warehouse_free(self) -> bool:
        """Whether this process can open the warehouse (no other process holds DuckDB's lock)."""
        try:
            duckdb.connect(str(self.warehouse), read_only=True).close()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            return False
        return True

    def warehouse_query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


class Cluster:
    """The topology under test, read through the webserver's GraphQL API like the UI reads it."""

    def __init__(self, topology: Topology):
        self.topology = topology

    def runs(self, org: str) -> list[Run]:
        results = self.topology.graphql(RUNS_QUERY, {"location": org})["runsOrError"]["results"]
        return [Run(r["runId"], r["jobName"], r["status"], r["creationTime"], r["startTime"], r["endTime"],
                    {t["key"]: t["value"] for t in r["tags"]}) for r in results]

    def run(self, org: str, run_id: str) -> Run:
        return next(r for r in self.runs(org) if r.run_id == run_id)

    def set_sensor(self, org: str, running: bool) -> None:
        """Pause or resume an org's ticks, as an operator would in the UI."""
        selector = {"repositoryName": "__repository__", "repositoryLocationName": org,
                    "sensorName": "tick_every_n_seconds"}
        if running:
            self.topology.graphql(START_SENSOR, {"s": selector})
        else:
            state = self.topology.graphql(SENSOR_QUERY, {"s": selector})["sensorOrError"]["sensorState"]
            self.topology.graphql(STOP_SENSOR, {"id": state["id"], "selectorId": state["selectorId"]})
        state = self.topology.graphql(SENSOR_QUERY, {"s": selector})["sensorOrError"]["sensorState"]
        assert state["status"] == ("RUNNING" if running else "STOPPED"), state

    def in_progress(self, org: str) -> list[Run]:
        return [r for r in self.runs(org) if r.status in ("QUEUED", "STARTING", "STARTED")]

    def launch_tick(self, org: str) -> str:
        """A tick launched by hand, as the UI's "Launch run" does: it goes through the same run queue."""
        launched = self.topology.graphql(LAUNCH_RUN, {"params": {"selector": {
            "repositoryLocationName": org, "repositoryName": "__repository__", "jobName": "tick"}}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def launch_backfill(self, org: str, days: list[str]) -> str:
        """A backfill of rerouted_leads over ``days``, launched as the UI's "Materialize" dialog does."""
        launched = self.topology.graphql(BACKFILL, {"params": {
            "assetSelection": [{"path": ["rerouted_leads"]}], "partitionNames": days}})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def backfill_met_a_tick(self, org: str, backfill_id: str) -> str | None:
        """Once the backfill's run and the ticks around it ended: which of them waited for the other."""
        bf = wait_for("the backfill run to finish", lambda: next(
            (r for r in self.runs(org) if r.tags.get("dagster/backfill") == backfill_id and r.end), None), 240)
        assert bf.status == "SUCCESS"
        assert "leadroute/warehouse" not in bf.tags, "the UI's asset backfill carries no writer tag of ours"
        wait_for("the ticks around the backfill to end", lambda: all(
            r.end for r in self.runs(org) if r.job == "tick" and r.created < bf.end), 240)
        ticks = [r for r in self.runs(org) if r.job == "tick" and r.start and r.end]
        return next((f"the backfill waited {bf.start - bf.created:.1f} s for tick {t.run_id[:8]}"
                     for t in ticks if t.start < bf.created < t.end <= bf.start), None) or next(
            (f"tick {t.run_id[:8]} waited {t.start - t.created:.1f} s for the backfill"
             for t in ticks if bf.start < t.created < bf.end <= t.start), None)

    def steps(self, run_id: str) -> tuple[str, set[str], set[str]]:
        """The run's status, the steps it finished and those it started."""
        run = self.topology.graphql(STEPS_QUERY, {"runId": run_id})["runOrError"]
        return (run["status"], {s["stepKey"] for s in run["stepStats"] if s["status"] == "SUCCESS"},
                {s["stepKey"] for s in run["stepStats"]})

    def events(self, run_id: str) -> list[dict]:
        return self.topology.graphql(EVENTS_QUERY, {"runId": run_id})["logsForRun"]["events"]

    def successful_ticks(self, org: str, after: float = 0.0) -> list[Run]:
        return [r for r in self.runs(org) if r.job == "tick" and r.status == "SUCCESS" and r.start and r.start > after]

    def running_tick(self, org: str) -> Run | None:
        return next((r for r in self.runs(org) if r.job == "tick" and r.status == "STARTED"), None)


def assert_ledger_and_crm_agree(org: Org) -> None:
    """Every lead's last pushed owner is its owner in the CRM; no owner write happened twice."""
    pending = org.warehouse_query("SELECT count(*) FROM ledger WHERE status = 'pending'")[0][0]
    assert pending == 0, f"{org.name}: {pending} ledger rows still pending"
    last = dict(org.warehouse_query(
        "SELECT lead_id, arg_max(target_owner_id, decision_id) FROM ledger "
        "WHERE kind = 'owner' AND status IN ('pushed', 'skipped_unchanged') GROUP BY lead_id"))
    owners = dict(org.crm_query("SELECT Id, OwnerId FROM Lead"))
    assert last, f"{org.name}: nothing was routed"
    wrong = {lead: (target, owners.get(lead)) for lead, target in last.items() if owners.get(lead) != target}
    assert not wrong, f"{org.name}: CRM owner differs from the ledger for {list(wrong.items())[:5]}"
    pushed = dict(org.warehouse_query(
        "SELECT lead_id, count(*) FROM ledger WHERE kind = 'owner' AND status = 'pushed' GROUP BY lead_id"))
    writes = dict(org.crm_query("SELECT lead_id, count(*) FROM _owner_write GROUP BY lead_id"))
    twice = {lead: (n, pushed.get(lead, 0)) for lead, n in writes.items() if n > pushed.get(lead, 0)}
    assert not twice, f"{org.name}: owners written more often than the ledger pushed them: {list(twice.items())[:5]}"
    converted = dict(org.warehouse_query(
        "SELECT lead_id, count(*) FROM ledger WHERE kind = 'convert' AND status = 'pushed' GROUP BY lead_id"))
    assert all(n == 1 for n in converted.values()), f"{org.name}: a lead converted twice"
    contacts = org.crm_query("SELECT ConvertedContactId, count(*) FROM Lead WHERE IsConverted = 1 "
                             "GROUP BY ConvertedContactId HAVING count(*) > 1")
    assert not contacts, f"{org.name}: one contact for two conversions: {contacts[:5]}"


def assert_orgs_never_met(orgs: dict[str, Org]) -> None:
    """Each warehouse holds its own CRM's leads and decisions, and pool turns only for them."""
    for org in orgs.values():
        crm_leads = set(org.crm_query("SELECT Id, Email FROM Lead"))
        others = set().union(*(set(o.crm_query("SELECT Id, Email FROM Lead")) for o in orgs.values() if o is not org))
        seen = set(org.warehouse_query("SELECT lead_id, email FROM lead"))
        assert seen <= crm_leads and not (seen & (others - crm_leads)), f"{org.name} saw another org's leads"
        decided = {r[0] for r in org.warehouse_query("SELECT DISTINCT lead_id FROM routing_decision")}
        assert decided <= {lead for lead, _ in crm_leads}, f"{org.name} decided leads its CRM does not have"
        # Pool turns: a pool's members got exactly the leads this org's decisions gave them.
        given = dict(org.warehouse_query("SELECT pool, sum(assigned_total) FROM pool_member_state GROUP BY pool"))
        decided_by_pool = dict(org.warehouse_query(
            "SELECT pool, count(*) FROM routing_decision d WHERE pool IS NOT NULL AND owner_id IN "
            "(SELECT user_id FROM pool_member_state m WHERE m.pool = d.pool) GROUP BY pool"))
        assert given == {p: n for p, n in decided_by_pool.items() if p in given}, (org.name, given, decided_by_pool)


@pytest.fixture
def orgs(tmp_path: Path) -> dict[str, Org]:
    out = {}
    for name, size in ORGS.items():
        org = Org(name, tmp_path / name, size["every"])
        org.folder.mkdir()
        shutil.copytree(RULES, org.rules)
        org.leadroute("demo", "init", "--accounts", str(size["accounts"]), "--leads", str(size["leads"]),
                      "--seed", str(size["seed"]))
        org.record_owner_writes()
        out[name] = org
    return out


def test_the_production_topology_ticks_recovers_from_a_crash_and_queues_a_backfill(tmp_path, orgs):
    topology = Topology(
        ROOT, tmp_path / "prod",
        Orgs.model_validate({"orgs": [{"name": o.name, "port": free_port(), "env": o.env()} for o in orgs.values()]}),
        webserver_port=free_port(), pg_port=free_port(),
        # Faster polling than production, so the test spends seconds, not minutes, waiting.
        instance_overrides={"run_coordinator": {"config": {"dequeue_interval_seconds": 1}},
                            "run_monitoring": {"poll_interval_seconds": 2}})
    cluster = Cluster(topology)
    timings: dict[str, float] = {}
    started = time.monotonic()

    def mark(name: str, since: float = started) -> None:
        timings[name] = round(time.monotonic() - since, 1)
        print(f"[topology] {name}: {timings[name]} s", flush=True)

    north = orgs["north"]
    days = sorted({r[0][:10] for r in north.crm_query("SELECT CreatedDate FROM Lead")})[-3:]
    try:
        topology.up()
        mark("up")
        # A code server's run worker listens on a Unix socket in the server's own temporary folder.
        assert [f for f in (topology.tmp / "code-server-north").iterdir() if f.is_socket()]
        # 3 (launched now, checked below). A backfill through the GraphQL API the UI uses
        #    ("Materialize" over partitions of rerouted_leads) while north's first tick runs.
        backfill_id = cluster.launch_backfill("north", days)

        # 1. The daemon's sensor ticks both orgs side by side.
        for name in orgs:
            wait_for(f"a successful {name} tick", lambda n=name: cluster.successful_ticks(n), 300)
        mark("first_tick_each")

        # 3. The backfill met a tick in the queue: one waited until the other had ended. Its run carries
        #    only Dagster's code-location tag; the instance's limit on that tag is what held it.
        waited = cluster.backfill_met_a_tick("north", backfill_id)
        if not waited:
            # The daemon takes up backfills every 30 s, so the first may have found no tick running.
            # Make them meet: a tick launched by hand while the backfill's run executes must queue behind it.
            backfill_id = cluster.launch_backfill("north", days)
            wait_for("the backfill's run to start", lambda: next(
                (r for r in cluster.runs("north") if r.tags.get("dagster/backfill") == backfill_id
                 and r.status == "STARTED"), None), 240, every=0.1)
            cluster.launch_tick("north")
            waited = cluster.backfill_met_a_tick("north", backfill_id)
        assert waited, "a tick launched while the backfill ran was not held in the queue until it ended"
        print(f"[topology] {waited}", flush=True)
        mark("backfill_done")
        for name in orgs:
            runs = cluster.runs(name)
            assert all(r.tags.get("leadroute/warehouse") == name for r in runs if r.job == "tick")
            assert not [r for r in runs if r.status == "FAILURE"], f"{name}: a tick failed"

        # 2. A crash mid-run: kill -9 the daemon and the org's code server (with its run worker) while
        #    the tick pushes the leads it decided. At the network edge, the CRM is made busy: the test
        #    holds its write lock, so the push waits on it (the local CRM waits up to 30 s) and the kill
        #    lands mid-push however slow the machine is. Reads, the extract's included, go on meanwhile.
        cluster.set_sensor("north", running=False)
        wait_for("north's runs to finish", lambda: not cluster.in_progress("north"), 240)
        north.leadroute("demo", "trickle", "--leads", "30", "--seed", "5")
        new_leads = {r[0] for r in north.crm_query("SELECT Id FROM Lead ORDER BY CreatedDate DESC LIMIT 30")}
        before = {r.run_id for r in cluster.runs("north")}
        busy_crm = sqlite3.connect(north.crm, isolation_level=None)
        busy_crm.execute("BEGIN IMMEDIATE")
        cluster.set_sensor("north", running=True)
        victim = wait_for("a north tick started after the new leads", lambda: next(
            (r for r in cluster.runs("north") if r.run_id not in before and r.job == "tick"
             and r.status == "STARTED"), None), 240)

        def pushing(run_id=victim.run_id):
            status, _, started_steps = cluster.steps(run_id)
            assert status == "STARTED", f"the tick ended ({status}) while the CRM was held busy"
            return "crm_push" in started_steps

        wait_for("the tick to start pushing the new leads", pushing, 240, every=0.05)
        # The code server (it holds the run worker) and the daemon together: the daemon's run monitoring, left
        # running while the code server was waited out, could see the worker gone and mark the run failed first.
        topology.kill("code-server-north", "daemon")
        killed = time.monotonic()
        busy_crm.execute("ROLLBACK")
        busy_crm.close()
        assert cluster.run("north", victim.run_id).status == "STARTED", "nobody has noticed the crash yet"
        # What the crash left behind: decisions whose writes are unconfirmed (pending, or in flight if
        # the push had marked them before it waited on the CRM), an extract not yet reconciled.
        wait_for("the killed worker's lock on the warehouse to go", north.warehouse_free, 60)
        pending_at_crash = north.warehouse_query(
            "SELECT count(*) FROM ledger WHERE status IN ('pending', 'in_flight')")[0][0]
        unreconciled_at_crash = north.warehouse_query(
            "SELECT count(*) FROM watermark WHERE pending_value IS NOT NULL")[0][0]
        assert pending_at_crash > 0 and unreconciled_at_crash > 0
        print(f"[topology] killed mid-push: {pending_at_crash} ledger rows pending or in flight, "
              f"{unreconciled_at_crash} watermarks unreconciled", flush=True)
        topology.restart("code-server-north", "daemon")
        mark("restart", killed)
        failed = wait_for("run monitoring to mark the dead run failed",
                          lambda: cluster.run("north", victim.run_id).status == "FAILURE", 180)
        mark("dead_run_failed_after_kill", killed)
        messages = [e.get("message") or "" for e in cluster.events(victim.run_id)]
        assert any("run worker pid" in m and "is gone" in m for m in messages), messages[-5:]
        assert failed
        recovered = wait_for("a successful north run after the crash",
                             lambda: [r for r in cluster.runs("north") if r.status == "SUCCESS"
                                      and r.created > victim.created and r.run_id != victim.run_id], 240)
        mark("recovered_after_kill", killed)
        by = "a retry of the dead run" if recovered[0].tags.get("dagster/parent_run_id") == victim.run_id else "a new tick"
        print(f"[topology] recovered by {by} ({recovered[0].job})", flush=True)

        runs = sorted([r for r in cluster.runs("north") if r.start], key=lambda r: r.start)
        for a, b in zip(runs, runs[1:]):
            assert (a.end or 1e12) <= b.start, f"runs {a.run_id[:8]} and {b.run_id[:8]} of north overlapped"
    finally:
        topology.down()
        topology.postgres.remove()
    mark("total")
    # Stopped code servers (SIGKILL: they ignore SIGTERM) left no socket behind, nor their folders.
    assert not topology.tmp.exists()
    print("[topology] timings:", json.dumps(timings), flush=True)

    # The crash lost nothing: the trickled leads were decided once and pushed once.
    decided = {r[0] for r in north.warehouse_query("SELECT lead_id FROM routing_decision")}
    assert new_leads <= decided
    assert north.warehouse_query("SELECT count(*) FROM watermark WHERE pending_value IS NOT NULL")[0][0] == 0
    for org in orgs.values():
        assert_ledger_and_crm_agree(org)
    assert_orgs_never_met(orgs)

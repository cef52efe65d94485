"""What the production topology costs per tick, next to `leadroute tick` doing the same work.

Two copies of one demo CRM and warehouse (after a first tick), the same trickle of new leads
before every tick. One copy ticks with `leadroute tick` (a fresh process, the job in-process);
the other through the topology of `leadroute prod up` (PostgreSQL, code server, daemon,
webserver): a tick launched through the GraphQL API the UI uses, queued, dequeued by the daemon,
run by a worker process the code server starts, its events stored in PostgreSQL. Reported per
tick: queue wait (launch to start), the run itself (start to end) and launch to end, against
the CLI's wall time. Run it on a quiet machine; the production instance file is used as is
(the daemon dequeues every 5 s).

    python benchmarks/bench_topology.py [--ticks 5] [--accounts 2000] [--leads 1500] [--trickle 25]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.deploy.orgs import Orgs  # noqa: E402
from pipelines.deploy.postgres import PostgresMissing, find_bindir  # noqa: E402
from pipelines.deploy.topology import Topology, free_port  # noqa: E402

LEADROUTE = str(Path(sys.executable).parent / "leadroute")
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status creationTime startTime endTime } } }"""


def env_for(folder: Path) -> dict[str, str]:
    return {**os.environ, "LEADROUTE_CRM_PATH": str(folder / "crm.sqlite"),
            "LEADROUTE_WAREHOUSE": str(folder / "warehouse.duckdb"), "LEADROUTE_DATA": str(folder),
            "LEADROUTE_RULES": str(ROOT / "routing_rules"), "DAGSTER_HOME": ""}


def leadroute(folder: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([LEADROUTE, *args], env=env_for(folder), cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def topology_tick(topology: Topology) -> dict[str, float]:
    launched = time.time()
    answer = topology.graphql(LAUNCH, {"p": {"selector": {
        "repositoryLocationName": "bench", "repositoryName": "__repository__", "jobName": "tick"}}})["launchRun"]
    if answer["__typename"] != "LaunchRunSuccess":
        raise SystemExit(f"launch failed: {answer}")
    run_id = answer["run"]["runId"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        run = topology.graphql(RUN, {"id": run_id})["runOrError"]
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            if run["status"] != "SUCCESS":
                raise SystemExit(f"run {run_id} ended {run['status']}")
            return {"queued": run["startTime"] - run["creationTime"], "run": run["endTime"] - run["startTime"],
                    "launch_to_end": time.time() - launched}
        time.sleep(0.2)
    raise SystemExit(f"run {run_id} did not end within 10 minutes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--leads", type=int, default=1500)
    parser.add_argument("--trickle", type=int, default=25)
    args = parser.parse_args()
    try:
        find_bindir()
    except PostgresMissing as exc:
        print(exc)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-topology-") as tmp:
        cli, topo = Path(tmp) / "cli", Path(tmp) / "topology"
        cli.mkdir()
        leadroute(cli, "demo", "init", "--accounts", str(args.accounts), "--leads", str(args.leads))
        leadroute(cli, "tick")
        shutil.copytree(cli, topo)
        cli_times = []
        for i in range(args.ticks):
            leadroute(cli, "demo", "trickle", "--leads", str(args.trickle), "--seed", str(100 + i))
            cli_times.append(leadroute(cli, "tick"))
        env = env_for(topo)
        org = {"name": "bench", "port": free_port(),
               "env": {k: env[k] for k in ("LEADROUTE_CRM_PATH", "LEADROUTE_WAREHOUSE", "LEADROUTE_DATA",
                                           "LEADROUTE_RULES")} | {"LEADROUTE_TICK_CRON": "0 0 1 1 *"}}
        topology = Topology(ROOT, Path(tmp) / "prod", Orgs.model_validate({"orgs": [org]}),
                            webserver_port=free_port(), pg_port=free_port())
        started = time.perf_counter()
        topology.up()
        up_seconds = time.perf_counter() - started
        try:
            runs = []
            for i in range(args.ticks):
                leadroute(topo, "demo", "trickle", "--leads", str(args.trickle), "--seed", str(100 + i))
                runs.append(topology_tick(topology))
        finally:
            topology.down()
            topology.postgres.remove()
    med = statistics.median
    cli_med = med(cli_times)
    print(f"{args.ticks} ticks of {args.trickle} new leads each on a demo CRM of {args.accounts:,} accounts "
          f"and {args.leads:,} leads (medians):")
    print(f"  leadroute tick (process start to exit):            {cli_med:6.1f} s")
    print(f"  topology, launch to end:                           {med(r['launch_to_end'] for r in runs):6.1f} s")
    print(f"    launch to the run's start (queue, worker start): {med(r['queued'] for r in runs):6.1f} s")
    print(f"    the run (worker process start to end):           {med(r['run'] for r in runs):6.1f} s")
    print(f"  overhead per tick vs leadroute tick:               "
          f"{med(r['launch_to_end'] for r in runs) - cli_med:+6.1f} s")
    print(f"  (bringing the topology up took {up_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

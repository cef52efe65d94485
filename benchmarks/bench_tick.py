"""Sizing: time and peak memory of whole ticks (`leadroute tick`) on demo CRMs of several sizes.

For each size: a demo CRM, the first tick (everything is new: the account master is built, every
lead routed), then a steady-state tick after a trickle of new leads (what every five minutes
costs). Peak memory is the tick process's maximum resident set. The README's Deploying section
quotes these next to the stage benchmarks (matching at 1,000,000 accounts, prepare, routing).

    python benchmarks/bench_tick.py [--accounts 10000 100000] [--leads-per-account 0.6] [--trickle 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEADROUTE = str(Path(sys.executable).parent / "leadroute")


def run(folder: Path, *args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `leadroute` process."""
    env = {**os.environ, "LEADROUTE_CRM_PATH": str(folder / "crm.sqlite"),
           "LEADROUTE_WAREHOUSE": str(folder / "warehouse.duckdb"), "LEADROUTE_DATA": str(folder),
           "LEADROUTE_RULES": str(ROOT / "routing_rules"), "DAGSTER_HOME": ""}
    started = time.perf_counter()
    proc = subprocess.Popen([LEADROUTE, *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"leadroute {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--leads-per-account", type=float, default=0.6)
    parser.add_argument("--trickle", type=int, default=100)
    args = parser.parse_args()
    print(f"{'accounts':>10} {'leads':>8} | {'first tick':>12} {'peak':>9} | {'steady tick':>12} {'peak':>9}")
    for accounts in args.accounts:
        leads = int(accounts * args.leads_per_account)
        with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
            folder = Path(tmp)
            run(folder, "demo", "init", "--accounts", str(accounts), "--leads", str(leads))
            first, first_rss = run(folder, "tick")
            run(folder, "demo", "trickle", "--leads", str(args.trickle), "--seed", "1")
            steady, steady_rss = run(folder, "tick")
        print(f"{accounts:>10,} {leads:>8,} | {first:>10.1f} s {first_rss:>6.0f} MiB | "
              f"{steady:>10.1f} s {steady_rss:>6.0f} MiB", flush=True)
    print(f"(steady tick: {args.trickle} new leads; wall times include starting Python and importing Dagster; "
          f"load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

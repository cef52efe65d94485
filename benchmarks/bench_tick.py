"""Ticks that cost what their new leads cost: CPU, wall and peak memory of whole `leadroute tick`
processes on demo CRMs of several sizes, and each stage's share (issue 18).

For each size: a demo CRM, the first tick (everything is new: the account master is built, every
lead routed), then two ticks with nothing new (the first reads back the
owners the first tick pushed, the second is quiet), a tick with one new lead and ticks with the
``--trickle`` sizes of new leads. CPU is the tick process's user + system time (DuckDB's and
rapidfuzz's threads included), the figure that stays meaningful on a shared machine; peak memory
is its maximum resident set. Each stage's seconds, CPU seconds and rows come from the tick's own
asset metadata (``stage/seconds``, ``stage/cpu_seconds``, ``stage/rows``; ``leadroute tick --json``
lists them under ``stages``), so what the benchmark prints is what the UI plots tick after tick.

    python benchmarks/bench_tick.py [--accounts 10000 100000] [--leads-per-account 0.6] [--trickle 100 10000]

Targets (issue 18, CPU): quiet tick <= 3 s end to end; one new lead <= 5 s on the demo world;
10,000 new leads against 1,000,000 accounts <= 10 s (goal 5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEADROUTE = str(Path(sys.executable).parent / "leadroute")


def run(folder: Path, *args: str) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) and stdout of one `leadroute` process."""
    env = {**os.environ, "LEADROUTE_CRM_PATH": str(folder / "crm.sqlite"),
           "LEADROUTE_WAREHOUSE": str(folder / "warehouse.duckdb"), "LEADROUTE_DATA": str(folder),
           "LEADROUTE_RULES": str(ROOT / "routing_rules"), "DAGSTER_HOME": ""}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([LEADROUTE, *args], env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"leadroute {' '.join(args)} failed: {err.read().decode()[-2000:]}")
        return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def tick(folder: Path, label: str, accounts: int) -> None:
    wall, cpu, rss, out = run(folder, "tick", "--json")
    stages = json.loads(out).get("stages", {})
    costly = sorted(stages.items(), key=lambda kv: -kv[1].get("cpu_seconds", 0))
    worked = ", ".join(f"{name} {s.get('cpu_seconds', 0):.1f}" for name, s in costly[:4] if not s.get("skipped"))
    skipped = sum(1 for s in stages.values() if s.get("skipped"))
    print(f"{accounts:>10,} {label:<16} {cpu:>8.1f} {wall:>8.1f} {rss:>8.0f} | stages (CPU s): {worked or '-'}"
          f"{f'; {skipped} skipped (no new rows)' if skipped else ''}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--leads-per-account", type=float, default=0.6)
    parser.add_argument("--trickle", type=int, nargs="+", default=[100, 10_000])
    args = parser.parse_args()
    print(f"{'accounts':>10} {'tick':<16} {'CPU s':>8} {'wall s':>8} {'peak MiB':>8} |")
    for accounts in args.accounts:
        leads = int(accounts * args.leads_per_account)
        with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
            folder = Path(tmp)
            run(folder, "demo", "init", "--accounts", str(accounts), "--leads", str(leads))
            tick(folder, f"first ({leads:,})", accounts)
            # The first quiet tick still reads back the owners the first tick pushed (the CRM's echo of
            # our own writes); the second is quiet through and through.
            tick(folder, "echo (0 new)", accounts)
            tick(folder, "quiet (0 new)", accounts)
            for n in (1, *args.trickle):
                run(folder, "demo", "trickle", "--leads", str(n), "--seed", str(n))
                tick(folder, f"{n:,} new lead{'s' if n > 1 else ''}", accounts)
    print(f"(CPU: user + system of the whole tick process, Python start and imports included; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time the demo generator at scale: wall time and peak memory (a script, not a test).

    python benchmarks/bench_demo_generator.py --accounts 1000000 --leads 10000

Builds into a temporary folder (or --out) and prints progress, the summary, the wall
time, the peak resident memory of this process and the size of the SQLite file.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.demo.generator import generate_crm  # noqa: E402
from pipelines.demo.trickle import trickle  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU time of this process: what the wall time would be on an idle machine (it is single-threaded)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--trickle", type=int, default=1_000, help="also time one trickle of this many leads (0 to skip)")
    parser.add_argument("--out", type=Path, default=None, help="folder to keep the CRM and truth in (default: a temp folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="leadroute-bench-") as tmp:
        out = args.out or Path(tmp)
        crm, truth = out / "crm.sqlite", out / "truth"
        started, cpu_started = time.perf_counter(), cpu_seconds()
        summary = generate_crm(crm, truth, accounts=args.accounts, leads=args.leads, seed=args.seed,
                               rules_dir=ROOT / "routing_rules",
                               progress=lambda m: print(f"  [{time.perf_counter() - started:7.1f}s] {m}", flush=True))
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        print(summary.describe())
        print(f"generate_crm: accounts={args.accounts:,} leads={args.leads:,} wall={wall:.1f}s cpu={cpu:.1f}s "
              f"sqlite={crm.stat().st_size / 2**20:.0f} MiB peak RSS={peak_rss_mib():.0f} MiB")
        if args.trickle:
            t0, c0 = time.perf_counter(), cpu_seconds()
            added = trickle(crm, truth, leads=args.trickle, rules_dir=ROOT / "routing_rules")
            print(f"trickle: leads={added.leads:,} wall={time.perf_counter() - t0:.2f}s cpu={cpu_seconds() - c0:.2f}s "
                  f"peak RSS so far={peak_rss_mib():.0f} MiB")
        load = os.getloadavg()
        print(f"load average (1/5/15 min) at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

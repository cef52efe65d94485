"""The company-name comparison alone (``CompareName``, the largest share of an account-master rebuild): CPU
over the candidate pairs a rebuild of a prepared warehouse compares, each run in a fresh process.

    python benchmarks/bench_name_comparison.py [CACHE_DIR] [--runs 3]

CACHE_DIR is a ``bench_matching.py`` cache under ``data/bench`` (default: the 100,000-account one, which
``bench_matching.py --accounts 100000 --leads 5000 --prepare-only`` prepares when it is missing). The accounts are keyed and blocked
once, as a full rebuild does, and the pairs' name keys written to a file; every run then compares them in a
process of its own, so it meets the caches cold (``names.word_match``'s words, ``informative``), as a rebuild
does. It prints each run's CPU, the pairs, and a digest of the levels: two checkouts that print the same digest
gave every pair the same level (run it in each, an older one in a ``git worktree``, to time a change).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CACHE = ROOT / "data" / "bench" / "matching-100000-5000-42"  # bench_matching.py's, prepared here if missing


def prepare(cache: Path, out: Path) -> int:
    """Key and block the cache's accounts as a full rebuild does; write the pairs' name keys to ``out``."""
    from pipelines.matching.keys import NAME_KEYS
    from pipelines.matching.dedupe import Deduper
    from pipelines.matching.master import KEYS, ensure_tables, refresh_keys
    from pipelines.matching.settings import load_matching_settings
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db

    settings = load_matching_settings(ROOT / "routing_rules" / "matching.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work.duckdb"
        shutil.copy(cache / "prepared.duckdb", work)
        with db.connect(work) as con:
            ensure_tables(con, ("account_match_key", "account_master"))
            refresh_keys(con, settings, RunInfo("bench", datetime(2026, 11, 20, 15)))
            pairs = Deduper(settings).linker.candidates(con, KEYS, KEYS)  # the rebuild's blocking rules
            keys = con.execute(f"SELECT account_id, {', '.join(NAME_KEYS)} FROM account_match_key").df()
    keys = keys.set_index("account_id").fillna("")
    left = keys.loc[pairs["l_id"].to_numpy()].reset_index(drop=True)
    right = keys.loc[pairs["r_id"].to_numpy()].reset_index(drop=True)
    with open(out, "wb") as f:
        pickle.dump([left[c] for c in NAME_KEYS] + [right[c] for c in NAME_KEYS], f)
    return len(pairs)


def child(path: Path) -> None:
    """One cold comparison of the pairs in ``path``: prints CPU seconds and the levels' digest."""
    from pipelines.matching.compare import CompareName

    with open(path, "rb") as f:
        columns = pickle.load(f)
    started = time.process_time()
    levels = CompareName()._compute_vectorized(*columns)
    cpu = time.process_time() - started
    print(f"{cpu:.3f} {hashlib.sha256(levels.tobytes()).hexdigest()[:16]} "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", nargs="?", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if not (args.cache / "prepared.duckdb").exists():
        if args.cache != DEFAULT_CACHE:
            raise SystemExit(f"{args.cache}/prepared.duckdb not found: prepare it with `python benchmarks/"
                             "bench_matching.py --accounts N --leads N --prepare-only`")
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_matching.py"), "--accounts", "100000",
                        "--leads", "5000", "--prepare-only"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = Path(tmp) / "pairs.pkl"
        n = prepare(args.cache, pairs_file)
        runs = []
        for i in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--child", str(pairs_file)], capture_output=True,
                                 text=True, check=True).stdout.split()
            runs.append((float(out[0]), out[1], float(out[2])))
            print(f"run {i + 1}: {runs[-1][0]:.2f} s of CPU, levels {runs[-1][1]}, peak {runs[-1][2]:.2f} GiB",
                  flush=True)
    digests = {d for _, d, _ in runs}
    cpu = statistics.median(c for c, _, _ in runs)
    print(f"{n:,} candidate pairs of {args.cache.name}: CompareName {cpu:.2f} s of CPU (median of {len(runs)}; "
          f"{n / cpu:,.0f} pairs/s), levels {' / '.join(sorted(digests))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

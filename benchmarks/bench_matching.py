"""Matching engine benchmark: 1,000,000 accounts (10% duplicates, hierarchies) and 10,000 new leads.

Targets (issue 4, on a 2-core machine): lead-to-account F1 >= 0.98; matching the
10,000 leads against the existing master in <= 10 s; a full master rebuild in
<= 120 s; peak memory <= 3 GiB. It also runs plain recordlinkage (its default
comparators) on the same candidate pairs and prints the ratio.

    python benchmarks/bench_matching.py                         # the target size
    python benchmarks/bench_matching.py --accounts 100000 --leads 5000

The generated CRM and the warehouse after extract, unify and enrich are cached under
``data/bench/`` (generating a million accounts takes minutes). Those steps run in a
child process, so the peak memory printed is the matching process's own: master
build, incremental rebuild, matching, evaluation. Timings depend on the machine and
on what else runs on it: run on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 20, 15, 0, 0)


def prepare(cache: Path, accounts: int, leads: int, seed: int) -> None:
    """Generate the CRM and run extract, unify and enrich into ``cache/prepared.duckdb`` (once)."""
    from pipelines.crm.extract import extract
    from pipelines.crm.fields import load_field_mapping
    from pipelines.crm.local import LocalCrm
    from pipelines.demo.generator import generate_crm
    from pipelines.enrich.enrich import enrich
    from pipelines.stage import RunInfo
    from pipelines.unify.unify import unify
    from pipelines.warehouse import db

    rules = ROOT / "routing_rules"
    crm_path, truth = cache / "crm.sqlite", cache / "truth"
    if not crm_path.exists():
        started = time.perf_counter()
        generate_crm(crm_path.with_suffix(".tmp"), truth, accounts=accounts, leads=leads, seed=seed, now=NOW,
                     rules_dir=rules)
        crm_path.with_suffix(".tmp").rename(crm_path)
        print(f"generated {accounts:,} accounts and {leads:,} leads in {time.perf_counter() - started:.0f} s",
              flush=True)
    mapping = load_field_mapping(rules / "fields.yaml")
    run = RunInfo("bench", NOW)
    target = cache / "prepared.duckdb"
    with db.connect(target.with_suffix(".tmp")) as con:
        db.migrate(con, mapping.mapped_columns())
        crm = LocalCrm(str(crm_path), clock=lambda: NOW)
        for name, step in [("extract", lambda: extract(con, crm, mapping, run)),
                           ("unify", lambda: unify(con, mapping, run)), ("enrich", lambda: enrich(con, run))]:
            started = time.perf_counter()
            step()
            print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
        crm.close()
        con.execute("CHECKPOINT")
    target.with_suffix(".tmp").rename(target)


def baseline_ratio(con, settings, sample: int) -> tuple[float, float, int]:
    """Seconds per pair of the engine's Compare and of plain recordlinkage's default comparators,
    on the same candidate pairs (the engine's blocking for the benchmark's leads)."""
    import numpy as np
    import pandas as pd
    import recordlinkage

    from pipelines.matching.index import KeyTable, candidate_pairs
    from pipelines.matching.keys import match_keys
    from pipelines.matching.link import Linker

    lead_cols = ", ".join(f"l.{c}" for c in ("company", "email", "website", "phone", "street", "city", "state",
                                                "postal_code", "country"))
    leads = con.execute(f"SELECT l.lead_id, {lead_cols} FROM lead l").df()
    keys = match_keys(leads, default_country=settings.default_country)
    keys.insert(0, "lead_id", leads["lead_id"].values)
    con.register("_bench_leads", keys)
    linker = Linker(settings)
    pairs = candidate_pairs(con, linker.rules, KeyTable("_bench_leads", "lead_id"),
                            KeyTable("account_match_key", "account_id"))
    if len(pairs) > sample:
        pairs = pairs.sample(sample, random_state=1)
    left, right, lpos, rpos = linker.records(con, pairs, KeyTable("_bench_leads", "lead_id"),
                                             KeyTable("account_match_key", "account_id"))
    index = pd.MultiIndex.from_arrays([lpos, rpos])

    started = time.perf_counter()
    linker.comparer.compute(index, left, right)
    ours = time.perf_counter() - started

    plain = recordlinkage.Compare(indexing_type="position")  # its defaults: Levenshtein strings, exact keys
    for field in ("name", "street", "city"):
        plain.string(field, field, label=field)
    for field in ("domain", "phone", "postal_code", "state", "country"):
        plain.exact(field, field, label=field)
    lp, rp = left.replace("", np.nan), right.replace("", np.nan)
    started = time.perf_counter()
    plain.compute(index, lp, rp)
    theirs = time.perf_counter() - started
    return ours, theirs, len(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--baseline-pairs", type=int, default=200_000,
                        help="pairs for the plain recordlinkage comparison (it runs at ~50k pairs/s)")
    parser.add_argument("--prepare-only", action="store_true", help="generate and extract into the cache, then stop")
    args = parser.parse_args()
    cache = ROOT / "data" / "bench" / f"matching-{args.accounts}-{args.leads}-{args.seed}"
    cache.mkdir(parents=True, exist_ok=True)
    if args.prepare_only:
        prepare(cache, args.accounts, args.leads, args.seed)
        return 0
    if not (cache / "prepared.duckdb").exists():
        # A child process, so its memory (generation, extract of a million rows) is not counted below.
        code = subprocess.call([sys.executable, __file__, "--accounts", str(args.accounts), "--leads",
                                str(args.leads), "--seed", str(args.seed), "--prepare-only"])
        if code:
            return code

    from pipelines.matching.evaluate import evaluate_warehouse
    from pipelines.matching.master import build_master
    from pipelines.matching.match import match_leads
    from pipelines.matching.settings import load_matching_settings
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db

    settings = load_matching_settings(ROOT / "routing_rules" / "matching.yaml")
    work = cache / "work.duckdb"
    for stale in (work, work.with_suffix(".duckdb.wal")):
        if stale.exists():
            stale.unlink()
    shutil.copy(cache / "prepared.duckdb", work)
    run = RunInfo("bench", NOW)
    with db.connect(work) as con:
        accounts = db.scalar(con, "SELECT count(*) FROM account")
        leads = db.scalar(con, "SELECT count(*) FROM lead")
        print(f"\n{accounts:,} accounts, {leads:,} leads (cache {cache})", flush=True)

        started, cpu = time.perf_counter(), time.process_time()
        master = build_master(con, settings, run)
        full = time.perf_counter() - started
        print(f"full master rebuild: {full:.1f} s wall, {time.process_time() - cpu:.1f} s CPU (target <= 120) "
              f"{master.details.get('seconds')} CPU {master.details.get('cpu_seconds')}", flush=True)
        print(f"  {master.line()}", flush=True)

        started, cpu = time.perf_counter(), time.process_time()
        matched = match_leads(con, settings, run)
        link = time.perf_counter() - started
        print(f"matching {matched.counts.get('leads_matched', 0):,} leads: {link:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU (target <= 10)", flush=True)
        print(f"  {matched.line()}", flush=True)

        changed = max(1, accounts // 100)
        con.execute(f"UPDATE account SET name = name || ' Group', _modstamp = _modstamp + INTERVAL 1 MINUTE "
                    f"WHERE account_id IN (SELECT account_id FROM account ORDER BY hash(account_id) LIMIT {changed})")
        started, cpu = time.perf_counter(), time.process_time()
        again = build_master(con, settings, RunInfo("bench-2", NOW))
        print(f"incremental master rebuild ({changed:,} accounts changed): {time.perf_counter() - started:.1f} s "
              f"wall, {time.process_time() - cpu:.1f} s CPU {again.details.get('seconds')} "
              f"CPU {again.details.get('cpu_seconds')}", flush=True)
        con.execute("UPDATE account SET name = left(name, length(name) - 6), _modstamp = _modstamp - INTERVAL 1 MINUTE"
                    f" WHERE account_id IN (SELECT account_id FROM account ORDER BY hash(account_id) LIMIT {changed})")

        report = evaluate_warehouse(con, cache / "truth")
        for line in report.describe():
            print(line)

        ours, theirs, n = baseline_ratio(con, settings, args.baseline_pairs)
        print(f"compare on {n:,} candidate pairs: engine {ours:.2f} s ({n / ours:,.0f} pairs/s), plain recordlinkage "
              f"defaults {theirs:.2f} s ({n / theirs:,.0f} pairs/s): {theirs / ours:.1f}x faster")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak memory of the matching process: {peak:.2f} GiB (target <= 3)")
    load = os.getloadavg()
    print(f"(load average {load[0]:.1f} on {os.cpu_count()} cores at the end: timings are from this machine as "
          f"it was; CPU seconds are less noisy than wall; rerun on a quiet machine for the record)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

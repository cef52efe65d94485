"""API calls per tick against an emulated Salesforce org: 10, 1,000 and 10,000 changed owners, and a quiet tick.

Each size gets a fresh org (the roster, the queues, a few accounts) and a fresh
warehouse. A first tick loads the org; then N new leads arrive in the intake queue
and one tick routes them and pushes N owner changes. The table shows the calls of
that tick by kind, as the crm_push asset records them, checked against the
emulator's own request log; then a tick in which nothing changed.

Call counts do not depend on the machine, except Bulk API 2.0 polls: the emulator
answers InProgress once per job, so a job costs two polls here; a real 10,000-row
job runs for seconds to a minute, so polling every SALESFORCE_BULK_POLL_SECONDS
(5) adds a few more. Run from the project root:

    .venv/bin/python benchmarks/bench_salesforce_calls.py [--sizes 10 1000 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

T0 = datetime(2026, 11, 20, 15, 0)
PLACES = [("US", "CA"), ("US", "TX"), ("US", "NY"), ("Germany", None), ("Japan", None), ("France", None)]


def run(n: int, rules: Path) -> dict:
    import dagster as dg

    from tests.crm_builder import CrmBuilder
    from pipelines.crm.local_schema import sf_datetime
    from pipelines.defs.resources import ClockResource, RulesResource, WarehouseResource, default_resources
    from pipelines.runner import run_tick
    from pipelines.settings import Settings
    from tests.sf_emulator import Emulator

    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        tmp = Path(tmp)
        builder = CrmBuilder(tmp / "crm.sqlite", T0 - timedelta(days=1), rules_dir=rules)
        owner = "005000000000010AAA"
        accounts = [builder.account(f"Account {i}", website=f"account{i}.example", owner=owner) for i in range(20)]
        inbound = builder.queue_ids["Inbound_Leads"]
        builder.close()
        emu.load_sqlite(tmp / "crm.sqlite")
        env = {"SALESFORCE_INSTANCE_URL": emu.instance_url, "SALESFORCE_SESSION_ID": emu.new_session(),
               "REQUESTS_CA_BUNDLE": emu.ca_bundle_path, "SALESFORCE_BULK_POLL_SECONDS": "0"}
        os.environ.update(env)
        instance = dg.DagsterInstance.ephemeral()

        def tick(now: datetime):
            emu.clock.set(now)
            emu.requests.clear()
            resources = {"warehouse": WarehouseResource(path=str(tmp / "warehouse.duckdb")),
                         "crm": default_resources(Settings(crm="salesforce"))["crm"],
                         "rules": RulesResource(path=str(rules)), "clock": ClockResource(frozen_at=now.isoformat()),
                         "notify": default_resources(Settings(crm="salesforce"))["notify"]}
            started = time.perf_counter()
            outcome = run_tick(resources=resources, instance=instance, log_level="ERROR")
            assert outcome.success, outcome.failures
            push = outcome.metadata["crm_push"]
            served = sum(1 for r in emu.requests if not r.path.lower().startswith(("/services/soap/u/",
                                                                                   "/services/oauth2/")))
            api = push["details"]["crm_api_this_tick"]
            assert api["calls"] == served, (api, served)
            return {"pushed": push["pushed"], "calls": api["calls"], "by_kind": api["by_kind"],
                    "seconds": time.perf_counter() - started}

        tick(T0)  # the first, full load of the org
        stamp = sf_datetime(T0 + timedelta(minutes=2))
        for i in range(n):
            country, state = PLACES[i % len(PLACES)]
            emu.insert("Lead", LastName=f"Lead {i}", Company=f"Company {i}", Email=f"p{i}@company{i}.example",
                       Country=country, State=state, OwnerId=inbound, Status="New", CreatedDate=stamp,
                       LastModifiedDate=stamp, SystemModstamp=stamp)
        changed = tick(T0 + timedelta(minutes=5))
        after = tick(T0 + timedelta(minutes=10))
        quiet = tick(T0 + timedelta(minutes=20)) if n == 0 else None
        for name in env:
            os.environ.pop(name, None)
        del accounts
        return {"changed": changed, "after": after, "quiet": quiet}


def kinds(by_kind: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1_000, 10_000])
    parser.add_argument("--rules", type=Path, default=ROOT / "routing_rules")
    args = parser.parse_args()
    print(f"{'changed owners':>15} | {'pushed':>6} | {'API calls':>9} | {'seconds':>7} | calls by kind")
    print(f"{'-' * 15}-+-{'-' * 6}-+-{'-' * 9}-+-{'-' * 7}-+-{'-' * 60}")
    notes = []
    for n in [0, *args.sizes]:
        result = run(n, args.rules)
        if n == 0:
            q = result["quiet"]
            print(f"{'nothing changed':>15} | {q['pushed']:>6} | {q['calls']:>9} | {q['seconds']:>7.1f} | "
                  f"{kinds(q['by_kind'])}")
            continue
        c = result["changed"]
        print(f"{n:>15,} | {c['pushed']:>6,} | {c['calls']:>9} | {c['seconds']:>7.1f} | {kinds(c['by_kind'])}")
        a = result["after"]
        notes.append(f"  the tick after {n:,}: {a['calls']} calls ({kinds(a['by_kind'])}), pushed {a['pushed']}")
    print("\nThe tick after a push re-reads the leads it wrote (their SystemModstamp moved; the five-minute")
    print("overlap is anchored at the watermark) and finds no new versions:")
    print("\n".join(notes))
    print("\nLogins are not API calls and are not counted (one per tick, or none with a session id).")
    print("Seconds are wall time of the whole tick on this machine (routing included): noisy, not a target.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

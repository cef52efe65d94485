"""The push alone: N pending owner changes from the ledger to the local CRM (500, 5,000, 20,000 leads).

Issue 18 measured the push as quadratic (a set of the batch's lead ids rebuilt once per
lead: 500 leads 0.08 s, 5,000 leads 8.9 s, 20,000 leads 188 s). This builds a local CRM
with N leads in the intake queue and a warehouse whose ledger holds one pending owner
change per lead, then times :func:`pipelines.ledger.push.push` (reconciliation, marking
in flight, the CRM write, recording the answers) and checks every lead got its owner.
A second push of the same ledger must find nothing due. Run from the project root:

    .venv/bin/python benchmarks/bench_push.py [--sizes 500 5000 20000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

NOW = datetime(2026, 11, 20, 15, 0)


def run(n: int, rules: Path) -> dict:
    import pandas as pd

    from tests.crm_builder import CrmBuilder
    from pipelines.crm.fields import load_field_mapping
    from pipelines.crm.local import LocalCrm
    from pipelines.crm.local_schema import make_id, sf_datetime
    from pipelines.ledger.push import push
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        builder = CrmBuilder(tmp / "crm.sqlite", NOW - timedelta(days=1), rules_dir=rules)
        inbound = builder.queue_ids["Inbound_Leads"]
        reps = [r[0] for r in builder.con.execute("SELECT Id FROM User WHERE IsActive = 1 AND Sales_Role__c = 'SDR'")]
        stamp = sf_datetime(NOW - timedelta(hours=1))
        leads = [make_id("Lead", i + 1) for i in range(n)]
        builder.con.executemany(
            "INSERT INTO Lead (Id, LastName, Company, OwnerId, CreatedDate, LastModifiedDate, SystemModstamp) "
            "VALUES (?, 'Doe', ?, ?, ?, ?, ?)",
            [(lead, f"Company {i}", inbound, stamp, stamp, stamp) for i, lead in enumerate(leads)])
        builder.con.commit()
        builder.close()

        targets = [reps[i % len(reps)] for i in range(n)]
        decision_ids = [f"{i:032x}" for i in range(n)]
        with db.connect(tmp / "warehouse.duckdb") as con:
            db.migrate(con)
            db.insert(con, "routing_decision", pd.DataFrame({
                "decision_id": decision_ids, "lead_id": leads, "entry": "new", "step": "bench", "action": "pool",
                "owner_id": targets, "reason": "bench: round robin", "run_id": "bench", "created_at": NOW}))
            db.insert(con, "ledger", pd.DataFrame({
                "decision_id": decision_ids, "kind": "owner", "lead_id": leads, "previous_owner_id": inbound,
                "target_owner_id": targets, "status": "pending", "attempts": 0, "run_id": "bench",
                "last_run_id": "bench", "created_at": NOW, "updated_at": NOW}))
            crm = LocalCrm(tmp / "crm.sqlite", clock=lambda: NOW)
            mapping = load_field_mapping(rules / "fields.yaml")
            started = time.perf_counter()
            cpu = time.process_time()
            result = push(con, crm, mapping, RunInfo("bench-push", NOW))
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            again = push(con, crm, mapping, RunInfo("bench-again", NOW + timedelta(minutes=5)))
        with sqlite3.connect(tmp / "crm.sqlite") as c:
            owners = dict(c.execute("SELECT Id, OwnerId FROM Lead").fetchall())
        wrong = sum(owners[lead] != target for lead, target in zip(leads, targets))
        return {"leads": n, "seconds": seconds, "cpu": cpu, "pushed": result.counts.get("pushed", 0),
                "wrong_owner": wrong, "second_push_due": again.counts.get("due", 0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 20000])
    parser.add_argument("--rules", type=Path, default=ROOT / "routing_rules")
    args = parser.parse_args()
    print(f"{'leads':>8} {'wall s':>8} {'cpu s':>8} {'pushed':>8} {'wrong':>6} {'2nd due':>8}")
    bad = 0
    for n in args.sizes:
        r = run(n, args.rules)
        print(f"{r['leads']:>8,} {r['seconds']:>8.2f} {r['cpu']:>8.2f} {r['pushed']:>8,} {r['wrong_owner']:>6} "
              f"{r['second_push_due']:>8}", flush=True)
        bad += r["wrong_owner"] + r["second_push_due"] + (r["pushed"] != n)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

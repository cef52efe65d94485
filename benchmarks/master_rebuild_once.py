"""One full account-master rebuild on a prepared benchmark warehouse, scored against its truth (a
child process of ``bench_vs_splink.py``, so its CPU and memory are its own). Prints one JSON line."""

import json
import resource
import shutil
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.matching.evaluate import pair_scores  # noqa: E402
from pipelines.matching.master import build_master  # noqa: E402
from pipelines.matching.settings import load_matching_settings  # noqa: E402
from pipelines.stage import RunInfo  # noqa: E402
from pipelines.warehouse import db  # noqa: E402


def main() -> None:
    cache = Path(sys.argv[1])
    work = cache / "master-once.duckdb"
    shutil.copy(cache / "prepared.duckdb", work)
    settings = load_matching_settings(ROOT / "routing_rules" / "matching.yaml")
    with db.connect(work) as con:
        build_master(con, settings, RunInfo("bench", datetime(2026, 11, 20, 15)))
        master = con.execute("SELECT account_id, master_id FROM account_master").df()
    import pandas as pd

    truth = pd.read_csv(cache / "truth" / "accounts.csv", dtype=str, keep_default_na=False)
    m = truth.merge(master, on="account_id")
    entity = m["company_id"].where(m["kind"] != "business_unit", m["account_id"])
    s = pair_scores(entity, m["master_id"])
    work.unlink()
    print(json.dumps({"precision": s.precision, "recall": s.recall, "f1": s.f1,
                      "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


if __name__ == "__main__":
    main()

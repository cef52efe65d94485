"""Master: account + account_enriched -> account_master.

Rebuilt when any account changed since the last build. Today every CRM account is
its own master entity; duplicate clustering and survivorship replace that in the
matching engine (issue 4) without changing this table's contract.
"""

from __future__ import annotations

import duckdb

from pipelines.matching.hierarchy import build_hierarchy
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import scalar


def build_master(con: duckdb.DuckDBPyConnection, run: RunInfo) -> StageResult:
    result = StageResult("master")
    last_build = scalar(con, "SELECT max(_built_at) FROM account_master")
    changed = scalar(
        con, "SELECT count(*) FROM account_enriched WHERE ? IS NULL OR _enriched_at > ?", [last_build, last_build]
    )
    if not changed:
        result.counts = {"accounts_changed": 0, "master_rows": scalar(con, "SELECT count(*) FROM account_master")}
        return result
    accounts = con.execute("SELECT account_id, parent_id FROM account WHERE NOT coalesce(is_deleted, false)").df()
    tree = build_hierarchy(accounts)
    tree["master_id"] = tree["account_id"]
    tree["is_survivor"] = True
    tree["_built_at"] = run.now
    con.register("_tree", tree)
    try:
        con.execute("BEGIN")
        con.execute("DELETE FROM account_master")
        con.execute("INSERT INTO account_master BY NAME SELECT * FROM _tree")
        con.execute("COMMIT")
    finally:
        con.unregister("_tree")
    issues = tree[tree["hierarchy_issue"].notna()]
    result.counts = {
        "accounts_changed": int(changed),
        "master_rows": len(tree),
        "hierarchy_issues": len(issues),
        "max_depth": int(tree["depth"].max()) if len(tree) else 0,
    }
    if len(issues):
        result.warnings.append(f"{len(issues)} account(s) with hierarchy problems, e.g. "
                               f"{issues.iloc[0]['account_id']}: {issues.iloc[0]['hierarchy_issue']}")
    result.preview = issues.head(10) if len(issues) else tree.head(10)
    return result

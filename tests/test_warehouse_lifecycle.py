"""Upgrading, backing up and restoring the warehouse: steps run once, old code refuses new data,
and a backup brings back the ledger and the watermarks together."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.crm.fields import load_field_mapping
from pipelines.defs.metadata import STAGE_CPU_SECONDS, timed
from pipelines.defs.resources import WarehouseResource
from pipelines.warehouse import db
from pipelines.warehouse.backup import MANIFEST, BackupError, backup, restore
from pipelines.warehouse.errors import WarehouseTooNew
from pipelines.warehouse.migrations import code_release, stamped_version
from pipelines.warehouse.schema import SCHEMA_VERSION
from tests.conftest import LUKAS, RULES


def stamps(con) -> list[tuple]:
    return con.execute("SELECT version, code_version FROM schema_version ORDER BY version").fetchall()


def test_a_new_warehouse_is_stamped_with_the_schema_and_the_release(tmp_path):
    with db.connect(tmp_path / "w.duckdb") as con:
        assert db.migrate(con) == []
        assert stamps(con) == [(SCHEMA_VERSION, code_release())]


def test_the_steps_a_warehouse_lacks_run_once_in_order(tmp_path):
    ran = []

    def step(n):
        def apply(con):
            ran.append(n)
            con.execute("CREATE TABLE IF NOT EXISTS upgrade_log (step INTEGER)")
            con.execute("INSERT INTO upgrade_log VALUES (?)", [n])
        return apply

    steps = {2: step(2), 3: step(3)}
    with db.connect(tmp_path / "w.duckdb") as con:
        db.migrate(con, code_version=1, migrations=steps)  # created by release 1
        assert db.migrate(con, code_version=3, migrations=steps) == [2, 3]  # the first connect of release 3
        assert db.migrate(con, code_version=3, migrations=steps) == []  # every later one
        assert ran == [2, 3]
        assert [v for v, _ in stamps(con)] == [1, 2, 3]
        assert con.execute("SELECT step FROM upgrade_log").fetchall() == [(2,), (3,)]


def test_a_failing_step_leaves_the_warehouse_at_the_last_good_version_and_is_retried(tmp_path):
    calls = {"n": 0}

    def flaky(con):
        calls["n"] += 1
        con.execute("CREATE TABLE half_done (x INTEGER)")
        if calls["n"] == 1:
            raise RuntimeError("disk full")

    with db.connect(tmp_path / "w.duckdb") as con:
        db.migrate(con, code_version=1)
        with pytest.raises(RuntimeError, match="disk full"):
            db.migrate(con, code_version=2, migrations={2: flaky})
        assert stamped_version(con) == 1
        assert not db.table_exists(con, "half_done"), "the failed step's changes were rolled back"
        assert db.migrate(con, code_version=2, migrations={2: flaky}) == [2]


def test_an_older_release_refuses_a_warehouse_a_newer_one_upgraded(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with db.connect(path) as con:
        db.migrate(con, code_version=SCHEMA_VERSION + 1)
    with db.connect(path) as con, pytest.raises(WarehouseTooNew) as exc:
        db.migrate(con)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(exc.value)
    assert "restore the backup" in str(exc.value)

    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(path))
    result = CliRunner().invoke(cli, ["warehouse", "upgrade"])
    assert result.exit_code == 2
    assert "newer leadroute" in result.output and "Traceback" not in result.output


def test_a_backup_restores_the_ledger_and_watermarks_together_and_nothing_is_pushed_twice(pipeline, crm, tmp_path):
    first = [crm.lead(company="Globex", email=f"a{i}@globex.de", country="DE") for i in range(3)]
    pipeline.tick()
    saved = tmp_path / "backup"
    manifest = backup(pipeline.warehouse, saved)
    assert manifest.rows["ledger"] == len(pipeline.query("SELECT * FROM ledger"))
    assert json.loads((saved / MANIFEST).read_text())["schema_version"] == SCHEMA_VERSION
    ledger_then = pipeline.query("SELECT * FROM ledger ORDER BY decision_id, kind")
    watermarks_then = pipeline.query("SELECT * FROM watermark ORDER BY object")

    crm.now = pipeline.now + timedelta(minutes=2)
    later = [crm.lead(company="Globex", email=f"b{i}@globex.de", country="DE") for i in range(2)]
    pipeline.tick()
    assert all(crm.owner_of(lead) == LUKAS for lead in first + later)

    with pytest.raises(BackupError, match="--force"):
        restore(saved, pipeline.warehouse)
    restore(saved, pipeline.warehouse, force=True)
    assert list(tmp_path.glob("warehouse.duckdb.before-restore-*")), "the replaced warehouse is kept"
    assert pipeline.query("SELECT * FROM ledger ORDER BY decision_id, kind").equals(ledger_then)
    assert pipeline.query("SELECT * FROM watermark ORDER BY object").equals(watermarks_then)

    # The tick after the restore reads the later leads again; their owner is already in the CRM.
    after = pipeline.tick()
    assert after.metadata["crm_push"]["pushed"] == 0
    assert all(crm.owner_of(lead) == LUKAS for lead in first + later)


def test_a_backup_from_a_newer_release_is_refused(tmp_path):
    with db.connect(tmp_path / "w.duckdb") as con:
        db.migrate(con)
    saved = tmp_path / "backup"
    backup(tmp_path / "w.duckdb", saved)
    manifest = json.loads((saved / MANIFEST).read_text())
    (saved / MANIFEST).write_text(json.dumps({**manifest, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(BackupError, match="newer than this release"):
        restore(saved, tmp_path / "restored.duckdb")


def test_the_commands_back_up_and_restore(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(path))
    runner = CliRunner()
    assert "Created" in runner.invoke(cli, ["warehouse", "upgrade"]).output
    assert "nothing to do" in runner.invoke(cli, ["warehouse", "upgrade"]).output
    result = runner.invoke(cli, ["warehouse", "backup", str(tmp_path / "b")])
    assert result.exit_code == 0 and "Backed up" in result.output, result.output
    result = runner.invoke(cli, ["warehouse", "backup", str(tmp_path / "b")])
    assert result.exit_code == 2 and "not empty" in result.output
    result = runner.invoke(cli, ["warehouse", "restore", str(tmp_path / "b"), "--force"])
    assert result.exit_code == 0 and "Restored" in result.output, result.output


@pytest.mark.parametrize("ddl", [
    'CREATE TABLE t (k VARCHAR, n INTEGER, a VARCHAR, b VARCHAR, PRIMARY KEY (k, n))',
    'CREATE TABLE t (k VARCHAR, n INTEGER, a VARCHAR, b VARCHAR)',
])
def test_an_upsert_replaces_rows_by_key_and_a_column_it_lacks_becomes_empty(tmp_path, ddl):
    import pandas as pd

    with db.connect(tmp_path / "w.duckdb") as con:
        con.execute(ddl)
        db.upsert(con, "t", pd.DataFrame({"k": ["x", "x", "y"], "n": [1, 2, 1], "a": ["old", "old", "old"],
                                          "b": ["kept", "kept", "kept"]}), ["k", "n"])
        db.upsert(con, "t", pd.DataFrame({"k": ["x", "z"], "n": [2, 1], "a": ["new", "new"]}), ["k", "n"])
        rows = con.execute("SELECT k, n, a, b FROM t ORDER BY k, n").fetchall()
    assert rows == [("x", 1, "old", "kept"), ("x", 2, "new", None), ("y", 1, "old", "kept"), ("z", 1, "new", None)]


def test_lists_written_by_few_rows_of_a_batch_are_written_whole(tmp_path):
    """DuckDB types a column of Python lists from a sample of a thousand rows: street words that two accounts
    of five thousand have were typed a list of NULL and the batch failed. Every row is written, words and all."""
    import pandas as pd

    words = [[] for _ in range(5000)]
    words[2803], words[3573] = ["1:main"], ["435:cienega"]
    with db.connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE TABLE t (k BIGINT, words VARCHAR[])")
        db.insert(con, "t", pd.DataFrame({"k": range(5000), "words": words}))
        db.upsert(con, "t", pd.DataFrame({"k": range(5000), "words": words}), ["k"])
        rows = con.execute("SELECT count(*), list_sort(flatten(list(words))) FROM t").fetchall()
        sample = con.execute("SELECT current_setting('pandas_analyze_sample')").fetchall()[0][0]
    assert rows == [(5000, ["1:main", "435:cienega"])]
    assert sample == 1000, "the connection's sample is as it was"


def test_a_failure_inside_a_transaction_is_the_error_raised_not_the_cleanups(tmp_path):
    """An aborted transaction refuses every statement, the clean-up's too: the error the caller sees is
    the statement's own."""
    import duckdb
    import pandas as pd

    words = [[] for _ in range(5000)]
    words[2803] = ["1:main"]
    with db.connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(duckdb.BinderException), db.transaction(con):
            with db.registered(con, "_frame", pd.DataFrame({"k": range(5000), "words": words})) as name:
                con.execute(f"SELECT no_such_column FROM {name}")
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_frame'").fetchall() == [(0,)]


def test_upgrading_to_version_2_flags_each_leads_latest_decision(tmp_path):
    """A warehouse of release 1 has no ``is_current``: step 2 computes it from the decisions it holds."""
    from pipelines.warehouse.migrations import MIGRATIONS

    rows = [("d1", "L1", "2026-11-20 15:00"), ("d2", "L1", "2026-11-20 15:05"), ("d3", "L2", "2026-11-20 15:00"),
            ("d5", "L3", "2026-11-20 15:10"), ("d4", "L3", "2026-11-20 15:10")]  # same tick: the larger id is later
    with db.connect(tmp_path / "w.duckdb") as con:
        db.migrate(con, code_version=1, migrations={})
        con.execute("ALTER TABLE routing_decision DROP COLUMN is_current")  # as release 1 created it
        con.executemany("INSERT INTO routing_decision (decision_id, lead_id, created_at) VALUES (?, ?, ?)", rows)
        assert db.migrate(con, code_version=2, migrations=MIGRATIONS) == [2]
        current = con.execute("SELECT lead_id, decision_id FROM current_decision ORDER BY lead_id").fetchall()
    assert current == [("L1", "d2"), ("L2", "d3"), ("L3", "d5")]


def test_the_warehouse_memory_limit_comes_from_the_environment_and_a_bad_one_is_named(tmp_path, monkeypatch):
    """DuckDB's default limit is 80% of the machine, and it caches what it reads up to that. A deployment that
    has to bound it sets LEADROUTE_WAREHOUSE_MEMORY; a value DuckDB cannot read is named, not a traceback."""
    from pipelines.sourcefile import ConfigError

    def limit() -> str:
        with db.connect(tmp_path / "w.duckdb") as con:
            return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    monkeypatch.setenv("LEADROUTE_WAREHOUSE_MEMORY", "1.5GiB")
    assert limit() == "1.5 GiB"
    monkeypatch.setenv("LEADROUTE_WAREHOUSE_MEMORY", "800MiB")
    assert limit() == "800.0 MiB"
    monkeypatch.setenv("LEADROUTE_WAREHOUSE_MEMORY", "lots")
    with pytest.raises(ConfigError, match=r"LEADROUTE_WAREHOUSE_MEMORY: error: 'lots' is not a memory size"):
        limit()


def _wal_bytes(path) -> int:
    wal = db.wal_path(path)
    return wal.stat().st_size if wal.exists() else 0


def _write(con, rows: int) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS t (k VARCHAR PRIMARY KEY, v VARCHAR)")
    start = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    con.execute("INSERT INTO t SELECT 'k' || i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) FROM range(?, ?) r(i)",
                [start, start + rows])


def test_writes_past_the_threshold_are_checkpointed_and_smaller_ones_wait_for_the_close(tmp_path):
    path = tmp_path / "w.duckdb"
    with db.connect(path) as con:
        _write(con, 10)
        assert 0 < _wal_bytes(path) <= db.STAGE_CHECKPOINT_WAL_BYTES
        assert not db.checkpoint_if_grown(con, path)  # a few rows: left in the log
        assert _wal_bytes(path) > 0
        _write(con, 40_000)  # several MiB, under DuckDB's own 16 MiB mark
        assert _wal_bytes(path) > db.STAGE_CHECKPOINT_WAL_BYTES
        assert db.checkpoint_if_grown(con, path)
        assert _wal_bytes(path) == 0
        con.execute("BEGIN")  # DuckDB refuses a checkpoint while a transaction writes: left for later
        _write(con, 40_000)
        assert not db.checkpoint_if_grown(con, path, threshold=0)
        con.execute("COMMIT")
    with db.connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(80_010,)]


def test_a_stage_pays_for_checkpointing_what_it_wrote(tmp_path):
    """A stage that wrote much checkpoints at its end, inside its own timing (so the UI shows the
    cost where the rows were written), not in whichever later commit crosses DuckDB's own mark."""
    path = tmp_path / "w.duckdb"
    mapping = load_field_mapping(RULES / "fields.yaml")
    seen = {}

    @dg.asset
    @timed
    def writes_much(warehouse: WarehouseResource) -> dg.MaterializeResult:
        con = warehouse.connection(mapping)
        _write(con, 40_000)
        seen["wal before the stage ended"] = _wal_bytes(path)
        return dg.MaterializeResult()

    @dg.asset(deps=[writes_much])
    @timed
    def writes_little(warehouse: WarehouseResource) -> dg.MaterializeResult:
        seen["wal when the next stage began"] = _wal_bytes(path)
        _write(warehouse.connection(mapping), 10)
        seen["wal after a few rows"] = _wal_bytes(path)
        return dg.MaterializeResult()

    result = dg.materialize([writes_much, writes_little], resources={"warehouse": WarehouseResource(path=str(path))})
    assert result.success
    assert seen["wal before the stage ended"] > db.STAGE_CHECKPOINT_WAL_BYTES
    assert seen["wal when the next stage began"] == 0
    assert 0 < seen["wal after a few rows"] <= db.STAGE_CHECKPOINT_WAL_BYTES
    stage = result.asset_materializations_for_node("writes_much")[0]
    assert stage.metadata[STAGE_CPU_SECONDS].value > 0

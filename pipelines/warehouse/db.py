"""Opening the warehouse, creating its tables, and the few write patterns stages share.

DuckDB allows one writing process per file, and while it writes no other process
can open the file, not even read-only. A tick holds the file only while a stage
runs; a CLI command that finds it busy waits a few seconds, then says plainly
what holds it instead of hanging (dagster-duckdb's resource retries silently for
about 100 s).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef
from pipelines.warehouse.errors import WarehouseBusy, WarehouseTooNew  # noqa: F401 - re-exported
from pipelines.warehouse.migrations import Migration, apply_pending, refuse_newer, stamped_version
from pipelines.warehouse.schema import SCHEMA_VERSION, TABLES, VIEWS, Column


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


def holder(exc: Exception) -> str:
    """Who holds the warehouse, from DuckDB's lock error: "process 1234 (leadroute tick)"."""
    m = re.search(r"PID (\d+)", str(exc))
    if not m:
        return "another process"
    pid = m.group(1)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return f"process {pid}"
    words = [os.path.basename(a) if i == 0 or a.endswith("/leadroute") else a for i, a in enumerate(argv)]
    if len(words) > 1 and words[0].startswith("python"):
        words = [os.path.basename(words[1]), *words[2:]] if words[1] != "-m" else words[2:]
    return f"process {pid} ({' '.join(words)[:80]})"


def busy_wait_seconds() -> float:
    """How long a command waits for the warehouse before saying it is busy (LEADROUTE_BUSY_WAIT, default 10 s)."""
    return float(os.environ.get("LEADROUTE_BUSY_WAIT", "10"))


def memory_limit() -> str | None:
    """DuckDB's memory limit for the warehouse (LEADROUTE_WAREHOUSE_MEMORY; unset: DuckDB's own, 80% of the
    machine). DuckDB keeps the blocks it reads cached up to its limit; under a lower one it drops them
    (they are in the file) and spills large joins and sorts to a folder beside the warehouse. A limit
    must still hold the largest result a stage reads into pandas at once: at 1GB, the routing frame of
    a first tick's 239,000 new leads (a million accounts) did not fit, and the tick stopped there."""
    return os.environ.get("LEADROUTE_WAREHOUSE_MEMORY") or None


def _limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    value = memory_limit()
    if value is None:
        return
    try:
        con.execute("SET memory_limit = ?", [value])
    except duckdb.Error as exc:  # connect() closes the connection
        raise ConfigError([ConfigProblem(SourceRef("LEADROUTE_WAREHOUSE_MEMORY"), (
            f"{value!r} is not a memory size DuckDB reads ({str(exc).splitlines()[0]}); write e.g. 1.5GiB or 800MB"))]
        ) from None


# A join whose smaller side holds a batch's keys (a tick's few leads, their accounts) hands them to the
# scan of the large side as an IN filter, up to this many keys. Past DuckDB's default of 50 it handed
# over only their least and greatest, which on random CRM ids filter nothing: the routing frame of 200
# leads read every row of six tables of a million (2.9 s of CPU; 0.9-1.0 s with this, the same frame).
JOIN_FILTER_KEYS = 1000


@contextlib.contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, wait_seconds: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting up to ``wait_seconds`` (default :func:`busy_wait_seconds`) for another
    process to let go.

    Raises:
        WarehouseBusy: with the path and what to do, when the file stays locked.
        FileNotFoundError: when ``read_only`` and the warehouse does not exist yet.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"No warehouse at {path}. Run a tick first (`leadroute tick`, or `make demo`)."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (busy_wait_seconds() if wait_seconds is None else wait_seconds)
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() >= deadline:
                if _is_lock_error(exc):
                    raise WarehouseBusy(
                        f"The warehouse {path} is busy: {holder(exc)} has it open, and DuckDB lets one "
                        f"process open it at a time. Try again when that finishes."
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET dynamic_or_filter_threshold = {JOIN_FILTER_KEYS}")
        _limit_memory(con)
        yield con
    finally:
        con.close()


def wal_path(path: str | Path) -> Path:
    """DuckDB's write-ahead log of the warehouse at ``path``: changes committed and not yet
    checkpointed into the file, which go with it when the file is moved, restored or reset."""
    return Path(f"{path}.wal")


# A stage that wrote more than this to the write-ahead log checkpoints its writes itself (see
# :func:`checkpoint_if_grown`). Below it, the tick's few writes wait for the one checkpoint DuckDB makes
# when the run's connection closes.
STAGE_CHECKPOINT_WAL_BYTES = 1 << 20


def checkpoint_if_grown(con: duckdb.DuckDBPyConnection, path: str | Path,
                        threshold: int = STAGE_CHECKPOINT_WAL_BYTES) -> bool:
    """Checkpoint (write the log's changes into the file) when the warehouse's write-ahead log holds
    more than ``threshold`` bytes; whether it did.

    DuckDB checkpoints by itself when the log passes 16 MiB, inside whatever commit crosses that mark,
    and that checkpoint writes every table changed since the last one. A tick with 10,000 new leads at
    a million accounts paid 2.3-3.1 s of CPU for one in the commit of the enrich stage, for rows extract
    and unify had written (unify's append of 10,000 leads let DuckDB merge row groups emptied by
    earlier upserts: 1.8 s). Each stage that wrote much now pays for its own writes, so the stage
    timings in the UI say where the time went; the tick's checkpoints cost what they did (3.7-3.8 s).
    A checkpoint DuckDB refuses (another transaction open) is left to the next stage or the
    connection's close: it only moves work, nothing depends on it."""
    try:
        size = wal_path(path).stat().st_size
    except OSError:
        return False
    if size <= threshold:
        return False
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error:
        return False
    return True


def migrate(con: duckdb.DuckDBPyConnection, mapped_columns: dict[str, list[Column]] | None = None, *,
            code_version: int = SCHEMA_VERSION, migrations: dict[int, Migration] | None = None) -> list[int]:
    """Bring the warehouse to this release's schema; return the numbered steps applied.

    Refuses (:class:`WarehouseTooNew`) a warehouse a newer release has upgraded. Then creates
    every declared table if missing and adds any declared column it lacks: a column declared in
    ``schema.py`` (or, for mapped tables, by the field mapping) after a warehouse was created is
    added on the next connect. Columns are only ever added, never dropped: a field removed from
    the mapping stays in the warehouse, unused, so history is not lost. Then the numbered
    steps of ``migrations.py`` the warehouse has not had run once each, in order. Last, the
    views (``current_decision``) are created again over the tables as they now are.
    """
    stamped = stamped_version(con)
    refuse_newer(con, code_version)
    mapped_columns = mapped_columns or {}
    # What exists, in one query (a table per DESCRIBE made every stage of every tick pay ~50 queries).
    existing: dict[str, set[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal").fetchall():
        existing.setdefault(table, set()).add(column)
    for table in TABLES.values():
        extra = mapped_columns.get(table.name, [])
        if table.name not in existing:
            con.execute(table.ddl(extra))
        ensure_columns(con, table.name, [*table.columns, *extra], existing.get(table.name))
    applied = apply_pending(con, stamped, code_version, migrations)
    for view in VIEWS.values():  # after the tables and their steps: a view sees every column
        con.execute(view.ddl())
    return applied


def ensure_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[Column],
                   existing: set[str] | None = None) -> None:
    """Add the ``columns`` ``table`` lacks (``existing``: its columns, when the caller knows them)."""
    if existing is None:
        existing = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    for col in columns:
        if col.name not in existing:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{col.name}" {col.type}')


_open_transactions: set[int] = set()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Everything inside commits together or not at all (a crash inside leaves nothing behind).

    Nested uses join the outermost transaction, so a stage can wrap several writers that
    each protect themselves (``upsert``) in one commit.
    """
    if id(con) in _open_transactions:
        yield con
        return
    con.execute("BEGIN")
    _open_transactions.add(id(con))
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        _open_transactions.discard(id(con))


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> Iterator[str]:
    """``df`` as the relation ``name`` while the block runs, its columns typed from every row.

    DuckDB types a column of Python objects from a sample of a thousand rows: a column of lists that were
    empty wherever the sample looked (accounts' street words where two accounts of five thousand have a
    street) was typed a list of NULL, and the rows with words failed ("Failed to cast value"). Where
    DuckDB's own types say so, the frame is read again with every row sampled, once, into a temporary
    table: the raised sample never outlives this function's own two statements."""
    con.register(name, df)
    typed_again = len(df) > 1000 and any(
        '"NULL"' in kind and kind != '"NULL"' for _, kind, *_ in con.execute(f"DESCRIBE {name}").fetchall())
    if typed_again:
        con.unregister(name)
        sample = int(con.execute("SELECT current_setting('pandas_analyze_sample')").fetchall()[0][0])
        con.execute(f"SET pandas_analyze_sample = {len(df)}")
        try:
            con.register(f"{name}_rows", df)
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_rows")
        finally:
            con.execute(f"SET pandas_analyze_sample = {sample}")
            con.unregister(f"{name}_rows")
    def release() -> None:
        if typed_again:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")
        else:
            con.unregister(name)

    with released_after(release):
        yield name


@contextlib.contextmanager
def released_after(release) -> Iterator[None]:
    """Run ``release`` after the block; when the block failed, a failure of ``release`` too (an aborted
    transaction refuses every statement) does not hide the block's own error."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            release()
        raise
    release()


def upsert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, key: Sequence[str]) -> int:
    """Replace rows of ``table`` that share ``key`` with ``df``'s rows, by column name.

    Delete-then-insert in one transaction: idempotent, and DuckDB's fastest upsert
    for batches (no per-row conflict handling).
    """
    if df.empty:
        return 0
    with registered(con, f"_upsert_{table}", df) as name:
        keys = ", ".join(f'"{k}"' for k in key)
        with transaction(con):
            con.execute(f'DELETE FROM "{table}" WHERE ({keys}) IN (SELECT ({keys}) FROM {name})')
            cols = ", ".join(f'"{c}"' for c in df.columns)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM {name}')
    return len(df)


def insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Append ``df`` to ``table`` by column name."""
    if df.empty:
        return 0
    with registered(con, f"_insert_{table}", df) as name:
        cols = ", ".join(f'"{c}"' for c in df.columns)
        con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM {name}')
    return len(df)


def affected(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | None = None) -> int:
    """How many rows an INSERT, UPDATE or DELETE changed: the statement's own count.

    Not ``RETURNING`` and counting the rows: DuckDB 2.0 plans ``UPDATE ... RETURNING`` on a table with
    a primary key as a delete and an insert of every row (duckdb/duckdb#25654), which grows with the
    square of the rows (20,000 rows 1.2 s, 300,000 rows 22 s, against 0.08 s without) and returned
    297,415 rows for an update of 298,856.
    """
    return int(con.execute(sql, params or []).fetchall()[0][0])


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | None = None):
    """The first column of the first row, or None.

    Always fetch whole results: DuckDB 2 keeps a partly fetched result open (``fetchone``)
    and then refuses ``register`` on the same connection.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | None = None) -> tuple | None:
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]))


def count(con: duckdb.DuckDBPyConnection, table: str, where: str = "") -> int:
    sql = f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")
    return int(scalar(con, sql))

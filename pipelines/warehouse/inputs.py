"""A stage's rows kept when their source changed only in columns the stage does not read.

A record changes in the CRM for many reasons a stage does not read: a lead's owner, set by our own
push; its status, as reps work it. Enrichment and matching used to redo every record whose version
was newer than their row (at a million accounts, the tick after the first enriched and matched all
600,000 leads again because their owners had changed). Each such stage stores, with its row, a hash
of the source columns it read (``_inputs``): a row whose hash still holds is marked current
(:func:`keep_current`, one UPDATE) and :func:`pending` leaves it out of the stage's work.

Only duckdb here (and the warehouse's own helpers): the stages ask before loading their libraries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import duckdb

from pipelines.warehouse.db import affected


def inputs_hash(con: duckdb.DuckDBPyConnection, table: str, alias: str, columns: Iterable[str]) -> str:
    """SQL hashing the ``columns`` of ``table`` (as ``alias``) it has, in that order."""
    have = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    return "hash(" + ", ".join(f'{alias}."{c}"' for c in columns if c in have) + ")"


def newer(row: str, key: str, source: str) -> str:
    """SQL: the stage's row (alias ``row``, left-joined on ``key``) is missing, or its source (alias
    ``source``) is a newer version. What :func:`pending` narrows; asked alone first, because most
    ticks no row is newer at all and hashing a million rows to find that out costs a tenth of a second."""
    return f'({row}."{key}" IS NULL OR {source}._modstamp > {row}._modstamp)'


def pending(row: str, key: str, source: str, hashed: str) -> str:
    """SQL: the stage's row (alias ``row``, left-joined on ``key``) is missing, or its source (alias
    ``source``) is newer in a column the stage reads."""
    return (f'({row}."{key}" IS NULL OR ({source}._modstamp > {row}._modstamp '
            f"AND {row}._inputs IS DISTINCT FROM {hashed}))")


def versions(con: duckdb.DuckDBPyConnection, rows: str, key: str, version: str = "_modstamp") -> tuple[int, int]:
    """How many rows ``rows`` (SQL after FROM) holds, and a 64-bit digest of their (``key``, ``version``)
    pairs: the XOR of each pair's hash, so the same rows in any order give the same digest. The pair's
    hash is hashed again: DuckDB combines the hashes of several values by XOR, so the XOR over rows of
    ``hash(key, version)`` would come apart into the keys' and the versions' and miss two rows
    trading versions."""
    found = con.execute(f"SELECT count(*), coalesce(bit_xor(hash(hash({key}, {version}))), 0) FROM {rows}").fetchone()
    return int(found[0]), int(found[1])


def same_versions(con: duckdb.DuckDBPyConnection, source: str, source_key: str, target: str, target_key: str,
                  version: str = "_modstamp") -> bool:
    """Whether the stage's rows (``target``, SQL after FROM) hold exactly the keys of its source rows
    (``source``) at the same versions: then no source row is newer than its row or without one.

    Most ticks that is so for every table a stage reads, and finding it out this way scans each table
    once (0.03-0.05 s of CPU for a million rows here) instead of joining the two (0.16 s): at a million
    accounts the joins were a second of every quiet tick. Equal digests of different rows would take a
    collision of 64-bit hashes; a difference of any kind (a row added, removed, or at another version,
    a late record stamped before the others) leaves the digests apart, and the stage joins as before.

    It holds for what it is asked of: on each side one row per key, none NULL (the tables' primary
    keys), and keys and versions of the same types (a TIMESTAMP and a TIMESTAMPTZ hash alike but compare
    through the session's time zone). Rows repeated on one side are not the same rows: the digests of
    two copies cancel, so the count must agree too."""
    return versions(con, source, source_key, version) == versions(con, target, target_key, version)


def newer_keys(con: duckdb.DuckDBPyConnection, name: str, sources: str, target: str, key: str) -> str | None:
    """Keep in the temp table ``name`` (one column, ``k``) the keys of the source rows newer than their
    row in ``target`` or without one (:func:`newer`); return ``name``, or None when there are none.

    ``sources`` as for :func:`keep_current`. A stage asks what to keep and what to redo of these rows
    only (:func:`among`): at a million records each of those questions was a join of the two whole
    tables of its own, 0.2-0.5 s of CPU, several times a tick, to find the few rows a tick brings.
    When the two hold the same versions (:func:`same_versions`) there is nothing to join."""
    if same_versions(con, f'(SELECT s."{key}", s._modstamp FROM {sources}) s', f'"{key}"', f'"{target}"', f'"{key}"'):
        return None
    return key_table(con, name, f"""SELECT s."{key}" AS k FROM {sources}
        LEFT JOIN "{target}" _row ON _row."{key}" = s."{key}" WHERE {newer("_row", key, "s")}""")


def key_table(con: duckdb.DuckDBPyConnection, name: str, query: str) -> str | None:
    """Keep the keys ``query`` selects (as ``k``) in the temp table ``name``; return ``name``, or None
    (and no table) when there are none. Read it with :func:`among`, drop it with :func:`forget`."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
    if con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]:
        return name
    forget(con, name)
    return None


def chunks(con: duckdb.DuckDBPyConnection, keys: str | None, size: int) -> Iterator[str | None]:
    """A :func:`key_table` in parts of at most ``size`` keys, each a temp table read with :func:`among`
    (the table itself when it holds no more; None once for None). A stage that loads its rows into
    pandas works a part at a time, so a first tick's memory is a part's, not a million rows'."""
    total = con.execute(f"SELECT count(*) FROM {keys}").fetchall()[0][0] if keys else 0
    if total <= size:
        yield keys
        return
    numbered, part = f"{keys}_numbered", f"{keys}_part"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {numbered} AS SELECT k, row_number() OVER () - 1 AS i FROM {keys}")
    try:
        for start in range(0, total, size):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {part} AS SELECT k FROM {numbered} "
                        f"WHERE i >= {start} AND i < {start + size}")
            yield part
    finally:
        forget(con, numbered, part)


def among(alias: str, key: str, keys: str | None) -> str:
    """SQL: the row (``alias``) is one of the keys a :func:`newer_keys` table holds (any row without one)."""
    return f'{alias}."{key}" IN (SELECT k FROM {keys})' if keys else "TRUE"


def keyed(table: str, key: str, of: str) -> str:
    """SQL: the rows of ``table`` whose ``key`` is among the keys ``of`` selects, filtered by the key
    alone; join a batch to a big table through it, and ask the rows anything else afterwards.

    Joined directly, a big table is read and hashed whole (a LEFT JOIN builds its hash table from its
    right side: ten leads against a million-row table cost 6 s a tick at a million accounts). Filtered
    by the key alone, DuckDB scans it with the batch's keys as a semi-join filter, and looks a few keys
    up in a primary-key index; with another filter beside the key, on any column, it reads every row
    (duckdb/duckdb#24111). The rows found are the same."""
    return f'SELECT * FROM "{table}" WHERE "{key}" IN ({of})'


def rows_of(con: duckdb.DuckDBPyConnection, name: str, table: str, key: str, keys: str) -> str:
    """Keep the rows of ``table`` whose ``key`` a key table lists in the temp table ``name`` (:func:`keyed`);
    return ``name`` (drop it with :func:`forget`). Counting the fill rates of the 2 leads a tick unified
    at a million accounts, with a flag filter beside the key, read all 455,000 rows of 33 columns
    (0.12-0.17 s; 0.015 s by key alone)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {keyed(table, key, f'SELECT k FROM {keys}')}")
    return name


def forget(con: duckdb.DuckDBPyConnection, *keys: str | None) -> None:
    """Drop the :func:`newer_keys` tables once the stage is done with them."""
    for name in keys:
        if name:
            con.execute(f"DROP TABLE IF EXISTS {name}")


def keep_current(con: duckdb.DuckDBPyConnection, target: str, key: str, sources: str, hashed: str,
                 keys: str | None = None) -> int:
    """Mark current the rows of ``target`` whose source is newer only in columns not read; how many.

    ``sources`` is SQL for the source rows, aliased so that ``s._modstamp`` is their version and
    ``hashed`` (SQL over them) the hash of what the stage reads, e.g.
    ``"lead_enriched s JOIN lead l USING (lead_id)"``. ``keys``: only those rows (:func:`newer_keys`)."""
    # Only the source rows newer than the stage's row are hashed, and the UPDATE runs only when there
    # are some: hashing every row of a million-row table inside the UPDATE, and probing the stage's
    # table with none, cost 0.3-0.4 s of CPU per table every tick. With ``keys``, both sides of the join
    # are given them: filtered on one side only, the join still read and hashed every row of the stage's
    # table (2 leads at a million accounts: 0.12-0.2 s of CPU; 0.08 s this way, the same rows).
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _keep_current AS
        SELECT s."{key}" AS k, s._modstamp, {hashed} AS h FROM {sources}
        JOIN "{target}" _row ON _row."{key}" = s."{key}" WHERE s._modstamp > _row._modstamp
            AND {among("s", key, keys)} AND {among("_row", key, keys)}""")
    try:
        if not con.execute("SELECT count(*) FROM _keep_current").fetchall()[0][0]:
            return 0
        return affected(con, f"""
            UPDATE "{target}" SET _modstamp = c._modstamp FROM _keep_current c
            WHERE "{target}"."{key}" = c.k AND "{target}"._inputs = c.h""")
    finally:
        con.execute("DROP TABLE IF EXISTS _keep_current")

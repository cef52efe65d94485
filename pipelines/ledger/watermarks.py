"""Per-object extraction watermarks that move only after the push is reconciled.

A tick extracts records changed since ``value - overlap`` and records how far it
got as ``pending_value``. Only when the push stage has recorded a result for every
write of that tick does ``pending_value`` become ``value``. A tick that dies in
between simply re-extracts the same window next time; extraction de-duplicates on
(Id, SystemModstamp) and routing skips leads already decided, so nothing is done
twice and nothing is skipped.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from pipelines.warehouse.db import first_row


def current(con: duckdb.DuckDBPyConnection, obj: str) -> datetime | None:
    row = first_row(con, "SELECT value FROM watermark WHERE object = ?", [obj])
    return row[0] if row else None


def set_pending(con: duckdb.DuckDBPyConnection, obj: str, value: datetime | None, run_id: str, now: datetime) -> None:
    con.execute(
        """
        INSERT INTO watermark (object, value, pending_value, pending_run_id, updated_at)
        VALUES (?, NULL, ?, ?, ?)
        ON CONFLICT (object) DO UPDATE SET pending_value = excluded.pending_value,
            pending_run_id = excluded.pending_run_id, updated_at = excluded.updated_at
        """,
        [obj, value, run_id, now],
    )


def commit(con: duckdb.DuckDBPyConnection, run_ids: str | tuple[str, ...], now: datetime) -> list[str]:
    """Advance every watermark this run (or a run it re-executes) extracted; returns the objects advanced.

    A retry from the failed step does not extract again: its push commits what its parent's
    extract left pending (``run_ids`` is the run's lineage, see ``RunInfo.lineage``).

    Never past ``now``: a watermark in the future would skip every record changed until then
    (extraction caps what it proposes; this also mends a warehouse an older version left ahead).
    """
    rows = con.execute(
        """
        UPDATE watermark SET value = least(greatest(coalesce(value, pending_value), pending_value), ?::TIMESTAMP),
            pending_value = NULL, pending_run_id = NULL, updated_at = ?
        WHERE list_contains(?::VARCHAR[], pending_run_id) AND pending_value IS NOT NULL
        RETURNING object
        """,
        [now, now, [run_ids] if isinstance(run_ids, str) else list(run_ids)],
    ).fetchall()
    return sorted(r[0] for r in rows)


def table(con: duckdb.DuckDBPyConnection):
    return con.execute("SELECT * FROM watermark ORDER BY object").df()

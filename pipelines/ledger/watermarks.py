"""Per-object extraction watermarks that move only after the push is reconciled.

A tick extracts records changed since ``value - overlap`` and records how far it
got as ``pending_value``, and when it read as ``pending_read_at``. Only when the push
stage has recorded a result for every write of that tick do they become ``value`` and
``read_at``. A tick that dies in between simply re-extracts the same window next time;
extraction de-duplicates on (Id, SystemModstamp) and routing skips leads already decided,
so nothing is done twice and nothing is skipped.

The overlap is there for records that show up late: committed after a read though stamped
before it, or stamped by a clock behind ours. Once a reconciled read happened more than the
overlap after the watermark, every record stamped up to the watermark was visible to it, so
the next read starts just past the watermark (:func:`window`). Before, a CRM gone quiet was read
again every tick: the last five minutes of changes before the watermark (after a burst of
pushes, every owner written: 12 s of a quiet tick at a million accounts).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from pipelines.warehouse.db import first_row


def window(con: duckdb.DuckDBPyConnection, obj: str, overlap: timedelta) -> tuple[datetime | None, datetime | None]:
    """``obj``'s watermark and where its next extract starts (None, None: a full load). The start is
    ``overlap`` before the watermark, or a millisecond past it (SystemModstamp's unit) when the last
    reconciled read came more than ``overlap`` after it. (A SOQL literal holds whole seconds, so
    Salesforce is asked from the watermark's second: a few records read again at most.)"""
    row = first_row(con, "SELECT value, read_at FROM watermark WHERE object = ?", [obj])
    if not row or row[0] is None:
        return None, None
    value, read_at = row
    if read_at is not None and read_at - overlap > value:
        return value, value + timedelta(milliseconds=1)
    return value, value - overlap


def set_pending(con: duckdb.DuckDBPyConnection, obj: str, value: datetime | None, run_id: str, now: datetime) -> None:
    """What this tick read up to (``value``) and when (``now``), reconciled by :func:`commit`."""
    con.execute(
        """
        INSERT INTO watermark (object, value, pending_value, pending_run_id, updated_at, pending_read_at)
        VALUES (?, NULL, ?, ?, ?, ?)
        ON CONFLICT (object) DO UPDATE SET pending_value = excluded.pending_value,
            pending_run_id = excluded.pending_run_id, updated_at = excluded.updated_at,
            pending_read_at = excluded.pending_read_at
        """,
        [obj, value, run_id, now, now],
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
            read_at = least(greatest(coalesce(read_at, pending_read_at), pending_read_at), ?::TIMESTAMP),
            pending_value = NULL, pending_run_id = NULL, pending_read_at = NULL, updated_at = ?
        WHERE list_contains(?::VARCHAR[], pending_run_id) AND pending_value IS NOT NULL
        RETURNING object
        """,
        [now, now, now, [run_ids] if isinstance(run_ids, str) else list(run_ids)],
    ).fetchall()
    return sorted(r[0] for r in rows)


def table(con: duckdb.DuckDBPyConnection):
    return con.execute("SELECT * FROM watermark ORDER BY object").df()

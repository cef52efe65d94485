"""Writing the demo into the local CRM's SQLite file and the ground truth into CSV files.

Why its own module: the generator and ``trickle`` write the same tables the same
way: columns checked against the real schema (a misspelt column fails loudly
instead of silently vanishing), values converted to what sqlite3 binds (None, int,
float, str), and rows inserted in bounded batches so memory stays flat.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.crm.local_schema import create_schema

BATCH_ROWS = 50_000


def connect_for_build(path: Path) -> sqlite3.Connection:
    """A connection tuned for a one-off bulk build (no journal, no fsync) with the schema created."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    create_schema(con)
    return con


def finish_build(con: sqlite3.Connection) -> None:
    """Back to SQLite's safe defaults before the file is handed to the pipeline."""
    con.commit()
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA synchronous=FULL")
    con.commit()
    con.close()


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


def insert_frame(con: sqlite3.Connection, table: str, frame: pd.DataFrame) -> int:
    """Insert a DataFrame whose columns are a subset of the table's; returns the row count."""
    if frame is None or frame.empty:
        return 0
    columns = table_columns(con, table)
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise ValueError(f"Demo data for {table} has column(s) {unknown} that the local CRM schema lacks; "
                         f"add them to pipelines/crm/local_schema.py or drop them from the generator.")
    cols = [c for c in columns if c in frame.columns]
    sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'
    for start in range(0, len(frame), BATCH_ROWS):
        part = frame.iloc[start:start + BATCH_ROWS][cols]
        con.executemany(sql, _records(part))
    return len(frame)


def _records(frame: pd.DataFrame):
    """Rows as tuples of plain Python values (NaN, NA and NaT become None)."""
    converted = {}
    for col in frame.columns:
        series = frame[col]
        values = series.astype(object).to_numpy()
        mask = pd.isna(series).to_numpy()
        if mask.any():
            values = values.copy()
            values[mask] = None
        converted[col] = values
    return zip(*converted.values())


def max_number(con: sqlite3.Connection, table: str) -> int:
    """Highest numeric part of the table's Ids (0 when empty): where new Ids continue."""
    row = con.execute(f'SELECT MAX(CAST(SUBSTR(Id, 4) AS INTEGER)) FROM "{table}"').fetchone()
    return int(row[0] or 0)


def write_csv(frame: pd.DataFrame, path: Path, *, append: bool = False) -> None:
    frame.to_csv(path, mode="a" if append else "w", header=not append, index=False)


def read_truth(path: Path, usecols=None) -> pd.DataFrame:
    """Ground-truth CSV as strings (ids keep their leading zeros; empty stays empty)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, usecols=usecols)


def as_int(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").fillna(0).astype(int).to_numpy()

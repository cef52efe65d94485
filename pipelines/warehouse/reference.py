"""Reference tables built from Python packages (US ZIP codes, country spellings), kept in the warehouse.

Building them costs most of a second each (42,000 ZIP codes turned into a frame; every spelling
of every country in a dozen languages), and a tick with a handful of new leads would pay that in
every process. So the first stage that needs a table builds it once and stores it in the warehouse
(``reference_<name>``, listed in ``reference_cache`` with its version); later ticks read it back in
milliseconds. The version is the builder's module source and the versions of the packages the data
comes from: a package upgrade or an edit to the builder makes a new version, and the table is built
again on first use. Nothing else changes: the table read back is the table the builder returns.

Only a stage with rows to work on asks (:meth:`Reference.prime`); a quiet tick never touches them.
Without a warehouse (pure functions, tests, a read-only connection) the table is built in the process.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from datetime import datetime, timezone

import duckdb
import pandas as pd

from pipelines.warehouse.schema import TABLES

REGISTRY = "reference_cache"
_POS = "_reference_pos"  # the builder's row order, kept


def source_version(module: str, packages: tuple[str, ...] = ()) -> str:
    """A short hash of a module's source and the installed versions of ``packages``."""
    digest = hashlib.sha1()
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin:
        with open(spec.origin, "rb") as f:
            digest.update(f.read())
    for name in packages:
        try:
            digest.update(f"{name}=={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name}==?".encode())
    return digest.hexdigest()[:16]


class Reference:
    """One reference table: built by ``build`` once per version, memoised in the process."""

    def __init__(self, name: str, build: Callable[[], pd.DataFrame], module: str, packages: tuple[str, ...] = ()):
        self.name, self.build, self.module, self.packages = name, build, module, packages
        self._frame: pd.DataFrame | None = None

    @property
    def table(self) -> str:
        return f"reference_{self.name}"

    def version(self) -> str:
        return source_version(self.module, self.packages)

    def frame(self) -> pd.DataFrame:
        """The table (from the warehouse if :meth:`prime` found it there, else built now)."""
        if self._frame is None:
            self._frame = self.build()
        return self._frame

    def prime(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the table from the warehouse, or build it and store it there for the next processes."""
        if self._frame is not None:
            return
        version = self.version()
        stored = self._read(con, version)
        if stored is not None:
            self._frame = stored
            return
        self._frame = self.build()
        self._store(con, version, self._frame)

    def _read(self, con: duckdb.DuckDBPyConnection, version: str) -> pd.DataFrame | None:
        try:
            row = con.execute(f'SELECT version FROM "{REGISTRY}" WHERE name = ?', [self.name]).fetchone()
        except duckdb.CatalogException:  # no registry yet
            return None
        if row is None or row[0] != version:
            return None
        try:
            frame = con.execute(f'SELECT * EXCLUDE ({_POS}) FROM "{self.table}" ORDER BY {_POS}').df()
        except duckdb.CatalogException:
            return None
        # DuckDB hands NULL text back as None already; numbers keep NaN for NULL, as the builder's frame does.
        return frame

    def _store(self, con: duckdb.DuckDBPyConnection, version: str, frame: pd.DataFrame) -> None:
        staged = frame.assign(**{_POS: range(len(frame))})
        try:
            con.execute(TABLES[REGISTRY].ddl())  # declared in schema.py; a connection not migrated yet gets it here
            con.register("_reference_frame", staged)
            try:
                con.execute(f'CREATE OR REPLACE TABLE "{self.table}" AS SELECT * FROM _reference_frame')
            finally:
                con.unregister("_reference_frame")
            con.execute(f'INSERT OR REPLACE INTO "{REGISTRY}" VALUES (?, ?, ?, ?)',
                        [self.name, version, len(frame), datetime.now(timezone.utc).replace(tzinfo=None)])
        except (duckdb.InvalidInputException, duckdb.PermissionException):  # read-only: built here, not kept
            pass

"""Warehouse upgrades: numbered migrations applied once, in order, and a version stamp.

``schema.py`` declares the current tables; :func:`pipelines.warehouse.db.migrate` creates what is
missing and adds declared columns, which is all most releases need. A change that must *rewrite*
data (split a column, backfill a new one from the ledger) is a numbered step here. The
``schema_version`` table stamps every version applied, with the leadroute release that applied it:

- on a warehouse older than the code, the missing steps run once, in order, each in its own
  transaction, before any stage of the first tick touches the data (``leadroute warehouse
  upgrade`` runs them ahead of a deployment; the first connection of a run otherwise does);
- on a warehouse *newer* than the code (a rollback of the code after an upgrade), nothing runs:
  an older release could misread tables it does not know, so it refuses with what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

import duckdb

from pipelines.warehouse.errors import WarehouseTooNew

Migration = Callable[[duckdb.DuckDBPyConnection], None]

# version -> the step that brings a warehouse from version - 1 to it. Version 1 is the baseline
# schema.py creates; add steps as 2, 3, ... and raise schema.SCHEMA_VERSION with them.
def _current_decisions(con: duckdb.DuckDBPyConnection) -> None:
    """2: flag each lead's latest decision (``routing_decision.is_current``, added empty by the schema)."""
    from pipelines.warehouse.schema import LATEST_DECISION

    con.execute(f"UPDATE routing_decision SET is_current = decision_id IN ({LATEST_DECISION})")


MIGRATIONS: dict[int, Migration] = {2: _current_decisions}


def code_release() -> str:
    try:
        return version("leadroute")
    except PackageNotFoundError:
        return "unknown"


def stamped_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The newest schema version applied to this warehouse, or None for a new (empty) one."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
                         ).fetchall()[0][0]
    if not exists:
        return None
    return con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]


def refuse_newer(con: duckdb.DuckDBPyConnection, code_version: int, where: str = "the warehouse") -> None:
    stamped = stamped_version(con)
    if stamped is not None and stamped > code_version:
        raise WarehouseTooNew(
            f"{where} is at schema version {stamped}, written by a newer leadroute; this release "
            f"({code_release()}) knows version {code_version}. Deploy the newer release again, or restore "
            f"the backup taken before the upgrade (`leadroute warehouse restore`).")


def stamp(con: duckdb.DuckDBPyConnection, version_: int) -> None:
    con.execute("INSERT INTO schema_version (version, applied_at, code_version) "
                "SELECT ?, now()::TIMESTAMP, ? WHERE NOT EXISTS (SELECT 1 FROM schema_version WHERE version = ?)",
                [version_, code_release(), version_])


def apply_pending(con: duckdb.DuckDBPyConnection, stamped: int | None, code_version: int,
                  migrations: dict[int, Migration] | None = None) -> list[int]:
    """Run the steps after ``stamped`` up to ``code_version``, each with its stamp in one transaction.

    A new warehouse (``stamped`` None) is created at the current schema: it needs no step.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    if stamped is None:
        stamp(con, code_version)
        return []
    applied = []
    for step in range(stamped + 1, code_version + 1):
        con.execute("BEGIN")
        try:
            if step in migrations:
                migrations[step](con)
            stamp(con, step)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(step)
    return applied

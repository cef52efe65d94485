"""Back up and restore the warehouse, ledger included, consistently.

The ledger, the watermarks and the pool state live in the warehouse file, so one snapshot of
that file holds them consistently. DuckDB lets no other process open a file while one writes
it, so the backup opens the warehouse like any reader: it waits for a running tick to finish (or
says it is busy), and while it exports no tick can start writing. The snapshot is DuckDB's
``EXPORT DATABASE`` (schema SQL plus one Parquet file per table), readable by later DuckDB
releases, with a manifest of the schema version and row counts that a restore checks.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.warehouse import db
from pipelines.warehouse.migrations import code_release, refuse_newer, stamped_version
from pipelines.warehouse.schema import SCHEMA_VERSION

MANIFEST = "leadroute-backup.json"


class BackupError(RuntimeError):
    """The backup or restore cannot go ahead: the message says why and what to do."""


@dataclass
class Manifest:
    schema_version: int
    code_version: str
    created_at: str
    source: str
    rows: dict[str, int]


def _row_counts(con) -> dict[str, int]:
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
    return {t: db.count(con, t) for t in tables}


def backup(warehouse: Path, target: Path, *, wait_seconds: float = 60) -> Manifest:
    """Export ``warehouse`` into the new folder ``target``."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; back up into a new folder.")
    with db.connect(warehouse, read_only=True, wait_seconds=wait_seconds) as con:
        stamped = stamped_version(con)
        target.mkdir(parents=True, exist_ok=True)
        con.execute(f"EXPORT DATABASE '{_sql_path(target)}' (FORMAT parquet)")
        manifest = Manifest(stamped or SCHEMA_VERSION, code_release(), datetime.now(UTC).isoformat(timespec="seconds"),
                            str(warehouse), _row_counts(con))
    (target / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def read_manifest(source: Path) -> Manifest:
    path = source / MANIFEST
    if not path.exists():
        raise BackupError(f"{source} is not a leadroute backup (no {MANIFEST}).")
    return Manifest(**json.loads(path.read_text()))


def restore(source: Path, warehouse: Path, *, force: bool = False) -> Manifest:
    """Replace ``warehouse`` with the backup in ``source``; the old file is kept beside it.

    Stop the schedule (or the deployment) first: ticks after the restore start from the
    backup's watermarks and ledger, so leads routed after the backup are routed again (their
    owners are read back from the CRM: pushing an owner the lead already has changes nothing).
    """
    manifest = read_manifest(source)
    if manifest.schema_version > SCHEMA_VERSION:
        raise BackupError(f"The backup is at schema version {manifest.schema_version}, newer than this release "
                          f"({code_release()}, version {SCHEMA_VERSION}); restore it with that release or newer.")
    if warehouse.exists() and not force:
        raise BackupError(f"{warehouse} exists; pass --force to replace it (it is kept as a .before-restore copy).")
    staging = warehouse.with_name(warehouse.name + ".restoring")
    _remove(staging)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with db.connect(staging) as con:
        con.execute(f"IMPORT DATABASE '{_sql_path(source)}'")
        refuse_newer(con, SCHEMA_VERSION, "the backup")
        rows = _row_counts(con)
    if rows != manifest.rows:
        _remove(staging)
        diff = {t: (manifest.rows.get(t), rows.get(t)) for t in set(rows) | set(manifest.rows)
                if rows.get(t) != manifest.rows.get(t)}
        raise BackupError(f"The restored copy does not match the backup's manifest (table: expected, found): {diff}")
    if warehouse.exists():
        # Hold the file while it is moved aside, so a tick cannot be writing it.
        with db.connect(warehouse):
            pass
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for path in (warehouse, db.wal_path(warehouse)):
            if path.exists():
                path.rename(path.with_name(path.name.replace(warehouse.name, f"{warehouse.name}.before-restore-{stamp}")))
    staging.rename(warehouse)
    _remove(db.wal_path(staging))
    return manifest


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")

"""``leadroute warehouse``: upgrade, back up and restore the warehouse (ledger included)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import Failure, friendly, settings


@click.group()
def warehouse() -> None:
    """Upgrade, back up and restore the warehouse (LEADROUTE_WAREHOUSE), ledger included."""


@warehouse.command()
@friendly
def upgrade() -> None:
    """Apply this release's schema changes once, before the first tick (deployments run it first).

    Refuses a warehouse a newer release has upgraded.
    """
    from pipelines.crm.fields import load_field_mapping
    from pipelines.warehouse import db
    from pipelines.warehouse.migrations import stamped_version

    s = settings()
    mapping = load_field_mapping(s.fields_file)
    with db.connect(s.warehouse, wait_seconds=60) as con:
        before = stamped_version(con)
        applied = db.migrate(con, mapping.mapped_columns())
        now = stamped_version(con)
    if before is None:
        click.echo(f"Created {s.warehouse} at schema version {now}.")
    elif applied:
        click.echo(f"Upgraded {s.warehouse} from schema version {before} to {now} (steps {', '.join(map(str, applied))}).")
    else:
        click.echo(f"{s.warehouse} is at schema version {now}: nothing to do.")


@warehouse.command()
@click.argument("target", type=click.Path(path_type=Path))
@friendly
def backup(target: Path) -> None:
    """Export the warehouse into the new folder TARGET (waits for a running tick to finish)."""
    from pipelines.warehouse.backup import BackupError
    from pipelines.warehouse.backup import backup as run_backup

    s = settings()
    if not s.warehouse.exists():
        raise Failure(f"No warehouse at {s.warehouse}.")
    try:
        manifest = run_backup(s.warehouse, target)
    except BackupError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"Backed up {s.warehouse} (schema version {manifest.schema_version}, "
               f"{sum(manifest.rows.values()):,} rows in {len(manifest.rows)} tables, "
               f"ledger {manifest.rows.get('ledger', 0):,}) to {target}.")


@warehouse.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing warehouse (kept beside it as .before-restore-*).")
@friendly
def restore(source: Path, force: bool) -> None:
    """Replace the warehouse with the backup in SOURCE. Stop the schedule or the deployment first."""
    from pipelines.warehouse.backup import BackupError
    from pipelines.warehouse.backup import restore as run_restore

    s = settings()
    try:
        manifest = run_restore(source, s.warehouse, force=force)
    except BackupError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"Restored {s.warehouse} from {source} (taken {manifest.created_at}, "
               f"ledger {manifest.rows.get('ledger', 0):,} rows).")


COMMANDS = [warehouse]

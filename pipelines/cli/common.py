"""Helpers shared by the commands: settings, friendly errors, validated arguments, tables."""

from __future__ import annotations

import functools
import sys
from datetime import UTC, datetime

import click
import pandas as pd

from pipelines.settings import Settings
from pipelines.sourcefile import ConfigError
from pipelines.warehouse.errors import WarehouseBusy, WarehouseTooNew


class Failure(click.ClickException):
    """An error the user can fix; exit status 2, so 1 stays free for "the check found something"."""

    exit_code = 2


class IsoTime(click.DateTime):
    """A time as ISO 8601 (``2026-11-20``, ``2026-11-20T15:00``, ``2026-11-20T15:00:00+01:00``), as naive UTC.

    A time without a zone is UTC. Validated by click, so ``--now yesterday`` is a usage error
    that names the formats, not a traceback.
    """

    name = "iso-time"
    FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
               "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f%z"]

    def __init__(self) -> None:
        super().__init__(self.FORMATS)

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            try:  # Python's own parser also takes "Z" and "+01:00"
                ts = datetime.fromisoformat(value)
            except ValueError:
                self.fail(f"{value!r} is not a time; use ISO 8601 in UTC, e.g. 2026-11-20T15:00 "
                          f"(or with a zone, 2026-11-20T16:00+01:00)", param, ctx)
        else:
            ts = super().convert(value, param, ctx)
        return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts

    def get_metavar(self, param, ctx=None) -> str:
        return "ISO-TIME"


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def require_warehouse(s: Settings, why: str) -> None:
    """Refuse, in one line, to run a command that needs the warehouse before a tick has made one
    (opening it would create an empty one as a side effect)."""
    if not s.warehouse.exists():
        raise Failure(f"No warehouse at {s.warehouse} yet: {why}. Run a tick first (`leadroute tick`, or `make demo`).")


def friendly(fn):
    """Turn the errors a user can fix into one clear message and exit status 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.secho(f"{len(exc.problems)} problem(s) in the configuration:", fg="red", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
            sys.exit(2)
        except (WarehouseBusy, WarehouseTooNew, FileNotFoundError) as exc:
            click.secho(str(exc), fg="red", err=True)
            sys.exit(2)

    return wrapper


def table(df: pd.DataFrame, max_rows: int = 30) -> str:
    if df.empty:
        return "(none)"
    shown = df.head(max_rows).astype(str)
    text = shown.to_markdown(index=False, tablefmt="simple")
    if len(df) > max_rows:
        text += f"\n... {len(df) - max_rows:,} more"
    return text

"""Helpers shared by the commands: settings, friendly errors, tables."""

from __future__ import annotations

import functools
import sys

import click
import pandas as pd

from pipelines.settings import Settings
from pipelines.sourcefile import ConfigError
from pipelines.warehouse.errors import WarehouseBusy, WarehouseTooNew


class Failure(click.ClickException):
    """An error the user can fix; exit status 2, so 1 stays free for "the check found something"."""

    exit_code = 2


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


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

"""The pools of a rule set by name, with the company days off their members share.

A plain ``dict`` of :class:`pipelines.routing.language.pools.PoolDecl` to the engine, carrying
the days off of ``holidays.csv`` (:mod:`pipelines.routing.roster.holidays`) that every pool's
availability and every SLA clock reads.
"""

from __future__ import annotations

import pandas as pd

from pipelines.routing.language.pools import PoolDecl
from pipelines.routing.roster.holidays import HOLIDAYS_FILE, empty_days_off


class PoolCatalog(dict[str, PoolDecl]):
    """The pools by name (a plain dict to the engine), plus the company days off from ``holidays.csv``."""

    days_off: pd.DataFrame
    days_off_file: str = HOLIDAYS_FILE

    def __init__(self, *args, days_off: pd.DataFrame | None = None, days_off_file: str = HOLIDAYS_FILE, **kwargs):
        super().__init__(*args, **kwargs)
        self.days_off = days_off if days_off is not None else empty_days_off()
        self.days_off_file = days_off_file


def days_off_of(pools: dict[str, PoolDecl]) -> pd.DataFrame:
    """The days off a catalog carries (none for a plain dict of pools)."""
    return getattr(pools, "days_off", None) if isinstance(getattr(pools, "days_off", None), pd.DataFrame) else empty_days_off()

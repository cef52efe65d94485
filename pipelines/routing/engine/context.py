"""What the engine needs besides the rules and the leads: the time, the CRM's queues and users, pool memory.

Built once per stage run (:func:`pipelines.routing.stages.route.load_context`) and handed to
every flow, action and pool of that run, so a batch sees one "now" and one pool book.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from pipelines.routing.pools.book import PoolBook, PoolState


@dataclass
class RouteContext:
    """What the engine needs besides the rules and the leads."""

    now: datetime
    queue_ids: dict[str, str]  # queue developer name -> CRM id
    crm_active: set[str] | None = None  # active CRM users; None when unknown (e.g. CSV simulations)
    user_names: dict[str, str] = field(default_factory=dict)
    pool_states: PoolBook = field(default_factory=PoolBook)  # what pools remember (pools.book.load_states)
    # Accounts on the hierarchy paths of matched accounts (index account_id, columns account.*),
    # and open opportunities (opportunity_id, master_id, stage, owner_id, name, close_date).
    accounts: pd.DataFrame | None = None
    opportunities: pd.DataFrame | None = None
    # Earlier leads of each lead's company (_for, _by, lead.*), loaded when a rule uses lead_owner's
    # lead_where (pipelines.routing.frame.company_leads).
    company_leads: pd.DataFrame | None = None
    # Diff and backfill compare where the rules send a lead: when they reach a pool, the pool is the
    # target and no member is chosen (so who is free or capped right now cannot look like a rules change).
    pools_as_targets: bool = False

    def state(self, pool: str) -> PoolState:
        return self.pool_states.state(pool)

    def name(self, user_id) -> str:
        return self.user_names.get(user_id, user_id)

    def names(self, user_ids: pd.Series) -> pd.Series:
        """Names for a column of user ids (the id where the name is unknown), without a loop per lead."""
        codes, uniques = pd.factorize(user_ids, use_na_sentinel=True)
        names = np.asarray([self.user_names.get(u, u) for u in uniques] + [None], dtype=object)
        return pd.Series(names[codes], index=user_ids.index, dtype=object)

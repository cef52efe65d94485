"""Hold until: a step may keep the leads it applies to waiting, then route them.

A step with ``hold:`` holds a lead while it should wait::

    - step: wait_for_country
      description: Leads with no country wait (up to two hours) for the CRM's enrichment to fill it.
      when: {field: lead.country_code, is_empty}
      hold: {until: {field: lead.country_code, is_not_empty}, at_most: {hours: 2}}

    - step: hot_inbound
      when: {field: lead.lead_source, in: [Web - Demo Request]}
      hold: {until_working_hours: hot_inbound}    # wait for the team's business hours
      assign: pool
      pool: hot_inbound

A lead is held while ``until`` does not hold, nobody in the ``until_working_hours`` pool is
in working hours, and it is younger than ``at_most`` (counted from its creation). Holding is
stateless: a held lead gets a decision (action ``hold``, in its queue, the reason saying
until when), and every tick the day-2 stage routes the held leads through the flow again
(:func:`release`); a lead the step no longer holds then takes the step's action (or, for a
step that only holds, goes on to the next step) and the new decision replaces the hold.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from pipelines.routing.engine.conditions import evaluate
from pipelines.routing.engine.context import RouteContext
from pipelines.routing.language.model import Hold
from pipelines.routing.language.vocabulary import Columns
from pipelines.routing.pools.catalog import days_off_of
from pipelines.routing.pools.membership import members
from pipelines.routing.roster.availability import member_status
from pipelines.routing.ruleset.model import RuleSet

HOLD_ACTION = "hold"


def working_now(pool_name: str, rules: RuleSet, ctx: RouteContext) -> tuple[bool, str]:
    """Whether a member of the pool is in working hours now, and who starts next when nobody is."""
    rows = members(rules.pools[pool_name], rules.reps).reset_index(drop=True)
    status = member_status(rows, ctx.now, ctx.crm_active, days_off_of(rules.pools), hours=True)
    if status["code"].isna().any():
        return True, ""
    starts = status["next_start"].dropna()
    if starts.empty:
        return False, f"nobody in pool {pool_name} is available in the next weeks"
    i = starts.idxmin()
    return False, f"next in working hours: {rows.loc[i, 'name']} at {starts[i]:%Y-%m-%d %H:%M} UTC"


def holding(hold: Hold, frame: pd.DataFrame, applies: np.ndarray, rules: RuleSet, ctx: RouteContext,
            columns: Columns | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which of the leads the step applies to it holds now (a mask over ``frame``), and why (a line each)."""
    n = len(frame)
    held = applies.copy()
    why = np.full(n, None, dtype=object)
    if not held.any():
        return held, why
    text = f"held {hold.describe()}"
    if hold.until is not None:
        held &= ~evaluate(hold.until, frame, rules, columns)
    if hold.until_working_hours is not None and held.any():
        working, next_start = working_now(hold.until_working_hours, rules, ctx)
        if working:
            held[:] = False
        elif next_start:
            text += f" ({next_start})"
    if hold.at_most_minutes is not None and held.any():
        created = pd.to_datetime(frame["lead.created_at"], errors="coerce") if "lead.created_at" in frame else None
        if created is not None:
            deadline = created + timedelta(minutes=hold.at_most_minutes)
            young = (deadline > pd.Timestamp(ctx.now)).fillna(True).to_numpy(dtype=bool)
            held &= young
            until = deadline.dt.strftime(" (released by %Y-%m-%d %H:%M UTC at the latest)").fillna("")
            why[held] = text + until.to_numpy(dtype=object)[held]
            return held, why
    why[held] = text
    return held, why


def queue_of(hold: Hold, frame: pd.DataFrame, rules: RuleSet, rows: np.ndarray) -> np.ndarray:
    """Where held leads wait: the hold's queue, else the queue they are in, else the first intake queue."""
    if hold.queue is not None:
        return np.full(len(rows), hold.queue, dtype=object)
    current = frame["lead.owner_queue"].to_numpy(dtype=object)[rows] if "lead.owner_queue" in frame else \
        np.full(len(rows), None, dtype=object)
    intake = rules.intake_queues[0] if rules.intake_queues else None
    return np.where(pd.isna(current), intake, current).astype(object)

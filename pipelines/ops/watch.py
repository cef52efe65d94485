"""What engineers are alerted on after each tick, from the warehouse: pushes failing, a queue growing,
leakage, a rep over their cap.

Each watch reads tables the tick has just written and returns a :class:`Finding` (passed or not,
its severity, one line a person can act on, and the numbers behind it). The ``kpis`` asset's
checks (``pipelines/defs/watch.py``) run them after every tick, so they show in the Dagster UI
with their severity; the ``alert_on_watch`` sensor sends the failed ones through the same apprise
channel as failed runs (:mod:`pipelines.alerts`). Thresholds come from the environment
(:class:`Thresholds`), read once, typed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import duckdb
import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from pipelines.warehouse.db import table_exists
from pipelines.warehouse.schema import open_lead

THRESHOLD_VARS = {
    "push_failures": "LEADROUTE_ALERT_PUSH_FAILURES",
    "queue_max": "LEADROUTE_ALERT_QUEUE_MAX",
    "leakage_pct": "LEADROUTE_ALERT_LEAKAGE_PCT",
    "skipped_ticks": "LEADROUTE_ALERT_SKIPPED_TICKS",
}


class Thresholds(BaseModel):
    """When a watch fails: more failed pushes than ``push_failures``, a queue holding more open leads
    than ``queue_max``, leakage above ``leakage_pct`` percent of open assignments, the tick schedule
    skipping ``skipped_ticks`` times in a row."""

    push_failures: int = Field(default=0, ge=0)
    queue_max: int = Field(default=200, ge=0)
    leakage_pct: float = Field(default=20.0, ge=0, le=100)
    skipped_ticks: int = Field(default=3, ge=1)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Thresholds:
        env = os.environ if environ is None else environ
        given = {k: env[v].strip() for k, v in THRESHOLD_VARS.items() if env.get(v, "").strip()}
        try:
            return cls(**given)
        except ValidationError as exc:
            bad = exc.errors()[0]
            raise ValueError(f"{THRESHOLD_VARS[bad['loc'][0]]}: {bad['msg']} (got {given.get(bad['loc'][0])!r})") from None


@dataclass
class Finding:
    name: str
    passed: bool
    severity: str  # "ERROR" or "WARN"
    line: str  # what is wrong (or fine), in one line
    numbers: dict = field(default_factory=dict)


def pushes_failing(con: duckdb.DuckDBPyConnection, run_id: str, t: Thresholds) -> Finding:
    """CRM writes this run left failed (permanent errors), and writes waiting with retries used up."""
    failed, waiting = con.execute(
        """SELECT count(*) FILTER (WHERE status = 'failed' AND last_run_id = ?),
                  count(*) FILTER (WHERE status = 'pending' AND attempts >= 3)
           FROM ledger""", [run_id]).fetchall()[0]
    n = int(failed) + int(waiting)
    return Finding("pushes_failing", n <= t.push_failures, "ERROR",
                   f"{failed} CRM write(s) failed in this tick, {waiting} still pending after 3 attempts "
                   f"(threshold {t.push_failures}); see `leadroute report`", {"failed": int(failed), "stuck": int(waiting)})


def queue_growing(con: duckdb.DuckDBPyConnection, t: Thresholds, limits: dict[str, int | None] | None = None) -> Finding:
    """Open leads waiting in each CRM queue, against the queue's ``alert_over`` (queues.yaml) or ``queue_max``."""
    counts = con.execute(
        f"""SELECT q.developer_name AS queue, count(l.lead_id) AS leads
            FROM crm_queue q LEFT JOIN lead l ON l.owner_id = q.queue_id AND {open_lead("l")}
            GROUP BY ALL ORDER BY leads DESC, queue""").df()
    own = limits or {}
    limit = pd.Series([t.queue_max if own.get(q) is None else int(own[q]) for q in counts["queue"]],
                      index=counts.index, dtype="int64")
    over = counts.assign(limit=limit)[counts["leads"] > limit]
    line = ("; ".join(f"{r.queue} holds {r.leads} open leads (threshold {r.limit})" for r in over.itertuples())
            if len(over) else "every queue is under its threshold")
    return Finding("queue_growing", over.empty, "WARN", line, dict(zip(counts["queue"], counts["leads"].astype(int))))


def leakage(con: duckdb.DuckDBPyConnection, run_id: str, t: Thresholds) -> Finding:
    """Leads assigned, never touched, past their SLA: this run's ``leakage_pct`` KPI against the threshold."""
    row = con.execute("SELECT value FROM kpi WHERE run_id = ? AND measure = 'leakage_pct' AND dimension = ''",
                      [run_id]).fetchall() if table_exists(con, "kpi") else []
    pct = float(row[0][0]) if row else 0.0
    per_rep = con.execute("SELECT dimension AS rep, value FROM kpi WHERE run_id = ? AND measure = 'leaked_per_rep' "
                          "ORDER BY value DESC LIMIT 3", [run_id]).df() if row else pd.DataFrame()
    worst = ", ".join(f"{r.rep} {int(r.value)}" for r in per_rep.itertuples())
    return Finding("leakage", pct <= t.leakage_pct, "WARN",
                   f"leakage {pct:g}% of open assignments (threshold {t.leakage_pct:g}%)"
                   + (f"; most leaked: {worst}" if worst else ""), {"leakage_pct": pct})


def rep_over_cap(con: duckdb.DuckDBPyConnection) -> Finding:
    """A rep who received more pool leads than their daily or weekly cap (a bug, never a choice)."""
    if not table_exists(con, "pool_member_state"):
        return Finding("rep_over_cap", True, "ERROR", "no pool has run yet")
    over = con.execute(
        """SELECT pool, coalesce(name, user_id) AS rep, assigned_today, daily_cap, assigned_this_week, weekly_cap
           FROM pool_member_state
           WHERE assigned_today > daily_cap OR assigned_this_week > weekly_cap ORDER BY pool, rep""").df()
    line = ("; ".join(f"{r.rep} in {r.pool}: {r.assigned_today} today (cap {r.daily_cap}), "
                      f"{r.assigned_this_week} this week (cap {r.weekly_cap})" for r in over.itertuples())
            if len(over) else "every rep is within their caps")
    return Finding("rep_over_cap", over.empty, "ERROR", line, {"reps_over_cap": len(over)})


def watch_all(con: duckdb.DuckDBPyConnection, run_id: str, t: Thresholds,
              limits: dict[str, int | None] | None = None) -> list[Finding]:
    return [pushes_failing(con, run_id, t), queue_growing(con, t, limits), leakage(con, run_id, t), rep_over_cap(con)]


@dataclass(frozen=True)
class Tick:
    """One evaluation of the tick schedule (or sensor): when, whether it skipped, and why."""

    at: float  # epoch seconds
    skipped: bool
    reason: str = ""


def skipped_streak(ticks: list[Tick], n: int, alerted_since: float | None) -> tuple[Finding, float | None]:
    """Whether the newest ``n`` or more ticks all skipped (a stuck writer run, the warehouse busy): the
    finding, and the streak's first tick, which the sensor keeps as its cursor so that one streak
    alerts once however long it lasts. ``ticks`` newest first."""
    streak = []
    for tick in ticks:
        if not tick.skipped:
            break
        streak.append(tick)
    if len(streak) < n:
        return Finding("schedule_skipping", True, "ERROR", f"{len(streak)} tick(s) skipped in a row (threshold {n})"), None
    since = streak[-1].at
    line = (f"the tick schedule skipped {len(streak)} times in a row; last reason: {streak[0].reason or 'none given'}")
    return Finding("schedule_skipping", since == alerted_since, "ERROR", line, {"skipped": len(streak)}), since

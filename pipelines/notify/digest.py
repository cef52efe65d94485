"""The daily digest: one message per manager, on their team's SLA misses, leaked leads and the queues.

A manager is anyone reps.csv names as a ``manager_id``; their team, the reps who name them. The
numbers are the SLA misses found in the day before the digest, per rep, the leads leaked as of now
(:func:`pipelines.kpis.day2.compute`) and the open leads waiting in each queue now. The digest goes through the outbox like any
notification, keyed ``digest:<day>:<manager>``, so a day's digest is sent once however often the
schedule or ``leadroute notify digest`` runs.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from pipelines.kpis import day2 as day2_kpis
from pipelines.notify.channels import Courier
from pipelines.notify.outbox import COLUMNS, OUTBOX, deliver
from pipelines.routing.ruleset.model import RuleSet
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import insert
from pipelines.warehouse.schema import open_lead


def _listing(per_rep: pd.Series) -> str:
    per_rep = per_rep[per_rep > 0].sort_values(ascending=False, kind="stable")
    return ", ".join(f"{name} {int(n)}" for name, n in per_rep.items()) or "none"


DIGEST_WINDOW = timedelta(days=1)  # a daily digest tells the day's misses; leakage and queues are as of now


def missed_since(con: duckdb.DuckDBPyConnection, start, end) -> pd.Series:
    """SLA misses leadroute found in (``start``, ``end``], per rep name."""
    rows = con.execute(
        """SELECT coalesce(u.name, a.owner_id) AS rep, count(*) AS missed FROM assignment a
           LEFT JOIN crm_user u ON u.user_id = a.owner_id
           WHERE a.missed_at > ? AND a.missed_at <= ? GROUP BY 1""", [start, end]).df()
    return rows.set_index("rep")["missed"]


def waiting_in_queues(con: duckdb.DuckDBPyConnection) -> pd.Series:
    """Open leads whose current decision left them in a queue, by queue."""
    rows = con.execute(
        f"""SELECT cur.queue, count(*) AS leads FROM current_decision cur JOIN lead l USING (lead_id)
            WHERE cur.queue IS NOT NULL AND {open_lead("l")} GROUP BY 1 ORDER BY leads DESC, 1""").df()
    return rows.set_index("queue")["leads"]


def compose(con: duckdb.DuckDBPyConnection, rules: RuleSet, run: RunInfo) -> pd.DataFrame:
    """The digest rows of the day ``run.now`` falls on, one per manager (outbox columns)."""
    reps = rules.reps.replace("", None)
    if not {"user_id", "manager_id", "name"} <= set(reps):
        return pd.DataFrame(columns=COLUMNS)
    kpis = day2_kpis.compute(con, rules)
    missed = missed_since(con, run.now - DIGEST_WINDOW, run.now)
    leaked = kpis.leakage.set_index("rep")["leaked"] if len(kpis.leakage) else pd.Series(dtype=float)
    queues = waiting_in_queues(con)
    queue_line = _listing(queues)
    day = f"{run.now:%Y-%m-%d}"
    people = reps.set_index("user_id")
    rows = []
    for manager, team in reps[reps["manager_id"].notna()].groupby("manager_id", sort=True):
        names = team["name"]
        team_missed, team_leaked = missed.reindex(names).fillna(0), leaked.reindex(names).fillna(0)
        subject = (f"leadroute daily digest {day}: {int(team_missed.sum())} SLA misses in the last day, "
                   f"{int(team_leaked.sum())} leaked leads on your team")
        body = (f"Your team ({len(team)} reps), as of {run.now:%Y-%m-%d %H:%M} UTC:\n"
                f"SLA misses in the last day: {_listing(team_missed)}\n"
                f"Leaked (assigned, never touched, past the SLA or leakage_after): {_listing(team_leaked)}\n"
                f"Leads waiting in queues: {queue_line}")
        email = people["email"].get(manager) if "email" in people else None
        rows.append({"message_key": f"digest:{day}:{manager}", "decision_id": None, "lead_id": None,
                     "recipient": "digest", "user_id": manager, "address": email, "channel": "email",
                     "subject": subject, "body": body,
                     "status": "pending" if email else "failed",
                     "last_error": None if email else f"no email in reps.csv for {manager}"})
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("attempts", "next_attempt_at", "sent_at",
                                                                       "run_id", "last_run_id", "created_at",
                                                                       "updated_at")])
    return out.assign(attempts=0, next_attempt_at=pd.NaT, sent_at=pd.NaT, run_id=run.run_id, last_run_id=run.run_id,
                      created_at=run.now, updated_at=run.now)[COLUMNS]


def send_digest(con: duckdb.DuckDBPyConnection, rules: RuleSet, run: RunInfo, courier: Courier) -> StageResult:
    """Today's digest rows (those not yet in the outbox), then every due message, digests included."""
    result = StageResult("manager_digest")
    rows = compose(con, rules, run)
    known = set(con.execute(f"SELECT message_key FROM {OUTBOX} WHERE recipient = 'digest'").df()["message_key"])
    new = rows[~rows["message_key"].isin(known)]
    insert(con, OUTBOX, new)
    result.counts["digests_planned"] = len(new)
    result.counts["digests_already_made_today"] = len(rows) - len(new)
    result.counts.update(deliver(con, courier, run))
    result.rows = len(new)
    return result

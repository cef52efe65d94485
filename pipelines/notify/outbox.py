"""The outbox: one row per message, written before anything is sent, sent once its owner change is in.

Each tick, after the push (:func:`run`):

1. **unconfirmed**: a row still ``sending`` was being sent when a tick died; whether it arrived is
   unknown, so it is reported (``leadroute notify status``) and never sent again;
2. **plan**: every recent decision whose step, pool or SLA says ``notify:`` gets one row per
   recipient, keyed by decision id + recipient, so a re-run never makes a second message;
3. **settle**: a row whose decision's owner change will not happen (failed, superseded, the lead
   deleted) is ``skipped`` with that reason;
4. **deliver**: due rows whose owner change is in the CRM (the ledger says ``pushed``, or the owner
   was already so) are sent one by one: marked ``sending`` and committed first, then sent
   (:class:`~pipelines.notify.channels.Courier`), then ``sent``, ``skipped`` (no channel configured)
   or ``failed``: a channel that refused is tried again on a later tick with backoff, up to
   :data:`MAX_ATTEMPTS`, then ``failed`` with its reason. One bad recipient never stops the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd

from pipelines.notify.channels import Courier
from pipelines.notify.messages import compose
from pipelines.routing.ruleset.model import RuleSet
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import insert, transaction
from pipelines.warehouse.schema import TABLES

OUTBOX = "notification_outbox"
COLUMNS = TABLES[OUTBOX].column_names
MAX_ATTEMPTS = 5  # ticks
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
# Decisions older than this when the outbox first sees them get no message: turning `notify:` on
# does not mail out last month's leads, and a push late by less than a day still notifies.
WINDOW = timedelta(days=1)
UNCONFIRMED = ("a tick stopped after marking it sending and before recording the answer: it may have been "
               "delivered, so it is not sent again")
SETTLED_OWNER = ("pushed", "skipped_unchanged")
LEAD_WORDS = ("first_name", "last_name", "company", "email")  # lead fields a message names
NO_OWNER_CHANGE = ("failed", "superseded", "skipped_deleted")


def backoff(attempts: int) -> timedelta:
    """Wait before the next tick's try: 1, 2, 4... minutes, capped at an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def specs(rules: RuleSet) -> pd.DataFrame:
    """Who each step, pool and SLA notifies: (kind, name, recipient) rows."""
    rows = []
    steps = [s for f in rules.flows.values() for s in f.steps]
    if rules.day2.inactive_owner is not None:
        steps.append(rules.day2.inactive_owner)
    for kind, items in (("step", steps), ("pool", rules.pools.values()), ("sla", rules.day2.slas.values())):
        for item in items:
            if item.notify is not None:
                rows += [(kind, item.name, r) for r in item.notify.recipients()]
    return pd.DataFrame(rows, columns=["kind", "name", "recipient"]).drop_duplicates()


def mark_unconfirmed(con: duckdb.DuckDBPyConnection, run: RunInfo) -> int:
    n = con.execute(f"SELECT count(*) FROM {OUTBOX} WHERE status = 'sending'").fetchall()[0][0]
    if n:
        con.execute(f"UPDATE {OUTBOX} SET status = 'unconfirmed', last_error = ?, updated_at = ?, last_run_id = ? "
                    f"WHERE status = 'sending'", [UNCONFIRMED, run.now, run.run_id])
    return int(n)


def plan(con: duckdb.DuckDBPyConnection, rules: RuleSet, run: RunInfo) -> int:
    """Outbox rows for the recent decisions `notify:` covers that have none yet."""
    wanted = specs(rules)
    if wanted.empty:
        return 0
    con.register("_notify_specs", wanted)
    try:
        decided = con.execute(
            f"""WITH d AS (
                  SELECT * FROM routing_decision
                  WHERE created_at >= ? AND action <> 'keep'
                    AND decision_id NOT IN (SELECT decision_id FROM {OUTBOX} WHERE decision_id IS NOT NULL))
                SELECT DISTINCT d.decision_id, d.lead_id, d.entry, d.step, d.pool, d.owner_id, d.queue, d.reason,
                       s.recipient
                FROM d JOIN _notify_specs s
                  ON (s.kind = 'step' AND d.entry <> 'sla' AND s.name = d.step)
                  OR (s.kind = 'sla' AND d.entry = 'sla' AND s.name = d.step)
                  OR (s.kind = 'pool' AND s.name = d.pool)""",
            [run.now - WINDOW]).df()
    finally:
        con.unregister("_notify_specs")
    if decided.empty:
        return 0
    people = _people(con, rules)
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'lead'")
            .fetchall()}
    named = [c for c in LEAD_WORDS if c in have]  # an org's mapping may leave some out: the message does without
    leads = con.execute(
        f"SELECT {', '.join(['lead_id', *named])} FROM lead WHERE lead_id IN (SELECT UNNEST(?::VARCHAR[]))",
        [decided["lead_id"].unique().tolist()]).df()
    decided = decided.merge(leads, on="lead_id", how="left")
    rows = compose(decided.assign(**{c: None for c in LEAD_WORDS if c not in named}), people)
    rows = rows.assign(attempts=0, run_id=run.run_id, last_run_id=run.run_id, created_at=run.now, updated_at=run.now,
                       next_attempt_at=pd.NaT, sent_at=pd.NaT)
    insert(con, OUTBOX, rows[COLUMNS])
    return len(rows)


def _people(con: duckdb.DuckDBPyConnection, rules: RuleSet) -> pd.DataFrame:
    """user_id -> name, email, manager_id: reps.csv first, the CRM's user record where reps.csv is silent."""
    reps = rules.reps
    cols = {c: reps[c] if c in reps else None for c in ("name", "email", "manager_id")}
    roster = pd.DataFrame({"user_id": reps["user_id"], **cols}) if "user_id" in reps else pd.DataFrame(
        columns=["user_id", "name", "email", "manager_id"])
    roster = roster.replace("", None)
    crm = con.execute("SELECT user_id, name AS crm_name, manager_id AS crm_manager FROM crm_user").df()
    out = roster.merge(crm, on="user_id", how="outer")
    out["name"] = out["name"].where(out["name"].notna(), out["crm_name"])
    out["manager_id"] = out["manager_id"].where(out["manager_id"].notna(), out["crm_manager"])
    return out[["user_id", "name", "email", "manager_id"]].drop_duplicates("user_id").set_index("user_id")


def settle(con: duckdb.DuckDBPyConnection, run: RunInfo) -> int:
    """Rows whose decision's owner change will never happen: skipped, with the ledger's reason."""
    n = con.execute(
        f"""SELECT count(*) FROM {OUTBOX} o JOIN ledger g ON g.decision_id = o.decision_id AND g.kind = 'owner'
            WHERE o.status = 'pending' AND g.status IN {NO_OWNER_CHANGE}""").fetchall()[0][0]
    if n:
        con.execute(
            f"""UPDATE {OUTBOX} o SET status = 'skipped', updated_at = ?, last_run_id = ?,
                   last_error = 'the owner change did not happen (' || g.status
                                || coalesce(': ' || g.last_error, '') || '): nothing to tell'
                FROM ledger g WHERE g.decision_id = o.decision_id AND g.kind = 'owner'
                  AND o.status = 'pending' AND g.status IN {NO_OWNER_CHANGE}""", [run.now, run.run_id])
    return int(n)


def due(con: duckdb.DuckDBPyConnection, now: datetime) -> pd.DataFrame:
    """Pending rows due now whose owner change is in the CRM (digests need none), oldest first."""
    return con.execute(
        f"""SELECT o.* FROM {OUTBOX} o
            LEFT JOIN ledger g ON g.decision_id = o.decision_id AND g.kind = 'owner'
            WHERE o.status = 'pending' AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)
              AND (o.decision_id IS NULL OR g.status IN {SETTLED_OWNER})
            ORDER BY o.created_at, o.message_key""", [now]).df()


def _set(con: duckdb.DuckDBPyConnection, key: str, run: RunInfo, **values) -> None:
    sets = ", ".join(f'"{k}" = ?' for k in values)
    with transaction(con):
        con.execute(f"UPDATE {OUTBOX} SET {sets}, updated_at = ?, last_run_id = ? WHERE message_key = ?",
                    [*values.values(), run.now, run.run_id, key])


def deliver(con: duckdb.DuckDBPyConnection, courier: Courier, run: RunInfo) -> dict[str, int]:
    """Send the due rows one by one; each is committed as sending before it leaves."""
    counts = {"sent": 0, "skipped": 0, "retry_later": 0, "failed": 0}
    rows = due(con, run.now)
    # Rows of a channel nothing is configured for leave nowhere: skipped all at once, not one by one
    # (10,000 new leads with notify: owner and no mail server set would be 20,000 transactions).
    reasons = {ch: why for ch in rows["channel"].dropna().unique() if (why := courier.unconfigured(ch))}
    idle = rows["channel"].isin(list(reasons)).to_numpy()
    if idle.any():
        skip = pd.DataFrame({"message_key": rows.loc[idle, "message_key"],
                             "reason": rows.loc[idle, "channel"].map(reasons)})
        with transaction(con):
            con.register("_skipped", skip)
            con.execute(f"""UPDATE {OUTBOX} o SET status = 'skipped', last_error = s.reason, next_attempt_at = NULL,
                                attempts = coalesce(o.attempts, 0) + 1, updated_at = ?, last_run_id = ?
                            FROM _skipped s WHERE o.message_key = s.message_key""", [run.now, run.run_id])
            con.unregister("_skipped")
        counts["skipped"] = int(idle.sum())
    for row in rows[~idle].itertuples(index=False):  # messages sent are few: one send each, by nature
        attempts = int(row.attempts or 0) + 1
        _set(con, row.message_key, run, status="sending", attempts=attempts)
        got = courier.send(row.channel, row.address, row.subject, row.body)
        if got.status == "sent":
            _set(con, row.message_key, run, status="sent", sent_at=run.now, last_error=None, next_attempt_at=None)
            counts["sent"] += 1
        elif got.retry and attempts < MAX_ATTEMPTS:
            _set(con, row.message_key, run, status="pending", last_error=got.reason,
                 next_attempt_at=run.now + backoff(attempts))
            counts["retry_later"] += 1
        else:
            reason = got.reason + (f" (gave up after {attempts} ticks)" if got.retry else "")
            _set(con, row.message_key, run, status=got.status, last_error=reason, next_attempt_at=None)
            counts[got.status] += 1
    return counts


def run(con: duckdb.DuckDBPyConnection, rules: RuleSet, run_info: RunInfo, courier: Courier) -> StageResult:
    """The notifications stage of a tick (after the push): see the module docstring."""
    result = StageResult("notifications")
    result.counts["unconfirmed_found"] = mark_unconfirmed(con, run_info)
    result.counts["planned"] = plan(con, rules, run_info)
    result.counts["owner_change_failed"] = settle(con, run_info)
    result.counts.update(deliver(con, courier, run_info))
    result.rows = result.counts["planned"]
    problems = con.execute(
        f"""SELECT message_key, recipient, channel, status, last_error FROM {OUTBOX}
            WHERE last_run_id = ? AND status IN ('failed', 'unconfirmed', 'skipped') ORDER BY message_key""",
        [run_info.run_id]).df()
    if len(problems):
        result.preview = problems
    return result

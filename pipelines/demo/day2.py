"""Day-2 life in the demo CRM: reps touch (or ignore) their new leads, progress others, a rep leaves,
nurtured leads fill in a form again.

Why: first-touch SLAs, recycling and wake-the-dead only show when time passes and people act.
``leadroute demo activity --now T`` plays one slice of that, stamped at ``T`` (the CRM's
``SystemModstamp``, so the next tick at ``T`` or later extracts it):

- reps touch a share of the open ``New`` leads they own: half by moving them to ``Working``
  (with ``LastActivityDate``), half by completing a call task; the rest stay untouched and will
  miss their SLA;
- a few ``Working`` leads move on (``Qualified``) or die (``Disqualified``);
- ``reengage`` dormant leads (in the ``Nurture`` queue or a nurture/disqualified status) engage
  again: a form fill logs a task on them and their ``LastActivityDate`` moves;
- ``rep_leaves`` deactivates a rep in the CRM (a user id, or ``auto``: the SDR or AE with the
  most open leads), whose open leads the next tick reroutes.

Deterministic for (CRM state, seed, now).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.crm.local_schema import make_id, sf_datetime
from pipelines.demo import crm_io
from pipelines.demo.roster import INTEGRATION_USER_ID

DORMANT = ("Nurture", "Disqualified")


@dataclass
class ActivitySummary:
    now: datetime
    touched_by_status: int = 0
    touched_by_task: int = 0
    left_untouched: int = 0
    progressed: int = 0
    reengaged: list[str] = field(default_factory=list)
    rep_left: str | None = None
    rep_left_open_leads: int = 0

    def describe(self) -> str:
        lines = [f"Day-2 activity at {self.now:%Y-%m-%d %H:%M} UTC:",
                 f"  reps touched {self.touched_by_status + self.touched_by_task} new leads "
                 f"({self.touched_by_status} moved to Working, {self.touched_by_task} with a completed call); "
                 f"{self.left_untouched} left untouched",
                 f"  {self.progressed} Working leads moved on (qualified or disqualified)"]
        if self.reengaged:
            lines.append(f"  {len(self.reengaged)} nurtured lead(s) filled in a form again: {', '.join(self.reengaged[:5])}")
        if self.rep_left:
            lines.append(f"  {self.rep_left} left the company (deactivated), owning {self.rep_left_open_leads} open lead(s)")
        lines.append("Next: `leadroute tick --now <the same time or later>` reroutes, recycles and wakes leads up.")
        return "\n".join(lines)


def _stamp(con: sqlite3.Connection, table: str, ids, stamp: str, **fields) -> None:
    sets = ", ".join([f'"{k}" = ?' for k in fields] + ["LastModifiedDate = ?", "SystemModstamp = ?"])
    con.executemany(f'UPDATE "{table}" SET {sets} WHERE Id = ?', [[*fields.values(), stamp, stamp, i] for i in ids])


def simulate(crm_path: Path, *, now: datetime, seed: int | None = None, touch_share: float = 0.5,
             progress: int = 3, reengage: int = 2, rep_leaves: str | None = None) -> ActivitySummary:
    """Play one slice of day-2 life in the demo CRM at ``crm_path``, stamped at ``now`` (UTC)."""
    if not 0 <= touch_share <= 1:
        raise ValueError(f"touch_share={touch_share}: a share between 0 and 1")
    stamp = sf_datetime(now)
    summary = ActivitySummary(now=now)
    con = sqlite3.connect(crm_path)
    try:
        leads = pd.read_sql_query(
            "SELECT Id, OwnerId, Status FROM Lead WHERE IsConverted = 0 AND IsDeleted = 0 ORDER BY Id", con)
        rng = np.random.default_rng([int(seed if seed is not None else len(leads)), int(now.timestamp()) // 60])
        by_rep = leads["OwnerId"].str.startswith("005")
        with con:
            fresh = leads[by_rep & (leads["Status"] == "New")]
            touch = fresh[rng.random(len(fresh)) < touch_share]
            by_status = touch.iloc[: len(touch) // 2]
            by_task = touch.iloc[len(touch) // 2:]
            _stamp(con, "Lead", by_status["Id"], stamp, Status="Working", LastActivityDate=stamp)
            first = crm_io.max_number(con, "Task") + 1
            crm_io.insert_frame(con, "Task", pd.DataFrame({
                "Id": [make_id("Task", first + i) for i in range(len(by_task))], "WhoId": by_task["Id"].to_numpy(),
                "OwnerId": by_task["OwnerId"].to_numpy(), "Subject": "Call: first touch", "Status": "Completed",
                "Priority": "Normal", "ActivityDate": stamp[:10], "CreatedDate": stamp, "CreatedById": by_task["OwnerId"].to_numpy(),
                "LastModifiedDate": stamp, "SystemModstamp": stamp, "IsDeleted": 0}))
            summary.touched_by_status, summary.touched_by_task = len(by_status), len(by_task)
            summary.left_untouched = len(fresh) - len(touch)

            working = leads[by_rep & (leads["Status"] == "Working")]
            moved = working.iloc[rng.permutation(len(working))[:progress]]
            for i, lead_id in enumerate(moved["Id"]):
                _stamp(con, "Lead", [lead_id], stamp, Status="Qualified" if i % 2 == 0 else "Disqualified")
            summary.progressed = len(moved)

            queues = dict(con.execute("SELECT DeveloperName, Id FROM \"Group\" WHERE Type = 'Queue'").fetchall())
            dormant = leads[leads["Status"].isin(DORMANT) | (leads["OwnerId"] == queues.get("Nurture"))]
            woken = dormant.iloc[rng.permutation(len(dormant))[:reengage]]
            first = crm_io.max_number(con, "Task") + 1
            crm_io.insert_frame(con, "Task", pd.DataFrame({
                "Id": [make_id("Task", first + i) for i in range(len(woken))], "WhoId": woken["Id"].to_numpy(),
                "OwnerId": INTEGRATION_USER_ID, "Subject": "Form fill: Contact us", "Status": "Completed",
                "Priority": "Normal", "ActivityDate": stamp[:10], "CreatedDate": stamp, "CreatedById": INTEGRATION_USER_ID,
                "LastModifiedDate": stamp, "SystemModstamp": stamp, "IsDeleted": 0}))
            _stamp(con, "Lead", woken["Id"], stamp, LastActivityDate=stamp)
            summary.reengaged = woken["Id"].tolist()

            if rep_leaves:
                user = _who_leaves(con, leads, rep_leaves)
                _stamp(con, "User", [user], stamp, IsActive=0)
                summary.rep_left = con.execute('SELECT Name FROM "User" WHERE Id = ?', [user]).fetchone()[0] + f" ({user})"
                summary.rep_left_open_leads = int((leads["OwnerId"] == user).sum())
    finally:
        con.close()
    return summary


def _who_leaves(con: sqlite3.Connection, leads: pd.DataFrame, who: str) -> str:
    if who != "auto":
        if not con.execute('SELECT 1 FROM "User" WHERE Id = ? AND IsActive = 1', [who]).fetchall():
            raise ValueError(f"no active user {who} in the demo CRM")
        return who
    reps = {r[0] for r in con.execute("SELECT Id FROM \"User\" WHERE IsActive = 1 AND Sales_Role__c IN ('SDR', 'AE')")}
    owned = leads[leads["OwnerId"].isin(reps) & leads["Status"].isin(["New", "Working"])]["OwnerId"].value_counts()
    if owned.empty:
        raise ValueError("no active SDR or AE owns open leads in the demo CRM")
    return str(owned.sort_index().sort_values(ascending=False, kind="stable").index[0])

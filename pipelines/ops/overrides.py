"""Pause and resume reps from the shell or the Dagster UI, with an audit trail; never editing reps.csv.

``leadroute rep pause REP --until 17:00 --reason "sick"`` adds a row to ``rep_override``;
``rep resume REP`` closes the pause early; ``rep status`` lists every pause with its state
(``active``, ``expired``, ``resumed``); ``rep overrides --as-csv`` prints ``reps.csv`` with the
pauses active now written as the out-of-office dates a permanent change would be (for the
pull request when a pause turns into a vacation). What routing does with a pause is
:mod:`pipelines.routing.roster.overrides`: from the next tick the rep takes no pool lead, no
working time counts for their SLA clocks, and holds waiting for working hours ignore them.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.routing.roster import overrides as roster_overrides
from pipelines.routing.roster.reps import REPS_FILE
from pipelines.warehouse import db

OVERRIDE_TABLE = roster_overrides.OVERRIDE_TABLE


class OverrideError(ValueError):
    """A pause or resume that cannot be done, saying what to do instead."""


def find_rep(reps: pd.DataFrame, rep: str) -> dict:
    """A roster row by user id, email or name (case-insensitive)."""
    key = rep.strip().lower()
    for column in ("user_id", "email", "name"):
        if column in reps:
            hit = reps[reps[column].astype(str).str.lower() == key]
            if len(hit) == 1:
                return hit.iloc[0].to_dict()
    raise OverrideError(f"no rep {rep!r} in reps.csv; give a user_id, email or name from routing_rules/{REPS_FILE}")


def parse_until(text: str | None, now: datetime, zone=None) -> datetime | None:
    """``--until``: an ISO time (UTC unless it names its offset), or ``HH:MM`` today in the rep's time zone
    (tomorrow when that time has passed); returned naive UTC."""
    if not text:
        return None
    now_utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    try:
        if len(text) <= 5 and ":" in text:
            clock = time.fromisoformat(text.zfill(5))
            local = now_utc.astimezone(zone or UTC)
            moment = datetime.combine(local.date(), clock, tzinfo=zone or UTC)
            if moment <= local:
                moment = datetime.combine(local.date() + timedelta(days=1), clock, tzinfo=zone or UTC)
        else:
            moment = datetime.fromisoformat(text)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    except ValueError:
        raise OverrideError(f"--until {text!r} is not a time: give HH:MM (today, the rep's time zone) "
                            f"or an ISO time such as 2026-11-20T17:00") from None
    until = moment.astimezone(UTC).replace(tzinfo=None)
    if until <= now_utc.replace(tzinfo=None):
        raise OverrideError(f"--until {text!r} is not in the future ({until:%Y-%m-%d %H:%M} UTC <= now)")
    return until


def _naive(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def pause(con: duckdb.DuckDBPyConnection, reps: pd.DataFrame, rep: str, *, now: datetime, by: str,
          reason: str, until: str | None = None) -> dict:
    """Pause a rep from ``now``; returns the row written (the audit trail keeps it for good)."""
    if not reason.strip():
        raise OverrideError("say why (--reason): the audit trail and explain show it")
    row = find_rep(reps, rep)
    now = _naive(now)
    record = {
        "override_id": uuid.uuid4().hex[:16], "user_id": row["user_id"], "starts_at": now,
        "until": parse_until(until, now, row.get("_zone")), "reason": reason.strip(), "created_by": by,
        "created_at": now, "resumed_at": None, "resumed_by": None, "resume_reason": None,
    }
    db.insert(con, OVERRIDE_TABLE, pd.DataFrame([record]))
    return record | {"name": row["name"]}


def resume(con: duckdb.DuckDBPyConnection, reps: pd.DataFrame, rep: str, *, now: datetime, by: str,
           reason: str = "") -> int:
    """End the rep's pauses that cover ``now``; returns how many. A rep who is not paused is an error."""
    row = find_rep(reps, rep)
    now = _naive(now)
    n = con.execute(
        f"""UPDATE {OVERRIDE_TABLE} SET resumed_at = ?, resumed_by = ?, resume_reason = ?
            WHERE user_id = ? AND resumed_at IS NULL AND starts_at <= ? AND (until IS NULL OR until > ?)
            RETURNING override_id""", [now, by, reason or None, row["user_id"], now, now]).fetchall()
    if not n:
        raise OverrideError(f"{row['name']} is not paused now (see `leadroute rep status`)")
    return len(n)


def status(con: duckdb.DuckDBPyConnection, reps: pd.DataFrame, now: datetime, *, history: bool = True) -> pd.DataFrame:
    """Every pause (or only those active at ``now``), newest first, with its state and the rep's name."""
    now = _naive(now)
    rows = roster_overrides.load(con)
    names = dict(zip(reps["user_id"], reps["name"]))
    if rows.empty:
        return pd.DataFrame(columns=["rep", "user_id", "state", "starts_at", "until", "reason", "by", "resumed"])
    resumed = rows["resumed_at"].notna() & (pd.to_datetime(rows["resumed_at"]) <= now)
    expired = rows["until"].notna() & (pd.to_datetime(rows["until"]) <= now)
    state = pd.Series("active", index=rows.index).mask(pd.to_datetime(rows["starts_at"]) > now, "scheduled")
    state = state.mask(expired, "expired").mask(resumed, "resumed")
    out = pd.DataFrame({
        "rep": rows["user_id"].map(names).fillna(rows["user_id"]), "user_id": rows["user_id"], "state": state,
        "starts_at": rows["starts_at"], "until": rows["until"], "reason": rows["reason"], "by": rows["created_by"],
        "resumed": [f"{a:%Y-%m-%d %H:%M} by {b}" if pd.notna(a) else "" for a, b in zip(rows["resumed_at"], rows["resumed_by"])],
    }).iloc[::-1].reset_index(drop=True)
    return out if history else out[out["state"] == "active"].reset_index(drop=True)


def _local(t: datetime, zone) -> datetime:
    return t.replace(tzinfo=UTC).astimezone(zone)


def as_csv(rules_root: Path, reps: pd.DataFrame, con: duckdb.DuckDBPyConnection, now: datetime) -> str:
    """``reps.csv`` with the pauses active at ``now`` written as the permanent change they would be:
    ``ooo_from`` the rep's local today, ``ooo_to`` the local day the pause ends on (empty when open-ended).
    Every other row and column is as in the file."""
    now = _naive(now)
    active = {}
    for uid, windows in roster_overrides.windows(roster_overrides.load(con)).items():
        for w in windows:
            if w.covers(now):
                active[uid] = w
    zones = dict(zip(reps["user_id"], reps["_zone"])) if "_zone" in reps else {}
    text = (rules_root / REPS_FILE).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    fields = list(reader.fieldnames or [])
    fields += [c for c in ("ooo_from", "ooo_to") if c not in fields]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in reader:
        window = active.get(row.get("user_id"))
        if window is not None:
            zone = zones.get(row["user_id"]) or UTC
            row["ooo_from"] = _local(max(window.start, now), zone).date().isoformat()
            if window.end is None:
                row["ooo_to"] = ""
            else:  # a pause ending at local midnight ends with the day before
                end = _local(window.end, zone)
                row["ooo_to"] = (end.date() - timedelta(days=1) if end.time() == time(0) else end.date()).isoformat()
        writer.writerow({f: row.get(f, "") or "" for f in fields})
    return out.getvalue()

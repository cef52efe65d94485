"""The embedded local CRM: a SQLite file that behaves like a small Salesforce org.

It is the default CRM, so a newcomer can try leadroute with no credentials. It
validates writes the way Salesforce does where the pipeline depends on it: an
owner must be an active user or a queue (``INACTIVE_OWNER_OR_USER``), a missing
record is ``ENTITY_IS_DELETED``, a row held by another transaction (simulated by
the ``_RecordLock`` table) is ``UNABLE_TO_LOCK_ROW``, and a converted lead cannot
be converted again (the answer names the contact of its conversion). Campaign members
are upserted on (campaign, lead).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.crm.base import (
    EXTRACT_PAGE_ROWS,
    INACTIVE_OWNER,
    CallCounter,
    CampaignMembership,
    Conversion,
    FieldInfo,
    RecordUpdate,
    TaskSpec,
    WriteResult,
)
from pipelines.crm.fields import ObjectMapping
from pipelines.crm import ids
from pipelines.crm.local_schema import DDL, OBJECTS, make_id, sf_datetime


# Fields the CRM sets itself, as Salesforce's describe marks them (not updateable through the API).
_SYSTEM_FIELDS = frozenset({"Id", "CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp", "IsDeleted",
                            "LastActivityDate"})
_READ_ONLY = {
    "Lead": frozenset({"IsConverted", "ConvertedAccountId", "ConvertedContactId", "ConvertedOpportunityId",
                       "ConvertedDate"}),
    "Opportunity": frozenset({"IsClosed", "IsWon"}),
    "User": frozenset({"Name"}),
}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class LocalCrm:
    """CRM adapter over the local SQLite CRM file."""

    name = "local"
    task_key_field = "LeadRoute_Key__c"  # Task's external id: upserts never duplicate a task

    def __init__(self, path: str | Path, clock: Callable[[], datetime] = _utcnow):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(
                f"No local CRM at {self.path}. Create the demo CRM with `leadroute demo init` "
                f"(or `make demo`), or set LEADROUTE_CRM_PATH."
            )
        self.clock = clock
        self.counter = CallCounter()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One short transaction: commit on success, roll back on error, always close."""
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            with con:
                yield con
        finally:
            con.close()

    def _now(self) -> str:
        return sf_datetime(self.clock())

    # -- read ---------------------------------------------------------------------------------

    def extract_pages(self, mapping: ObjectMapping, since: datetime | None) -> Iterator[pd.DataFrame]:
        if mapping.sobject not in OBJECTS:
            raise ValueError(f"The local CRM has no object {mapping.sobject!r}; it has {', '.join(OBJECTS)}.")
        fields = mapping.source_fields()
        with self._connect() as con:
            existing = {r[1] for r in con.execute(f'PRAGMA table_info("{mapping.sobject}")')}
            unknown = [f for f in fields if f not in existing]
            if unknown:
                raise ValueError(
                    f"{mapping.sobject} has no field(s) {', '.join(unknown)} in the local CRM; "
                    f"fix routing_rules/fields.yaml (objects.{mapping.sobject})."
                )
            # CAST to TEXT in SQL: raw is text, and SQLite does it faster than pandas would.
            select = ", ".join(f'CAST("{f}" AS TEXT) AS "{f}"' for f in fields)
            where, params = [], []
            if since is not None:
                where.append(f'"{mapping.modstamp}" >= ?')
                params.append(sf_datetime(since))
            for name, value in mapping.filter.items():
                where.append(f'"{name}" = ?')
                params.append(value)
            sql = f'SELECT {select} FROM "{mapping.sobject}"'
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f' ORDER BY "{mapping.modstamp}", "{mapping.key}"'
            self.counter.add("query")  # one query, read a page at a time
            for df in pd.read_sql_query(sql, con, params=params, dtype=object, chunksize=EXTRACT_PAGE_ROWS):
                yield df.astype(object).where(df.notna(), None)

    def open_workload(self, user_ids: Sequence[str], open_statuses: Sequence[str]) -> dict[str, int]:
        if not user_ids:
            return {}
        with self._connect() as con:
            rows = con.execute(
                f"SELECT OwnerId, count(*) FROM Lead WHERE IsConverted = 0 AND IsDeleted = 0 "
                f"AND Status IN ({','.join('?' * len(open_statuses))}) "
                f"AND OwnerId IN ({','.join('?' * len(user_ids))}) GROUP BY OwnerId",
                [*open_statuses, *user_ids],
            ).fetchall()
        self.counter.add("query")
        counts = {r[0]: r[1] for r in rows}
        return {u: counts.get(u, 0) for u in user_ids}

    def read_records(self, sobject: str, key_field: str, keys: Sequence[str], fields: Sequence[str]) -> pd.DataFrame:
        if sobject not in OBJECTS:
            raise ValueError(f"The local CRM has no object {sobject!r}; it has {', '.join(OBJECTS)}.")
        keys = list(dict.fromkeys(keys))
        with self._connect() as con:
            existing = {r[1] for r in con.execute(f'PRAGMA table_info("{sobject}")')}
            cols = ", ".join(f'"{f}"' if f in existing else f'NULL AS "{f}"' for f in fields)
            rows = [tuple(r) for r in _chunked_in(con, f'SELECT {cols} FROM "{sobject}" WHERE "{key_field}" IN ({{}})',
                                                  keys)]
        self.counter.add("query", max(1, -(-len(keys) // 200)))
        return pd.DataFrame(rows, columns=list(fields), dtype=object)

    def describe(self, sobjects: Sequence[str]) -> dict[str, dict[str, FieldInfo] | None]:
        out: dict[str, dict[str, FieldInfo] | None] = {}
        with self._connect() as con:
            for name in sobjects:
                if name not in OBJECTS:
                    out[name] = None
                    continue
                read_only = _READ_ONLY.get(name, frozenset()) | _SYSTEM_FIELDS
                unique = {
                    info[2]
                    for idx in con.execute(f'PRAGMA index_list("{name}")') if idx[2]
                    for info in con.execute(f'PRAGMA index_info("{idx[1]}")')
                }
                out[name] = {
                    col: FieldInfo(col, (decl or "TEXT").lower(), updateable=col not in read_only,
                                   createable=col not in read_only,
                                   external_id=col in unique and col.endswith("__c"))
                    for _, col, decl, *_ in con.execute(f'PRAGMA table_info("{name}")')
                }
        self.counter.add("describe", len(sobjects))
        return out

    # -- write --------------------------------------------------------------------------------

    def _owners(self, con: sqlite3.Connection) -> tuple[set[str], set[str]]:
        active = {r[0] for r in con.execute('SELECT Id FROM "User" WHERE IsActive = 1')}
        queues = {r[0] for r in con.execute("SELECT Id FROM \"Group\" WHERE Type = 'Queue'")}
        return active, queues

    def update_records(self, sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        if not updates:
            return []
        results: list[WriteResult] = []
        now = self._now()
        with self._connect() as con:
            columns = {r[1] for r in con.execute(f'PRAGMA table_info("{sobject}")')}
            ids = [u.record_id for u in updates]
            existing = {
                r[0]: r[1]
                for r in _chunked_in(con, f'SELECT Id, IsDeleted FROM "{sobject}" WHERE Id IN ({{}})', ids)
            }
            locked = {r[0] for r in _chunked_in(con, "SELECT RecordId FROM _RecordLock WHERE RecordId IN ({})", ids)}
            active, queues = self._owners(con)
            ok_rows: list[tuple[RecordUpdate, list[str]]] = []
            for u in updates:
                bad_fields = [f for f in u.fields if f not in columns]
                owner = u.fields.get("OwnerId")
                if u.record_id not in existing or existing[u.record_id]:
                    results.append(WriteResult(u.record_id, False, "ENTITY_IS_DELETED", "entity is deleted"))
                elif bad_fields:
                    results.append(
                        WriteResult(u.record_id, False, "INVALID_FIELD", f"No such column {bad_fields[0]!r} on {sobject}")
                    )
                elif u.record_id in locked:
                    results.append(
                        WriteResult(u.record_id, False, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
                    )
                elif owner is not None and owner not in active and owner not in queues:
                    results.append(
                        WriteResult(u.record_id, False, INACTIVE_OWNER, f"operation performed with inactive user or invalid owner {owner}")
                    )
                else:
                    ok_rows.append((u, sorted(u.fields)))
                    results.append(WriteResult(u.record_id, True, crm_id=u.record_id))
            # Group by the set of fields written so each group is one executemany.
            groups: dict[tuple[str, ...], list[RecordUpdate]] = {}
            for u, names in ok_rows:
                groups.setdefault(tuple(names), []).append(u)
            for names, group in groups.items():
                sets = ", ".join([f'"{n}" = ?' for n in names] + ["LastModifiedDate = ?", "SystemModstamp = ?"])
                con.executemany(
                    f'UPDATE "{sobject}" SET {sets} WHERE Id = ?',
                    [[u.fields[n] for n in names] + [now, now, u.record_id] for u in group],
                )
        self.counter.add("update", max(1, -(-len(updates) // 200)))
        return results

    def convert_leads(self, conversions: Sequence[Conversion]) -> list[WriteResult]:
        if not conversions:
            return []
        results: list[WriteResult] = []
        now = self._now()
        today = now[:10]
        with self._connect() as con:
            active, queues = self._owners(con)
            locked = {r[0] for r in con.execute("SELECT RecordId FROM _RecordLock")}
            for c in conversions:
                lead = con.execute("SELECT * FROM Lead WHERE Id = ? AND IsDeleted = 0", [c.lead_id]).fetchone()
                account = con.execute(
                    "SELECT Id, OwnerId FROM Account WHERE Id = ? AND IsDeleted = 0", [c.account_id]
                ).fetchone()
                owner = c.owner_id or (lead["OwnerId"] if lead else None)
                if lead is None:
                    results.append(WriteResult(c.lead_id, False, "ENTITY_IS_DELETED", "lead not found"))
                elif lead["IsConverted"]:
                    results.append(
                        WriteResult(c.lead_id, False, "CANNOT_UPDATE_CONVERTED_LEAD", "lead is already converted",
                                    crm_id=lead["ConvertedContactId"])
                    )
                elif account is None:
                    results.append(
                        WriteResult(c.lead_id, False, "INVALID_CROSS_REFERENCE_KEY", f"account {c.account_id} not found")
                    )
                elif c.lead_id in locked:
                    results.append(
                        WriteResult(c.lead_id, False, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
                    )
                elif owner not in active:
                    results.append(
                        WriteResult(c.lead_id, False, INACTIVE_OWNER, f"contact owner {owner} must be an active user")
                    )
                else:
                    contact_id = self._next_id(con, "Contact")
                    con.execute(
                        "INSERT INTO Contact (Id, AccountId, FirstName, LastName, Email, Phone, Title, OwnerId, "
                        "LeadSource, CreatedDate, LastModifiedDate, SystemModstamp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        [contact_id, c.account_id, lead["FirstName"], lead["LastName"] or "(unknown)", lead["Email"],
                         lead["Phone"], lead["Title"], owner, lead["LeadSource"], now, now, now],
                    )
                    opp_id = None
                    if c.create_opportunity:
                        opp_id = self._next_id(con, "Opportunity")
                        con.execute(
                            "INSERT INTO Opportunity (Id, Name, AccountId, StageName, OwnerId, LeadSource, "
                            "CreatedDate, LastModifiedDate, SystemModstamp) VALUES (?,?,?,?,?,?,?,?,?)",
                            [opp_id, c.opportunity_name or f"{lead['Company'] or 'New'} - inbound", c.account_id,
                             "Prospecting", owner, lead["LeadSource"], now, now, now],
                        )
                    if c.assign_account:
                        con.execute("UPDATE Account SET OwnerId = ?, LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
                                    [owner, now, now, c.account_id])
                    con.execute(
                        "UPDATE Lead SET IsConverted = 1, Status = ?, ConvertedAccountId = ?, ConvertedContactId = ?, "
                        "ConvertedOpportunityId = ?, ConvertedDate = ?, OwnerId = ?, LastModifiedDate = ?, "
                        "SystemModstamp = ? WHERE Id = ?",
                        [c.converted_status, c.account_id, contact_id, opp_id, today, owner, now, now, c.lead_id],
                    )
                    if c.send_notification_email:  # what Salesforce's sendNotificationEmail would send
                        con.execute(DDL["_NotificationEmail"])  # a CRM file made before it existed
                        con.execute("INSERT INTO _NotificationEmail VALUES (?, ?, 'lead converted', ?)",
                                    [c.lead_id, owner, now])
                    results.append(WriteResult(c.lead_id, True, crm_id=contact_id))
        self.counter.add("convert", max(1, -(-len(conversions) // 100)))
        return results

    @staticmethod
    def _reminder_columns(con: sqlite3.Connection) -> None:
        """A CRM file made before task reminders existed gains their columns."""
        if "IsReminderSet" not in {r[1] for r in con.execute("PRAGMA table_info(Task)")}:
            con.execute("ALTER TABLE Task ADD COLUMN IsReminderSet INTEGER NOT NULL DEFAULT 0")
            con.execute("ALTER TABLE Task ADD COLUMN ReminderDateTime TEXT")

    def upsert_tasks(self, tasks: Sequence[TaskSpec]) -> list[WriteResult]:
        if not tasks:
            return []
        results: list[WriteResult] = []
        now = self._now()
        with self._connect() as con:
            active, _ = self._owners(con)
            reminders = any(t.reminder_at for t in tasks)
            if reminders:  # the CRM's own notification of the owner (rules `notify: {crm: true}`)
                self._reminder_columns(con)
            cols = ["WhoId", "WhatId", "OwnerId", "Subject", "ActivityDate", "Description", "Priority"]
            cols += ["IsReminderSet", "ReminderDateTime"] if reminders else []
            for t in tasks:
                if t.owner_id not in active:
                    results.append(
                        WriteResult(t.external_key, False, INACTIVE_OWNER, f"task owner {t.owner_id} is not active")
                    )
                    continue
                row = con.execute("SELECT Id FROM Task WHERE LeadRoute_Key__c = ?", [t.external_key]).fetchone()
                values = [t.who_id, t.what_id, t.owner_id, t.subject, t.due_date, t.description, t.priority]
                if reminders:
                    values += [int(bool(t.reminder_at)), f"{t.reminder_at}.000+0000" if t.reminder_at else None]
                if row:
                    con.execute(
                        f"UPDATE Task SET {', '.join(c + '=?' for c in cols)}, LastModifiedDate=?, SystemModstamp=? "
                        f"WHERE Id=?", [*values, now, now, row[0]])
                    results.append(WriteResult(t.external_key, True, crm_id=row[0]))
                else:
                    task_id = self._next_id(con, "Task")
                    con.execute(
                        f"INSERT INTO Task (Id, {', '.join(cols)}, LeadRoute_Key__c, CreatedDate, LastModifiedDate, "
                        f"SystemModstamp) VALUES ({', '.join('?' * (len(cols) + 5))})",
                        [task_id, *values, t.external_key, now, now, now])
                    results.append(WriteResult(t.external_key, True, crm_id=task_id))
        self.counter.add("upsert", max(1, -(-len(tasks) // 200)))
        return results

    def add_to_campaign(self, memberships: Sequence[CampaignMembership]) -> list[WriteResult]:
        if not memberships:
            return []
        results: list[WriteResult] = []
        now = self._now()
        with self._connect() as con:
            campaigns = {r[0]: r[1] for r in con.execute("SELECT Id, IsActive FROM Campaign WHERE IsDeleted = 0")}
            locked = {r[0] for r in con.execute("SELECT RecordId FROM _RecordLock")}
            for m in memberships:
                lead = con.execute("SELECT IsConverted FROM Lead WHERE Id = ? AND IsDeleted = 0", [m.lead_id]).fetchone()
                row = con.execute("SELECT Id FROM CampaignMember WHERE CampaignId = ? AND LeadId = ?",
                                  [m.campaign_id, m.lead_id]).fetchone()
                if m.campaign_id not in campaigns:
                    results.append(WriteResult(m.key, False, "INVALID_CROSS_REFERENCE_KEY", f"campaign {m.campaign_id} not found"))
                elif not campaigns[m.campaign_id]:
                    results.append(WriteResult(m.key, False, "INVALID_CROSS_REFERENCE_KEY", f"campaign {m.campaign_id} is inactive"))
                elif lead is None:
                    results.append(WriteResult(m.key, False, "ENTITY_IS_DELETED", "lead not found"))
                elif lead[0] and not row:
                    results.append(WriteResult(m.key, False, "CANNOT_UPDATE_CONVERTED_LEAD", "a converted lead cannot join a campaign"))
                elif m.lead_id in locked or m.campaign_id in locked:
                    results.append(WriteResult(m.key, False, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"))
                else:
                    if row:
                        con.execute("UPDATE CampaignMember SET Status = ?, LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
                                    [m.status, now, now, row[0]])
                        results.append(WriteResult(m.key, True, crm_id=row[0]))
                    else:
                        member_id = self._next_id(con, "CampaignMember")
                        con.execute("INSERT INTO CampaignMember (Id, CampaignId, LeadId, Status, CreatedDate, LastModifiedDate, "
                                    "SystemModstamp) VALUES (?,?,?,?,?,?,?)", [member_id, m.campaign_id, m.lead_id, m.status,
                                                                              now, now, now])
                        results.append(WriteResult(m.key, True, crm_id=member_id))
        self.counter.add("upsert", max(1, -(-len(memberships) // 200)))
        return results

    def _next_id(self, con: sqlite3.Connection, sobject: str) -> str:
        row = con.execute(f'SELECT max(Id) FROM "{sobject}"').fetchone()
        n = ids.number(row[0]) + 1 if row and row[0] else 1
        return make_id(sobject, n)

    def close(self) -> None:
        pass


def _chunked_in(con: sqlite3.Connection, sql: str, ids: Sequence[str], size: int = 900):
    """Run ``sql`` with an ``IN ({})`` placeholder over ``ids`` in chunks (SQLite's variable limit)."""
    for i in range(0, len(ids), size):
        chunk = ids[i : i + size]
        yield from con.execute(sql.format(",".join("?" * len(chunk))), chunk)

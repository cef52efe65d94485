"""Build a small local CRM record by record: for scenario tests, examples and docs.

The demo generator (:mod:`pipelines.demo`) makes large realistic CRMs; this
builder makes tiny explicit ones, so a test reads like the rule it checks::

    crm = CrmBuilder(tmp_path / "crm.sqlite", now=NOW)
    acme = crm.account("Acme Corp", website="acme.com", type="Customer", owner=AVA)
    lead = crm.lead(company="Acme", email="jo@acme.com")     # lands in the intake queue
"""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from pipelines.crm import ids
from pipelines.crm.local_schema import create_schema, make_id, sf_datetime

INTEGRATION_USER = make_id("User", 999)


class CrmBuilder:
    def __init__(self, path: str | Path, now: datetime, rules_dir: str | Path = "routing_rules"):
        self.path = Path(path)
        self.now = now
        self.con = sqlite3.connect(self.path)
        create_schema(self.con)
        self._counters: dict[str, int] = {}
        self.queue_ids: dict[str, str] = {}
        self._users_from_roster(Path(rules_dir))
        self.con.commit()

    @classmethod
    def reopen(cls, path: str | Path, now: datetime) -> CrmBuilder:
        """A builder over a CRM built earlier (a test's copy of a module's world): its roster and
        queues are already there."""
        self = cls.__new__(cls)
        self.path, self.now = Path(path), now
        self.con = sqlite3.connect(self.path)
        self._counters = {}
        self.queue_ids = dict(self.con.execute("""SELECT DeveloperName, Id FROM "Group" WHERE Type = 'Queue'""").fetchall())
        return self

    def _stamp(self, when: datetime | None = None) -> str:
        return sf_datetime(when or self.now)

    def _id(self, sobject: str) -> str:
        if sobject not in self._counters:
            row = self.con.execute(f'SELECT max(Id) FROM "{sobject}"').fetchone()
            self._counters[sobject] = ids.number(row[0]) if row and row[0] else 0
        self._counters[sobject] += 1
        return make_id(sobject, self._counters[sobject] + (500 if sobject == "User" else 0))

    def _insert(self, table: str, values: dict) -> None:
        cols = ", ".join(f'"{c}"' for c in values)
        self.con.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({",".join("?" * len(values))})', list(values.values()))
        self.con.commit()

    def _system(self, created: datetime | None) -> dict:
        stamp = self._stamp(created)
        return {"CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp, "CreatedById": INTEGRATION_USER}

    def _users_from_roster(self, rules_dir: Path) -> None:
        stamp = self._system(self.now - timedelta(days=400))
        with open(rules_dir / "reps.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                self._insert("User", {
                    "Id": row["user_id"], "Username": row["email"], "Name": row["name"], "Email": row["email"],
                    "IsActive": int(row["active"].lower() == "true"), "Sales_Role__c": row["role"],
                    "Department": row["team"], "ManagerId": row["manager_id"] or None,
                    "TimeZoneSidKey": row["time_zone"], **stamp,
                })
        self._insert("User", {"Id": INTEGRATION_USER, "Username": "integration@leadroute.example",
                              "Name": "LeadRoute Integration", "IsActive": 1, **stamp})
        queues = yaml.safe_load((rules_dir / "queues.yaml").read_text())["queues"]
        for n, (name, spec) in enumerate(queues.items(), start=1):
            qid = make_id("Group", n)
            self.queue_ids[name] = qid
            self._insert("Group", {"Id": qid, "Name": (spec or {}).get("label", name), "DeveloperName": name,
                                   "Type": "Queue", **stamp})

    def user(self, name: str, active: bool = True, role: str = "AE") -> str:
        uid = self._id("User")
        self._insert("User", {"Id": uid, "Username": f"{uid}@example.com", "Name": name, "IsActive": int(active),
                              "Sales_Role__c": role, **self._system(self.now - timedelta(days=30))})
        return uid

    def account(self, name: str, *, owner: str, website: str | None = None, type: str = "Prospect",
                parent: str | None = None, country: str | None = "United States", state: str | None = None,
                created: datetime | None = None, **fields) -> str:
        aid = self._id("Account")
        self._insert("Account", {"Id": aid, "Name": name, "Website": website, "Type": type, "ParentId": parent,
                                 "OwnerId": owner, "BillingCountry": country, "BillingState": state,
                                 **self._system(created or self.now - timedelta(days=200)), **fields})
        return aid

    def opportunity(self, account: str, *, owner: str, stage: str = "Prospecting", **fields) -> str:
        oid = self._id("Opportunity")
        closed = stage.startswith("Closed")
        self._insert("Opportunity", {"Id": oid, "Name": f"Opportunity {oid[-4:]}", "AccountId": account,
                                     "StageName": stage, "IsClosed": int(closed), "IsWon": int(stage == "Closed Won"),
                                     "OwnerId": owner, **self._system(self.now - timedelta(days=20)), **fields})
        return oid

    def lead(self, *, company: str | None = None, email: str | None = None, owner: str | None = None,
             last_name: str = "Doe", country: str | None = None, state: str | None = None,
             status: str = "New", created: datetime | None = None, **fields) -> str:
        lid = self._id("Lead")
        self._insert("Lead", {"Id": lid, "LastName": last_name, "Company": company, "Email": email,
                              "OwnerId": owner or self.queue_ids["Inbound_Leads"], "Country": country, "State": state,
                              "Status": status, **self._system(created), **fields})
        return lid

    def task(self, who: str, *, owner: str, when: datetime, status: str = "Completed", subject: str = "Call",
             **fields) -> str:
        """A task on a lead (a logged call when completed), created at ``when``."""
        tid = self._id("Task")
        self._insert("Task", {"Id": tid, "WhoId": who, "OwnerId": owner, "Subject": subject, "Status": status,
                              **self._system(when), **fields})
        return tid

    def event(self, who: str, *, owner: str, starts: datetime, minutes: int = 30, subject: str = "Meeting",
              created: datetime | None = None) -> str:
        """A meeting with a lead, starting at ``starts``."""
        eid = self._id("Event")
        self._insert("Event", {"Id": eid, "WhoId": who, "OwnerId": owner, "Subject": subject,
                               "StartDateTime": self._stamp(starts),
                               "EndDateTime": self._stamp(starts + timedelta(minutes=minutes)),
                               **self._system(created)})
        return eid

    def campaign(self, name: str, active: bool = True) -> str:
        cid = self._id("Campaign")
        self._insert("Campaign", {"Id": cid, "Name": name, "IsActive": int(active), **self._system(None)})
        return cid

    def rows(self, sql: str, params=()) -> list[dict]:
        """Rows of a query on the CRM, as dicts (for assertions)."""
        cur = self.con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def update(self, sobject: str, record_id: str, when: datetime, **fields) -> None:
        """Change a record as a CRM user would, bumping its SystemModstamp."""
        stamp = self._stamp(when)
        sets = ", ".join(f'"{k}" = ?' for k in fields)
        self.con.execute(f'UPDATE "{sobject}" SET {sets}, LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?',
                         [*fields.values(), stamp, stamp, record_id])
        self.con.commit()

    def lock(self, *record_ids: str) -> None:
        """Hold rows as another transaction would: writes to them fail with UNABLE_TO_LOCK_ROW."""
        self.con.executemany("INSERT OR IGNORE INTO _RecordLock (RecordId, Reason) VALUES (?, 'test')",
                             [(r,) for r in record_ids])
        self.con.commit()

    def unlock(self, *record_ids: str) -> None:
        self.con.executemany("DELETE FROM _RecordLock WHERE RecordId = ?", [(r,) for r in record_ids])
        self.con.commit()

    def owner_of(self, lead_id: str) -> str:
        return self.con.execute("SELECT OwnerId FROM Lead WHERE Id = ?", [lead_id]).fetchone()[0]

    def close(self) -> None:
        self.con.close()

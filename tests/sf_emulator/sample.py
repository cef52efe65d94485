"""A tiny local-CRM SQLite file for the emulator's own tests.

Written with the project's real schema (``pipelines.crm.local_schema``), so
loading it exercises exactly what the pipeline's end-to-end tests will load:
0/1 booleans, ``...000+0000`` datetimes, a deleted row, a converted lead,
queues and an inactive user, and a ``_RecordLock`` row.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from pipelines.crm.local_schema import create_schema, make_id, sf_datetime

U_AVA, U_DIEGO, U_GONE = make_id("User", 10), make_id("User", 11), make_id("User", 99)
Q_INBOUND, Q_UNROUTABLE, G_PUBLIC = make_id("Group", 1), make_id("Group", 2), make_id("Group", 9)
A_ACME = make_id("Account", 1)
L = {n: make_id("Lead", n) for n in range(1, 8)}
T_ONE = make_id("Task", 1)
TASK_KEY = "route:L1:2026-01-01"


def _ts(day: int, hour: int = 10) -> str:
    return sf_datetime(datetime(2026, 1, day, hour, 0, tzinfo=timezone.utc))


def _insert(con, table: str, row: dict) -> None:
    row = {"CreatedDate": _ts(1, 0), "LastModifiedDate": row.get("SystemModstamp", _ts(1, 0)),
           "SystemModstamp": _ts(1, 0), **row}
    cols = ", ".join(f'"{c}"' for c in row)
    con.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * len(row))})', list(row.values()))


def write_sample_crm(path) -> str:
    con = sqlite3.connect(path)
    create_schema(con)
    for uid, first, last, active in ((U_AVA, "Ava", "Thompson", 1), (U_DIEGO, "Diego", "Alvarez", 1),
                                     (U_GONE, "Former", "Rep", 0)):
        _insert(con, "User", {"Id": uid, "Username": f"{first.lower()}@leadroute.example", "Name": f"{first} {last}",
                              "FirstName": first, "LastName": last, "IsActive": active})
    for gid, name, dev, kind in ((Q_INBOUND, "Inbound Leads", "Inbound_Leads", "Queue"),
                                 (Q_UNROUTABLE, "Unroutable Leads", "Unroutable", "Queue"),
                                 (G_PUBLIC, "All Sales", "All_Sales", "Regular")):
        _insert(con, "Group", {"Id": gid, "Name": name, "DeveloperName": dev, "Type": kind})
    _insert(con, "Account", {"Id": A_ACME, "Name": "Acme Corp", "OwnerId": U_AVA, "Website": "acme.example"})
    leads = [
        (1, "Ada", "Lovelace", "Analytical Engines", "US", Q_INBOUND, 80.0, "Software", 0, 0),
        (2, "Grace", "Hopper", "Navy", "US", Q_INBOUND, 55.0, "Government", 0, 0),
        (3, "Alan", "Turing", "Bletchley", "GB", U_AVA, None, None, 0, 0),
        (4, "Edsger", "Dijkstra", "Mathematisch Centrum", "NL", Q_INBOUND, 90.0, "Research", 0, 0),
        (5, "Barbara", "Liskov", "MIT", "US", U_DIEGO, 70.0, "Education", 1, 0),
        (6, "Deleted", "Person", "Gone Inc", "US", Q_INBOUND, 10.0, None, 0, 1),
        (7, "Ken", "Thompson", "Bell Labs", "US", Q_INBOUND, 60.0, "Telecom", 0, 0),
    ]
    for n, first, last, company, country, owner, score, industry, converted, deleted in leads:
        row = {"Id": L[n], "FirstName": first, "LastName": last, "Company": company, "Country": country,
               "OwnerId": owner, "Lead_Score__c": score, "Industry": industry, "IsConverted": converted,
               "IsDeleted": deleted, "Email": f"{last.lower()}@{company.split()[0].lower()}.example",
               "SystemModstamp": _ts(n)}
        if converted:
            row.update({"ConvertedAccountId": A_ACME, "ConvertedDate": "2026-01-05", "Status": "Closed - Converted"})
        _insert(con, "Lead", row)
    _insert(con, "Task", {"Id": T_ONE, "WhoId": L[1], "OwnerId": U_AVA, "Subject": "Call",
                          "LeadRoute_Key__c": TASK_KEY})
    con.execute("INSERT INTO _RecordLock (RecordId, Reason) VALUES (?, ?)", (L[7], "held by a test"))
    con.commit()
    con.close()
    return str(path)

"""What reps did with historical leads: contacts from conversions, tasks, meetings, campaigns.

Why: routing looks at recent activity (an open meeting means someone is working the
lead), and converted leads must point at real Contact and Account rows, as they do
in Salesforce.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.demo import text as tx
from pipelines.demo import vocabulary as voc
from pipelines.demo.roster import INTEGRATION_USER_ID

_DAY = tx.MS_PER_DAY


def contacts_for_converted(leads: pd.DataFrame, converted_at: np.ndarray, *, start: int) -> pd.DataFrame:
    """One Contact per converted lead, on the account it was converted to; sets ConvertedContactId on the leads."""
    rows = np.flatnonzero(leads["IsConverted"].to_numpy() == 1)
    ids = tx.make_ids("Contact", start, len(rows))
    leads.loc[rows, "ConvertedContactId"] = ids
    stamp = tx.sf_datetimes(converted_at[rows])
    return pd.DataFrame({
        "Id": ids, "AccountId": leads["ConvertedAccountId"].to_numpy(dtype=object)[rows],
        "FirstName": leads["FirstName"].to_numpy(dtype=object)[rows], "LastName": leads["LastName"].to_numpy(dtype=object)[rows],
        "Email": leads["Email"].to_numpy(dtype=object)[rows], "Phone": leads["Phone"].to_numpy(dtype=object)[rows],
        "Title": leads["Title"].to_numpy(dtype=object)[rows], "OwnerId": leads["OwnerId"].to_numpy(dtype=object)[rows],
        "LeadSource": leads["LeadSource"].to_numpy(dtype=object)[rows], "CreatedDate": stamp,
        "CreatedById": leads["OwnerId"].to_numpy(dtype=object)[rows], "LastModifiedDate": stamp, "SystemModstamp": stamp,
        "IsDeleted": 0,
    })


def link_opportunities(leads: pd.DataFrame, opportunities_by_account: pd.Series) -> None:
    """Converted leads point at an opportunity of their account when it has one (ConvertedOpportunityId)."""
    rows = np.flatnonzero(leads["IsConverted"].to_numpy() == 1)
    found = opportunities_by_account.reindex(leads["ConvertedAccountId"].to_numpy(dtype=object)[rows]).to_numpy(dtype=object)
    leads.loc[rows, "ConvertedOpportunityId"] = np.where(pd.isna(found), None, found)


def tasks_and_events(rng: np.random.Generator, leads: pd.DataFrame, created: np.ndarray, historical: np.ndarray, *, now_ms: float,
                     task_start: int, event_start: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calls and emails on ~20 % of historical leads, meetings on ~6 % (a third of them still ahead).

    Sets the leads' LastActivityDate from the activities that already happened.
    """
    hist = np.flatnonzero(historical)
    with_task = hist[rng.random(len(hist)) < .2]
    per = 1 + rng.poisson(.7, len(with_task))
    t_rows = np.repeat(with_task, per)
    m = len(t_rows)
    t_created = created[t_rows] + np.floor((now_ms - created[t_rows]) * rng.random(m) * .9)
    due = t_created + _DAY * rng.integers(0, 14, m)
    done = due < now_ms - _DAY
    owner = leads["OwnerId"].to_numpy(dtype=object)
    t_mod = np.minimum(np.where(done, np.maximum(due, t_created), t_created), now_ms)
    tasks = pd.DataFrame({
        "Id": tx.make_ids("Task", task_start, m), "WhoId": leads["Id"].to_numpy(dtype=object)[t_rows], "WhatId": None,
        "OwnerId": owner[t_rows], "Subject": tx.pick(rng, voc.TASK_SUBJECTS, m),
        "Status": np.where(done, "Completed", tx.pick(rng, ["Not Started", "In Progress"], m)),
        "Priority": tx.pick(rng, ["Normal", "High", "Low"], m, [.7, .2, .1]), "ActivityDate": tx.sf_dates(due),
        "Description": None, "LeadRoute_Key__c": None, "CreatedDate": tx.sf_datetimes(t_created), "CreatedById": owner[t_rows],
        "LastModifiedDate": tx.sf_datetimes(t_mod), "SystemModstamp": tx.sf_datetimes(t_mod), "IsDeleted": 0,
    })
    with_event = hist[rng.random(len(hist)) < .06]
    k = len(with_event)
    future = rng.random(k) < .35
    e_created = created[with_event] + np.floor((now_ms - created[with_event]) * rng.random(k) * .9)
    start = np.where(future, now_ms + _DAY * rng.uniform(.5, 21, k), e_created + _DAY * rng.uniform(1, 10, k))
    start = np.where(~future & (start > now_ms - 3_600_000), now_ms - _DAY * rng.uniform(.1, 2, k), start)
    start = np.maximum(start, e_created)
    start = np.floor(start / 1_800_000) * 1_800_000  # meetings start on the half hour
    end = start + 1_800_000 * rng.integers(1, 3, k)
    events = pd.DataFrame({
        "Id": tx.make_ids("Event", event_start, k), "WhoId": leads["Id"].to_numpy(dtype=object)[with_event], "WhatId": None,
        "OwnerId": owner[with_event], "Subject": tx.pick(rng, voc.EVENT_SUBJECTS, k), "StartDateTime": tx.sf_datetimes(start),
        "EndDateTime": tx.sf_datetimes(end), "CreatedDate": tx.sf_datetimes(e_created), "CreatedById": owner[with_event],
        "LastModifiedDate": tx.sf_datetimes(e_created), "SystemModstamp": tx.sf_datetimes(e_created), "IsDeleted": 0,
    })
    # LastActivityDate: latest past activity per lead
    past = pd.concat([pd.Series(due[done], index=t_rows[done]), pd.Series(start[~future], index=with_event[~future])])
    latest = past.groupby(level=0).max()
    last = np.full(len(leads), np.nan)
    last[latest.index.to_numpy()] = latest.to_numpy()
    leads["LastActivityDate"] = tx.sf_dates(last)
    return tasks, events


def campaigns(rng: np.random.Generator, leads: pd.DataFrame, created: np.ndarray, *, now_ms: float, owner_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A couple of marketing campaigns; leads whose source matches (webinar, trade show, e-book) are members."""
    first = float(np.nanmin(created)) if len(created) else now_ms - 400 * _DAY
    c_created = np.floor(np.minimum(first, now_ms - 400 * _DAY) - _DAY * np.arange(1, len(voc.CAMPAIGNS) + 1))
    camp = pd.DataFrame({
        "Id": tx.make_ids("Campaign", 1, len(voc.CAMPAIGNS)), "Name": [name for name, _ in voc.CAMPAIGNS],
        "IsActive": [1, 1, 0][: len(voc.CAMPAIGNS)], "OwnerId": owner_id, "CreatedDate": tx.sf_datetimes(c_created),
        "CreatedById": owner_id, "LastModifiedDate": tx.sf_datetimes(c_created), "SystemModstamp": tx.sf_datetimes(c_created),
        "IsDeleted": 0,
    })
    source = leads["LeadSource"].to_numpy(dtype=object)
    frames = []
    for cid, (_, lead_source) in zip(camp["Id"], voc.CAMPAIGNS):
        rows = np.flatnonzero(source == lead_source)
        frames.append(pd.DataFrame({"CampaignId": cid, "LeadId": leads["Id"].to_numpy(dtype=object)[rows], "row": rows}))
    members = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["CampaignId", "LeadId", "row"])
    m = len(members)
    stamp = tx.sf_datetimes(created[members["row"].to_numpy(dtype=int)])
    members = members.drop(columns="row").assign(
        Id=tx.make_ids("CampaignMember", 1, m), ContactId=None,
        Status=tx.pick(rng, ["Sent", "Responded", "Attended", "Registered"], m, [.3, .3, .25, .15]),
        CreatedDate=stamp, CreatedById=INTEGRATION_USER_ID, LastModifiedDate=stamp, SystemModstamp=stamp, IsDeleted=0,
    )
    return camp, members

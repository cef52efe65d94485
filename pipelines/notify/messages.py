"""The words of a notification: who it goes to, its subject and its body, for every row at once.

A new owner reads "New lead for you: Jo Smith (Acme)"; their manager "New lead for Ava Chen: ...";
a channel "New lead for Ava Chen: ..." (or "... in queue Shark_Tank"); an SLA miss reads
"SLA <name> missed: Jo Smith (Acme), now for Ava Chen". The body says why (the decision's reason, as ``explain`` says it) and
names the lead. Recipients who cannot be written to are rows too, failed with the reason
(no email in reps.csv, no manager), so nothing is dropped silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str).str.strip()


def compose(decided: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """One outbox row per (decision, recipient): ``decided`` has the decision, lead and recipient columns;
    ``people`` is indexed by user id with name, email and manager_id."""
    d = decided.reset_index(drop=True)
    to_queue = d["queue"].notna()
    owner = d["owner_id"].where(~to_queue)
    manager = owner.map(people["manager_id"])
    role = d["recipient"]
    channel_name = role.str.removeprefix("channel:")
    user = pd.Series(np.where(role.eq("owner"), owner, np.where(role.eq("manager"), manager, None)), dtype=object)
    named = owner.map(people["name"])
    owner_name = pd.Series(np.where(named.notna(), named, owner), dtype=object)  # an unknown id is its own name
    lead_name = (_text(d["first_name"]) + " " + _text(d["last_name"])).str.strip()
    lead_name = lead_name.where(lead_name.ne(""), d["lead_id"])
    company = _text(d["company"])
    who = lead_name + np.where(company.ne(""), " (" + company + ")", "")
    target = pd.Series(np.where(to_queue, "in queue " + _text(d["queue"]), "for " + _text(owner_name)), dtype=object)
    target = target.where(~role.eq("owner"), "for you")
    subject = "New lead " + target + ": " + who
    missed = d["entry"].eq("sla")
    subject = subject.where(~missed, "SLA " + _text(d["step"]) + " missed: " + who + ", now " + target)
    email = _text(d["email"])
    lines = ("Lead: " + who + np.where(email.ne(""), " <" + email + ">", "") + "\n"
             + "Why: " + _text(d["reason"]) + "\n"
             + "Lead id: " + d["lead_id"].astype(str))
    body = pd.Series(np.where(role.eq("manager"), "Your team's " + _text(owner_name) + " owns it.\n", ""),
                     dtype=object) + lines
    out = pd.DataFrame({
        "message_key": d["decision_id"] + ":" + np.where(role.eq("owner") | role.eq("manager"), role + ":" +
                                                          user.fillna("").astype(str), role),
        "decision_id": d["decision_id"], "lead_id": d["lead_id"], "recipient": role, "user_id": user,
        "address": user.map(people["email"]).astype(object),
        "channel": np.where(role.str.startswith("channel:"), channel_name, "email"),
        "subject": subject, "body": body, "status": "pending", "last_error": None,
    })
    person = role.isin(["owner", "manager"])
    queue_person = person & to_queue
    out.loc[queue_person, ["status", "last_error"]] = ["skipped", "the lead went to a queue: no owner to tell"]
    no_manager = role.eq("manager") & ~to_queue & user.isna()
    out.loc[no_manager, ["status", "last_error"]] = [
        "failed", "the owner has no manager in reps.csv (manager_id) or the CRM"]
    no_email = person & ~to_queue & user.notna() & out["address"].isna()
    out.loc[no_email, "status"] = "failed"
    out.loc[no_email, "last_error"] = "no email in reps.csv for " + user[no_email].astype(str)
    return out.drop_duplicates("message_key")

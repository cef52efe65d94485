"""Side actions: what a deciding step asks for besides the owner (convert, a task, field values).

A step declares them next to its action::

    - step: customer_account
      when: {field: account.type, in: [Customer]}
      assign: account_owner
      convert: {converted_status: Qualified}
      task: {subject: "New contact at {account.name}: call {lead.first_name}", due_in_hours: 4, priority: High}
      set: {routing_reason: "Customer account {account.name}"}

The engine renders them for every lead the step decides into the ``side_actions``
column (a JSON list per lead) that :mod:`pipelines.ledger.decisions` turns into
ledger rows. Templates are filled, and the JSON assembled, column by column
(:mod:`.trace`), not lead by lead; templates are parsed and filled by
:mod:`pipelines.routing.language.templates`.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd

from pipelines.routing.engine import trace
from pipelines.routing.language.model import SideAction
from pipelines.routing.language.templates import fill

# Side actions that need a person: a queue can neither own a contact nor a task (Salesforce refuses both).
NEEDS_A_PERSON = ("convert", "task")
# The task a step with `notify: {crm: true}` and no task of its own gives the owner, with a reminder:
# Salesforce's REST API has no assignment email (EmailHeader is SOAP-only), a task reminder is its
# own in-app notification. Its subject names no field, so it needs none in the routing frame.
CRM_NOTICE = SideAction.model_construct(where=None, kind="task", params={"due_in_hours": 0, "priority": "Normal"},
                                        templates={})
CRM_NOTICE_SUBJECT = "New lead assigned to you by leadroute"


def render(actions: list[SideAction], frame: pd.DataFrame, now, to_person: np.ndarray | None = None,
           task_owner: np.ndarray | None = None, crm_notify: bool = False) -> np.ndarray:
    """Per lead of ``frame``, its side actions as JSON list text for the ledger (None when there are none).

    ``to_person`` marks the leads routed to a user; for the others (a fallback put them in a queue)
    conversions and tasks are left out, and only field values are set. ``task_owner`` gives a task
    to someone other than the lead's new owner (an SLA escalation's manager; None where the task
    stays the owner's): the push creates a task for its ``owner_id`` when it has one.

    ``crm_notify`` (a step's ``notify: {crm: true}``): the CRM tells the owner itself. The step's
    task (or, without one, :data:`CRM_NOTICE`) carries a reminder at ``now``, which pops up for
    its owner, and its conversion asks the CRM to send its notification email.
    """
    items = np.full(len(frame), "", dtype=object)
    if crm_notify and not any(a.kind == "task" for a in actions):
        actions = [*actions, CRM_NOTICE]
    for action in actions:
        one = _one(action, frame, now, task_owner, crm_notify)
        if to_person is not None and action.kind in NEEDS_A_PERSON:
            one = np.where(to_person, one, "").astype(object)
        items = trace.join(items, one)
    return trace.as_list(items)


def _one(action: SideAction, frame: pd.DataFrame, now, task_owner: np.ndarray | None = None,
         crm_notify: bool = False) -> np.ndarray:
    """One side action per lead as JSON object text ("" where it does not apply)."""
    n = len(frame)
    filled = {name: fill(t, frame) for name, t in action.templates.items()}
    if action.kind == "convert":
        account = frame["account.account_id"] if "account.account_id" in frame else pd.Series([None] * n, index=frame.index)
        body = trace.obj([("kind", '"convert"'),
                          ("converted_status", trace.text(str(action.params.get("converted_status", "Qualified")))),
                          ("create_opportunity", json.dumps(bool(action.params.get("create_opportunity", False)))),
                          ("opportunity_name", json.dumps(action.params.get("opportunity_name"))),
                          ("assign_account", json.dumps(bool(action.params.get("assign_account", False)))),
                          *([("send_notification_email", "true")] if crm_notify else []),
                          ("account_id", trace.encode(account.to_numpy(dtype=object)))], n)
        # A lead with no matched account cannot be converted under it: no convert for it.
        has = account.notna().to_numpy() & (account.astype(str) != "").to_numpy()
        return np.where(has, body, "").astype(object)
    if action.kind == "task":
        hours = float(action.params.get("due_in_hours") or 0) + 24 * float(action.params.get("due_in_days") or 0)
        due = now + timedelta(hours=hours)
        default = CRM_NOTICE_SUBJECT if action is CRM_NOTICE else str(action.params.get("subject", "Follow up"))
        subject = filled.get("subject", pd.Series(default, index=frame.index))
        description = filled.get("description", pd.Series("", index=frame.index))
        description = (description + f" (due by {due:%Y-%m-%d %H:%M} UTC)").str.strip()
        body = [("subject", trace.encode(subject.to_numpy(dtype=object))),
                ("due_date", trace.text(due.date().isoformat())),
                ("priority", trace.text(str(action.params.get("priority", "Normal")))),
                ("description", trace.encode(description.to_numpy(dtype=object)))]
        if crm_notify:  # the CRM's own reminder pops up for the owner at once
            body.append(("reminder_at", trace.text(f"{now:%Y-%m-%dT%H:%M:%S}")))
        task = trace.obj([("kind", '"task"'), *body], n)
        if task_owner is None:
            return task
        owned = trace.obj([("kind", '"task"'), ("owner_id", trace.encode(task_owner)), *body], n)
        return np.where(pd.notna(task_owner), owned, task).astype(object)
    if action.kind == "campaign":
        return trace.obj([("kind", '"campaign"'), ("campaign_id", trace.text(str(action.params["campaign_id"]))),
                          ("status", trace.text(str(action.params.get("status") or "Responded")))], n)
    if action.kind == "set":
        fields = trace.obj([(name, trace.encode(v.to_numpy(dtype=object))) for name, v in filled.items()], n)
        return trace.obj([("kind", '"fields"'), ("fields", fields)], n)
    raise ValueError(f"unknown side action {action.kind!r}")


def describe(actions: list) -> list[str]:
    """Side actions in words, for ``leadroute explain`` (text items, from older traces, as they are)."""
    out = []
    for a in actions or []:
        if isinstance(a, str):
            out.append(a)
            continue
        if a["kind"] == "convert":
            out.append(f"convert into a contact under account {a['account_id']} (status {a['converted_status']})")
        elif a["kind"] == "task":
            out.append(f"task for the new owner: {a['subject']!r}, due {a['due_date']}, priority {a['priority']}")
        elif a["kind"] == "fields":
            out.append("set " + ", ".join(f"{k} = {v!r}" for k, v in a["fields"].items()))
        elif a["kind"] == "campaign":
            out.append(f"add to campaign {a['campaign_id']} as {a.get('status', 'Responded')}")
    return out

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
ledger rows. Templates are filled column by column, not lead by lead.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd

from pipelines.routing.model import SideAction, Template
from pipelines.sourcefile import SourceRef

PLACEHOLDER = re.compile(r"\{([a-z_]+\.[A-Za-z0-9_.]+)\}")


def parse_template(text: str, where: SourceRef) -> Template:
    """``"Call {lead.first_name}"`` -> text and field parts (fields are checked by the validator)."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(("text", text[pos:m.start()]))
        parts.append(("field", m.group(1)))
        pos = m.end()
    if pos < len(text):
        parts.append(("text", text[pos:]))
    return Template(where=where, text=text, parts=parts)


def fill(template: Template, frame: pd.DataFrame) -> pd.Series:
    """The template filled for every row of ``frame`` (an empty field leaves an empty gap)."""
    out = pd.Series("", index=frame.index, dtype=object)
    for kind, value in template.parts:
        out = out + (value if kind == "text" else frame[value].astype("string").fillna("").astype(object))
    return out.str.replace(r"\s+", " ", regex=True).str.strip()


def render(actions: list[SideAction], frame: pd.DataFrame, now) -> pd.Series:
    """Per lead of ``frame``, the list of side-action dicts for the ledger (None when there are none)."""
    if not actions:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    columns: list[pd.Series] = []
    for action in actions:
        columns.append(_one(action, frame, now))
    joined = pd.concat(columns, axis=1)
    return pd.Series([[a for a in row if a is not None] or None for row in joined.itertuples(index=False)],
                     index=frame.index, dtype=object)


def _one(action: SideAction, frame: pd.DataFrame, now) -> pd.Series:
    filled = {name: fill(t, frame) for name, t in action.templates.items()}
    if action.kind == "convert":
        account = frame["account.account_id"] if "account.account_id" in frame else pd.Series(None, index=frame.index)
        base = {"kind": "convert", "converted_status": action.params.get("converted_status", "Qualified"),
                "create_opportunity": bool(action.params.get("create_opportunity", False)),
                "opportunity_name": action.params.get("opportunity_name")}
        # A lead with no matched account cannot be converted under it: no convert row for it.
        return account.map(lambda a: {**base, "account_id": a} if isinstance(a, str) and a else None)
    if action.kind == "task":
        hours = float(action.params.get("due_in_hours") or 0) + 24 * float(action.params.get("due_in_days") or 0)
        due = now + timedelta(hours=hours)
        subject = filled.get("subject", pd.Series(action.params.get("subject", "Follow up"), index=frame.index))
        description = filled.get("description", pd.Series("", index=frame.index))
        description = (description + f" (due by {due:%Y-%m-%d %H:%M} UTC)").str.strip()
        priority = action.params.get("priority", "Normal")
        return pd.Series([{"kind": "task", "subject": s, "due_date": due.date().isoformat(), "priority": priority,
                           "description": d} for s, d in zip(subject, description)], index=frame.index, dtype=object)
    if action.kind == "set":
        names = list(filled)
        return pd.Series([{"kind": "fields", "fields": dict(zip(names, values))}
                          for values in zip(*(filled[n] for n in names))], index=frame.index, dtype=object)
    raise ValueError(f"unknown side action {action.kind!r}")


def describe(actions: list[dict]) -> list[str]:
    """Side actions in words, for the trace and ``leadroute explain``."""
    out = []
    for a in actions or []:
        if a["kind"] == "convert":
            out.append(f"convert into a contact under account {a['account_id']} (status {a['converted_status']})")
        elif a["kind"] == "task":
            out.append(f"task for the new owner: {a['subject']!r}, due {a['due_date']}, priority {a['priority']}")
        elif a["kind"] == "fields":
            out.append("set " + ", ".join(f"{k} = {v!r}" for k, v in a["fields"].items()))
    return out

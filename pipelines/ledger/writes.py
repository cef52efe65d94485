"""What each ledger row asks the CRM to write: read by the push to send it, and by reconciliation
to tell whether the CRM already holds it.

One definition serves both, so "already there" means exactly "what the push would have sent".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import duckdb
import pandas as pd

from pipelines.crm.base import CampaignMembership, Conversion, TaskSpec


def ledger_rows(con: duckdb.DuckDBPyConnection, where: str, params: Sequence = ()) -> pd.DataFrame:
    """Ledger rows (``g``) matching ``where``, with what writing them needs: the decision's reason, the
    matched account, and the status and CRM id of the same decision's owner, convert and campaign rows.

    The rows are picked first and the other tables read by their keys: joined directly, every call
    hashed the whole ledger three times and every decision and match (0.3 s of CPU at a million
    accounts, for a tick with nothing to push)."""
    return con.execute(
        f"""WITH g AS MATERIALIZED (SELECT * FROM ledger g WHERE {where}),
                same AS MATERIALIZED (SELECT decision_id, kind, status, last_error, crm_record_id FROM ledger
                                      WHERE kind IN ('owner', 'convert', 'campaign')
                                        AND decision_id IN (SELECT decision_id FROM g))
           SELECT g.*, d.reason, m.account_id AS match_account_id,
                  o.status AS owner_status, o.last_error AS owner_error,
                  c.status AS convert_status, c.crm_record_id AS contact_id, c.last_error AS convert_error,
                  k.status AS campaign_status
           FROM g JOIN (SELECT decision_id, reason FROM routing_decision
                        WHERE decision_id IN (SELECT decision_id FROM g)) d USING (decision_id)
           LEFT JOIN (SELECT lead_id, account_id FROM lead_match WHERE lead_id IN (SELECT lead_id FROM g)) m
                  ON m.lead_id = g.lead_id
           LEFT JOIN same o ON o.decision_id = g.decision_id AND o.kind = 'owner'
           LEFT JOIN same c ON c.decision_id = g.decision_id AND c.kind = 'convert'
           LEFT JOIN same k ON k.decision_id = g.decision_id AND k.kind = 'campaign'
           ORDER BY m.account_id NULLS LAST, g.lead_id, g.kind""",
        list(params),
    ).df()


def due(con: duckdb.DuckDBPyConnection, now: datetime) -> pd.DataFrame:
    """Pending rows due now."""
    return ledger_rows(con, "g.status = 'pending' AND (g.next_attempt_at IS NULL OR g.next_attempt_at <= ?)", [now])


def lead_fields(rows: pd.DataFrame, writes: dict[str, str]) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """Per lead, the CRM fields its ``owner`` and ``fields`` rows set (one record update per lead), and the
    (lead, name) pairs naming a field that ``writes:`` in fields.yaml does not map."""
    owner_field = writes.get("owner_id", "OwnerId")
    reason_field = writes.get("routing_reason")
    per_lead: dict[str, dict] = {}
    bad: list[tuple[str, str]] = []
    for kind, lead, target, reason, payload in rows[
        ["kind", "lead_id", "target_owner_id", "reason", "payload"]
    ].itertuples(index=False):
        fields = per_lead.setdefault(lead, {})
        if kind == "owner":
            fields[owner_field] = target
            if reason_field:
                fields.setdefault(reason_field, (reason or "")[:255])
        else:
            for name, value in json.loads(payload)["fields"].items():
                if name not in writes:
                    bad.append((lead, name))
                else:
                    fields[writes[name]] = value
    return per_lead, bad


def field_values(payload: str, writes: dict[str, str]) -> dict[str, object]:
    """A ``fields`` row's CRM field names and values."""
    return {writes[n]: v for n, v in json.loads(payload)["fields"].items() if n in writes}


def conversions(rows: pd.DataFrame) -> list[Conversion]:
    out = []
    for lead, target, acc, payload in rows[["lead_id", "target_owner_id", "match_account_id", "payload"]].itertuples(
            index=False):
        p = json.loads(payload)
        out.append(Conversion(lead_id=lead, account_id=p.get("account_id") or acc, owner_id=target,
                              converted_status=p.get("converted_status", "Qualified"),
                              create_opportunity=bool(p.get("create_opportunity", False)),
                              opportunity_name=p.get("opportunity_name"),
                              assign_account=bool(p.get("assign_account", False)),
                              send_notification_email=bool(p.get("send_notification_email", False))))
    return out


def task_key(decision_ids: pd.Series) -> pd.Series:
    """The external key a decision's task is upserted on: a retry finds the same task."""
    return "leadroute-" + decision_ids + "-task"


def campaign_key(decision_ids: pd.Series) -> pd.Series:
    return "leadroute-" + decision_ids + "-campaign"


def tasks(rows: pd.DataFrame) -> list[TaskSpec]:
    """The task of each ``task`` row: on the new contact once the lead is converted, else on the lead."""
    out = []
    for key, lead, target, contact, acc, payload in zip(
            task_key(rows["decision_id"]), rows["lead_id"], rows["target_owner_id"], rows["contact_id"],
            rows["match_account_id"], rows["payload"]):
        p = json.loads(payload)
        converted = isinstance(contact, str)
        out.append(TaskSpec(external_key=key, who_id=contact if converted else lead,
                            owner_id=p.get("owner_id") or target, subject=p["subject"],
                            due_date=p.get("due_date"), what_id=acc if converted and isinstance(acc, str) else None,
                            description=p.get("description"), priority=p.get("priority", "Normal"),
                            reminder_at=p.get("reminder_at")))
    return out


def memberships(rows: pd.DataFrame) -> list[CampaignMembership]:
    return [CampaignMembership(key=key, campaign_id=p["campaign_id"], lead_id=lead, status=p.get("status", "Responded"))
            for key, lead, p in zip(campaign_key(rows["decision_id"]), rows["lead_id"],
                                    (json.loads(x) for x in rows["payload"]))]

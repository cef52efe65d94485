"""Push: pending ledger rows -> CRM, with one recorded result per record.

Push reads ``pending`` rows only and marks each one with the CRM's answer, so a
re-run never pushes twice. A retryable failure (``UNABLE_TO_LOCK_ROW``, a
timeout) stays pending with exponential backoff and is retried on a later tick,
up to ``max_attempts``; a permanent one (``INACTIVE_OWNER_OR_USER``) is marked
``failed`` with the CRM's message for ops to see in ``leadroute report``. When
the CRM refuses a whole call (:class:`CrmUnavailable`: API limit, repeated
authentication failure), the push stops for this tick and everything not yet
answered stays pending. Only a push that completed lets the extraction
watermarks advance.

Writes go in dependency order, one phase per kind:

1. ``owner`` and ``fields`` of the same lead as one record update;
2. ``campaign``, once the owner change is in (a campaign member is the lead's, and
   a converted lead can no longer join a campaign);
3. ``convert``, once the decision's owner change is in the CRM (a conversion
   carries the owner, and must not race a pending owner change), and its campaign
   membership, if any, is answered;
4. ``task``, once the decision's conversion (if any) is in, so the task hangs on
   the new contact rather than the converted lead.

A side action whose prerequisite failed for good is failed too, with the reason.
"""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pandas as pd

from pipelines.crm.base import (
    CampaignMembership,
    Conversion,
    CrmAdapter,
    CrmUnavailable,
    RecordUpdate,
    TaskSpec,
    WriteResult,
)
from pipelines.crm.fields import FieldMapping
from pipelines.ledger import watermarks
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import upsert
from pipelines.warehouse.schema import TABLES

MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
LEDGER_COLUMNS = TABLES["ledger"].column_names


def backoff(attempts: pd.Series) -> pd.Series:
    """Wait before the next attempt: 1, 2, 4, ... minutes, capped at an hour."""
    minutes = (2 ** (attempts.clip(lower=1) - 1)).clip(upper=BACKOFF_CAP / BACKOFF_BASE)
    return pd.to_timedelta(minutes * BACKOFF_BASE.total_seconds(), unit="s")


def due(con: duckdb.DuckDBPyConnection, run: RunInfo) -> pd.DataFrame:
    """Pending rows due now, with what each needs: the decision's reason, the matched account,
    and the status and CRM id of the same decision's owner and convert rows."""
    return con.execute(
        """SELECT g.*, d.reason, m.account_id AS match_account_id,
                  o.status AS owner_status, o.last_error AS owner_error,
                  c.status AS convert_status, c.crm_record_id AS contact_id, c.last_error AS convert_error,
                  k.status AS campaign_status
           FROM ledger g JOIN routing_decision d USING (decision_id)
           LEFT JOIN lead_match m ON m.lead_id = g.lead_id
           LEFT JOIN ledger o ON o.decision_id = g.decision_id AND o.kind = 'owner'
           LEFT JOIN ledger c ON c.decision_id = g.decision_id AND c.kind = 'convert'
           LEFT JOIN ledger k ON k.decision_id = g.decision_id AND k.kind = 'campaign'
           WHERE g.status = 'pending' AND (g.next_attempt_at IS NULL OR g.next_attempt_at <= ?)
           ORDER BY m.account_id NULLS LAST, g.lead_id, g.kind""",
        [run.now],
    ).df()


def apply_results(rows: pd.DataFrame, results: list[WriteResult], run: RunInfo, max_attempts: int) -> pd.DataFrame:
    """``rows`` (with a ``record_key``) updated with the CRM's per-record answers, matched by key, not order."""
    answers = pd.DataFrame(
        [(r.record_id, r.ok, r.error_code, r.message, r.retryable, r.crm_id) for r in results],
        columns=["record_key", "ok", "code", "message", "retryable", "crm_id"],
    ).drop_duplicates("record_key", keep="last")
    out = rows.drop(columns=[c for c in ("ok", "code", "message", "retryable", "crm_id") if c in rows]).merge(
        answers, on="record_key", how="left")
    # A record the CRM did not answer for is treated as not attempted: retry it.
    missing = out["ok"].isna()
    out.loc[missing, ["ok", "code", "message", "retryable"]] = [
        False, "NOT_ATTEMPTED", "the CRM returned no result for this record", True]
    out["ok"] = out["ok"].astype(bool)
    out["attempts"] = out["attempts"].fillna(0).astype(int) + 1
    retry = ~out["ok"] & out["retryable"].astype(bool) & (out["attempts"] < max_attempts)
    out["status"] = "failed"
    out.loc[out["ok"], "status"] = "pushed"
    out.loc[retry, "status"] = "pending"
    out["pushed_at"] = pd.Series(pd.Timestamp(run.now), index=out.index).where(out["ok"], pd.NaT)
    out["next_attempt_at"] = (pd.Timestamp(run.now) + backoff(out["attempts"])).where(retry, pd.NaT)
    out["last_error_code"] = out["code"].where(~out["ok"], None)
    out["last_error"] = out["message"].where(~out["ok"], None)
    out["crm_record_id"] = out["crm_id"].where(out["ok"], out.get("crm_record_id"))
    out["updated_at"] = run.now
    out["last_run_id"] = run.run_id
    return out


def _converted_already(result: WriteResult) -> WriteResult:
    """A retried conversion whose first answer was lost: the lead is converted, the contact is known. Done."""
    if result.error_code == "CANNOT_UPDATE_CONVERTED_LEAD" and result.crm_id:
        return WriteResult(result.record_id, True, crm_id=result.crm_id)
    return result


def _fail(rows: pd.DataFrame, code: str, message: pd.Series | str, run: RunInfo) -> pd.DataFrame:
    out = rows.copy()
    out["status"] = "failed"
    out["last_error_code"] = code
    out["last_error"] = message
    out["updated_at"] = run.now
    out["last_run_id"] = run.run_id
    return out


class _Push:
    def __init__(self, con, crm: CrmAdapter, mapping: FieldMapping, run: RunInfo, max_attempts: int):
        self.con, self.crm, self.run, self.max_attempts = con, crm, run, max_attempts
        lead = mapping.objects["lead"]
        self.sobject = lead.sobject
        self.writes = lead.writes
        self.done: list[pd.DataFrame] = []
        self.stopped: CrmUnavailable | None = None

    def _record(self, frame: pd.DataFrame) -> None:
        if len(frame):
            upsert(self.con, "ledger", frame[[c for c in LEDGER_COLUMNS if c in frame.columns]], ["decision_id", "kind"])
            self.done.append(frame)

    def _call(self, fn, items, rows: pd.DataFrame) -> None:
        if self.stopped is not None or not len(rows):
            return
        try:
            results = fn(items)
        except CrmUnavailable as exc:
            self.stopped = exc
            # What a batch wrote before the stop is recorded, so it is not pushed again; the rest stays pending.
            answered = rows[rows["record_key"].isin({r.record_id for r in exc.partial})]
            if len(answered):
                self._record(apply_results(answered, exc.partial, self.run, self.max_attempts))
            return
        self._record(apply_results(rows, results, self.run, self.max_attempts))

    def updates(self, rows: pd.DataFrame) -> None:
        """Owner and field writes, merged into one update per lead."""
        owner_field = self.writes.get("owner_id", "OwnerId")
        reason_field = self.writes.get("routing_reason")
        per_lead: dict[str, dict] = {}
        group: dict[str, str | None] = {}
        bad = []
        for kind, lead, target, reason, payload, account in rows[
            ["kind", "lead_id", "target_owner_id", "reason", "payload", "match_account_id"]
        ].itertuples(index=False):
            fields = per_lead.setdefault(lead, {})
            group[lead] = account if isinstance(account, str) else None
            if kind == "owner":
                fields[owner_field] = target
                if reason_field:
                    fields.setdefault(reason_field, (reason or "")[:255])
            else:
                for name, value in json.loads(payload)["fields"].items():
                    if name not in self.writes:
                        bad.append((lead, name))
                    else:
                        fields[self.writes[name]] = value
        unknown = rows["lead_id"].isin({lead for lead, _ in bad}) & (rows["kind"] == "fields")
        if unknown.any():
            names = ", ".join(sorted({n for _, n in bad}))
            self._record(_fail(rows[unknown], "UNKNOWN_WRITE_FIELD",
                               f"no field named {names} under writes: in fields.yaml", self.run))
            rows = rows[~unknown]
        rows = rows.assign(record_key=rows["lead_id"])
        updates = [RecordUpdate(lead, fields, group[lead]) for lead, fields in per_lead.items()
                   if lead in set(rows["lead_id"])]
        self._call(lambda items: self.crm.update_records(self.sobject, items), updates, rows)

    def campaigns(self, rows: pd.DataFrame) -> None:
        ready, rows = self._gate(rows, "owner_status", "owner_error", "the owner change")
        ready = ready.assign(record_key="leadroute-" + ready["decision_id"] + "-campaign")
        items = [CampaignMembership(key=key, campaign_id=p["campaign_id"], lead_id=lead, status=p.get("status", "Responded"))
                 for key, lead, p in zip(ready["record_key"], ready["lead_id"], (json.loads(x) for x in ready["payload"]))]
        self._call(self.crm.add_to_campaign, items, ready)

    def conversions(self, rows: pd.DataFrame) -> None:
        # A campaign membership of the same decision goes first: a converted lead can no longer join.
        rows = rows[rows["campaign_status"].ne("pending").to_numpy()]
        ready, rows = self._gate(rows, "owner_status", "owner_error", "the owner change")
        payloads = [json.loads(p) for p in ready["payload"]]
        items = [Conversion(lead_id=lead, account_id=p.get("account_id") or acc, owner_id=target,
                            converted_status=p.get("converted_status", "Qualified"),
                            create_opportunity=bool(p.get("create_opportunity", False)),
                            opportunity_name=p.get("opportunity_name"),
                            assign_account=bool(p.get("assign_account", False)))
                 for lead, target, acc, p in zip(ready["lead_id"], ready["target_owner_id"],
                                                  ready["match_account_id"], payloads)]
        self._call(lambda batch: [_converted_already(r) for r in self.crm.convert_leads(batch)], items,
                   ready.assign(record_key=ready["lead_id"]))

    def tasks(self, rows: pd.DataFrame) -> None:
        ready, rows = self._gate(rows, "convert_status", "convert_error", "the conversion", optional=True)
        ready = ready.assign(record_key="leadroute-" + ready["decision_id"] + "-task")
        items = []
        for key, lead, target, contact, acc, payload in ready[
            ["record_key", "lead_id", "target_owner_id", "contact_id", "match_account_id", "payload"]
        ].itertuples(index=False):
            p = json.loads(payload)
            converted = isinstance(contact, str)
            items.append(TaskSpec(external_key=key, who_id=contact if converted else lead,
                                  owner_id=p.get("owner_id") or target, subject=p["subject"],
                                  due_date=p.get("due_date"), what_id=acc if converted and isinstance(acc, str) else None,
                                  description=p.get("description"), priority=p.get("priority", "Normal")))
        self._call(self.crm.upsert_tasks, items, ready)

    def _gate(self, rows, status_col, error_col, what, optional=False):
        """Rows whose prerequisite is in the CRM; fail those whose prerequisite failed; the rest wait."""
        status = rows[status_col]
        ok = status.isin(["pushed", "skipped_unchanged"]) | (status.isna() if optional else False)
        failed = status.isin(["failed", "superseded"])
        if failed.any():
            self._record(_fail(rows[failed], "PREREQUISITE_FAILED",
                               f"{what} did not happen: " + rows.loc[failed, error_col].fillna(status[failed]).astype(str),
                               self.run))
        return rows[ok], rows[~ok & ~failed]


def push(con: duckdb.DuckDBPyConnection, crm: CrmAdapter, mapping: FieldMapping, run: RunInfo,
         max_attempts: int = MAX_ATTEMPTS) -> StageResult:
    result = StageResult("push")
    calls_before = crm.counter.calls
    p = _Push(con, crm, mapping, run, max_attempts)
    rows = due(con, run)
    p.updates(rows[rows["kind"].isin(["owner", "fields"])])
    # Campaigns, conversions and tasks read the statuses the phases before them just wrote.
    later = due(con, run)
    p.campaigns(later[later["kind"] == "campaign"])
    later = due(con, run)
    p.conversions(later[later["kind"] == "convert"])
    later = due(con, run)
    p.tasks(later[later["kind"] == "task"])

    done = pd.concat(p.done, ignore_index=True) if p.done else pd.DataFrame(columns=["kind", "status", "ok"])
    for kind in ("owner", "fields", "campaign", "convert", "task"):
        part = done[done["kind"] == kind]
        if len(part):
            prefix = "" if kind == "owner" else f"{kind}_"
            result.counts[f"{prefix}pushed"] = int((part["status"] == "pushed").sum())
            result.counts[f"{prefix}retry_later"] = int((part["status"] == "pending").sum())
            result.counts[f"{prefix}failed"] = int((part["status"] == "failed").sum())
    result.counts.setdefault("pushed", 0)
    result.counts["due"] = len(rows)
    result.counts["crm_api_calls"] = crm.counter.calls - calls_before
    result.details["crm_api_this_tick"] = crm.counter.summary()  # extract + push: one adapter per run
    errors = done[done["status"] != "pushed"] if len(done) else done
    if len(errors):
        result.preview = errors[["lead_id", "kind", "status", "last_error_code", "last_error"]].head(10)
        by_code = errors["last_error_code"].value_counts().to_dict()
        result.details["errors_by_code"] = {str(k): int(v) for k, v in by_code.items()}
    if p.stopped is not None:
        result.warnings.append(f"push stopped for this tick; writes not yet answered stay pending: {p.stopped}")
        result.details["stopped"] = str(p.stopped)
        result.details["watermarks_advanced"] = []
    else:
        result.details["watermarks_advanced"] = watermarks.commit(con, run.run_id, run.now)
    return result

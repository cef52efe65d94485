"""Push: pending ledger rows -> CRM, with one recorded result per record.

Push reads ``pending`` rows only and marks each one with the CRM's answer, so a
re-run never pushes twice. A retryable failure (``UNABLE_TO_LOCK_ROW``, a
timeout) stays pending with exponential backoff and is retried on a later tick,
up to ``max_attempts``; a permanent one (``INACTIVE_OWNER_OR_USER``) is marked
``failed`` with the CRM's message for ops to see in ``leadroute report``. When
the CRM refuses the whole call (:class:`CrmUnavailable`: API limit, repeated
authentication failure), the push stops for this tick and everything stays
pending. Only a push that completed lets the extraction watermarks advance.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from pipelines.crm.base import CrmAdapter, CrmUnavailable, RecordUpdate, WriteResult
from pipelines.crm.fields import FieldMapping
from pipelines.ledger import watermarks
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import upsert

MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


def backoff(attempts: pd.Series) -> pd.Series:
    """Wait before the next attempt: 1, 2, 4, ... minutes, capped at an hour."""
    minutes = (2 ** (attempts.clip(lower=1) - 1)).clip(upper=BACKOFF_CAP / BACKOFF_BASE)
    return pd.to_timedelta(minutes * BACKOFF_BASE.total_seconds(), unit="s")


def due_owner_writes(con: duckdb.DuckDBPyConnection, run: RunInfo) -> pd.DataFrame:
    return con.execute(
        """SELECT g.*, d.reason, m.account_id
           FROM ledger g JOIN routing_decision d USING (decision_id)
           LEFT JOIN lead_match m ON m.lead_id = g.lead_id
           WHERE g.kind = 'owner' AND g.status = 'pending'
             AND (g.next_attempt_at IS NULL OR g.next_attempt_at <= ?)
           ORDER BY m.account_id NULLS LAST, g.lead_id""",
        [run.now],
    ).df()


def apply_results(rows: pd.DataFrame, results: list[WriteResult], run: RunInfo, max_attempts: int) -> pd.DataFrame:
    """The ledger rows updated with the CRM's per-record answers (matched by record id, not order)."""
    answers = pd.DataFrame(
        [(r.record_id, r.ok, r.error_code, r.message, r.retryable, r.crm_id) for r in results],
        columns=["lead_id", "ok", "code", "message", "retryable", "crm_id"],
    ).drop_duplicates("lead_id", keep="last")
    out = rows.merge(answers, on="lead_id", how="left")
    # A record the CRM did not answer for is treated as not attempted: retry it.
    missing = out["ok"].isna()
    out.loc[missing, ["ok", "code", "message", "retryable"]] = [False, "NOT_ATTEMPTED", "the CRM returned no result for this record", True]
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
    out["crm_record_id"] = out["crm_id"]
    out["updated_at"] = run.now
    out["last_run_id"] = run.run_id
    return out


def push(con: duckdb.DuckDBPyConnection, crm: CrmAdapter, mapping: FieldMapping, run: RunInfo,
         max_attempts: int = MAX_ATTEMPTS) -> StageResult:
    result = StageResult("push")
    writes = mapping.objects["lead"].writes
    owner_field = writes.get("owner_id", "OwnerId")
    reason_field = writes.get("routing_reason")
    rows = due_owner_writes(con, run)
    calls_before = crm.counter.calls
    stopped = None
    if len(rows):
        fields = [{owner_field: o} | ({reason_field: r[:255]} if reason_field else {})
                  for o, r in zip(rows["target_owner_id"], rows["reason"].fillna(""))]
        updates = [RecordUpdate(lid, f, acc if isinstance(acc, str) else None)
                   for lid, f, acc in zip(rows["lead_id"], fields, rows["account_id"])]
        try:
            results = crm.update_records(mapping.objects["lead"].sobject, updates)
        except CrmUnavailable as exc:
            stopped = exc
            results = exc.partial  # records a batch wrote before the stop; every other row stays pending as is
        if stopped is None or results:
            answered = rows if stopped is None else rows[rows["lead_id"].isin({r.record_id for r in results})]
            done = apply_results(answered, results, run, max_attempts)
            keep = [c for c in done.columns if c in {
                "decision_id", "kind", "lead_id", "previous_owner_id", "target_owner_id", "payload", "status",
                "attempts", "last_error_code", "last_error", "next_attempt_at", "pushed_at", "crm_record_id",
                "run_id", "last_run_id", "created_at", "updated_at"}]
            upsert(con, "ledger", done[keep], ["decision_id", "kind"])
            result.counts["pushed"] = int((done["status"] == "pushed").sum())
            result.counts["retry_later"] = int((done["status"] == "pending").sum())
            result.counts["failed"] = int((done["status"] == "failed").sum())
            errors = done.loc[~done["ok"], ["lead_id", "last_error_code", "last_error", "status"]]
            if len(errors):
                result.preview = errors.head(10)
                by_code = errors["last_error_code"].value_counts().to_dict()
                result.details["errors_by_code"] = {str(k): int(v) for k, v in by_code.items()}
    result.counts.setdefault("pushed", 0)
    result.counts["due"] = len(rows)
    result.counts["crm_api_calls"] = crm.counter.calls - calls_before
    result.details["crm_api_this_tick"] = crm.counter.summary()  # extract + push: one adapter per run
    if stopped is not None:
        result.warnings.append(f"push stopped for this tick, {len(rows) - len(stopped.partial)} write(s) stay pending: "
                               f"{stopped}")
        result.details["stopped"] = str(stopped)
        result.details["watermarks_advanced"] = []
    else:
        result.details["watermarks_advanced"] = watermarks.commit(con, run.run_id, run.now)
    return result

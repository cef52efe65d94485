"""Push: pending ledger rows -> CRM, with one recorded result per record, each written once.

Every write is accounted for in the ledger before and after it is sent:

1. **Reconcile first** (:mod:`.reconcile`): rows left ``in_flight`` by a push that died or
   lost its answer, and pending rows whose last answer left the outcome unknown, are read
   back from the CRM; those already there are marked ``pushed`` without writing again.
2. **In flight before sending**: a batch's rows are marked ``in_flight`` (committed) just
   before the call, then take the CRM's answer per record. A row without an answer stays in
   flight until a read-back settles it, at the end of this push or at the start of the next.

A retryable failure (``UNABLE_TO_LOCK_ROW``) stays pending with exponential backoff, up to
``max_attempts``; a permanent one (``INACTIVE_OWNER_OR_USER``) is ``failed`` with the CRM's
message for ops in ``leadroute report``; a lead deleted in the CRM is ``skipped_deleted``
(nobody has anything to do). When the CRM refuses a whole call (:class:`CrmUnavailable`:
API limit, session, timeouts, an answer that never came) the push stops for this tick with
that cause, and only a push that completed lets the extraction watermarks advance.

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
Every step is linear in the rows due: no per-row query, no per-row scan of the batch.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from pipelines.crm.base import CrmAdapter, CrmUnavailable, RecordUpdate, WriteResult
from pipelines.crm.fields import FieldMapping
from pipelines.ledger import reconcile, watermarks, writes
from pipelines.stage import RunInfo, StageResult
from pipelines.warehouse.db import upsert
from pipelines.warehouse.schema import TABLES

# Stops after which the records of the call cut short may or may not have been written.
OUTCOME_UNKNOWN = frozenset({"OUTCOME_UNKNOWN", "MALFORMED_RESPONSE"})
MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
LEDGER_COLUMNS = TABLES["ledger"].column_names


def backoff(attempts: pd.Series) -> pd.Series:
    """Wait before the next attempt: 1, 2, 4, ... minutes, capped at an hour."""
    minutes = (2 ** (attempts.clip(lower=1) - 1)).clip(upper=BACKOFF_CAP / BACKOFF_BASE)
    return pd.to_timedelta(minutes * BACKOFF_BASE.total_seconds(), unit="s")


def due(con: duckdb.DuckDBPyConnection, run: RunInfo) -> pd.DataFrame:
    """Pending rows due now, with what each needs (see :func:`pipelines.ledger.writes.ledger_rows`)."""
    return writes.due(con, run.now)


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
    out.loc[~out["ok"] & out["code"].eq(reconcile.DELETED), "status"] = "skipped_deleted"  # nothing for anyone to do
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
        self.con, self.crm, self.mapping, self.run, self.max_attempts = con, crm, mapping, run, max_attempts
        lead = mapping.objects["lead"]
        self.sobject = lead.sobject
        self.writes = lead.writes
        self.done: list[pd.DataFrame] = []
        self.reconciled: list[pd.DataFrame] = []
        self.stopped: CrmUnavailable | None = None

    def _record(self, frame: pd.DataFrame) -> None:
        if len(frame):
            upsert(self.con, "ledger", frame[[c for c in LEDGER_COLUMNS if c in frame.columns]], ["decision_id", "kind"])
            self.done.append(frame)

    def reconcile(self, in_flight_only: bool = False) -> None:
        """Settle the rows whose write may already be in the CRM by reading them back (see :mod:`.reconcile`)."""
        rows = reconcile.unsure(self.con, self.run.now, in_flight_only)
        if rows.empty:
            return
        try:
            settled = reconcile.reconcile(rows, self.crm, self.mapping, self.run)
        except CrmUnavailable as exc:
            self.stopped = self.stopped or exc  # rows stay in flight; the next push reads them back
            return
        if len(settled):
            upsert(self.con, "ledger", settled[[c for c in LEDGER_COLUMNS if c in settled.columns]],
                   ["decision_id", "kind"])
            self.reconciled.append(settled)

    def _set_status(self, rows: pd.DataFrame, status: str, was: str | None = None,
                    error: CrmUnavailable | None = None) -> None:
        self.con.register("_flight", rows[["decision_id", "kind"]])
        try:
            self.con.execute(
                f"""UPDATE ledger SET status = ?, last_run_id = ?, updated_at = ?
                    {", last_error_code = ?, last_error = ?" if error else ""}
                    WHERE (decision_id, kind) IN (SELECT (decision_id, kind) FROM _flight)
                    {"AND status = ?" if was else ""}""",
                [status, self.run.run_id, self.run.now, *([error.code, str(error)] if error else []),
                 *([was] if was else [])])
        finally:
            self.con.unregister("_flight")

    def _call(self, fn, items, rows: pd.DataFrame) -> None:
        if self.stopped is not None or not len(rows):
            return
        # In flight, committed before the batch leaves: if its answer is lost, the next push knows to
        # read those records back before writing them again.
        self._set_status(rows, "in_flight")
        try:
            results = fn(items)
        except CrmUnavailable as exc:
            self.stopped = exc
            # What a batch wrote before the stop is recorded, so it is not pushed again.
            answered = rows["record_key"].isin({r.record_id for r in exc.partial})
            if answered.any():
                self._record(apply_results(rows[answered], exc.partial, self.run, self.max_attempts))
            if exc.code not in OUTCOME_UNKNOWN:
                # A refusal (limit, session, budget, outage after retries): the rest was not written.
                self._set_status(rows[~answered], "pending", was="in_flight", error=exc)
            # Otherwise the rest stays in flight until a read-back shows whether it landed.
            return
        self._record(apply_results(rows, results, self.run, self.max_attempts))

    def updates(self, rows: pd.DataFrame) -> None:
        """Owner and field writes, merged into one update per lead."""
        per_lead, bad = writes.lead_fields(rows, self.writes)
        unknown = rows["lead_id"].isin({lead for lead, _ in bad}) & (rows["kind"] == "fields")
        if unknown.any():
            names = ", ".join(sorted({n for _, n in bad}))
            self._record(_fail(rows[unknown], "UNKNOWN_WRITE_FIELD",
                               f"no field named {names} under writes: in fields.yaml", self.run))
            rows = rows[~unknown]
        rows = rows.assign(record_key=rows["lead_id"])
        accounts = rows["match_account_id"].astype(object)
        group = dict(zip(rows["lead_id"], accounts.where(accounts.notna(), None)))
        updates = [RecordUpdate(lead, per_lead[lead], group[lead]) for lead in dict.fromkeys(rows["lead_id"])]
        self._call(lambda items: self.crm.update_records(self.sobject, items), updates, rows)

    def campaigns(self, rows: pd.DataFrame) -> None:
        ready, rows = self._gate(rows, "owner_status", "owner_error", "the owner change")
        ready = ready.assign(record_key=writes.campaign_key(ready["decision_id"]))
        self._call(self.crm.add_to_campaign, writes.memberships(ready), ready)

    def conversions(self, rows: pd.DataFrame) -> None:
        # A campaign membership of the same decision goes first: a converted lead can no longer join.
        rows = rows[rows["campaign_status"].ne("pending").to_numpy() & rows["campaign_status"].ne("in_flight").to_numpy()]
        ready, rows = self._gate(rows, "owner_status", "owner_error", "the owner change")
        self._call(lambda batch: [_converted_already(r) for r in self.crm.convert_leads(batch)],
                   writes.conversions(ready), ready.assign(record_key=ready["lead_id"]))

    def tasks(self, rows: pd.DataFrame) -> None:
        ready, rows = self._gate(rows, "convert_status", "convert_error", "the conversion", optional=True)
        ready = ready.assign(record_key=writes.task_key(ready["decision_id"]))
        self._call(self.crm.upsert_tasks, writes.tasks(ready), ready)

    def _gate(self, rows, status_col, error_col, what, optional=False):
        """Rows whose prerequisite is in the CRM; fail those whose prerequisite failed (skip those whose
        lead was deleted); the rest wait."""
        status = rows[status_col]
        ok = status.isin(["pushed", "skipped_unchanged"]) | (status.isna() if optional else False)
        failed = status.isin(["failed", "superseded"])
        deleted = status.eq("skipped_deleted")
        if failed.any():
            self._record(_fail(rows[failed], "PREREQUISITE_FAILED",
                               f"{what} did not happen: " + rows.loc[failed, error_col].fillna(status[failed]).astype(str),
                               self.run))
        if deleted.any():
            gone = _fail(rows[deleted], reconcile.DELETED, "the lead was deleted in the CRM; there is nothing to write",
                         self.run)
            self._record(gone.assign(status="skipped_deleted"))
        return rows[ok], rows[~ok & ~failed & ~deleted]


def push(con: duckdb.DuckDBPyConnection, crm: CrmAdapter, mapping: FieldMapping, run: RunInfo,
         max_attempts: int = MAX_ATTEMPTS) -> StageResult:
    result = StageResult("push")
    calls_before = crm.counter.calls
    p = _Push(con, crm, mapping, run, max_attempts)
    p.reconcile()
    rows = due(con, run) if p.stopped is None else due(con, run).iloc[0:0]
    p.updates(rows[rows["kind"].isin(["owner", "fields"])])
    # Campaigns, conversions and tasks read the statuses the phases before them just wrote.
    later = due(con, run)
    p.campaigns(later[later["kind"] == "campaign"])
    later = due(con, run)
    p.conversions(later[later["kind"] == "convert"])
    later = due(con, run)
    p.tasks(later[later["kind"] == "task"])
    if p.stopped is not None:
        p.reconcile(in_flight_only=True)  # a call cut short: read back what it may have written

    done = pd.concat(p.done, ignore_index=True) if p.done else pd.DataFrame(columns=["kind", "status", "ok"])
    for kind in ("owner", "fields", "campaign", "convert", "task"):
        part = done[done["kind"] == kind]
        if len(part):
            prefix = "" if kind == "owner" else f"{kind}_"
            result.counts[f"{prefix}pushed"] = int((part["status"] == "pushed").sum())
            result.counts[f"{prefix}retry_later"] = int((part["status"] == "pending").sum())
            result.counts[f"{prefix}failed"] = int((part["status"] == "failed").sum())
            if (part["status"] == "skipped_deleted").any():
                result.counts[f"{prefix}deleted_in_crm"] = int((part["status"] == "skipped_deleted").sum())
    result.counts.setdefault("pushed", 0)
    settled = pd.concat(p.reconciled, ignore_index=True) if p.reconciled else pd.DataFrame(columns=["_reconciled"])
    result.counts["reconciled"] = int(settled["_reconciled"].eq("done").sum())
    if len(settled):
        result.counts["reconciled_resent"] = int(settled["_reconciled"].eq("not_there").sum())
        result.counts["reconciled_deleted_in_crm"] = int(settled["_reconciled"].eq("deleted").sum())
    result.counts["in_flight"] = int(con.execute("SELECT count(*) FROM ledger WHERE status = 'in_flight'").fetchall()[0][0])
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
        result.details["watermarks_advanced"] = watermarks.commit(con, run.lineage, run.now)
    return result

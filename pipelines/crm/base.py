"""The CRM adapter contract: what every CRM (the local SQLite one, Salesforce) must do.

The pipeline's stages talk to a CRM only through :class:`CrmAdapter`, so a new CRM
slots in without changing any asset, and both implementations pass the same
contract tests (``tests/test_crm_contract.py``).

Writes answer with one :class:`WriteResult` per record asked for. A record-level
failure (a locked row, an inactive owner) is a result with ``ok=False``; it never
raises. A failure that stops the whole call (the org's API limit is exhausted,
authentication keeps failing, the service is down after retries, an answer that
cannot be read) raises :class:`CrmUnavailable`: the push stops for this tick and
keeps everything pending. When the stop comes part-way through (a second batch of
200 after the first was written), the answers already received travel with the
exception (``partial``) so the ledger records them and nothing is pushed twice.

Extracted values are text. Booleans may read ``true``/``false`` (Salesforce) or
``1``/``0`` (the local CRM); unification reads both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import pandas as pd

from pipelines.crm.fields import ObjectMapping

# Salesforce error codes that mean "try again later"; everything else needs a person or a reroute.
RETRYABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",
        "SERVER_UNAVAILABLE",
        "TIMEOUT",
        "UNKNOWN_EXCEPTION",
        "NOT_ATTEMPTED",
        "INVALID_SESSION_ID",
    }
)
# The code a CRM answers an owner change (or a task, a converted contact) to an inactive user with: day 2
# routes such a lead again, as it does the leads of a rep who left.
INACTIVE_OWNER = "INACTIVE_OWNER_OR_USER"
# Records of one object read and landed at a time (:meth:`CrmAdapter.extract_pages`): a first load's memory
# is a page's. At a million accounts, the whole load as one frame (and its copies) peaked at 4.2 GiB.
EXTRACT_PAGE_ROWS = 100_000


@dataclass(frozen=True)
class RecordUpdate:
    """Set ``fields`` (CRM API names) on one record.

    ``group_key`` (e.g. the parent account) lets adapters batch related rows together:
    Salesforce locks the parent account when a child's owner changes, so grouping by it
    reduces ``UNABLE_TO_LOCK_ROW``.
    """

    record_id: str
    fields: dict[str, object]
    group_key: str | None = None


@dataclass(frozen=True)
class Conversion:
    """Convert a lead into a contact under an existing account."""

    lead_id: str
    account_id: str
    owner_id: str | None = None
    converted_status: str = "Qualified"
    create_opportunity: bool = False
    opportunity_name: str | None = None
    assign_account: bool = False  # the owner becomes the account's owner too (account, contact, opportunity together)
    send_notification_email: bool = False  # the CRM emails the new owner (rules `notify: {crm: true}`)


@dataclass(frozen=True)
class CampaignMembership:
    """The lead as a member of a campaign, upserted on (campaign, lead): a retried push never duplicates it.

    ``key`` identifies the write in the answer (the ledger's record key)."""

    key: str
    campaign_id: str
    lead_id: str
    status: str = "Responded"


@dataclass(frozen=True)
class TaskSpec:
    """A follow-up task, upserted on ``external_key`` so a retried push never duplicates it."""

    external_key: str
    who_id: str
    owner_id: str
    subject: str
    due_date: str | None = None  # YYYY-MM-DD
    what_id: str | None = None
    description: str | None = None
    priority: str = "Normal"
    reminder_at: str | None = None  # ISO 8601 UTC: the CRM reminds the owner then (rules `notify: {crm: true}`)


@dataclass(frozen=True)
class WriteResult:
    """The CRM's answer for one record."""

    record_id: str
    ok: bool
    error_code: str | None = None
    message: str | None = None
    crm_id: str | None = None  # the id the CRM created or updated (task, contact)

    @property
    def retryable(self) -> bool:
        return not self.ok and (self.error_code or "") in RETRYABLE_CODES


class CrmUnavailable(RuntimeError):
    """The CRM cannot take more calls now; the push stops for this tick.

    ``partial`` holds the per-record answers received before the stop (records
    written by an earlier batch of the same call); every record without an answer
    was not written and stays pending.
    """

    def __init__(self, code: str, message: str, partial: Sequence[WriteResult] = ()):
        self.code = code
        self.partial = list(partial)
        super().__init__(f"{code}: {message}")


class CrmResponseError(CrmUnavailable):
    """The CRM answered with something that is not the expected shape (a proxy's HTML page,
    a truncated body). Nothing it covers is marked pushed: the records stay pending."""

    def __init__(self, what: str, detail: str, partial: Sequence[WriteResult] = ()):
        super().__init__("MALFORMED_RESPONSE", f"{what}: {detail}", partial)


@dataclass
class CallCounter:
    """API calls made by an adapter, for run metadata and the API budget.

    ``calls`` counts the calls that use the org's daily API allowance; logins do
    not, so they are counted apart. ``org_used``/``org_limit`` are the org's own
    figures (Salesforce's ``Sforce-Limit-Info``), when the CRM reports them.
    """

    calls: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    logins: int = 0
    org_used: int | None = None
    org_limit: int | None = None
    ceiling: int | None = None

    def add(self, kind: str, n: int = 1) -> None:
        self.calls += n
        self.by_kind[kind] = self.by_kind.get(kind, 0) + n

    def summary(self) -> dict[str, object]:
        """What the run metadata shows: calls by kind, logins, and the org's usage against the ceiling."""
        out: dict[str, object] = {"calls": self.calls, "by_kind": dict(sorted(self.by_kind.items()))}
        if self.logins:
            out["logins"] = self.logins
        if self.org_limit is not None:
            out["org_usage"] = f"{self.org_used:,} of {self.org_limit:,} in the last 24 h"
        if self.ceiling is not None:
            out["leadroute_ceiling"] = self.ceiling
        return out


@dataclass(frozen=True)
class FieldInfo:
    """One field of a CRM object, as the CRM describes it (for ``leadroute crm check``)."""

    name: str
    type: str
    updateable: bool
    createable: bool = True
    external_id: bool = False


@runtime_checkable
class CrmAdapter(Protocol):
    """Everything the pipeline needs from a CRM."""

    name: str
    counter: CallCounter
    task_key_field: str  # Task's external id field: upserts on it never duplicate a task

    def extract_pages(self, mapping: ObjectMapping, since: datetime | None) -> Iterator[pd.DataFrame]:
        """Records of ``mapping.sobject`` changed at or after ``since`` (all when None), in pages of
        at most :data:`EXTRACT_PAGE_ROWS` records (the CRM's own pages may be smaller).

        Only the mapped fields (``mapping.source_fields()``), as text (None when empty),
        deleted records included (``IsDeleted``) so deletions reach the warehouse. The extract
        lands each page before reading the next, so a first load of a million accounts holds
        one page at a time, not the million.
        """

    def update_records(self, sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """Apply field updates (owner changes, routing reason); one result per update."""

    def convert_leads(self, conversions: Sequence[Conversion]) -> list[WriteResult]:
        """Convert leads to contacts under their accounts; ``crm_id`` is the contact id.

        ``assign_account`` also gives the account to the owner. A lead converted already answers
        ``CANNOT_UPDATE_CONVERTED_LEAD`` with the contact of its conversion in ``crm_id``: the push
        takes that as the retry it is (the answer to the first attempt was lost)."""

    def add_to_campaign(self, memberships: Sequence[CampaignMembership]) -> list[WriteResult]:
        """Add leads to campaigns, or update their member status; ``record_id`` is the membership's ``key``,
        ``crm_id`` the campaign member id."""

    def upsert_tasks(self, tasks: Sequence[TaskSpec]) -> list[WriteResult]:
        """Create or update tasks by external key; ``crm_id`` is the task id."""

    def open_workload(self, user_ids: Sequence[str], open_statuses: Sequence[str]) -> dict[str, int]:
        """Open (unconverted, in ``open_statuses``) leads owned by each user."""

    def read_records(self, sobject: str, key_field: str, keys: Sequence[str], fields: Sequence[str]) -> pd.DataFrame:
        """The current ``fields`` of the ``sobject`` records whose ``key_field`` is one of ``keys``, deleted
        records included: one row per record, in no particular order (ids in the CRM's own form).

        The push reads back what an unanswered write may have done before writing it again."""

    def describe(self, sobjects: Sequence[str]) -> dict[str, dict[str, FieldInfo] | None]:
        """Each object's fields by API name; None for an object the CRM does not have."""

    def close(self) -> None: ...


def extract_all(crm: CrmAdapter, mapping: ObjectMapping, since: datetime | None) -> pd.DataFrame:
    """Every page of :meth:`CrmAdapter.extract_pages` as one frame, each (Id, modstamp) once, oldest first:
    the adapters' whole answer, as the contract tests compare it. The extract stage lands page by page."""
    pages = list(crm.extract_pages(mapping, since))
    fields = mapping.source_fields()
    if not pages:
        return pd.DataFrame(columns=fields, dtype=object)
    frame = pd.concat(pages, ignore_index=True).drop_duplicates([mapping.key, mapping.modstamp], keep="last")
    return frame.sort_values([mapping.modstamp, mapping.key], na_position="first").reset_index(drop=True)

"""The Salesforce CRM adapter: the contract of :mod:`pipelines.crm.base`, through simple-salesforce.

It composes the pieces: :mod:`.client` (one safe call), :mod:`.extract`,
:mod:`.push` (Collections / Bulk API 2.0), :mod:`.convert` (SOAP convertLead),
:mod:`.budget`. It logs in at its first call, so building it costs nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import pandas as pd
import requests
from simple_salesforce import format_soql

from pipelines.crm.base import CallCounter, CampaignMembership, Conversion, FieldInfo, RecordUpdate, TaskSpec, WriteResult
from pipelines.crm.fields import ObjectMapping
from pipelines.crm.salesforce import campaigns, convert, extract, push
from pipelines.crm.salesforce.client import SalesforceClient, SalesforceRefused
from pipelines.crm.salesforce.settings import SalesforceSettings
from pipelines.crm.salesforce.soql import api_name


class SalesforceCrm:
    """CRM adapter for a Salesforce org."""

    name = "salesforce"

    def __init__(self, settings: SalesforceSettings, http: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        settings.mode()  # fail now, with the variables to set, rather than at the first call
        self.settings = settings
        self.client = SalesforceClient(settings, http, sleep)

    @property
    def task_key_field(self) -> str:
        """Task's external id field: upserts on it never duplicate a task."""
        return self.settings.task_external_id_field

    @property
    def counter(self) -> CallCounter:
        return self.client.counter

    def __repr__(self) -> str:
        return f"SalesforceCrm(auth={self.settings.mode()!r}, domain={self.settings.domain!r})"

    def connect(self) -> None:
        """Log in now (otherwise the first call does); a refusal is CrmUnavailable ``LOGIN_FAILED``."""
        self.client.sf  # noqa: B018

    # -- read ----------------------------------------------------------------------------------

    def extract_pages(self, mapping: ObjectMapping, since: datetime | None) -> Iterator[pd.DataFrame]:
        return extract.extract_pages(self.client, mapping, since)

    def open_workload(self, user_ids: Sequence[str], open_statuses: Sequence[str]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for chunk in push.batches(list(user_ids), 300):
            soql = format_soql("SELECT OwnerId FROM Lead WHERE IsConverted = false AND Status IN {} AND OwnerId IN {}",
                               list(open_statuses), chunk)
            answer = self.client.call("query of open leads per owner", lambda sf: sf.query_all(soql))
            counts.update(r["OwnerId"] for r in answer["records"])
        return {u: counts.get(u, 0) for u in user_ids}

    def read_records(self, sobject: str, key_field: str, keys: Sequence[str], fields: Sequence[str]) -> pd.DataFrame:
        """One ``queryAll`` per 200 keys (deleted records included), built with ``format_soql``."""
        rows: list[dict] = []
        select = ", ".join(api_name(f) for f in fields)
        for chunk in push.batches(list(dict.fromkeys(keys)), 200):
            soql = format_soql("SELECT {:literal} FROM {:literal} WHERE {:literal} IN {}", select, api_name(sobject),
                               api_name(key_field), chunk)
            answer = self.client.call(f"read-back of {len(chunk)} {sobject} record(s)",
                                      lambda sf: sf.query_all(soql, include_deleted=True))
            rows.extend({f: rec.get(f) for f in fields} for rec in (answer or {}).get("records", []))
        return pd.DataFrame(rows, columns=list(fields), dtype=object)

    def describe(self, sobjects: Sequence[str]) -> dict[str, dict[str, FieldInfo] | None]:
        out: dict[str, dict[str, FieldInfo] | None] = {}
        for name in sobjects:
            try:
                answer = self.client.call(f"describe of {name}",
                                          lambda sf: sf.restful(f"sobjects/{api_name(name)}/describe"))
            except SalesforceRefused as exc:
                if exc.code == "NOT_FOUND":
                    out[name] = None
                    continue
                raise
            out[name] = {
                f["name"]: FieldInfo(f["name"], f.get("type", ""), bool(f.get("updateable")),
                                     bool(f.get("createable")), bool(f.get("externalId")))
                for f in answer.get("fields", [])
            }
        return out

    # -- write ---------------------------------------------------------------------------------

    def update_records(self, sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return push.update_records(self.client, sobject, updates)

    def convert_leads(self, conversions: Sequence[Conversion]) -> list[WriteResult]:
        return convert.convert_leads(self.client, conversions)

    def upsert_tasks(self, tasks: Sequence[TaskSpec]) -> list[WriteResult]:
        return push.upsert_tasks(self.client, tasks)

    def add_to_campaign(self, memberships: Sequence[CampaignMembership]) -> list[WriteResult]:
        return campaigns.add_to_campaign(self.client, memberships)

    def close(self) -> None:
        self.client.close()

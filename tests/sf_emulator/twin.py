"""One test world, two CRMs: a CrmBuilder's SQLite file as the local CRM, or an emulated org loaded from it.

End-to-end tests seed a CRM record by record with :class:`tests.crm_builder.CrmBuilder`
and then tick. :class:`CrmTwin` lets the same test body run against either CRM:

* ``local``: the builder's file is the CRM (``CrmResource(kind="local")``).
* ``salesforce``: the emulator loads the builder's file just before the first tick
  (so everything the test seeded is there) and the pipeline reaches it exactly as it
  would reach an org: ``LEADROUTE_CRM=salesforce`` with ``SALESFORCE_INSTANCE_URL`` +
  ``SALESFORCE_SESSION_ID`` and ``REQUESTS_CA_BUNDLE`` in the environment, through
  :func:`pipelines.defs.resources.default_resources`. Edits the test makes after that
  (a trickle of leads, a deleted record, a lock) are mirrored into the org, and
  reads (``owner_of``) come from the org, where the pipeline wrote.

The emulator's clock follows each tick's frozen time, as the local CRM's does.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from tests.crm_builder import CrmBuilder
from pipelines.crm.local_schema import KEY_PREFIX, sf_datetime

_OBJECT_OF_PREFIX = {prefix: name for name, prefix in KEY_PREFIX.items()}


class CrmTwin:
    def __init__(self, builder: CrmBuilder, kind: str, emulator=None):
        self.builder = builder
        self.kind = kind
        self.emu = emulator
        self.loaded = False
        self._env = pytest.MonkeyPatch()
        self._refusal = None

    # -- what the pipeline talks to ------------------------------------------------------------

    @property
    def resource(self):
        from pipelines.defs.resources import CrmResource, default_resources
        from pipelines.settings import Settings

        if self.kind == "local":
            return CrmResource(kind="local", local_path=str(self.builder.path))
        return default_resources(Settings(crm="salesforce"))["crm"]

    def before_tick(self, now: datetime) -> None:
        if self.kind != "salesforce":
            return
        if not self.loaded:
            self.emu.load_sqlite(self.builder.path)
            # The shipped rules convert leads with status Qualified, a converted status the org must offer.
            self.emu.converted_statuses.add("Qualified")
            self.loaded = True
            for name, value in {
                "SALESFORCE_INSTANCE_URL": self.emu.instance_url,
                "SALESFORCE_SESSION_ID": self.emu.new_session(),
                "REQUESTS_CA_BUNDLE": self.emu.ca_bundle_path,
                "SALESFORCE_BULK_POLL_SECONDS": "0",
                # Small worlds: a read of more than 3 records goes through Bulk API 2.0 (the full load of
                # leads and users), smaller ones through REST, so the ticks exercise both paths.
                "SALESFORCE_BULK_QUERY_THRESHOLD": "3",
                "SALESFORCE_RETRY_BACKOFF_SECONDS": "0",
            }.items():
                self._env.setenv(name, value)
        self.emu.clock.set(now)

    def close(self) -> None:
        self._env.undo()
        if self._refusal is not None:
            self._refusal.undo()

    # -- the builder's API, mirrored -----------------------------------------------------------

    @property
    def path(self):
        return self.builder.path

    @property
    def queue_ids(self) -> dict[str, str]:
        return self.builder.queue_ids

    @property
    def now(self) -> datetime:
        return self.builder.now

    @now.setter
    def now(self, value: datetime) -> None:
        self.builder.now = value

    def _mirrored(self, record_id: str) -> str:
        if self.loaded:
            sobject = _OBJECT_OF_PREFIX[record_id[:3]]
            con = sqlite3.connect(self.builder.path)
            try:
                cur = con.execute(f'SELECT * FROM "{sobject}" WHERE Id = ?', [record_id])
                row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
            finally:
                con.close()
            self.emu.insert(sobject, **row)
        return record_id

    def account(self, *args, **kwargs) -> str:
        return self._mirrored(self.builder.account(*args, **kwargs))

    def lead(self, *args, **kwargs) -> str:
        return self._mirrored(self.builder.lead(*args, **kwargs))

    def opportunity(self, *args, **kwargs) -> str:
        return self._mirrored(self.builder.opportunity(*args, **kwargs))

    def user(self, *args, **kwargs) -> str:
        return self._mirrored(self.builder.user(*args, **kwargs))

    def update(self, sobject: str, record_id: str, when: datetime, **fields) -> None:
        self.builder.update(sobject, record_id, when, **fields)
        if self.loaded:
            stamp = sf_datetime(when)
            self.emu.patch(record_id, **fields, LastModifiedDate=stamp, SystemModstamp=stamp)

    def lock(self, *record_ids: str) -> None:
        self.builder.lock(*record_ids)
        if self.emu is not None:
            self.emu.faults.lock_records(record_ids, times=None)

    def unlock(self, *record_ids: str) -> None:
        self.builder.unlock(*record_ids)
        if self.emu is not None:
            self.emu.faults.unlock_records(record_ids)

    def owner_of(self, lead_id: str) -> str:
        if self.loaded:
            return self.emu.get(lead_id)["OwnerId"]
        return self.builder.owner_of(lead_id)

    def owners(self) -> dict[str, str]:
        if self.loaded:
            return {r["Id"]: r["OwnerId"] for r in self.emu.records("Lead", include_deleted=True)}
        with sqlite3.connect(self.builder.path) as con:
            return dict(con.execute("SELECT Id, OwnerId FROM Lead").fetchall())

    # -- the CRM refusing writes ---------------------------------------------------------------

    def refuse_writes(self, code: str = "REQUEST_LIMIT_EXCEEDED") -> None:
        """Every owner write is refused as a whole (the org's API limit, say) until ``accept_writes``."""
        if self.kind == "salesforce":
            self.emu.faults.fail_next(status=403, error_code=code, message="TotalRequests Limit exceeded.",
                                      times=None, path_contains="/composite/sobjects")
            return
        from pipelines.crm.base import CrmUnavailable
        from pipelines.crm.local import LocalCrm

        def refuse(self, sobject, updates):
            raise CrmUnavailable(code, "TotalRequests Limit exceeded.")

        self._refusal = pytest.MonkeyPatch()
        self._refusal.setattr(LocalCrm, "update_records", refuse)

    def accept_writes(self) -> None:
        if self.kind == "salesforce":
            self.emu.faults.clear()
        elif self._refusal is not None:
            self._refusal.undo()
            self._refusal = None

"""The in-memory org: records per object, and the write rules a real org enforces.

Everything that writes (REST, collections, Bulk 2.0, convertLead) goes through
``create`` / ``update`` / ``upsert`` / ``delete`` here, so every path gets the
same validation the pipeline relies on: owners must be active users or queues,
converted leads cannot be updated, read-only fields are refused, required
fields are required, external ids are unique. A short journal gives
``allOrNone`` its rollback. ``write_log`` records every write that stuck
(rolled-back ones are removed), so a test can show a record was written once.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import ApiError, RecordError
from .schema import ObjectDef, default_objects, objects_from_sqlite
from .values import TEXT_TYPES, coerce, format_datetime

ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def case_safe_suffix(id15: str) -> str:
    """Salesforce's 3-character suffix: for each 5-character chunk, bit i marks an upper-case letter at i."""
    return "".join(_SUFFIX_CHARS[sum(1 << i for i, c in enumerate(id15[k:k + 5]) if c.isascii() and c.isupper())]
                   for k in (0, 5, 10))


def valid_id(record_id) -> bool:
    """An id an org accepts: 15 letters and digits, or 18 ending in the case-safe suffix of the first 15."""
    if not isinstance(record_id, str) or not ID_RE.match(record_id):
        return False
    return len(record_id) == 15 or record_id[15:].upper() == case_safe_suffix(record_id[:15])


INTEGRATION_USER_ID = "005EMU000000001" + case_safe_suffix("005EMU000000001")


@dataclass(frozen=True)
class Write:
    """One record write through the API: ``op`` is create, update, delete or convert."""

    op: str
    sobject: str
    record_id: str
    values: dict


class Org:
    """Records of one emulated org. Callers hold ``self.lock`` across a request."""

    def __init__(self, clock, objects: dict | None = None):
        self.clock = clock
        self.lock = threading.RLock()
        self.running_user_id = INTEGRATION_USER_ID
        self.converted_statuses = {"Closed - Converted"}
        self.lock_check = lambda record_id: None  # replaced by the emulator's faults
        self._journal = None
        self.write_log: list[Write] = []
        self._counter = itertools.count(1)
        self._set_objects(objects or default_objects())

    # ----- schema -----
    def _set_objects(self, objects: dict) -> None:
        self.objects = objects
        self._lower = {name.lower(): o for name, o in objects.items()}
        self._by_prefix = {o.key_prefix: o for o in objects.values()}
        self.records = {name: {} for name in objects}
        self._by_id = {}
        self._by_id15 = {}

    def object(self, name: str) -> ObjectDef | None:
        return self._lower.get((name or "").lower())

    def object_for_id(self, record_id: str) -> ObjectDef | None:
        return self._by_prefix.get((record_id or "")[:3])

    # ----- reads -----
    def find(self, record_id: str):
        """(ObjectDef, record) for an Id of any object, 15 or 18 characters; deleted included.

        Like an org, records are told apart by their first 15 characters; an 18-character id
        whose suffix is not the case-safe suffix of the first 15 names nothing."""
        if not valid_id(record_id):
            return None, None
        hits = self._by_id15.get(record_id[:15], ())
        hit = hits[0] if len(hits) == 1 else None
        if not hit:
            return None, None
        obj = self.objects[hit[0]]
        return obj, self.records[obj.name].get(hit[1])

    def now(self) -> str:
        return format_datetime(self.clock.now())

    def today(self) -> date:
        return self.clock.now().date()

    # ----- loading and seeding -----
    def load_sqlite(self, path) -> list:
        """Replace schema and data with a local-CRM SQLite file. Returns ids in ``_RecordLock``."""
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            objects = objects_from_sqlite(con)
            with self.lock:
                self._set_objects(objects)
                for obj in objects.values():
                    cur = con.execute(f'SELECT * FROM "{obj.name}"')
                    cols = [d[0] for d in cur.description]
                    for row in cur:
                        rec = {}
                        for col, value in zip(cols, row):
                            f = obj.field(col)
                            try:
                                rec[f.name] = coerce(f, value, "sqlite")
                            except RecordError:
                                rec[f.name] = value
                        self._store(obj, rec)
            locked = []
            if con.execute("SELECT 1 FROM sqlite_master WHERE name='_RecordLock'").fetchone():
                locked = [r[0] for r in con.execute("SELECT RecordId FROM _RecordLock")]
            return locked
        finally:
            con.close()

    def seed(self, sobject: str, values: dict) -> str:
        """Insert a record as test data: no validation, system fields filled in."""
        obj = self.object(sobject)
        if obj is None:
            raise KeyError(sobject)
        with self.lock:
            rec = self._blank(obj)
            for key, value in values.items():
                f = obj.field(key)
                if f is None:
                    raise KeyError(f"{sobject}.{key}")
                rec[f.name] = coerce(f, value, "sqlite") if value is not None else None
            if not rec.get("Id"):
                rec["Id"] = self.new_id(obj)
            self._derive(obj, rec)
            self._store(obj, rec)
            return rec["Id"]

    def patch(self, record_id: str, values: dict) -> None:
        """Change a stored record as test data (no validation, not in ``write_log``)."""
        with self.lock:
            obj, rec = self.find(record_id)
            if rec is None:
                raise KeyError(record_id)
            for key, value in values.items():
                f = obj.field(key)
                if f is None:
                    raise KeyError(f"{obj.name}.{key}")
                rec[f.name] = coerce(f, value, "sqlite") if value is not None else None
            self._derive(obj, rec)

    def new_id(self, obj: ObjectDef) -> str:
        body = f"{obj.key_prefix}EMU{next(self._counter):09d}"
        return body + case_safe_suffix(body)

    def _blank(self, obj: ObjectDef) -> dict:
        now = self.now()
        rec = {f.name: f.default for f in obj.fields}
        for name, value in (("CreatedDate", now), ("LastModifiedDate", now), ("SystemModstamp", now),
                            ("CreatedById", self.running_user_id), ("LastModifiedById", self.running_user_id),
                            ("IsDeleted", False)):
            if obj.field(name):
                rec[name] = value
        return rec

    def _store(self, obj: ObjectDef, rec: dict) -> None:
        self._touch(obj.name, rec["Id"])
        self.records[obj.name][rec["Id"]] = rec
        hit = (obj.name, rec["Id"])
        if rec["Id"] not in self._by_id:
            self._by_id[rec["Id"]] = hit
            self._by_id15.setdefault(rec["Id"][:15], []).append(hit)

    @staticmethod
    def _derive(obj: ObjectDef, rec: dict) -> None:
        """Fields a real org computes from others."""
        if obj.name == "User" and obj.field("Name") and (rec.get("FirstName") or rec.get("LastName")):
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
        if obj.name == "Opportunity" and rec.get("StageName"):
            stage = rec["StageName"].lower()
            rec["IsClosed"] = stage.startswith("closed")
            rec["IsWon"] = stage == "closed won"

    # ----- transactions (allOrNone) -----
    def _touch(self, obj: str, record_id: str) -> None:
        if self._journal is not None and (obj, record_id) not in self._journal:
            old = self.records[obj].get(record_id)
            self._journal[(obj, record_id)] = dict(old) if old is not None else None

    @contextmanager
    def transaction(self):
        """Journal writes; ``rollback()`` on the yielded object undoes them all."""
        outer = self._journal
        self._journal = {}
        journal = self._journal
        log_start = len(self.write_log)

        class _Tx:
            rolled_back = False

            def rollback(tx):
                for (obj, rid), old in journal.items():
                    if old is None:
                        self.records[obj].pop(rid, None)
                        if self._by_id.pop(rid, None) is not None:
                            self._by_id15[rid[:15]].remove((obj, rid))
                    else:
                        self.records[obj][rid] = old
                del self.write_log[log_start:]
                tx.rolled_back = True

        try:
            yield _Tx()
        finally:
            self._journal = outer
            if outer is not None:
                for key, old in journal.items():
                    outer.setdefault(key, old)

    # ----- validation -----
    def _values(self, obj: ObjectDef, raw: dict, mode: str, source: str) -> dict:
        """Map incoming names to fields and coerce values. Unknown names fail the whole request."""
        values, refused = {}, []
        for key, value in raw.items():
            if key == "attributes" or (key.lower() == "id" and mode != "create"):
                continue
            f = obj.field(key)
            if f is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
            if source == "csv":
                if value == "":
                    if mode == "update":
                        continue
                    value = None
                elif value == "#N/A":
                    value = None
            if not (f.createable if mode == "create" else f.updateable):
                refused.append(f.name)
                continue
            values[f.name] = coerce(f, value, source)
        if refused:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(refused)}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission set.",
                refused,
            )
        return values

    def _check(self, obj: ObjectDef, rec: dict, changed: dict, record_id: str | None) -> None:
        missing = [f.name for f in obj.fields
                   if not f.nillable and not f.defaulted_on_create and f.createable and rec.get(f.name) in (None, "")
                   and (record_id is None or f.name in changed)]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for name, value in changed.items():
            f = obj.field(name)
            if value is None:
                if not f.nillable and f.type != "boolean":
                    raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name])
                continue
            if f.type in TEXT_TYPES and f.length and len(value) > f.length:
                raise RecordError("STRING_TOO_LONG", f"{f.label}: data value too large: {value[:40]}... (max length={f.length})", [name])
            if f.type == "reference":
                # Stored, and answered, in the 18-character form, whichever form was sent.
                rec[name] = changed[name] = self._check_reference(obj, f, value)
            if f.unique and f.name != "Id":
                other = self._find_by(obj, f, value)
                if other and other[0]["Id"] != record_id:
                    raise RecordError("DUPLICATE_VALUE",
                                      f"duplicate value found: {name} duplicates value on record with id: {other[0]['Id']}", [])

    def _check_reference(self, obj: ObjectDef, f, value: str) -> None:
        if not valid_id(value):
            raise RecordError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        target = self.object_for_id(value)
        if target is None or target.name not in f.reference_to:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name])
        _, ref = self.find(value)
        if ref is None or ref.get("IsDeleted"):
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if f.name == "OwnerId":
            if target.name == "User" and ref.get("IsActive") is False:
                raise RecordError("INACTIVE_OWNER_OR_USER",
                                  f"operation performed with inactive user [{ref['Id']}] as owner of {obj.name.lower()}", [])
            if target.name == "Group" and (ref.get("Type") or "Queue") != "Queue":
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name])
        return ref["Id"]

    def _find_by(self, obj: ObjectDef, f, value) -> list:
        if f.type in TEXT_TYPES and isinstance(value, str) and f.type not in ("id", "reference"):
            key = value.casefold()
            return [r for r in self.records[obj.name].values()
                    if not r.get("IsDeleted") and isinstance(r.get(f.name), str) and r[f.name].casefold() == key]
        return [r for r in self.records[obj.name].values() if not r.get("IsDeleted") and r.get(f.name) == value]

    def writable(self, obj: ObjectDef, record_id) -> dict:
        """The live record behind an update/delete, or the RecordError Salesforce gives."""
        if not valid_id(record_id):
            raise RecordError("MALFORMED_ID", f"malformed id {record_id}", [])
        if self.object_for_id(record_id) is not obj:
            raise RecordError("MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {record_id}", [])
        _, rec = self.find(record_id)
        if rec is None or rec.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        self.lock_check(rec["Id"])
        if obj.name == "Lead" and rec.get("IsConverted"):
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
        return rec

    # ----- writes -----
    def create(self, sobject: str, raw: dict, source: str = "json") -> str:
        obj = self._require(sobject)
        values = self._values(obj, raw, "create", source)
        rec = self._blank(obj)
        rec.update({k: v for k, v in values.items()})
        if obj.field("OwnerId") and not rec.get("OwnerId"):
            rec["OwnerId"] = self.running_user_id
        self._derive(obj, rec)
        self._check(obj, rec, values, None)
        rec["Id"] = self.new_id(obj)
        self._store(obj, rec)
        self.write_log.append(Write("create", obj.name, rec["Id"], dict(values)))
        return rec["Id"]

    def update(self, sobject: str, record_id: str, raw: dict, source: str = "json") -> str:
        obj = self._require(sobject)
        rec = self.writable(obj, record_id)
        values = self._values(obj, raw, "update", source)
        after = {**rec, **values}
        self._derive(obj, after)
        self._check(obj, after, values, rec["Id"])
        self._touch(obj.name, rec["Id"])
        now = self.now()
        after.update({k: v for k, v in (("LastModifiedDate", now), ("SystemModstamp", now),
                                       ("LastModifiedById", self.running_user_id)) if obj.field(k)})
        rec.clear()
        rec.update(after)
        self.write_log.append(Write("update", obj.name, rec["Id"], dict(values)))
        return rec["Id"]

    def upsert(self, sobject: str, field_name: str, value, raw: dict, source: str = "json"):
        """Returns (id, created). Raises ApiError(300) when the external id matches several records."""
        obj = self._require(sobject)
        f = obj.field(field_name)
        if f is None:
            raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}")
        if not (f.external_id or f.name == "Id"):
            raise ApiError(400, "INVALID_FIELD", f"Field {f.name} is not an External ID or Id field")
        if value in (None, ""):
            matches = []
        elif f.name == "Id":
            _, rec = self.find(value)
            matches = [rec] if rec is not None and not rec.get("IsDeleted") else []
        else:
            matches = self._find_by(obj, f, value)
        if len(matches) > 1:
            raise ApiError(300, "MULTIPLE_RECORDS", f"{len(matches)} records match {f.name}={value}")
        body = {k: v for k, v in raw.items() if k.lower() != f.name.lower()}
        if matches:
            return self.update(obj.name, matches[0]["Id"], body, source), False
        if f.name != "Id":
            body[f.name] = value
        return self.create(obj.name, body, source), True

    def delete(self, sobject: str, record_id: str) -> str:
        obj = self._require(sobject)
        if not valid_id(record_id or ""):
            raise RecordError("MALFORMED_ID", f"malformed id {record_id}", [])
        _, rec = self.find(record_id)
        if rec is None or rec.get("IsDeleted") or self.object_for_id(record_id) is not obj:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        self.lock_check(rec["Id"])
        self._touch(obj.name, rec["Id"])
        rec["IsDeleted"] = True
        if obj.field("SystemModstamp"):
            rec["SystemModstamp"] = self.now()
        self.write_log.append(Write("delete", obj.name, rec["Id"], {}))
        return rec["Id"]

    def _require(self, sobject: str) -> ObjectDef:
        obj = self.object(sobject)
        if obj is None:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        return obj

    # ----- lead conversion -----
    def convert_lead(self, lead_id: str, converted_status: str | None, account_id: str | None = None,
                     contact_id: str | None = None, owner_id: str | None = None,
                     do_not_create_opportunity: bool = False, opportunity_name: str | None = None,
                     overwrite_lead_source: bool = False) -> dict:
        """Convert one lead atomically; returns the ids. Raises RecordError like the SOAP call reports."""
        lead_obj = self._require("Lead")
        with self.transaction() as tx:
            try:
                return self._convert(lead_obj, lead_id, converted_status, account_id, contact_id, owner_id,
                                     do_not_create_opportunity, opportunity_name, overwrite_lead_source)
            except RecordError:
                tx.rollback()
                raise

    def _convert(self, lead_obj, lead_id, status, account_id, contact_id, owner_id, no_opp, opp_name, overwrite_source):
        if not lead_id or not valid_id(lead_id) or self.object_for_id(lead_id) is not lead_obj:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {lead_id}", ["leadId"])
        _, lead = self.find(lead_id)
        if lead is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {lead_id}", ["leadId"])
        if lead.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        if lead.get("IsConverted"):
            _, contact = self.find(lead.get("ConvertedContactId") or "")
            name = " ".join(p for p in ((contact or {}).get("FirstName"), (contact or {}).get("LastName")) if p)
            when = lead.get("ConvertedDate") or ""
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD",
                              f"This lead was already converted to the contact {name} on {when}.", [])
        self.lock_check(lead["Id"])
        if status not in self.converted_statuses:
            raise RecordError("INVALID_STATUS", f"invalid convertedStatus: {status}", ["convertedStatus"])
        owner = owner_id or lead.get("OwnerId")
        owner_obj, owner_rec = self.find(owner or "")
        if owner_obj is None or owner_obj.name != "User":
            raise RecordError("INVALID_CROSS_REFERENCE_KEY",
                              "Converted objects can only be owned by users.  If the lead is not owned by a user, "
                              "you must specify a user for the Owner field.", ["ownerId"])
        if owner_rec.get("IsActive") is False:
            raise RecordError("INACTIVE_OWNER_OR_USER",
                              f"operation performed with inactive user [{owner_rec['Id']}] as owner of account", [])
        copy = {"LeadSource": lead.get("LeadSource")}
        if account_id:
            acc_obj, acc = self.find(account_id)
            if acc_obj is None or acc_obj.name != "Account" or acc.get("IsDeleted"):
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {account_id}", ["accountId"])
            account_id = acc["Id"]
        else:
            account_id = self.create("Account", self._only("Account", {
                "Name": lead.get("Company") or " ".join(p for p in (lead.get("FirstName"), lead.get("LastName")) if p),
                "OwnerId": owner, "Website": lead.get("Website"), "Phone": lead.get("Phone"),
                "Industry": lead.get("Industry"), "NumberOfEmployees": lead.get("NumberOfEmployees"),
                "AnnualRevenue": lead.get("AnnualRevenue"), "BillingStreet": lead.get("Street"),
                "BillingCity": lead.get("City"), "BillingState": lead.get("State"),
                "BillingPostalCode": lead.get("PostalCode"), "BillingCountry": lead.get("Country"),
                "AccountSource": lead.get("LeadSource")}), "internal")
        if contact_id:
            con_obj, con = self.find(contact_id)
            if con_obj is None or con_obj.name != "Contact" or con.get("IsDeleted"):
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {contact_id}", ["contactId"])
            contact_id = con["Id"]
            if overwrite_source and copy["LeadSource"]:
                self.update("Contact", contact_id, self._only("Contact", copy), "internal")
        else:
            contact_id = self.create("Contact", self._only("Contact", {
                "AccountId": account_id, "FirstName": lead.get("FirstName"), "LastName": lead.get("LastName"),
                "Email": lead.get("Email"), "Phone": lead.get("Phone"), "Title": lead.get("Title"),
                "OwnerId": owner, **copy}), "internal")
        opp_id = None
        if not no_opp:
            opp_id = self.create("Opportunity", self._only("Opportunity", {
                "Name": opp_name or (lead.get("Company") or lead.get("LastName") or "Opportunity") + "-",
                "AccountId": account_id, "OwnerId": owner, "StageName": "Prospecting",
                "CloseDate": self._quarter_end().isoformat(), **copy}), "internal")
        self._touch("Lead", lead["Id"])
        now = self.now()
        lead.update({"IsConverted": True, "Status": status, "ConvertedAccountId": account_id,
                     "ConvertedContactId": contact_id, "ConvertedOpportunityId": opp_id,
                     "ConvertedDate": self.today().isoformat(), "LastModifiedDate": now, "SystemModstamp": now})
        self.write_log.append(Write("convert", "Lead", lead["Id"], {"ConvertedContactId": contact_id,
                                                                     "OwnerId": owner}))
        return {"leadId": lead["Id"], "accountId": account_id, "contactId": contact_id, "opportunityId": opp_id}

    def _only(self, sobject: str, values: dict) -> dict:
        """Drop values for fields this org's schema lacks (conversion maps are generous)."""
        obj = self._require(sobject)
        return {k: v for k, v in values.items() if obj.field(k) and v is not None}

    def _quarter_end(self) -> date:
        today = self.today()
        month = ((today.month - 1) // 3 + 1) * 3
        first_next = date(today.year + (month == 12), month % 12 + 1, 1)
        return first_next - timedelta(days=1)

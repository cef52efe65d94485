"""Object and field metadata, derived from the columns of a local-CRM SQLite file.

The local CRM stores Salesforce objects under their API names but SQLite only
knows TEXT/INTEGER/REAL, so the Salesforce type of each column is inferred
from its name the way a Salesforce admin would read it (``IsActive`` is a
checkbox, ``OwnerId`` a lookup, ``CreatedDate`` a datetime, ``CloseDate`` a
date), checked against the data where the name alone is ambiguous. The same
metadata drives ``describe``, SOQL type checks, and write validation, so the
emulator rejects what a real org rejects instead of accepting anything.
"""

from __future__ import annotations

import re
import sqlite3
import zlib
from dataclasses import dataclass, field as dc_field

# Standard Salesforce key prefixes (the first three characters of an Id).
KEY_PREFIXES = {
    "Lead": "00Q", "Account": "001", "User": "005", "Group": "00G",
    "Opportunity": "006", "Contact": "003", "Task": "00T", "Event": "00U",
    "Campaign": "701", "CampaignMember": "00v", "Case": "500",
}

# System fields: the org sets them, the API may read but never write them.
SYSTEM_FIELDS = {"Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                 "SystemModstamp", "IsDeleted", "LastActivityDate"}
READ_ONLY = {
    "Lead": {"IsConverted", "ConvertedAccountId", "ConvertedContactId",
             "ConvertedOpportunityId", "ConvertedDate"},
    "Opportunity": {"IsClosed", "IsWon"},
    "Account": {"MasterRecordId"},
    "User": {"Name"},
}
# Fields a real org requires that the local schema leaves nullable.
REQUIRED = {"Lead": {"LastName", "Company"}, "Contact": {"LastName"}}
# Set by the org when omitted on create.
DEFAULTED_ON_CREATE = {"OwnerId"}

# Lookups whose target is not spelled in the field name.
REFERENCES = {
    "OwnerId": ["User"], "CreatedById": ["User"], "LastModifiedById": ["User"],
    "ManagerId": ["User"], "ParentId": ["Account"], "MasterRecordId": ["Account", "Lead", "Contact"],
    "WhoId": ["Contact", "Lead"], "WhatId": ["Account", "Opportunity", "Campaign"],
    "ConvertedAccountId": ["Account"], "ConvertedContactId": ["Contact"],
    "ConvertedOpportunityId": ["Opportunity"],
}
# Objects a queue (Group of Type Queue) may own.
QUEUE_OWNABLE = {"Lead", "Case"}

PICKLISTS = {"Status", "Rating", "Industry", "LeadSource", "StageName", "Type", "Priority",
             "AccountSource", "TimeZoneSidKey", "LanguageLocaleKey"}

SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
              "double": "xsd:double", "currency": "xsd:double", "date": "xsd:date",
              "datetime": "xsd:dateTime"}


def label_for(name: str) -> str:
    """``OwnerId`` -> ``Owner ID``, ``Lead_Score__c`` -> ``Lead Score``."""
    base = name[:-3] if name.endswith("__c") else name
    if base.endswith("Id") and len(base) > 2 and not name.endswith("__c"):
        base = base[:-2] + " ID"
    base = base.replace("_", " ")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base).strip()


@dataclass
class FieldDef:
    name: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    unique: bool = False
    external_id: bool = False
    default: object = None
    defaulted_on_create: bool = False
    reference_to: list = dc_field(default_factory=list)
    picklist_values: list = dc_field(default_factory=list)

    @property
    def label(self) -> str:
        return label_for(self.name)

    @property
    def relationship_name(self) -> str | None:
        if self.type != "reference":
            return None
        if self.name.endswith("__c"):
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else None

    def describe(self) -> dict:
        return {
            "name": self.name, "label": self.label, "type": self.type,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "length": self.length, "byteLength": self.length * 3,
            "precision": 18 if self.type in ("double", "currency") else 0,
            "scale": 2 if self.type == "currency" else 0,
            "digits": 9 if self.type == "int" else 0,
            "nillable": self.nillable, "createable": self.createable,
            "updateable": self.updateable, "unique": self.unique,
            "externalId": self.external_id, "idLookup": self.name == "Id" or self.external_id,
            "defaultedOnCreate": self.defaulted_on_create,
            "defaultValue": self.default, "calculated": False, "autoNumber": False,
            "custom": self.name.endswith("__c"), "caseSensitive": False,
            "filterable": True, "sortable": self.type != "textarea",
            "groupable": self.type not in ("textarea", "double", "currency", "datetime"),
            "nameField": self.name == "Name",
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "value": v, "validFor": None}
                for v in self.picklist_values
            ],
        }


@dataclass
class ObjectDef:
    name: str
    key_prefix: str
    fields: list

    def __post_init__(self):
        self._by_lower = {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def relationship(self, rel: str) -> FieldDef | None:
        rel = rel.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == rel:
                return f
        return None

    def urls(self, version: str) -> dict:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def describe(self, version: str) -> dict:
        return {
            **self.summary(version),
            "fields": [f.describe() for f in self.fields],
            "childRelationships": [], "recordTypeInfos": [],
        }

    def summary(self, version: str) -> dict:
        return {
            "name": self.name, "label": label_for(self.name), "labelPlural": label_for(self.name) + "s",
            "keyPrefix": self.key_prefix, "custom": self.name.endswith("__c"),
            "createable": True, "updateable": True, "deletable": True, "queryable": True,
            "retrieveable": True, "searchable": True, "layoutable": True, "triggerable": True,
            "urls": self.urls(version),
        }


def _infer_type(obj: str, col: str, decl: str, values: list, objects: set) -> tuple[str, list]:
    decl = (decl or "").upper()
    if col == "Id":
        return "id", []
    if "INT" in decl and re.match(r"^(Is|Has)[A-Z]", col) and set(values) <= {0, 1}:
        return "boolean", []
    if col in REFERENCES:
        targets = list(REFERENCES[col])
        if col == "OwnerId" and obj in QUEUE_OWNABLE:
            targets = ["Group", "User"]
        return "reference", targets
    if col.endswith("Id") and not col.endswith("__c") and col[:-2] in objects:
        return "reference", [col[:-2]]
    if "INT" in decl:
        return "int", []
    if "REAL" in decl or "FLOA" in decl or "DOUB" in decl or "NUM" in decl:
        return ("currency" if col in ("AnnualRevenue", "Amount") else "double"), []
    if col in ("CreatedDate", "LastModifiedDate", "SystemModstamp") or col.endswith("DateTime"):
        return "datetime", []
    if col.endswith("Date") and not col.endswith("__c"):
        return ("datetime" if any("T" in str(v) for v in values) else "date"), []
    if "Email" in col:
        return "email", []
    if col.endswith("Phone") or col == "Fax":
        return "phone", []
    if col == "Website":
        return "url", []
    if col == "Description":
        return "textarea", []
    if col in PICKLISTS:
        return "picklist", []
    return "string", []


_LENGTHS = {"id": 18, "reference": 18, "email": 80, "phone": 40, "textarea": 32000, "url": 255}


def objects_from_sqlite(con: sqlite3.Connection) -> dict:
    """Read every table not starting with ``_`` into an ObjectDef."""
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\\_%' ESCAPE '\\' "
        "AND name NOT LIKE 'sqlite%' ORDER BY name")]
    names = set(tables)
    result = {}
    for table in tables:
        unique_cols = set()
        for idx in con.execute(f'PRAGMA index_list("{table}")'):
            if idx[2]:  # unique
                cols = [c[2] for c in con.execute(f'PRAGMA index_info("{idx[1]}")')]
                if len(cols) == 1:
                    unique_cols.add(cols[0])
        fields = []
        for _cid, col, decl, notnull, dflt, pk in con.execute(f'PRAGMA table_info("{table}")'):
            values = [r[0] for r in con.execute(
                f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL LIMIT 200')]
            ftype, refs = _infer_type(table, col, decl, values, names)
            default = None
            if dflt is not None:
                default = dflt.strip("'")
                if ftype == "boolean":
                    default = default in ("1", "true")
                elif ftype == "int":
                    default = int(default)
                elif ftype in ("double", "currency"):
                    default = float(default)
            read_only = col in SYSTEM_FIELDS or col in READ_ONLY.get(table, set())
            required = bool(notnull or pk) or col in REQUIRED.get(table, set())
            f = FieldDef(
                name=col, type=ftype, length=_LENGTHS.get(ftype, 255 if ftype not in ("boolean", "int", "double", "currency", "date", "datetime") else 0),
                nillable=not required,
                createable=not read_only, updateable=not read_only and col != "Id",
                unique=col in unique_cols or pk,
                external_id=col in unique_cols and col.endswith("__c"),
                default=default,
                defaulted_on_create=read_only or default is not None or col in DEFAULTED_ON_CREATE,
                reference_to=refs,
            )
            if ftype == "boolean":
                f.nillable = False
                f.defaulted_on_create = True
                if f.default is None:
                    f.default = False
            if ftype == "picklist":
                f.picklist_values = sorted({str(v) for v in values} | ({str(default)} if default else set()))
            fields.append(f)
        prefix = KEY_PREFIXES.get(table) or f"a{zlib.crc32(table.encode()) % 100:02d}"
        result[table] = ObjectDef(table, prefix, fields)
    return result


def default_objects() -> dict:
    """The schema of the project's local CRM, with no rows."""
    from pipelines.crm.local_schema import create_schema

    con = sqlite3.connect(":memory:")
    try:
        create_schema(con)
        return objects_from_sqlite(con)
    finally:
        con.close()

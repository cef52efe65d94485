"""The field mapping: which CRM fields leadroute reads and writes, as data.

Orgs differ. ``routing_rules/fields.yaml`` maps each CRM object's fields (standard
and custom, including the duplicates real orgs accumulate) to the pipeline's
canonical columns. Each canonical column lists its source fields in precedence
order; unification fills it from them. The same file serves the local CRM and
Salesforce, because the local CRM uses Salesforce API names.

Example::

    objects:
      lead:
        sobject: Lead
        fields:
          email: Email                                   # one source
          industry:                                      # scattered duplicates
            sources: [Industry, Industry__c, Sector__c]
          employees: {sources: [NumberOfEmployees, Employees__c], type: int}
        writes:
          owner_id: OwnerId
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, load_yaml, locate, problems_from_validation
from pipelines.warehouse.schema import Column

ObjectName = Literal["lead", "account", "user", "opportunity", "queue"]
FieldType = Literal["text", "int", "float", "bool", "timestamp", "date"]

DUCKDB_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}

# Canonical columns the code relies on; the mapping must provide them.
REQUIRED: dict[str, set[str]] = {
    "lead": {"lead_id", "owner_id", "created_at", "status", "is_converted", "email", "company"},
    "account": {"account_id", "name", "owner_id", "type", "parent_id"},
    "user": {"user_id", "name", "is_active"},
    "opportunity": {"opportunity_id", "account_id", "stage", "is_closed", "owner_id"},
    "queue": {"queue_id", "developer_name"},
}
KEY_COLUMN = {
    "lead": "lead_id",
    "account": "account_id",
    "user": "user_id",
    "opportunity": "opportunity_id",
    "queue": "queue_id",
}


class FieldSpec(BaseModel):
    """One canonical column and the CRM fields that fill it, in precedence order."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(min_length=1)
    type: FieldType = "text"
    precedence: Literal["first_non_empty"] = "first_non_empty"

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        # `email: Email` and `{source: Email}` are shorthands for `{sources: [Email]}`.
        if isinstance(value, str):
            return {"sources": [value]}
        if isinstance(value, dict) and "source" in value:
            value = dict(value)
            value["sources"] = [value.pop("source")]
        if isinstance(value, dict) and isinstance(value.get("sources"), str):
            value = {**value, "sources": [value["sources"]]}
        return value


class ObjectMapping(BaseModel):
    """How one CRM object is read (and, for leads, written)."""

    model_config = ConfigDict(extra="forbid")

    sobject: str
    key: str = "Id"
    modstamp: str = "SystemModstamp"
    filter: dict[str, str] = Field(
        default_factory=dict, description="equality filters, e.g. {Type: Queue} for queues"
    )
    fields: dict[str, FieldSpec]
    writes: dict[str, str] = Field(
        default_factory=dict, description="pipeline output -> CRM field, e.g. owner_id: OwnerId"
    )

    @field_validator("fields")
    @classmethod
    def _canonical_names(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in fields:
            if not name.isidentifier() or name != name.lower() or name.startswith("_"):
                raise ValueError(f"canonical column {name!r} must be lower_snake_case")
        return fields

    def source_fields(self) -> list[str]:
        """Every CRM field to extract: key, modstamp, filters and all sources, once each."""
        seen: dict[str, None] = {self.key: None, self.modstamp: None}
        for spec in self.fields.values():
            for src in spec.sources:
                seen.setdefault(src, None)
        for name in self.filter:
            seen.setdefault(name, None)
        return list(seen)


class FieldMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    objects: dict[ObjectName, ObjectMapping]
    source: str = Field(default="fields.yaml", exclude=True)

    @cached_property
    def raw_columns(self) -> dict[str, list[Column]]:
        """Business columns of each raw table: the CRM fields, all VARCHAR."""
        from pipelines.warehouse.schema import OBJECT_TABLES

        return {
            OBJECT_TABLES[obj][0]: [Column(f, "VARCHAR") for f in m.source_fields()]
            for obj, m in self.objects.items()
        }

    @cached_property
    def unified_columns(self) -> dict[str, list[Column]]:
        """Business columns of each unified table, typed, plus the provenance of each."""
        from pipelines.warehouse.schema import OBJECT_TABLES

        out = {}
        for obj, m in self.objects.items():
            cols = []
            for name, spec in m.fields.items():
                cols.append(Column(name, DUCKDB_TYPES[spec.type]))
                if len(spec.sources) > 1:
                    cols.append(Column(f"{name}__source", "VARCHAR", f"which CRM field filled {name}"))
            out[OBJECT_TABLES[obj][1]] = cols
        return out

    def mapped_columns(self) -> dict[str, list[Column]]:
        return {**self.raw_columns, **self.unified_columns}


def load_field_mapping(path: str | Path) -> FieldMapping:
    """Load and validate the field mapping; errors name the file, line and key."""
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(SourceRef(str(path), 1), "expected a mapping with `objects:`")])
    try:
        mapping = FieldMapping.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, data, str(path))) from None
    problems = _required_problems(mapping, data, str(path))
    if problems:
        raise ConfigError(problems)
    return mapping


def _required_problems(mapping: FieldMapping, data: dict, file: str) -> list[ConfigProblem]:
    """Objects and canonical columns the pipeline cannot work without, each at its line."""
    objects = data.get("objects", {})
    out = []
    for obj, required in REQUIRED.items():
        if obj not in mapping.objects:
            out.append(ConfigProblem(SourceRef(file, locate(data, ("objects",))), f"objects.{obj} is missing"))
            continue
        m = mapping.objects[obj]
        absent = sorted(required - set(m.fields))
        if absent:
            out.append(ConfigProblem(SourceRef(file, locate(objects, (obj, "fields"))),
                                     f"objects.{obj}.fields must define {', '.join(absent)}"))
        key_col = KEY_COLUMN[obj]
        if key_col in m.fields and m.fields[key_col].sources != [m.key]:
            out.append(ConfigProblem(SourceRef(file, locate(objects, (obj, "fields", key_col))),
                                     f"objects.{obj}.fields.{key_col} must be the object's key field {m.key!r}, "
                                     f"got {m.fields[key_col].sources}"))
    return out

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

Unification options of a canonical column (all optional, see ``FieldSpec``)::

    industry:
      sources: [Industry, Industry__c, Industry_Vertical__c, Sector__c]
      precedence: first_non_empty        # or most_recent (updated_at) / most_trusted (trust)
      values: industry                   # routing_rules/value_maps/industry.csv: spelling -> canonical
    email: {source: Email, format: email, on_invalid: quarantine, max_length: 80}
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, locate, read_settings
from pipelines.warehouse.schema import Column

ObjectName = Literal["lead", "account", "user", "opportunity", "queue", "task", "event"]
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
    # Optional objects (day-2 routing: touches and meetings); when mapped, these columns are needed.
    "task": {"task_id", "who_id", "owner_id", "status", "last_modified_at", "is_deleted"},
    "event": {"event_id", "who_id", "owner_id", "starts_at", "ends_at", "is_deleted"},
}
OPTIONAL_OBJECTS = frozenset({"task", "event"})
KEY_COLUMN = {
    "lead": "lead_id",
    "account": "account_id",
    "user": "user_id",
    "opportunity": "opportunity_id",
    "queue": "queue_id",
    "task": "task_id",
    "event": "event_id",
}


class ValueMapSpec(BaseModel):
    """Spellings -> one taxonomy, applied to each source value before precedence.

    ``map`` names ``routing_rules/value_maps/<map>.csv`` (columns ``value,canonical``;
    an empty ``canonical`` means "this spelling is no value", e.g. ``N/A``).
    ``reference: subdivision`` adds every US, Canadian, Australian, Mexican, Brazilian and Indian
    state or province code and name (pycountry).
    ``reference: country`` adds every ISO country name, code and common translation
    (pycountry, countryinfo) under the CSV, so the CSV only lists what they miss.
    ``unmapped``: ``keep`` the value as typed, or treat it as empty and try the
    ``next_source``. Unmapped spellings are counted and shown, so ops can extend the CSV.
    """

    model_config = ConfigDict(extra="forbid")

    map: str | None = None
    reference: Literal["country", "subdivision"] | None = None
    unmapped: Literal["keep", "next_source"] = "keep"

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"map": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something_to_map(self) -> ValueMapSpec:
        if self.map is None and self.reference is None:
            raise ValueError("values needs a `map` (a CSV under value_maps/) or a `reference`")
        if self.map is not None and not self.map.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"values.map {self.map!r} must be a file name under value_maps/ without .csv")
        return self


Precedence = Literal["first_non_empty", "most_recent", "most_trusted"]


class FieldSpec(BaseModel):
    """One canonical column and the CRM fields that fill it, in precedence order.

    - ``precedence``: ``first_non_empty`` (the listed order), ``most_recent`` (the
      source whose ``updated_at`` column is latest; sources without one come after,
      in listed order) or ``most_trusted`` (highest ``trust`` first, ties in listed
      order). In every mode a source counts only when its value is present, maps and
      casts; provenance goes to ``<column>__source``.
    - ``values``: a value map (:class:`ValueMapSpec`), e.g. ``values: industry``.
    - ``format: email`` checks the shape; ``max_length`` bounds any source's length.
    - ``on_invalid``: what a present but unusable value (does not cast, malformed)
      does: ``next_source`` (counted, the next source is tried) or ``quarantine``
      (the record waits in quarantine until it is fixed in the CRM). A value longer
      than ``max_length`` always quarantines: it is not a spelling, it is damage.
    """

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(min_length=1)
    type: FieldType = "text"
    precedence: Precedence = "first_non_empty"
    updated_at: dict[str, str] = Field(
        default_factory=dict, description="source field -> canonical timestamp column saying when it changed"
    )
    trust: dict[str, int] = Field(default_factory=dict, description="source field -> trust, higher wins")
    values: ValueMapSpec | None = None
    format: Literal["email"] | None = None
    max_length: int | None = Field(default=None, gt=0)
    on_invalid: Literal["next_source", "quarantine"] = "next_source"

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

    @model_validator(mode="after")
    def _precedence_inputs(self) -> FieldSpec:
        for option in ("updated_at", "trust"):
            unknown = sorted(set(getattr(self, option)) - set(self.sources))
            if unknown:
                raise ValueError(f"{option} names {unknown}, which are not among the sources {self.sources}")
        if self.precedence == "most_recent" and not self.updated_at:
            raise ValueError("precedence most_recent needs `updated_at: {SourceField: timestamp_column}`")
        if self.precedence == "most_trusted" and set(self.trust) != set(self.sources):
            missing = [s for s in self.sources if s not in self.trust]
            raise ValueError(f"precedence most_trusted needs a trust for every source; missing {missing}")
        if self.format == "email" and self.type != "text":
            raise ValueError("format: email needs type text")
        return self

    def ordered_sources(self) -> list[str]:
        """Sources in the order precedence tries them (``most_recent`` decides per row instead)."""
        if self.precedence == "most_trusted":
            return sorted(self.sources, key=lambda s: -self.trust[s])  # stable: ties keep the listed order
        return list(self.sources)


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
    mapping, data = read_settings(path, FieldMapping, not_a_mapping="expected a mapping with `objects:`",
                                  values={"source": str(path)})
    problems = _required_problems(mapping, data, str(path)) + _unification_problems(mapping, data, path)
    if problems:
        raise ConfigError(problems)
    return mapping


def _required_problems(mapping: FieldMapping, data: dict, file: str) -> list[ConfigProblem]:
    """Objects and canonical columns the pipeline cannot work without, each at its line."""
    objects = data.get("objects", {})
    out = []
    for obj, required in REQUIRED.items():
        if obj not in mapping.objects:
            if obj in OPTIONAL_OBJECTS:
                continue
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


def value_maps_dir(mapping: FieldMapping) -> Path:
    """Where ``values: <map>`` CSVs live: ``value_maps/`` beside the field mapping."""
    return Path(mapping.source).parent / "value_maps"


def _unification_problems(mapping: FieldMapping, data: dict, path: Path) -> list[ConfigProblem]:
    """Cross-column checks of precedence and value maps, each at the line that needs fixing."""
    from pipelines.unify.value_maps import load_value_map

    file = str(path)
    objects = data.get("objects", {})
    out: list[ConfigProblem] = []
    checked_maps: set[str] = set()
    for obj, m in mapping.objects.items():
        for name, spec in m.fields.items():
            for src, column in spec.updated_at.items():
                target = m.fields.get(column)
                where = SourceRef(file, locate(objects, (obj, "fields", name, "updated_at", src)))
                if target is None:
                    out.append(ConfigProblem(where, f"objects.{obj}.fields.{name}.updated_at.{src}: {column!r} is not "
                                                    f"a column of {obj}; map it first, e.g. "
                                                    f"`{column}: {{source: {src}_Updated__c, type: timestamp}}`"))
                elif target.type not in ("timestamp", "date") or target.precedence == "most_recent":
                    out.append(ConfigProblem(where, f"objects.{obj}.fields.{name}.updated_at.{src}: {column!r} must be "
                                                    f"a timestamp or date column without most_recent precedence"))
            if spec.values and spec.values.map and spec.values.map not in checked_maps:
                checked_maps.add(spec.values.map)
                try:
                    load_value_map(value_maps_dir(mapping) / f"{spec.values.map}.csv")
                except ConfigError as exc:
                    out.extend(exc.problems)
    return out

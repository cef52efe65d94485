"""SOQL for incremental extraction, built only with simple-salesforce's ``format_soql``.

Values (the watermark, filter values, id lists) are always placeholders that
``format_soql`` quotes and escapes; field and object names, which SOQL cannot
quote, come from the validated field mapping and must look like API names, so a
stray character in ``fields.yaml`` can never change the shape of a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from simple_salesforce import format_soql

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:__[a-z]+)?$")


def api_name(name: str) -> str:
    """``name`` when it is a well-formed Salesforce API name; otherwise a ValueError saying so."""
    if not _API_NAME.match(name or ""):
        raise ValueError(f"{name!r} is not a Salesforce API name (letters, digits and underscores); "
                         f"fix routing_rules/fields.yaml")
    return name


def utc(ts: datetime) -> datetime:
    """Watermarks are naive UTC; ``format_soql`` would read a naive time as local time."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def select_changed(sobject: str, fields: Iterable[str], modstamp: str, since: datetime | None,
                   filters: Mapping[str, str] | None = None) -> str:
    """``SELECT fields FROM sobject [WHERE modstamp >= since AND filter = value ...]``."""
    select = ", ".join(api_name(f) for f in fields)
    clauses, values = [], []
    if since is not None:
        clauses.append(f"{api_name(modstamp)} >= {{}}")
        values.append(utc(since))
    for name, value in (filters or {}).items():
        clauses.append(f"{api_name(name)} = {{}}")
        values.append(value)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return format_soql(f"SELECT {{:literal}} FROM {{:literal}}{where}", select, api_name(sobject), *values)


def select_by_ids(sobject: str, fields: Iterable[str], ids: Iterable[str]) -> str:
    return format_soql("SELECT {:literal} FROM {:literal} WHERE Id IN {}",
                       ", ".join(api_name(f) for f in fields), api_name(sobject), list(ids))

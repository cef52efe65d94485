"""Field values: how they are stored, parsed from JSON/CSV, and written back.

Stored values are plain Python: ``str``, ``int``, ``float``, ``bool`` or
``None``; datetimes are kept as the REST API writes them
(``2026-11-22T10:15:00.000+0000``, always UTC, so they also sort as text) and
dates as ``YYYY-MM-DD``. Every way in (SQLite load, REST JSON, Bulk CSV)
normalises to that, so SOQL and the writers only ever see one form.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from .errors import RecordError

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "id", "reference", "combobox"}
NUMBER_TYPES = {"int", "double", "currency", "percent"}

_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_datetime(text: str) -> datetime:
    """Parse the datetime forms Salesforce accepts; naive means UTC. Raises ValueError."""
    m = _DT_RE.match(text.strip())
    if not m:
        raise ValueError(f"not a datetime: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro, tzinfo=timezone.utc)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        dt = dt - sign * offset
    return dt


def format_datetime(dt: datetime) -> str:
    """The REST API's form: ``2026-11-22T10:15:00.000+0000``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def bulk_datetime(stored: str) -> str:
    """Bulk API 2.0 query results write datetimes as ``...T10:15:00.000Z``."""
    return stored[:-5] + "Z" if stored.endswith("+0000") else stored


def normalise_date(text: str) -> str:
    text = text.strip()
    if _DATE_RE.match(text):
        date.fromisoformat(text)
        return text
    return parse_datetime(text).date().isoformat()


def _type_error(field, value) -> RecordError:
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{field.label}: value not of required type: {value}",
        [field.name],
    )


def coerce(field, value, source: str = "json"):
    """Turn an incoming value into the stored form for ``field``.

    ``source`` is ``json`` (REST bodies), ``csv`` (Bulk uploads: everything is
    text) or ``sqlite`` (loading a local CRM file: 0/1 booleans, REAL, TEXT).
    Raises RecordError with Salesforce's code for values of the wrong type.
    """
    if value is None:
        return None
    t = field.type
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if source == "sqlite" and value in (0, 1):
            return bool(value)
        if source == "csv" and isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
        raise _type_error(field, value)
    if t in NUMBER_TYPES:
        if isinstance(value, bool):
            raise _type_error(field, value)
        if isinstance(value, str):
            try:
                value = float(value.strip()) if t != "int" or "." in value else int(value.strip())
            except ValueError:
                raise _type_error(field, value) from None
        if not isinstance(value, (int, float)):
            raise _type_error(field, value)
        if t == "int":
            if float(value) != int(value):
                raise _type_error(field, value)
            return int(value)
        return float(value)
    if t == "datetime":
        if not isinstance(value, str):
            raise _type_error(field, value)
        try:
            return format_datetime(parse_datetime(value))
        except ValueError:
            raise _type_error(field, value) from None
    if t == "date":
        if not isinstance(value, str):
            raise _type_error(field, value)
        try:
            return normalise_date(value)
        except ValueError:
            raise _type_error(field, value) from None
    # Text-like types. Salesforce's JSON reader accepts numbers for text fields.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _type_error(field, value)
    return value if isinstance(value, str) else str(value)


def to_csv(field, value) -> str | None:
    """A stored value as Bulk API 2.0 query results write it (None = empty cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if field is not None and field.type == "datetime":
        return bulk_datetime(value)
    if isinstance(value, float) and value.is_integer() and field is not None and field.type == "int":
        return str(int(value))
    return str(value)

"""Field values between Salesforce's two wire forms (REST JSON, Bulk CSV) and the pipeline's text.

The adapter contract hands the pipeline text (None when empty). Salesforce writes
the same value differently on its two read paths: REST JSON has ``true`` and
numbers, Bulk CSV has text, and datetimes end in ``+0000`` in one and ``Z`` in the
other. Both are brought to one form here, so a full load through Bulk API 2.0
and the incremental REST reads after it land identical text in ``raw_*``.
"""

from __future__ import annotations

import re

_BULK_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z$")


def text_value(value: object) -> str | None:
    """A REST JSON value or a Bulk CSV cell as the pipeline's text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if value == "":
            return None
        m = _BULK_DATETIME.match(value)
        return f"{m.group(1)}+0000" if m else value
    raise TypeError(f"unexpected field value {value!r}")


def bulk_cell(value: object) -> str:
    """A value for a Bulk API 2.0 upload: null must be ``#N/A`` (an empty cell means 'unchanged')."""
    if value is None or value == "":
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

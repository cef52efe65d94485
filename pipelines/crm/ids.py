"""Salesforce record ids: how they are made, checked and compared.

An id is 15 case-sensitive characters (a 3-character key prefix naming the object, then
the record's own characters) or the same 15 plus a 3-character *case-safe* suffix that
encodes which of the 15 are upper case, so the 18-character form survives tools that
ignore case. The API answers with 18 characters and accepts either; Salesforce compares
ids on their first 15 characters. So do we: an owner id copied from the address bar
(15 characters) in ``reps.csv`` is the same user as the 18-character id the CRM returns.
"""

from __future__ import annotations

import re

import pandas as pd

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# An id's shape: here, and in SQL over landed tables (DuckDB's regexp_full_match).
SHAPE_SQL = "^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"
_SHAPE = re.compile(SHAPE_SQL)


def suffix(id15: str) -> str:
    """The case-safe suffix of a 15-character id: per 5-character chunk, bit i set when
    character i is an upper-case letter, as a letter of ``A..Z0..5``."""
    out = []
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start:start + 5]) if "A" <= ch <= "Z")
        out.append(_ALPHABET[bits])
    return "".join(out)


def is_valid(record_id: object) -> bool:
    """15 letters and digits, or 18 whose last 3 are the case-safe suffix of the first 15."""
    if not isinstance(record_id, str) or not _SHAPE.fullmatch(record_id):
        return False
    return len(record_id) == 15 or record_id[15:].upper() == suffix(record_id[:15])


def unkeyed_detail(key: str, value: object) -> str:
    """Why a record whose Id is not an id cannot be keyed: the one wording extract and unify share."""
    return (f"{key}={value!r} is not a Salesforce id (15 or 18 letters and digits, the 18-character form "
            f"ending in its case-safe suffix); the record cannot be keyed, the rest of the batch goes on")


def case_safe(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id."""
    return record_id[:15] + suffix(record_id[:15])


def make(prefix: str, n: int) -> str:
    """The 18-character id of the ``n``-th record under key ``prefix`` (the local CRM's and the demo's ids)."""
    body = f"{prefix}{n:012d}"
    return body + suffix(body)


def number(record_id: str) -> int:
    """``n`` of an id :func:`make` made."""
    return int(record_id[3:15])


def key15(values: pd.Series) -> pd.Series:
    """The first 15 characters of each id (missing stays missing): what Salesforce compares."""
    return values.astype("string").str.slice(0, 15)


def same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Whether two columns of ids name the same records, as Salesforce compares them (15 characters);
    False where either is missing."""
    return (key15(a) == key15(b)).fillna(False).astype(bool)

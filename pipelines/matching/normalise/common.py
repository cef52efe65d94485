"""What every normaliser shares: per-distinct application and case/accent folding."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

import pandas as pd

PUNCT = re.compile(r"[^\w\s]", flags=re.UNICODE)
SPACES = re.compile(r"\s+")


def per_distinct(fn: Callable[[str], object]) -> Callable[[pd.Series], pd.Series]:
    """Lift a scalar function to a Series, calling it once per distinct non-null value."""

    @functools.wraps(fn)
    def apply(values: pd.Series) -> pd.Series:
        values = pd.Series(values)
        uniques = values.dropna().unique()
        mapping = {v: fn(v) for v in uniques}
        return values.map(mapping).astype(object).where(values.notna(), None)

    return apply


def ascii_lower(value: str) -> str:
    """Lower case without accents ("Société" -> "societe"); ASCII input skips the Unicode work."""
    value = str(value)
    if value.isascii():
        return value.lower().strip()
    text = unicodedata.normalize("NFKD", value)
    return "".join(c for c in text if not unicodedata.combining(c)).lower().strip()


def words(value: str) -> str:
    """Folded text with punctuation as spaces, single-spaced."""
    return SPACES.sub(" ", PUNCT.sub(" ", ascii_lower(value))).strip()

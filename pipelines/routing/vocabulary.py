"""The closed vocabulary of routing conditions: every operator, what it means, how it runs.

Rules never run Python, SQL or ``eval``: a condition names one of these operators,
and the engine applies it to a whole column at once. The registry documents
itself, so ``leadroute validate`` and ``leadroute rules vocabulary`` (and the
README's table) come from the same source as the engine.
"""

from __future__ import annotations

import re

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Operator:
    name: str
    doc: str
    value: str  # what `value` must be: none, scalar, list, pair
    apply: Callable[[pd.Series, Any], pd.Series]


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower()


def _eq(s: pd.Series, v: Any) -> pd.Series:
    if isinstance(v, str):
        return _text(s) == v.strip().lower()
    return s == v


def _in(s: pd.Series, v: list) -> pd.Series:
    texts = {str(x).strip().lower() for x in v}
    return _text(s).isin(texts) | s.isin([x for x in v if not isinstance(x, str)])


def _empty(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _cmp(op: Callable[[pd.Series, float], pd.Series]) -> Callable[[pd.Series, Any], pd.Series]:
    def apply(s: pd.Series, v: Any) -> pd.Series:
        if isinstance(v, (int, float)):
            return op(_num(s), v)
        return op(s.astype("string"), str(v))

    return apply


def _between(s: pd.Series, v: list) -> pd.Series:
    lo, hi = v
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        n = _num(s)
        return (n >= lo) & (n <= hi)
    t = s.astype("string")
    return (t >= str(lo)) & (t <= str(hi))


def _any_of(fn: Callable[[pd.Series, str], pd.Series]) -> Callable[[pd.Series, Any], pd.Series]:
    def apply(s: pd.Series, v: Any) -> pd.Series:
        values = v if isinstance(v, list) else [v]
        t = _text(s)
        out = pd.Series(False, index=s.index)
        for x in values:
            out |= fn(t, str(x).strip().lower()).fillna(False)
        return out

    return apply


def _split_list(s: pd.Series) -> pd.Series:
    """A multi-select picklist (``platform;analytics``) as lists of trimmed, lower-case values."""
    return _text(s).str.replace(",", ";", regex=False).str.split(";")


def _includes(how: str) -> Callable[[pd.Series, Any], pd.Series]:
    def apply(s: pd.Series, v: Any) -> pd.Series:
        wanted = [str(x).strip().lower() for x in (v if isinstance(v, list) else [v])]
        items = _split_list(s).explode().str.strip()
        hits = pd.DataFrame({w: items == w for w in wanted}).groupby(level=0).any()
        out = hits.any(axis=1) if how == "any" else hits.all(axis=1)
        return out.reindex(s.index, fill_value=False)

    return apply


def _words(s: pd.Series, v: Any) -> pd.Series:
    # Each value is a literal word or phrase (escaped): rules never carry a regular expression.
    values = v if isinstance(v, list) else [v]
    pattern = r"\b(?:" + "|".join(re.escape(str(x).strip().lower()) for x in values) + r")\b"
    return _text(s).str.contains(pattern, regex=True).fillna(False)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in [
        Operator("equals", "field equals value (text compared case-insensitively)", "scalar", _eq),
        Operator("not_equals", "field is not equal to value (empty counts as not equal)", "scalar",
                 lambda s, v: ~_eq(s, v).fillna(False)),
        Operator("in", "field is one of the listed values", "list", _in),
        Operator("not_in", "field is none of the listed values (empty counts as not in)", "list",
                 lambda s, v: ~_in(s, v).fillna(False)),
        Operator("is_empty", "field has no value", "none", lambda s, v: _empty(s)),
        Operator("is_not_empty", "field has a value", "none", lambda s, v: ~_empty(s)),
        Operator("greater_than", "number (or text) greater than value", "scalar", _cmp(lambda a, b: a > b)),
        Operator("at_least", "number (or text) greater than or equal to value", "scalar", _cmp(lambda a, b: a >= b)),
        Operator("less_than", "number (or text) less than value", "scalar", _cmp(lambda a, b: a < b)),
        Operator("at_most", "number (or text) less than or equal to value", "scalar", _cmp(lambda a, b: a <= b)),
        Operator("between", "value [low, high], both ends included", "pair", _between),
        Operator("starts_with", "text starts with the value (or any of a list)", "scalar_or_list",
                 _any_of(lambda t, x: t.str.startswith(x))),
        Operator("ends_with", "text ends with the value (or any of a list)", "scalar_or_list",
                 _any_of(lambda t, x: t.str.endswith(x))),
        Operator("contains", "text contains the value (or any of a list) as a substring", "scalar_or_list",
                 _any_of(lambda t, x: t.str.contains(x, regex=False))),
        Operator("not_contains", "text contains none of the values as a substring (empty counts as not containing)",
                 "scalar_or_list", lambda s, v: ~_any_of(lambda t, x: t.str.contains(x, regex=False))(s, v)),
        Operator("contains_word", "free text contains the word or phrase (or any of a list) as a whole word, "
                 "e.g. keywords in a description", "scalar_or_list", _words),
        Operator("includes_any", "a multi-select picklist (values separated by ;) includes any of the values",
                 "scalar_or_list", _includes("any")),
        Operator("includes_all", "a multi-select picklist (values separated by ;) includes all of the values",
                 "scalar_or_list", _includes("all")),
        Operator("is_true", "field is true", "none", lambda s, v: s.astype("boolean").fillna(False)),
        Operator("is_false", "field is false or empty", "none", lambda s, v: ~s.astype("boolean").fillna(False)),
    ]
}


def check_value(op: Operator, value: Any) -> str | None:
    """Why ``value`` does not fit ``op``, or None when it does."""
    if op.value == "none":
        return None if value is None else f"operator {op.name!r} takes no value"
    if value is None:
        return f"operator {op.name!r} needs a value"
    if op.value == "list" and not isinstance(value, list):
        return f"operator {op.name!r} needs a list, e.g. [A, B]"
    if op.value == "pair" and not (isinstance(value, list) and len(value) == 2):
        return f"operator {op.name!r} needs [low, high]"
    if op.value == "scalar" and isinstance(value, (list, dict)):
        return f"operator {op.name!r} needs a single value"
    return None


def to_mask(result: pd.Series) -> np.ndarray:
    return result.fillna(False).astype(bool).to_numpy()

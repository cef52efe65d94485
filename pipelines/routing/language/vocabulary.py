"""The closed vocabulary of routing conditions: every operator, what it means, how it runs.

Rules never run Python, SQL or ``eval``: a condition names one of these operators,
and the engine applies it to a whole column at once. The registry documents
itself, so ``leadroute validate`` and ``leadroute rules vocabulary`` (and the
README's table) come from the same source as the engine.

Operators receive a :class:`Field`: the column's raw values and, computed once per
batch and shared by every step that names the field, its normalised text (trimmed,
lower case). Text compares case-insensitively; numbers compare as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def normalise(s: pd.Series) -> pd.Series:
    """Text as conditions compare it: trimmed and lower case (NA stays NA, as None).

    Only the distinct values are normalised (a lead source column of 100,000 leads has
    ten), then spread back by position.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    done = pd.Series(uniques, dtype=object).astype(str).str.strip().str.lower().to_numpy(dtype=object)
    out = np.append(done, None)[codes]
    return pd.Series(out, index=s.index, dtype=object)


class Field:
    """One column of the batch: its raw values and, on first use, its distinct values.

    Every operator is elementwise, so a condition is evaluated once per *distinct*
    value and spread back to the leads by code: a lead source column of 100,000 leads
    has ten values. ``text`` (trimmed, lower case) is likewise computed on the distinct
    values.
    """

    def __init__(self, raw: pd.Series, text: pd.Series | None = None):
        self.raw = raw
        self._text = text
        self._codes: np.ndarray | None = None
        self._distinct: Field | None = None

    def _factorize(self) -> None:
        codes, uniques = pd.factorize(self.raw, use_na_sentinel=True)
        self._codes = np.where(codes < 0, len(uniques), codes)  # NA -> the extra last slot
        self._distinct = Field(pd.Series(list(uniques) + [None], dtype=object))

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._factorize()
        return self._codes

    @property
    def distinct(self) -> Field:
        """The distinct values (and NA, last) as a small Field of their own."""
        if self._distinct is None:
            self._factorize()
        return self._distinct

    @property
    def text(self) -> pd.Series:
        if self._text is None:
            if self._distinct is None and len(self.raw) <= 64:
                self._text = normalise(self.raw)
            else:
                self._text = pd.Series(normalise(self.distinct.raw).to_numpy(dtype=object)[self.codes],
                                       index=self.raw.index, dtype=object)
        return self._text

    def evaluate(self, op: Operator, value: Any) -> np.ndarray:
        """``op`` over the whole column, computed on its distinct values (when that is cheaper)."""
        if len(self.raw) <= 64 or (not op.distinct and self._distinct is None):
            return to_mask(op.apply(self, value))
        return to_mask(op.apply(self.distinct, value))[self.codes]


class Columns:
    """The batch's fields, each wrapped once and shared by every step of a flow."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._fields: dict[str, Field] = {}

    def __getitem__(self, name: str) -> Field:
        if name not in self._fields:
            self._fields[name] = Field(self.frame[name])
        return self._fields[name]

    def subset(self, rows: np.ndarray, frame: pd.DataFrame) -> Columns:
        """The columns of ``frame`` = this batch's ``rows`` (a boolean mask), keeping the text already normalised."""
        out = Columns(frame)
        for name, f in self._fields.items():
            if f._text is not None:
                out._fields[name] = Field(frame[name], pd.Series(f._text.to_numpy()[rows], index=frame.index, dtype=object))
        return out


@dataclass(frozen=True)
class Operator:
    name: str
    doc: str
    value: str  # what `value` must be: none, scalar, list, pair, scalar_or_list
    apply: Callable[[Field, Any], pd.Series]
    distinct: bool = True  # False: as cheap on every value as on the distinct ones (no need to factorize)


def _eq(f: Field, v: Any) -> pd.Series:
    if isinstance(v, str):
        return f.text == v.strip().lower()
    return f.raw == v


def _in(f: Field, v: list) -> pd.Series:
    texts = {str(x).strip().lower() for x in v}
    return f.text.isin(texts) | f.raw.isin([x for x in v if not isinstance(x, str)])


def _empty(f: Field, v: Any) -> pd.Series:
    if f._text is not None:
        return f.raw.isna() | (f.text == "")
    return f.raw.isna() | (f.raw.astype(str).str.strip() == "")


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _cmp(op: Callable[[pd.Series, Any], pd.Series]) -> Callable[[Field, Any], pd.Series]:
    def apply(f: Field, v: Any) -> pd.Series:
        if isinstance(v, (int, float)):
            return op(_num(f.raw), v)
        return op(f.raw.astype("string"), str(v))

    return apply


def _between(f: Field, v: list) -> pd.Series:
    lo, hi = v
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        n = _num(f.raw)
        return (n >= lo) & (n <= hi)
    t = f.raw.astype("string")
    return (t >= str(lo)) & (t <= str(hi))


def _any_of(fn: Callable[[pd.Series, str], pd.Series]) -> Callable[[Field, Any], pd.Series]:
    def apply(f: Field, v: Any) -> pd.Series:
        values = v if isinstance(v, list) else [v]
        out = pd.Series(False, index=f.raw.index)
        for x in values:
            out |= fn(f.text, str(x).strip().lower()).astype("boolean").fillna(False).astype(bool)
        return out

    return apply


def _includes(how: str) -> Callable[[Field, Any], pd.Series]:
    """Multi-select picklists (``platform;analytics``): one value among the separated ones."""

    def apply(f: Field, v: Any) -> pd.Series:
        wanted = [str(x).strip().lower() for x in (v if isinstance(v, list) else [v])]
        items = f.text.str.replace(",", ";", regex=False).str.split(";").explode().str.strip()
        hits = pd.DataFrame({w: (items == w).fillna(False) for w in wanted}).groupby(level=0).any()
        out = hits.any(axis=1) if how == "any" else hits.all(axis=1)
        return out.reindex(f.raw.index, fill_value=False)

    return apply


def _words(f: Field, v: Any) -> pd.Series:
    # Each value is a literal word or phrase (escaped): rules never carry a regular expression.
    values = v if isinstance(v, list) else [v]
    pattern = r"\b(?:" + "|".join(re.escape(str(x).strip().lower()) for x in values) + r")\b"
    return f.text.str.contains(pattern, regex=True).astype("boolean").fillna(False).astype(bool)


def _contains(t: pd.Series, x: str) -> pd.Series:
    return t.str.contains(x, regex=False)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in [
        Operator("equals", "field equals value (text compared case-insensitively)", "scalar", _eq),
        Operator("not_equals", "field is not equal to value (empty counts as not equal)", "scalar",
                 lambda f, v: ~_eq(f, v).fillna(False)),
        Operator("in", "field is one of the listed values", "list", _in),
        Operator("not_in", "field is none of the listed values (empty counts as not in)", "list",
                 lambda f, v: ~_in(f, v).fillna(False)),
        Operator("is_empty", "field has no value", "none", _empty, distinct=False),
        Operator("is_not_empty", "field has a value", "none", lambda f, v: ~_empty(f, v), distinct=False),
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
                 _any_of(_contains)),
        Operator("not_contains", "text contains none of the values as a substring (empty counts as not containing)",
                 "scalar_or_list", lambda f, v: ~_any_of(_contains)(f, v)),
        Operator("contains_word", "free text contains the word or phrase (or any of a list) as a whole word, "
                 "e.g. keywords in a description", "scalar_or_list", _words),
        Operator("includes_any", "a multi-select picklist (values separated by ;) includes any of the values",
                 "scalar_or_list", _includes("any")),
        Operator("includes_all", "a multi-select picklist (values separated by ;) includes all of the values",
                 "scalar_or_list", _includes("all")),
        Operator("is_true", "field is true", "none", lambda f, v: f.raw.astype("boolean").fillna(False)),
        Operator("is_false", "field is false or empty", "none", lambda f, v: ~f.raw.astype("boolean").fillna(False)),
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
    items = value if isinstance(value, list) else [value]
    if op.value in ("list", "pair") or isinstance(value, list):
        if any(isinstance(v, bool) for v in items):
            return (f"operator {op.name!r}: a list of values holds a boolean (true/false); quote a code that "
                    f"reads like one ('true', 'NO')")
        if any(v is None or isinstance(v, (list, dict)) for v in items):
            return f"operator {op.name!r} needs a flat list of values, e.g. [A, B]"
    if op.value == "pair":
        low, high = value
        try:
            reversed_ = low > high
        except TypeError:
            return f"operator {op.name!r} needs [low, high] of the same kind (two numbers, or two dates)"
        if reversed_:
            return f"operator {op.name!r}: [low, high] is reversed ({low!r} > {high!r}); write [{high!r}, {low!r}]"
    return None


def to_mask(result: pd.Series) -> np.ndarray:
    return result.fillna(False).astype(bool).to_numpy()

"""Per-lead traces and side actions as JSON text, assembled column by column.

A batch of 100,000 decisions needs 100,000 JSON documents. Most of each one is shared
(the steps that did not apply, the deciding step and its condition); the rest is a few
values per lead. So distinct values are encoded once (``json.dumps`` on the uniques of a
column) and documents are put together by concatenating arrays of fragments: no dict
and no ``json.dumps`` per lead. The result parses back to exactly what the engine
describes (tests compare with :func:`json.loads`).
"""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pandas as pd


def _plain(value):
    """A value JSON can hold: numpy scalars as Python ones, timestamps as ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _one(value) -> str:
    if isinstance(value, str):
        return _string(value)
    return json.dumps(_plain(value), default=str)


_string = json.encoder.encode_basestring_ascii  # what json.dumps does for a str, without its set-up per call


def encode(values, prefix: str = "", suffix: str = "") -> np.ndarray:
    """Each value as JSON text (``null`` for NA) between ``prefix`` and ``suffix``, built once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    texts = [prefix + _one(u) + suffix for u in uniques] + [prefix + "null" + suffix]
    return np.asarray(texts, dtype=object)[codes]


def words(prefix: str, values: pd.Series, suffix: str = "") -> pd.Series:
    """``prefix + str(value) + suffix`` per row, built once per distinct value (for details and failures)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.asarray([f"{prefix}{u}{suffix}" for u in uniques] + [f"{prefix}None{suffix}"], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def text(value: str) -> str:
    return json.dumps(value)


def join(first: np.ndarray, second: np.ndarray, sep: str = ", ") -> np.ndarray:
    """Join two arrays of fragments where ``""`` means nothing."""
    both = (first != "") & (second != "")
    out = np.where(first == "", second, first).astype(object)
    out[both] = first[both] + sep + second[both]
    return out


def as_list(items: np.ndarray) -> np.ndarray:
    """Fragments ("" for none) as JSON list text, None where empty."""
    out = np.full(len(items), None, dtype=object)
    has = items != ""
    out[has] = "[" + items[has] + "]"
    return out


def unwrap(lists: np.ndarray) -> np.ndarray:
    """JSON list text (or None) back to its comma-joined items ("" for none), to join with other items."""
    s = pd.Series(lists, dtype=object)
    return s.str.slice(1, -1).fillna("").to_numpy(dtype=object)


def obj(pairs: list[tuple[str, object]], n: int) -> np.ndarray:
    """``{"key": value, ...}`` per lead; a value is JSON text (a str, shared) or an array of it."""
    out = np.full(n, "{", dtype=object)
    for i, (key, value) in enumerate(pairs):
        out = out + (", " if i else "") + text(key) + ": " + value
    return out + "}"


def evidence(frame: pd.DataFrame, rows: np.ndarray, columns: list[str]) -> np.ndarray:
    """``{"field": value, ...}`` of the given fields for the given rows (keys folded into the distinct values)."""
    if not columns:
        return np.full(len(rows), "{}", dtype=object)
    out = None
    for i, c in enumerate(columns):
        part = encode(frame[c].to_numpy(dtype=object)[rows], ("{" if i == 0 else ", ") + text(c) + ": ",
                      "}" if i == len(columns) - 1 else "")
        out = part if out is None else out + part
    return out


def build(n: int, *, entry: str, version: str, step_names: list[str], conditions: list[str | None],
          descriptions: list[str], decided_at: np.ndarray, tried: np.ndarray, attempts: np.ndarray,
          evidence_json: np.ndarray, detail: np.ndarray, side: np.ndarray, via: np.ndarray,
          decided_by: np.ndarray) -> np.ndarray:
    """One trace per lead (see :mod:`pipelines.routing.engine` for what it holds)."""
    if tried.shape[1] < 48:  # one integer per lead: the deciding step and the steps tried, as bits
        bits = tried.astype(np.int64) @ (np.int64(1) << np.arange(tried.shape[1], dtype=np.int64))
        inverse, uniq = pd.factorize(decided_at.astype(np.int64) * (np.int64(1) << 48) + bits)
        patterns = np.column_stack([uniq >> 48, (uniq[:, None] >> np.arange(tried.shape[1])) & 1])
    else:
        patterns, inverse = np.unique(np.column_stack([decided_at, tried]), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    heads = []
    for pattern in patterns:
        at, steps_tried = int(pattern[0]), pattern[1:]
        skipped = [s for s, t in zip(step_names[:at], steps_tried[:at]) if not t]
        heads.append("{" + f'"entry": {text(entry)}, "rules_version": {text(version)}, '
                     f'"not_applicable": {json.dumps(skipped)}, "attempts": [')
    names = list(step_names) + [str(decided_by[decided_at == len(step_names)][0]) if (decided_at == len(step_names)).any() else ""]
    mids = np.asarray([f'], "decided_by": {text(name)}, "step_description": {text(d)}, "condition": {json.dumps(c)}, '
                       f'"evidence": ' for name, c, d in zip(names, conditions, descriptions)], dtype=object)
    out = (np.asarray(heads, dtype=object)[inverse] + attempts + mids[decided_at] + evidence_json
           + encode(detail, ', "detail": '))
    has_side = pd.notna(side)
    out[has_side] = out[has_side] + ', "side_actions": ' + side[has_side]
    has_via = pd.notna(via)
    out[has_via] = out[has_via] + ', "via": ' + via[has_via]
    return out + "}"

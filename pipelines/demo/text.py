"""Vectorised string helpers: the demo builds every text field a whole column at a time.

A million accounts leave no room for a Python call per row, so each helper takes
numpy/pandas arrays and returns one: ids, Salesforce datetimes, phone and website
formats, typos (done on a fixed-width character matrix), case and ASCII folding
(done once per distinct value, then mapped).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipelines.crm import ids
from pipelines.crm.local_schema import KEY_PREFIX, make_id

MS_PER_DAY = 86_400_000


def pick(rng: np.random.Generator, values, size: int, p=None) -> np.ndarray:
    """``size`` draws from ``values`` (optionally weighted) as an object array."""
    values = np.asarray(values, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return values[rng.choice(len(values), size=size, p=p)] if size else values[:0]


def weighted(pairs) -> tuple[np.ndarray, np.ndarray]:
    """Split ((value, weight), ...) into values and normalised probabilities."""
    values = np.array([v for v, _ in pairs], dtype=object)
    weights = np.array([w for _, w in pairs], dtype=float)
    return values, weights / weights.sum()


def s(values) -> pd.Series:
    """A string Series with missing values as empty strings (for concatenation)."""
    return pd.Series(values, dtype=object).fillna("").astype(str).reset_index(drop=True)


def cat(*parts) -> np.ndarray:
    """Element-wise concatenation of arrays and scalars into an object array (missing values count as '')."""
    try:  # fast path: object arrays of str concatenate element-wise in C
        out = None
        for part in parts:
            piece = part if isinstance(part, str) else np.asarray(part, dtype=object)
            out = piece if out is None else out + piece
        return np.asarray(out, dtype=object)
    except TypeError:  # None, NaN or numbers among the values
        pass
    out = None
    for part in parts:
        piece = part if isinstance(part, str) else s(part)
        out = piece if out is None else out + piece
    return np.asarray(out, dtype=object)


def blank_to_none(values) -> np.ndarray:
    """Empty strings become None (NULL in SQLite), the way a CRM stores an empty field."""
    arr = np.asarray(values, dtype=object).copy()
    arr[pd.isna(arr) | (arr == "")] = None
    return arr


def _distinct(values) -> tuple[pd.Series, pd.Series]:
    """The values as a Series, and their distinct non-missing values (vocabularies repeat a lot)."""
    series = pd.Series(values, dtype=object)
    return series, pd.Series(pd.unique(series.dropna()), dtype=object)


_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _fold(series: pd.Series, german: bool) -> pd.Series:
    if german:
        series = series.str.translate(_GERMAN)
    return series.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")


def ascii_fold(values, german: bool = False) -> np.ndarray:
    """'Müller' -> 'Muller' (or 'Mueller' with ``german``), 'Côté' -> 'Cote'."""
    series, distinct = _distinct(values)
    table = pd.Series(_fold(distinct, german).to_numpy(), index=distinct.to_numpy())
    return np.asarray(series.map(table), dtype=object)


def slug(values, sep: str = "") -> np.ndarray:
    """Lowercase ASCII letters and digits only: the part of a domain or email a name becomes."""
    series, distinct = _distinct(values)
    slugs = _fold(distinct, True).str.lower().str.replace(r"[^a-z0-9]+", sep, regex=True)
    if sep:
        slugs = slugs.str.strip(sep)
    table = pd.Series(slugs.to_numpy(), index=distinct.to_numpy())
    return np.asarray(series.map(table), dtype=object)


def name_key(values) -> np.ndarray:
    """The comparison key that keeps two demo companies from looking alike: letters and digits of the name."""
    return slug(values)


def make_ids(sobject: str, start: int, count: int) -> np.ndarray:
    """Ids ``make_id(sobject, start) .. make_id(sobject, start + count - 1)`` as an object array."""
    if count <= 0:
        return np.array([], dtype=object)
    # Digits have no case, so the case-safe suffix depends on the key prefix alone.
    body = np.char.add(KEY_PREFIX[sobject], np.char.zfill(np.arange(start, start + count).astype(str), 12))
    return np.asarray(np.char.add(body, ids.suffix(make_id(sobject, start)[:15])), dtype=object)


def sf_datetimes(ms) -> np.ndarray:
    """Epoch milliseconds -> Salesforce REST datetimes ('2026-11-22T10:15:00.000+0000'), NaN -> None."""
    ms = np.asarray(ms, dtype=float)
    missing = np.isnan(ms)
    stamps = np.where(missing, 0, ms).astype("int64").astype("datetime64[ms]")
    text = np.char.add(np.datetime_as_string(stamps, unit="ms"), "+0000").astype(object)
    text[missing] = None
    return text


def sf_dates(ms) -> np.ndarray:
    """Epoch milliseconds -> 'YYYY-MM-DD' (Salesforce date fields), NaN -> None."""
    ms = np.asarray(ms, dtype=float)
    missing = np.isnan(ms)
    stamps = np.where(missing, 0, ms).astype("int64").astype("datetime64[ms]").astype("datetime64[D]")
    text = np.datetime_as_string(stamps, unit="D").astype(object)
    text[missing] = None
    return text


def typo(values, rng: np.random.Generator) -> np.ndarray:
    """One realistic slip per string: swap two adjacent letters, drop one, or double one.

    Works on a fixed-width UTF-32 matrix so a million names cost a few array operations.
    The first letter is never touched: people rarely mistype it, and a careful human
    still recognises the name.
    """
    text = np.asarray(values, dtype=object)
    if len(text) == 0:
        return text
    arr = np.asarray(text.astype(str), dtype=str)
    width = max(arr.dtype.itemsize // 4, 1) + 1
    arr = arr.astype(f"<U{width}")
    codes = arr.view(np.uint32).reshape(len(arr), width).copy()
    is_letter = ((codes >= 65) & (codes <= 90)) | ((codes >= 97) & (codes <= 122))
    # candidate positions p (1..): letter at p and p+1
    ok = np.zeros_like(is_letter)
    ok[:, 1:-1] = is_letter[:, 1:-1] & is_letter[:, 2:]
    score = np.where(ok, rng.random(codes.shape), -1.0)
    pos = score.argmax(axis=1)
    has = score.max(axis=1) >= 0
    op = rng.integers(0, 3, len(arr))
    rows = np.arange(len(arr))
    idx = np.broadcast_to(np.arange(width), codes.shape)
    out = codes.copy()
    swap = has & (op == 0)
    a, b = codes[rows, pos], codes[rows, np.minimum(pos + 1, width - 1)]
    out[swap, pos[swap]] = b[swap]
    out[swap, pos[swap] + 1] = a[swap]
    drop = has & (op == 1)
    src = np.minimum(idx + (idx >= pos[:, None]), width - 1)
    dropped = np.take_along_axis(codes, src, axis=1)
    dropped[:, -1] = 0
    out[drop] = dropped[drop]
    double = has & (op == 2)
    src = np.maximum(idx - (idx > pos[:, None]), 0)
    doubled = np.take_along_axis(codes, src, axis=1)
    out[double] = doubled[double]
    result = out.view(f"<U{width}").ravel().astype(object)
    return result


def upper(values) -> np.ndarray:
    return np.asarray(s(values).str.upper(), dtype=object)


def lower(values) -> np.ndarray:
    return np.asarray(s(values).str.lower(), dtype=object)


def replace_words(values, table: dict[str, str], rng: np.random.Generator | None = None) -> np.ndarray:
    """Replace whole words by their table entry (one regex pass per table entry, not per row)."""
    series = s(values)
    for word, short in table.items():
        series = series.str.replace(rf"\b{re.escape(word)}\b", short.replace("\\", "\\\\"), regex=True)
    return np.asarray(series, dtype=object)


def format_phone(cc, area, subscriber, style, ext=None) -> np.ndarray:
    """Phone numbers as people type them.

    style 0 E.164 (+14155550123), 1 international spaced (+1 415 555 0123),
    2 national ((415) 555-0123 / 030 1234567), 3 dashed (415-555-0123 / 030-1234567),
    4 dotted or with (0) (415.555.0123 / +49 (0)30 1234567). ``ext`` is appended if given.
    """
    cc, area, sub = s(cc), s(area), s(subscriber)
    style = np.asarray(style)
    nanp = (cc == "1").to_numpy()
    trunk = np.where(cc.isin(["44", "49", "33", "41", "31", "46", "353", "972", "27", "971", "81", "61", "91"]), "0", "")
    sub_a, sub_b = sub.str.slice(0, 3), sub.str.slice(3)
    sub_spaced = np.where(nanp, sub_a + " " + sub_b, sub.str.slice(0, 4) + " " + sub.str.slice(4))
    area_sp = np.where(area == "", "", area + " ")
    e164 = "+" + cc + area + sub
    intl = "+" + cc + " " + area_sp + sub_spaced
    national = np.where(nanp, "(" + area + ") " + sub_a + "-" + sub_b, trunk + area_sp + sub)
    dashed = np.where(nanp, area + "-" + sub_a + "-" + sub_b, np.where(area == "", sub, trunk + area + "-" + sub))
    dotted = np.where(nanp, area + "." + sub_a + "." + sub_b,
                      np.where(trunk == "0", "+" + cc + " (0)" + area_sp + sub, "+" + cc + " " + area_sp + sub))
    out = np.select([style == 0, style == 1, style == 2, style == 3], [e164, intl, national, dashed], dotted).astype(object)
    if ext is not None:
        out = cat(out, ext)
    return out


def website(domain, style) -> np.ndarray:
    """Website as it ends up in a CRM: 0 www.x.com, 1 http://www.x.com/, 2 https://x.com, 3 x.com,
    4 https://x.com/contact, 5 HTTPS://WWW.X.COM, 6 https://www.x.com/en-us/, 7 missing."""
    d = s(domain)
    style = np.asarray(style)
    options = [
        "www." + d, "http://www." + d + "/", "https://" + d, d, "https://" + d + "/contact",
        "HTTPS://WWW." + d.str.upper(), "https://www." + d + "/en-us/",
    ]
    out = np.select([style == i for i in range(len(options))], options, "").astype(object)
    out[(d == "").to_numpy()] = ""
    return out


def digits(rng: np.random.Generator, size: int, length, first_min: int = 2) -> np.ndarray:
    """Random digit strings of per-row ``length`` whose first digit is at least ``first_min``."""
    length = np.broadcast_to(np.asarray(length, dtype=int), (size,))
    width = int(length.max()) if size else 1
    mat = rng.integers(0, 10, (size, width))
    mat[:, 0] = rng.integers(first_min, 10, size)
    chars = (mat + 48).astype(np.uint32)
    chars[np.arange(width)[None, :] >= length[:, None]] = 0
    return chars.view(f"<U{width}").ravel().astype(object)

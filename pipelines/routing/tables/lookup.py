"""Looking leads up in ops' tables, vectorised, for every kind of key.

A table (``tables:`` in ``flow.yaml``) declares its key columns and how each matches
(:data:`pipelines.routing.language.tables.KEY_KINDS`): ``exact`` (country, state, industry,
domain, lead source), ``prefix`` (NAICS 54 matches 541511), ``suffix`` (``.edu``),
``range`` (alphanumeric: ZIP 94000-95199, company names A-F), ``number_range``
(employees 1000-4999) and ``area`` (a polygon tested on latitude/longitude).

An empty key cell means "any value", so one table can say "US + CA -> Ava" and
"US (any state) -> Grace". When several rows match, the most specific wins: most
non-empty keys, then the longest prefix or suffix, then the row higher in the file.
The line of the row used is returned, so a decision's trace points at the line ops
wrote.

How it stays fast on 100,000 leads: exact keys are merges; a prefix or suffix of
length L is an exact merge on the lead's first (last) L characters, one merge per
distinct length; a range is a ``searchsorted`` over the sorted lower bounds (ranges
in one table do not overlap: ``leadroute validate`` says so); an area is one
``shapely.contains_xy`` call per polygon.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.routing.language.tables import TableDecl
from pipelines.routing.language.vocabulary import normalise
from pipelines.routing.tables import geo
from pipelines.sourcefile import ConfigProblem, SourceRef

JOINED = ("exact", "prefix", "suffix")
FILTERED = ("range", "number_range", "area")


def norm(s: pd.Series) -> pd.Series:
    """Text as tables compare it: trimmed, lower case, empty as NA."""
    t = normalise(s)
    return t.mask(t == "")


def prepare(decl: TableDecl, rows: pd.DataFrame, display: str) -> tuple[pd.DataFrame, list[ConfigProblem]]:
    """Add the parsed key columns a lookup uses (``_k_<key>``, ``_lo_``/``_hi_``, ``_geom_``); report bad cells."""
    problems: list[ConfigProblem] = []
    df = rows.copy()
    for key, kind in decl.keys.items():
        if kind in JOINED:
            df[f"_k_{key}"] = norm(df[key])
        elif kind == "range":
            df[f"_lo_{key}"], df[f"_hi_{key}"] = norm(df[f"{key}_from"]), norm(df[f"{key}_to"])
        elif kind == "number_range":
            for side, col in (("lo", f"{key}_from"), ("hi", f"{key}_to")):
                text = norm(df[col])
                num = pd.to_numeric(text.str.replace(",", "", regex=False).str.replace("_", "", regex=False),
                                    errors="coerce")
                for line, value in zip(df.loc[text.notna() & num.isna(), "_line"], text[text.notna() & num.isna()]):
                    problems.append(ConfigProblem(SourceRef(display, int(line)),
                                                  f"{col} must be a number, got {value!r}"))
                df[f"_{side}_{key}"] = num.astype(float)
        elif kind == "area":
            geoms, bad = geo.parse(df[key])
            for line, value, why in zip(df.loc[bad.index, "_line"], df.loc[bad.index, key], bad):
                problems.append(ConfigProblem(SourceRef(display, int(line)),
                                              f"{key} must be a polygon (WKT, e.g. POLYGON((lon lat, ...))): {why}; "
                                              f"got {str(value)[:40]!r}"))
            df[f"_geom_{key}"] = geoms
    return df, problems


def present(decl: TableDecl, rows: pd.DataFrame) -> pd.DataFrame:
    """Per row and key, whether the row constrains that key (an empty cell or open range does not)."""
    out = {}
    for key, kind in decl.keys.items():
        if kind in JOINED:
            out[key] = rows[f"_k_{key}"].notna()
        elif kind in ("range", "number_range"):
            out[key] = rows[f"_lo_{key}"].notna() | rows[f"_hi_{key}"].notna()
        else:
            out[key] = rows[f"_geom_{key}"].notna()
    return pd.DataFrame(out, index=rows.index)


def _probe(decl: TableDecl, frame: pd.DataFrame, fields: dict[str, Any], columns=None) -> pd.DataFrame:
    probe = pd.DataFrame({"_pos": np.arange(len(frame))})
    for key, f in fields.items():
        kind = decl.keys[key]
        if kind == "number_range":
            probe[key] = pd.to_numeric(frame[f], errors="coerce").to_numpy(dtype=float)
        elif kind == "area":
            probe[f"{key}.lat"] = pd.to_numeric(frame[f["latitude"]], errors="coerce").to_numpy(dtype=float)
            probe[f"{key}.lon"] = pd.to_numeric(frame[f["longitude"]], errors="coerce").to_numpy(dtype=float)
        else:
            text = columns[f].text if columns is not None else norm(frame[f])
            probe[key] = text.mask(text == "").to_numpy(dtype=object)
    return probe


def _range_holds(kind: str, values: pd.Series, lo: pd.Series, hi: pd.Series) -> np.ndarray:
    """Whether each value lies in [lo, hi] (both included, NA bound = open), pairwise."""
    if kind == "number_range":
        v = values.to_numpy(dtype=float)
        ok = ~np.isnan(v)
        ok &= np.isnan(lo.to_numpy(dtype=float)) | (v >= np.nan_to_num(lo.to_numpy(dtype=float), nan=-np.inf))
        ok &= np.isnan(hi.to_numpy(dtype=float)) | (v <= np.nan_to_num(hi.to_numpy(dtype=float), nan=np.inf))
        return ok
    v = values.astype("string").reset_index(drop=True)
    lo, hi = lo.astype("string").reset_index(drop=True), hi.astype("string").reset_index(drop=True)
    ok = v.notna().to_numpy(dtype=bool)
    # Compare on as many characters as the bound has: "fabrikam" is within A-F, ZIP+4 within a 5-digit range.
    for bound, cmp in ((lo, "ge"), (hi, "le")):
        length = bound.str.len().fillna(0).astype(int)
        held = np.zeros(len(v), dtype=bool)
        for n in length.unique():
            rows = (length == n).to_numpy()
            cut = v[rows].str.slice(0, int(n))
            test = (cut >= bound[rows]) if cmp == "ge" else (cut <= bound[rows])
            held[rows] = (bound[rows].isna() | test.fillna(False)).to_numpy(dtype=bool)
        ok &= held
    return ok


def _searchsorted_range(kind: str, key: str, probe: pd.DataFrame, group: pd.DataFrame) -> pd.DataFrame:
    """Candidates for a group of rows whose only constraint is one range key (non-overlapping ranges)."""
    lo_col, hi_col = f"_lo_{key}", f"_hi_{key}"
    hits = []
    if kind == "number_range":
        sub = group.assign(_lo=group[lo_col].fillna(-np.inf)).sort_values("_lo")
        values = probe[key].to_numpy(dtype=float)
        idx = np.searchsorted(sub["_lo"].to_numpy(), values, side="right") - 1
        ok = (idx >= 0) & ~np.isnan(values)
        cand = sub.iloc[np.where(ok, idx, 0)]
        ok &= _range_holds(kind, pd.Series(values), cand[lo_col].reset_index(drop=True), cand[hi_col].reset_index(drop=True))
        return pd.DataFrame({"_pos": probe["_pos"].to_numpy()[ok], "_line": cand["_line"].to_numpy()[ok]})
    # Text ranges: one pass per bound length, comparing the lead's first N characters.
    lengths = group[lo_col].str.len().fillna(0).astype(int)
    for length, sub in group.groupby(lengths, sort=False):
        sub = sub.assign(_lo=sub[lo_col].fillna("")).sort_values("_lo")
        values = probe[key].astype("string")
        cut = values.str.slice(0, int(length)) if length else values.str.slice(0, 0)
        arr = cut.fillna("\uffff").to_numpy(dtype=object)
        idx = np.searchsorted(sub["_lo"].to_numpy(dtype=object), arr, side="right") - 1
        ok = (idx >= 0) & values.notna().to_numpy()
        cand = sub.iloc[np.where(ok, idx, 0)]
        ok &= _range_holds(kind, values.reset_index(drop=True), cand[lo_col].reset_index(drop=True),
                           cand[hi_col].reset_index(drop=True))
        hits.append(pd.DataFrame({"_pos": probe["_pos"].to_numpy()[ok], "_line": cand["_line"].to_numpy()[ok]}))
    return pd.concat(hits, ignore_index=True) if hits else pd.DataFrame(columns=["_pos", "_line"])


def _group_candidates(decl: TableDecl, probe: pd.DataFrame, group: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """(lead position, table line, matched length) for every row of ``group`` a lead satisfies."""
    joined = [k for k in keys if decl.keys[k] in JOINED]
    filtered = [k for k in keys if decl.keys[k] in FILTERED]
    if not joined:
        if len(filtered) == 1 and decl.keys[filtered[0]] in ("range", "number_range"):
            out = _searchsorted_range(decl.keys[filtered[0]], filtered[0], probe, group)
            return out.assign(_len=0)
        if not filtered:  # a row with every key empty: matches everyone
            pairs = probe[["_pos"]].merge(group[["_line"]], how="cross")
        else:
            pairs = pd.concat([probe[["_pos"]].iloc[_row_mask(decl, probe, row, filtered)].assign(_line=row["_line"])
                               for _, row in group.iterrows()], ignore_index=True)
            return pairs.assign(_len=0)
        return pairs.assign(_len=0)
    # Exact keys join as they are; a prefix/suffix key joins on the lead's first/last L characters.
    affix = [k for k in joined if decl.keys[k] != "exact"]
    lengths = pd.DataFrame({k: group[f"_k_{k}"].str.len() for k in affix}, index=group.index)
    out = []
    for shape, sub in (group.groupby([lengths[k] for k in affix], sort=False) if affix else [((), group)]):
        shape = shape if isinstance(shape, tuple) else (shape,)
        left = probe.dropna(subset=joined).copy()
        for k, n in zip(affix, shape):
            left[k] = left[k].str.slice(0, int(n)) if decl.keys[k] == "prefix" else left[k].str.slice(-int(n))
        extra = [c for c in sub.columns if c.startswith(("_lo_", "_hi_", "_geom_"))]
        right = sub[[f"_k_{k}" for k in joined] + ["_line"] + extra].rename(columns={f"_k_{k}": k for k in joined})
        pairs = left.merge(right, on=joined)
        if filtered and len(pairs):
            ok = np.ones(len(pairs), dtype=bool)
            for k in filtered:
                ok &= _pair_holds(decl, pairs, k)
            pairs = pairs[ok]
        out.append(pairs[["_pos", "_line"]].assign(_len=int(sum(shape))))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["_pos", "_line", "_len"])


def _pair_holds(decl: TableDecl, pairs: pd.DataFrame, key: str) -> np.ndarray:
    kind = decl.keys[key]
    if kind == "area":
        return geo.contains_pairs(pairs[f"_geom_{key}"], pairs[f"{key}.lat"], pairs[f"{key}.lon"])
    return _range_holds(kind, pairs[key].reset_index(drop=True), pairs[f"_lo_{key}"].reset_index(drop=True),
                        pairs[f"_hi_{key}"].reset_index(drop=True))


def _row_mask(decl: TableDecl, probe: pd.DataFrame, row: pd.Series, keys: list[str]) -> np.ndarray:
    ok = np.ones(len(probe), dtype=bool)
    for k in keys:
        if decl.keys[k] == "area":
            ok &= geo.contains(row[f"_geom_{k}"], probe[f"{k}.lat"].to_numpy(), probe[f"{k}.lon"].to_numpy())
        else:
            n = len(probe)
            ok &= _range_holds(decl.keys[k], probe[k].reset_index(drop=True),
                               pd.Series([row[f"_lo_{k}"]] * n), pd.Series([row[f"_hi_{k}"]] * n))
    return np.flatnonzero(ok)


def lookup(decl: TableDecl, rows: pd.DataFrame, frame: pd.DataFrame, fields: dict[str, Any], columns=None) -> pd.DataFrame:
    """For each frame row, the best matching table row's value and line (NA when none).

    ``fields`` maps the table's key columns to frame columns (an area key to
    ``{latitude: ..., longitude: ...}``); keys the lookup leaves out are not compared.
    ``columns`` (:class:`pipelines.routing.language.vocabulary.Columns` of ``frame``) reuses
    normalised text across the steps of a flow.
    Returns a DataFrame indexed like ``frame`` with ``value`` and ``line``.
    """
    out = pd.DataFrame({"value": pd.Series(pd.NA, index=frame.index, dtype=object),
                        "line": pd.Series(pd.NA, index=frame.index, dtype="Int64")})
    if rows.empty or frame.empty:
        return out
    keys = list(fields)
    full = _probe(decl, frame, fields, columns)
    # Look up each distinct combination of key values once (100,000 leads have a few
    # hundred country/state pairs), then spread the answers back to the leads.
    key_cols = [c for c in full.columns if c != "_pos"]
    codes = full.groupby(key_cols, dropna=False, sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    probe = full.iloc[first].reset_index(drop=True).assign(_pos=np.arange(len(first)))
    shape = present(decl, rows)[keys]
    hits = []
    for used, group in rows.groupby([shape[k] for k in keys], sort=False):
        used = used if isinstance(used, tuple) else (used,)
        on = [k for k, p in zip(keys, used) if p]
        found = _group_candidates(decl, probe, group, on)
        hits.append(found.assign(_keys=len(on)))
    found = pd.concat(hits, ignore_index=True)
    if found.empty:
        return out
    best = found.sort_values(["_pos", "_keys", "_len", "_line"], ascending=[True, False, False, True]) \
        .drop_duplicates("_pos")
    line_of = np.full(len(probe), -1, dtype=np.int64)
    line_of[best["_pos"].to_numpy(dtype=int)] = best["_line"].astype(int).to_numpy()
    lines = line_of[codes]
    hit = lines >= 0
    out.loc[hit, "line"] = lines[hit]
    if decl.value:
        value = rows.set_index("_line")[decl.value]
        out.loc[hit, "value"] = value.loc[lines[hit]].to_numpy()
    out["value"] = out["value"].replace("", pd.NA)
    return out

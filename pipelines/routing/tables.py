"""Looking leads up in ops' CSV tables, vectorised.

Key columns match case-insensitively after trimming. An empty key cell means
"any value", so one table can say "US + CA -> Ava" and "US (any state) -> Grace".
When several rows match, the most specific wins (most non-empty keys), then the
row higher in the file. The line number of the row used is returned, so a
decision's trace points at the exact line ops wrote.
"""

from __future__ import annotations

import pandas as pd

from pipelines.routing.model import TableDecl


def _norm(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower()


def lookup(decl: TableDecl, rows: pd.DataFrame, frame: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """For each frame row, the matching table row's value and line (NA when none).

    ``fields`` maps the table's key columns to frame columns. Returns a DataFrame
    indexed like ``frame`` with ``value`` and ``line``.
    """
    keys = list(fields)
    out = pd.DataFrame({"value": pd.Series(pd.NA, index=frame.index, dtype=object),
                        "line": pd.Series(pd.NA, index=frame.index, dtype="Int64")})
    if rows.empty or frame.empty:
        return out
    table = rows.copy()
    for k in keys:
        table[k] = _norm(table[k]).replace("", pd.NA)
    table["_specificity"] = table[keys].notna().sum(axis=1)
    probe = pd.DataFrame({k: _norm(frame[f]).values for k, f in fields.items()})
    probe["_pos"] = range(len(frame))
    hits = []
    for used, group in table.groupby(table[keys].notna().apply(tuple, axis=1), sort=False):
        on = [k for k, present in zip(keys, used) if present]
        if not on:
            cross = probe[["_pos"]].merge(group[["_line", decl.value, "_specificity"]], how="cross")
            hits.append(cross)
            continue
        hits.append(probe[on + ["_pos"]].dropna(subset=on).merge(group[on + ["_line", decl.value, "_specificity"]], on=on))
    found = pd.concat(hits, ignore_index=True) if hits else pd.DataFrame()
    if found.empty:
        return out
    best = found.sort_values(["_pos", "_specificity", "_line"], ascending=[True, False, True]).drop_duplicates("_pos")
    out.iloc[best["_pos"].to_numpy(), 0] = best[decl.value].to_numpy()
    out.iloc[best["_pos"].to_numpy(), 1] = best["_line"].astype(int).to_numpy()
    out["value"] = out["value"].replace("", pd.NA)
    return out

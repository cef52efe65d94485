"""What a table must cover, and whether its ranges overlap or leave gaps.

Ops declare coverage on a table so that ``leadroute validate`` catches a territory
table that forgot a state (the value sets are in :mod:`pipelines.routing.language.tables`)::

    covers:
      - {key: state, values: us_states, where: {country: US}}   # every state and DC
      - {key: zip, from: "90000", to: "96199"}                    # California ZIPs, no gap

Only explicit rows count towards coverage: a catch-all row (an empty cell) is a
default, and would otherwise hide exactly the state someone forgot. Ranges in one table
(among rows with the same other keys) must not overlap, since a lead could then fall in
two territories, and must not leave gaps between them unless
the table says ``allow_gaps: true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.routing.language.tables import Coverage, TableDecl
from pipelines.sourcefile import ConfigProblem, SourceRef

def successor(bound: str) -> str:
    """The next text bound: '94999' -> '95000', 'F' -> 'G', 'AZ' -> 'BA' (lower-case kept)."""
    chars = list(bound)
    for i in range(len(chars) - 1, -1, -1):
        c = chars[i]
        if c == "9":
            chars[i] = "0"
        elif c in "zZ":
            chars[i] = "a" if c == "z" else "A"
        elif c.isalnum():
            chars[i] = chr(ord(c) + 1)
            return "".join(chars)
        else:
            return "".join(chars) + "\x00"
    return "1" + "".join(chars) if bound[:1].isdigit() else "".join(chars)


def _next_start(kind: str, hi) -> object:
    if kind == "number_range":
        return hi + 1 if float(hi).is_integer() else hi
    return successor(hi)


def _bounds(kind: str, lo: pd.Series, hi: pd.Series) -> tuple[list, list]:
    """Range bounds with open ends made comparable: -inf/+inf for numbers, '' and U+FFFF for text."""
    if kind == "number_range":
        return list(lo.astype(float).fillna(-np.inf)), list(hi.astype(float).fillna(np.inf))
    return list(lo.fillna("").astype(str)), list(hi.fillna("\uffff").astype(str))


def range_problems(decl: TableDecl, rows: pd.DataFrame, display: str) -> list[ConfigProblem]:
    """Overlapping ranges (errors) and gaps between ranges (errors unless allow_gaps), per group of other keys."""
    problems: list[ConfigProblem] = []
    others = [k for k, kind in decl.keys.items() if kind in ("exact", "prefix", "suffix")]
    for key, kind in decl.keys.items():
        if kind not in ("range", "number_range"):
            continue
        ranged = rows[rows[f"_lo_{key}"].notna() | rows[f"_hi_{key}"].notna()]
        groups = ranged.groupby([ranged[f"_k_{k}"].fillna("") for k in others], sort=False) if others else [((), ranged)]
        for _, group in groups:
            starts, ends = _bounds(kind, group[f"_lo_{key}"], group[f"_hi_{key}"])
            order = sorted(range(len(group)), key=lambda i: (starts[i], int(group["_line"].iloc[i])))
            reach, reach_line, reach_raw = None, None, None
            for i in order:
                line, raw_from, raw_to = int(group["_line"].iloc[i]), group[f"{key}_from"].iloc[i], group[f"{key}_to"].iloc[i]
                where = SourceRef(display, line)
                if reach is not None:
                    if starts[i] <= reach:
                        problems.append(ConfigProblem(where, f"range {raw_from or '(open)'}-{raw_to or '(open)'} of "
                                                             f"{key!r} overlaps the range up to {reach_raw or '(open)'} "
                                                             f"on line {reach_line}; a lead could fall in both"))
                    elif not decl.allow_gaps and starts[i] > _next_start(kind, reach):
                        problems.append(ConfigProblem(where, f"gap in {key!r}: no row covers the values after "
                                                             f"{reach_raw} (line {reach_line}) and before {raw_from}; "
                                                             f"add a row, or set allow_gaps: true on table {decl.name!r}"))
                if reach is None or ends[i] > reach:
                    reach, reach_line, reach_raw = ends[i], line, raw_to
    return problems


def coverage_problems(decl: TableDecl, rows: pd.DataFrame, display: str) -> list[ConfigProblem]:
    """Values a table declares it covers (``covers:``) but has no row for."""
    problems: list[ConfigProblem] = []
    for cov in decl.covers:
        scoped = rows
        for k, v in cov.scope.items():
            scoped = scoped[scoped[f"_k_{k}"] == v.strip().lower()]
        scope = " and ".join(f"{k} {v}" for k, v in cov.scope.items())
        scope = f" for {scope}" if scope else ""
        kind = decl.keys[cov.key]
        if cov.span is not None:
            problems += _span_problems(decl, cov, scoped, kind, display, scope)
            continue
        # Only explicit rows count: a catch-all row (empty cell) would hide exactly the forgotten state.
        col = f"_k_{cov.key}"
        have = set(scoped[col].dropna())
        missing = [v for v in cov.values if v.strip().lower() not in have]
        if missing:
            problems.append(ConfigProblem(cov.where, f"table {decl.name!r} has no row for {cov.key} "
                                                     f"{', '.join(missing)}{scope} (it must cover {cov.label}); "
                                                     f"add them to {decl.file}"))
    return problems


def _span_problems(decl, cov: Coverage, rows, kind, display, scope) -> list[ConfigProblem]:
    lo, hi = f"_lo_{cov.key}", f"_hi_{cov.key}"
    low, high = cov.span
    if kind == "number_range":
        low, high = float(low), float(high)
    else:
        low, high = low.strip().lower(), high.strip().lower()
    g = rows[rows[lo].notna() | rows[hi].notna()]
    starts, ends = _bounds(kind, g[lo], g[hi])
    reach = None  # covered up to here, contiguously from `low`
    for start, end in sorted(zip(starts, ends)):
        need = low if reach is None else _next_start(kind, reach)
        if end < need:
            continue  # entirely below what is still needed
        if start > need:
            break
        reach = end if reach is None or end > reach else reach
    if reach is None or reach < high:
        after = "the start" if reach is None else f"{reach}"
        return [ConfigProblem(cov.where, f"table {decl.name!r} does not cover {cov.key} {cov.label}{scope}: "
                                         f"the first value not covered comes after {after}")]
    return []

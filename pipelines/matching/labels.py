"""Labelled pairs ops already know: duplicates (or matches) and records that are not.

``leadroute dedupe|match --labels pairs.csv`` reads a CSV whose first two columns are
record ids (both of the file for ``dedupe``; a lead and an account for ``match``) and
whose optional third column says whether they are one company (``1``/``0``, ``yes``/
``no``, ``true``/``false``, ``duplicate``/``distinct``, ``match``/``no match``; empty
means yes). Known duplicates teach the model how true matches look (its m); known
non-duplicates are never put together. In the pipeline the CRM's own merge history
(a deleted account with a ``MasterRecordId``) is read the same way.

Bad rows (an id not in the file, a value that is not yes or no) are reported with
their line and left out; they never stop the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef

_YES = {"", "1", "yes", "y", "true", "t", "duplicate", "dup", "match", "same"}
_NO = {"0", "no", "n", "false", "f", "distinct", "different", "no match", "not a match", "nonmatch"}


@dataclass
class Labels:
    """Labelled pairs as positions into the two record lists; ``problems`` are the rows left out."""

    duplicates: pd.DataFrame  # l_id, r_id (positions)
    distinct: pd.DataFrame  # l_id, r_id (positions)
    problems: list[ConfigProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.duplicates) + len(self.distinct)


def read_labels(path: str | Path, left_ids: pd.Series, right_ids: pd.Series | None = None) -> Labels:
    """Read ``path`` against the ids of the records (``right_ids``: the second file's, for ``match``)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(SourceRef(str(path)), "file not found")]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(SourceRef(str(path)), f"not a readable CSV: {exc}")]) from None
    if frame.shape[1] < 2:
        raise ConfigError([ConfigProblem(SourceRef(str(path), 1), "expected two id columns (and an optional yes/no "
                                                                  "column), e.g. `id_a,id_b,duplicate`")])
    right_ids = left_ids if right_ids is None else right_ids
    lpos = _positions(left_ids)
    rpos = _positions(right_ids)
    a = frame.iloc[:, 0].str.strip().map(lpos)
    b = frame.iloc[:, 1].str.strip().map(rpos)
    answer = frame.iloc[:, 2].str.strip().str.lower() if frame.shape[1] > 2 else pd.Series("", index=frame.index)
    yes, no = answer.isin(_YES), answer.isin(_NO)
    problems = []
    for i in frame.index:
        where = SourceRef(str(path), i + 2)
        if pd.isna(a[i]):
            problems.append(ConfigProblem(where, f"id {frame.iloc[i, 0]!r} is not in the records; row left out",
                                          "warning"))
        elif pd.isna(b[i]):
            problems.append(ConfigProblem(where, f"id {frame.iloc[i, 1]!r} is not in the records; row left out",
                                          "warning"))
        elif not (yes[i] or no[i]):
            problems.append(ConfigProblem(where, f"{frame.iloc[i, 2]!r} is neither yes nor no (1/0, duplicate/"
                                                 "distinct); row left out", "warning"))
    ok = a.notna() & b.notna()
    pairs = pd.DataFrame({"l_id": a, "r_id": b})
    return Labels(duplicates=pairs[ok & yes].astype("int64").reset_index(drop=True),
                  distinct=pairs[ok & no].astype("int64").reset_index(drop=True), problems=problems)


def _positions(ids: pd.Series) -> pd.Series:
    """id -> the position of its first row."""
    ids = pd.Series(ids).astype(str).reset_index(drop=True)
    return pd.Series(ids.index, index=ids).groupby(level=0).first()

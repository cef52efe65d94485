"""Who is in a pool, and the lead facts that pick among them: language and the sticky company key.

Members are roster rows chosen by a list of user ids (rotating in the order written) or a
filter on ``reps.csv`` columns (rotating in user-id order). Lead text is normalised once per
distinct value, never once per lead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.routing.language.pools import PoolDecl


def members(pool: PoolDecl, roster: pd.DataFrame) -> pd.DataFrame:
    """Roster rows of the pool's members in rotation order: the order of a ``members:`` list as written
    in pools.yaml, or user-id order for a filter (``{role: SDR, team: ...}``)."""
    if pool.members:
        picked = roster[roster["user_id"].isin(pool.members)]
        written = {u: i for i, u in enumerate(pool.members)}
        return picked.sort_values("user_id", key=lambda ids: ids.map(written))
    else:
        mask = pd.Series(True, index=roster.index)
        for column, wanted in pool.member_filter.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            mask &= roster[column].astype(str).str.lower().isin([str(v).lower() for v in values])
        picked = roster[mask]
    return picked.sort_values("user_id")


def _normalised(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes per row and the trimmed, lower-cased unique values (code -1: empty).

    Text is normalised once per distinct value, not once per lead: 100,000 leads have a
    few thousand companies and a handful of languages.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    norm = pd.Series(np.asarray(uniques, dtype=object)).astype("string").str.strip().str.lower()
    blank = (norm.isna() | (norm == "")).to_numpy()
    norm = norm.fillna("").to_numpy(dtype=object)
    if blank.any():  # renumber so empty values become -1
        keep = np.flatnonzero(~blank)
        remap = np.full(len(uniques) + 1, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        codes = remap[codes]
        norm = norm[keep]
    return codes, norm


def language_codes(values: pd.Series) -> np.ndarray:
    """Lead languages as ISO 639-1 codes (``de``, ``German``, ``de-CH`` -> ``de``); None when empty."""
    import pycountry  # its language database loads on first use: only pools with `language:` pay for it

    codes, uniques = _normalised(values)
    mapped = []
    for value in uniques:
        code = str(value).replace("_", "-").split("-")[0]
        if len(code) != 2:
            try:
                code = pycountry.languages.lookup(str(value)).alpha_2.lower()
            except (LookupError, AttributeError):
                code = str(value)
        mapped.append(code)
    table = np.array(mapped + [None], dtype=object)
    return table[codes]  # code -1 takes the trailing None


def sticky_keys(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Per lead, ``field=value`` of the first non-empty ``by`` field (normalised), or NA."""
    key = np.full(len(frame), None, dtype=object)
    for field in reversed(by):
        if field not in frame.columns:
            continue
        codes, uniques = _normalised(frame[field])
        table = np.array([f"{field}={u}" for u in uniques] + [None], dtype=object)
        value = table[codes]
        key = np.where(codes >= 0, value, key)
    return pd.Series(key, index=frame.index, dtype=object)

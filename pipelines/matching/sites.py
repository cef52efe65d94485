"""Sites: facts that two records with no street to compare are in two places.

Two records of one name, one at a Los Angeles number and one at a New York number, are a
chain's two sites (two accounts), not one company written twice. Streets say so where both
records have one (:mod:`pipelines.matching.dedupe`'s "another street is another site"); where
neither street can be compared and nothing of their place agrees (not the phone, the postal code
or the location; a postal code a keystroke off may be mistyped or another state's: "10001" / "19001"),
two facts of reference data say it instead:

- **the phones' clocks**: phonenumbers gives each number's prefix the time zones it rings in;
  compared by their UTC offsets (January and July), so New York and Toronto are one clock. A
  number under more than two clocks (toll-free, a country-wide mobile range) could be anywhere;
- **the US state**: the record's state, else its ZIP code's, else the state of its city's name
  where a post office of that name is in one state only (zipcodes' table, through
  :func:`pipelines.matching.normalise.us_state`), else its phone's area code's (phonenumbers'
  geocoder: Las Vegas is a post office in Nevada and New Mexico, 702 is Nevada's). Only for
  records in the US (their country, else their domain's, else the default country).

Account deduplication weighs these as rules of thumb; linking two lists of organisations
(``link.lead_address: company``) never links such a pair unless their web domains agree. With
``lead_address: person`` (the pipeline's CRM leads, whose phone and address are often the
person's) they are not used.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching.index import KeyTable
from pipelines.matching.levels import MISSING
from pipelines.matching.normalise import phone_clocks, phone_us_state, us_state

# Feature columns added to scored pairs: phones an hour or more apart; records in two US states.
CLOCKS_APART = "clocks_apart"
STATES_APART = "states_apart"
WHY = {CLOCKS_APART: "phones an hour apart: another site", STATES_APART: "another state: another site"}


def elsewhere(con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, scored: pd.DataFrame,
              level: Callable[[str, str], int], default_country: str, *, domain_ties: bool = False) -> pd.DataFrame:
    """``scored`` (pairs of ``left`` and ``right`` with their comparison levels) with :data:`CLOCKS_APART`
    and :data:`STATES_APART`, asked only of the pairs with no street to compare whose names are not
    apart and nothing of whose place agrees. ``level(field, name)``: a level's code. ``domain_ties``:
    a shared web domain also ties the pair (linking: it is the company, whichever site's phone a list
    carries; deduplication keeps a company's sites apart)."""
    clocks = np.zeros(len(scored), dtype=bool)
    states = np.zeros(len(scored), dtype=bool)
    if len(scored) and {"street", "name", "phone", "place"} <= set(scored):
        def at(field: str, *levels: str) -> np.ndarray:
            if field not in scored:
                return np.zeros(len(scored), dtype=bool)
            return scored[field].isin([level(field, name) for name in levels]).to_numpy()

        open_ = (at("street", MISSING) & ~at("name", "different") & ~at("phone", "exact", "local")
                 & ~at("place", "postal") & ~at("geo", "same_place", "near"))
        if domain_ties:
            open_ &= ~at("domain", "exact", "label")

        def state(rec: pd.DataFrame) -> pd.Series:
            country = rec["country"].where(rec["country"].notna(), rec["domain_country"])
            us = (country.fillna(default_country) == "US").to_numpy()
            known = us_state(rec["state"], rec["postal_code"], rec["city"]).to_numpy()
            unknown = us & pd.isna(known)
            if unknown.any():
                known[unknown] = phone_us_state(rec["phone"][unknown]).to_numpy()
            return pd.Series(np.where(us, known, None), index=rec.index)

        def clock(rec: pd.DataFrame) -> pd.Series:
            return pd.Series(phone_clocks(rec["phone"]).to_numpy(), index=rec.index)

        for flag, ask, columns, fact in (
                (clocks, open_ & at("phone", "different"), ["phone"], clock),
                (states, open_ & at("place", "different", "postal_typo", MISSING),
                 ["state", "postal_code", "city", "country", "domain_country", "phone"], state)):
            rows = np.flatnonzero(ask)
            if len(rows):
                a, b = (scored[c].to_numpy()[rows] for c in ("l_id", "r_id"))
                fa, fb = _facts(con, left, right, a, b, columns, fact)
                flag[rows] = [_apart(x, y) for x, y in zip(fa, fb)]
    scored[CLOCKS_APART] = clocks  # a frame the caller has just made: no copy of millions of pairs
    scored[STATES_APART] = states
    return scored


def _apart(x, y) -> bool:
    """Two facts known on both sides that say two places: clocks sharing none, or two states."""
    if isinstance(x, frozenset) and isinstance(y, frozenset):
        return x.isdisjoint(y)
    return isinstance(x, str) and isinstance(y, str) and x != y


def _facts(con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, a: np.ndarray, b: np.ndarray,
           columns: list[str], fact: Callable[[pd.DataFrame], pd.Series]) -> tuple[list, list]:
    """``fact`` of the records of ids ``a`` (in ``left``) and ``b`` (in ``right``), each record read and
    worked out once (one table against itself: both sides in one query)."""
    def read(table: KeyTable, ids: np.ndarray) -> pd.Series:
        con.register("_fact_ids", pd.DataFrame({"id": pd.unique(ids)}))
        try:
            rec = con.execute(f'SELECT "{table.id}" AS id, {", ".join(columns)} FROM {table.relation} '
                              f'WHERE "{table.id}" IN (SELECT id FROM _fact_ids)').df().set_index("id")
        finally:
            con.unregister("_fact_ids")
        return fact(rec)

    if left == right:
        found = read(left, np.concatenate([a, b]))
        return list(found.reindex(a).to_numpy()), list(found.reindex(b).to_numpy())
    return list(read(left, a).reindex(a).to_numpy()), list(read(right, b).reindex(b).to_numpy())

"""Dedupe: which records are one company, and the clusters they form.

Used by the account master (CRM accounts) and by ``leadroute dedupe`` (any CSV). A
pair is scored by the model like any other; then three rules of the field rule out
pairs that look alike but are not one company:

- **names must agree**: exactly, nearly, as an acronym, as another spelling of the same
  words or as a site of the other; names that merely overlap ("Arnie Morton's" /
  "Arnie Morton's of Chicago") count only with the same phone, street or location,
  or when neither record has any of those to tell (a list of names alone);
- **another street is another site** (``dedupe.other_site``): two records whose
  streets differ are two sites of one organisation, whatever their names and postal
  code, unless their phones agree and their names are one name written two ways (an agency's
  sites share its switchboard); so are two at other numbers of one street with
  other phones. The same house number on a street named otherwise, in the same postal
  code or city, is a street name mistyped, not another site. With no street to compare and
  nothing of their place agreeing, two records whose phones ring under clocks an hour or more
  apart (phonenumbers' time zones: Los Angeles and New York, not New York and Toronto) are two
  sites too, and so are two in different US states (a state, a ZIP code's, or a city's name
  found in one state only, from zipcodes' table): a chain's namesakes in two cities;
- **another country is another company** (``dedupe.same_country``): a name across
  countries is more often a parent and its business unit.

A pair ruled out by another country or known to be two companies counts
:data:`RULED_OUT_BITS` against a merge, whatever else ruled it out, so clustering
(:mod:`pipelines.matching.cluster`) never puts its two records together through a chain of
others. The first two rules are rules of thumb: a pair they rule out counts
:data:`SOFT_RULE_BITS` (names apart :data:`NAMES_APART_BITS`), never a link of its own, but a
record whose name or street was mangled can still join a group whose other records vouch for it
by more. Frequencies count
companies: the first pass clusters without them, the second counts each value's companies
from the first pass's clusters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching import sites
from pipelines.matching.classify import frequency_column
from pipelines.matching.cluster import resolve
from pipelines.matching.index import KeyTable, blocking_report, describe_blocking
from pipelines.matching.labels import Labels
from pipelines.matching.levels import ONE_NAME
from pipelines.matching.link import Linker
from pipelines.matching.settings import MatchingSettings
from pipelines.warehouse import db

RULED_OUT_BITS = -1000.0  # a hard "cannot link": no amount of other evidence outweighs it
# The rules of thumb (SOFT_RULES) other than names apart (another site, phones an hour apart, two states,
# colleagues): 20 bits (a million to one) against a merge, not a hard cannot-link.
# FEBRL 3 holds up to ten copies of a record, each corrupted another way: one copy's mangled street rules it out
# against some copies while the others vouch for it; two sites of one organisation with nothing else between them
# stay two.
NAMES_APART = "names do not agree enough"
OTHER_SITE = "another street: another site"
PHONES_ELSEWHERE = sites.WHY[sites.CLOCKS_APART]
OTHER_STATE = sites.WHY[sites.STATES_APART]
COLLEAGUES = "colleagues: one employer, two names"  # files of people (Linker.colleagues)
SOFT_RULE_BITS = -20.0
# Names apart: 8 bits against a merge (250 to one). A name mangled past agreeing is a copy's commonest corruption,
# and at 20 bits one such pair outweighed all that the other copies vouch: fake_1000's "Ethan Cra" stayed apart from
# its person's other copies ("Carr Ethan", "Ethan Crr"), a patent office's "Koninklijke Philps Electronics" from 500
# other spellings of the company. At 5 bits Las Vegas's "Steakhouse, The" (another phone) joins the two listings of
# its "Steak House" (the restaurants by name, city and phone): benchmarks/README.md, stop 62. Names apart at another
# site, or between colleagues, count as another site or colleagues do: a pair counts the strongest rule ruling it out.
NAMES_APART_BITS = -8.0
# Each rule of thumb and the bits a pair it rules out counts against a merge.
SOFT_RULES = {NAMES_APART: NAMES_APART_BITS, OTHER_SITE: SOFT_RULE_BITS, PHONES_ELSEWHERE: SOFT_RULE_BITS,
              OTHER_STATE: SOFT_RULE_BITS, COLLEAGUES: SOFT_RULE_BITS}
# People whose names read as two, one of them a word alone, that one birthday and one email address or phone join
# (Deduper._one_person), where the birthday is held by this many records at most...
ONE_PERSON_BIRTHDAYS = 10
ONE_PERSON_CONTACTS = 10  # ...and the address or phone by this many
ONE_PERSON = "one_person"  # the column of scored pairs that says so
_CORROBORATING = {"phone": ("exact", "local"), "email": ("exact",), "street": ("exact", "similar"), "geo": ("same_place",),
                  "postal": ("postal",)}
_FIELD = {"postal": "place"}  # the comparison that holds a corroborating level, where it is not named so
# Evidence that vouches when it agrees and tells nothing when it does not: two people of one company
# write from two addresses.
_AGREEMENT_ONLY = frozenset({"email"})


class Deduper:
    """Finds the duplicates of one key table (against itself or another) and their clusters."""

    def __init__(self, settings: MatchingSettings, corroborated_by: list[str] | None = None,
                 linker: Linker | None = None, apart: tuple[np.ndarray, np.ndarray] | None = None,
                 confirmed_name_levels: list[str] | None = None, people: bool = False, employer: bool = False):
        """``apart``: pairs of ids known to be two companies (a CRM parent and its child);
        ``corroborated_by`` and ``confirmed_name_levels`` replace ``dedupe``'s (the account master's own);
        ``people``: the records are people (a file of people), whose given names have short forms; ``employer``:
        and say where each works."""
        self.settings = settings
        self.apart = None
        if apart is not None and len(apart[0]):
            a, b = (pd.Series(x).astype(str).to_numpy(dtype=object) for x in apart)
            self.apart = pd.MultiIndex.from_arrays([np.minimum(a, b), np.maximum(a, b)])
        d = settings.dedupe
        self.linker = linker or Linker(settings, threshold=d.threshold, dedupe=True, people=people, employer=employer)
        self.corroborated_by = d.corroborated_by if corroborated_by is None else corroborated_by
        self.confirmed_name_levels = d.confirmed_name_levels if confirmed_name_levels is None else confirmed_name_levels
        self.threshold_bits = float(np.log2(d.threshold / (1 - d.threshold)))
        self.first_pass_levels = (list(d.name_levels) + list(d.corroborated_name_levels)
                                  + list(self.confirmed_name_levels))
        # Comparison levels of the pairs clustering completed, per key table: the two passes (without
        # and with frequencies) complete the same groups, and levels do not depend on frequencies.
        self._completed: dict[str, pd.DataFrame] = {}

    # scoring ----------------------------------------------------------------------------------
    def score(self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, *,
              pairs: pd.DataFrame | None = None, entities: str | None = None) -> pd.DataFrame:
        """Candidate pairs whose names could agree, scored, with ``ruled_out`` (a reason or '')."""
        lk = self.linker
        if lk.people and pairs is None:
            pairs = lk.candidates(con, left, right)
        scored = lk.score_pairs(con, left, right, pairs=pairs, entities=entities, name_levels=self.first_pass_levels)
        if lk.people and len(pairs) > len(scored):
            # A name mangled past reading beside the whole name (see _one_person) is weighed by the model too, not
            # dropped before it; rule() then lets it through.
            seen = pd.MultiIndex.from_arrays([scored["l_id"], scored["r_id"]])
            rest = pairs[~pd.MultiIndex.from_arrays([pairs["l_id"], pairs["r_id"]]).isin(seen)]
            more = lk.score_pairs(con, left, right, pairs=rest.reset_index(drop=True), entities=entities)
            more = more[self._one_person(con, left, right, more)]
            if len(more):
                scored = pd.concat([scored.assign(**{ONE_PERSON: False}), more.assign(**{ONE_PERSON: True})],
                                   ignore_index=True)
        return self.rule(self._elsewhere(con, left, right, scored))

    def _elsewhere(self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable,
                   scored: pd.DataFrame) -> pd.DataFrame:
        """``scored`` with the facts of :mod:`pipelines.matching.sites` (when ``dedupe.other_site``)."""
        if not self.settings.dedupe.other_site:
            return scored
        return sites.elsewhere(con, left, right, scored, self.linker.level, self.settings.default_country)

    def rule(self, scored: pd.DataFrame) -> pd.DataFrame:
        """Apply the rules of the module docstring: ``ruled_out`` says why (the first rule that applies), and
        ``score`` drops to :data:`RULED_OUT_BITS` for the pairs a fact rules out, to at most
        :data:`SOFT_RULE_BITS` for those a rule of thumb does, and to at most :data:`NAMES_APART_BITS` for those
        whose names alone are apart."""
        d = self.settings.dedupe
        lk = self.linker

        n = len(scored)

        def at(field: str, *levels: str) -> np.ndarray:
            return lk.at(scored, field, *levels)

        corroborated = np.zeros(n, dtype=bool)
        untold = np.ones(n, dtype=bool)
        for field in self.corroborated_by:
            corroborated |= at(_FIELD.get(field, field), *_CORROBORATING[field])
            if field not in _AGREEMENT_ONLY:
                untold &= at(_FIELD.get(field, field), "missing")
        names_ok = (at("name", *d.name_levels) | (at("name", *d.corroborated_name_levels) & (corroborated | untold))
                    | (at("name", *self.confirmed_name_levels) & corroborated))
        if ONE_PERSON in scored:
            names_ok |= scored[ONE_PERSON].to_numpy(dtype=bool)
        reason = np.full(n, "", dtype=object)
        against = np.zeros(n)  # what the rules of thumb that rule a pair out count against a merge: the strongest

        def ruled_out(mask: np.ndarray, why: str) -> None:
            reason[mask & (reason == "")] = why  # the first rule that applies says why
            against[mask] = np.minimum(against[mask], SOFT_RULES[why])

        ruled_out(~names_ok, NAMES_APART)
        if d.other_site:
            # Another street, or another number on the street with another phone: another site.
            # The same house number on a street named otherwise, in the same postal code or city: a street
            # name mistyped, not another site.
            # The same phone keeps a company that moved together, when it is one name written two ways: an
            # agency's sites share its switchboard ("Erie Neighborhood House FCCH - Analida Sanchez Site" and
            # "... FCCH - Carmen Vega Site", two homes at two streets, one phone).
            moved = at("street", "different") | (at("street", "same_number") & ~at("place", "postal", "city"))
            one_name = at("name", *ONE_NAME)
            other_site = ((moved & ~(at("phone", "exact", "local") & one_name))
                          | (at("street", "other_number") & at("phone", "different")))
            ruled_out(other_site, OTHER_SITE)
            # No street to compare: phones an hour apart, or two US states, say the same (a chain's
            # restaurant in Los Angeles and its namesake in New York).
            for column, why in ((sites.CLOCKS_APART, PHONES_ELSEWHERE), (sites.STATES_APART, OTHER_STATE)):
                if column in scored:
                    ruled_out(scored[column].to_numpy(dtype=bool), why)
        if lk.people and n:
            ruled_out(lk.colleagues(scored), COLLEAGUES)
        # Facts of the records come last and override any rule of thumb: never put together.
        soft = reason != ""
        if d.same_country:
            reason[at("country", "different")] = "another country"
        if self.apart is not None and n:
            # Only pairs whose two records are both in known pairs are looked up: a MultiIndex of every
            # scored pair cost seconds per pass at a million accounts.
            a = scored["l_id"].astype(str).to_numpy(dtype=object)
            b = scored["r_id"].astype(str).to_numpy(dtype=object)
            members = self.apart.levels[0].union(self.apart.levels[1])
            ask = np.flatnonzero(pd.Index(a).isin(members) & pd.Index(b).isin(members))
            lo, hi = np.minimum(a[ask], b[ask]), np.maximum(a[ask], b[ask])
            family = pd.MultiIndex.from_arrays([lo, hi]).isin(self.apart)
            reason[ask[family]] = "known to be two companies"
        soft &= np.isin(reason, list(SOFT_RULES))
        out = scored.copy()
        out["ruled_out"] = reason
        out.loc[reason != "", "score"] = RULED_OUT_BITS
        out.loc[soft, "score"] = np.minimum(scored.loc[soft, "score"].to_numpy(), against[soft])
        out.loc[reason != "", "confidence"] = 0.0
        return out

    def _one_person(self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable,
                    scored: pd.DataFrame) -> np.ndarray:
        """Which of ``scored`` (people whose names read as two names) are one person whose name was mangled past
        reading: "Msrio" beside "Noah Morris" in Splink's fake_1000, one email address, one birthday. All of:

        - one of the two names is a single word (a given name or a surname left out, the other typed badly):
          a couple, twins or colleagues are each filed under a whole name of their own;
        - the same date of birth, and the same email address or phone, neither of them another's on the other
          record (a second address or phone that differs);
        - each of those values held by few records (a birthday by :data:`ONE_PERSON_BIRTHDAYS`, an address or a
          phone by :data:`ONE_PERSON_CONTACTS`): a form's placeholder birthday ("2000-01-01", Excel's
          "1899-12-31") beside a company's switchboard is everyone's, and counts for no one.

        A first cut with the second alone merged twins, a couple who share a birthday, and whole companies of a
        review's leads file (one placeholder birthday, one switchboard each)."""
        lk = self.linker
        at = functools.partial(lk.at, scored)

        def held_by_few(field: str, most: int) -> np.ndarray:
            """The value held by ``most`` records or fewer, as the model's term frequencies count them (a phone by
            its local number)."""
            column = frequency_column(field)
            return scored[column].to_numpy() <= most if column in scored else np.zeros(len(scored), dtype=bool)

        contact = ((at("email", "exact") & held_by_few("email", ONE_PERSON_CONTACTS))
                   | (at("phone", "exact") & held_by_few("phone", ONE_PERSON_CONTACTS)))
        ok = at("birthdate", "exact") & held_by_few("birthdate", ONE_PERSON_BIRTHDAYS) & contact
        ok &= ~at("email", "different", "close") & ~at("phone", "different", "local")
        if not ok.any():
            return ok
        idx = np.flatnonzero(ok)
        pairs = scored.iloc[idx][["l_id", "r_id"]].reset_index(drop=True).assign(i=np.arange(len(idx)))
        with db.registered(con, "_one_person_pairs", pairs) as relation:
            one_word = con.execute(f"""
                SELECT coalesce(strpos(trim(l.name), ' ') = 0 OR strpos(trim(r.name), ' ') = 0, false) AS one_word
                FROM {relation} p
                JOIN {left.relation} l ON l."{left.id}" = p.l_id
                JOIN {right.relation} r ON r."{right.id}" = p.r_id
                ORDER BY p.i""").fetchnumpy()["one_word"]
        ok[idx] = one_word.astype(bool)
        return ok

    # frequencies counted over companies ------------------------------------------------------------
    def rescore(self, scored: pd.DataFrame, frequencies: dict[str, pd.Series], values: pd.DataFrame) -> pd.DataFrame:
        """``scored`` again, with each value's frequency the number of companies holding it.

        ``frequencies`` maps a key column to (value -> companies); ``values`` holds each right
        record's key values, indexed by id.
        """
        out = scored.drop(columns=["score", "confidence", "ruled_out"], errors="ignore")
        for c in self.linker.comparisons:
            col = frequency_column(c.field)
            if c.frequency_key and col in out:
                keys = values[c.frequency_key].reindex(out["r_id"].to_numpy()).to_numpy()
                out[col] = pd.Series(keys).map(frequencies[c.frequency_key]).fillna(1).to_numpy()
        return self.rule(self.linker.score(out))

    def frequency_keys(self) -> list[str]:
        return [c.frequency_key for c in self.linker.comparisons if c.frequency_key]

    # clustering -------------------------------------------------------------------------------
    def cluster(self, con: duckdb.DuckDBPyConnection, table: KeyTable, ids: np.ndarray, scored: pd.DataFrame,
                frequencies: dict[str, pd.Series], values: pd.DataFrame) -> np.ndarray:
        """Cluster labels (positions into ``ids``) from ``scored`` pairs, scoring the missing pairs of
        each linked group (with the same ``frequencies``) so that chains are seen (see
        :mod:`pipelines.matching.cluster`)."""
        index = pd.Index(ids)
        edges = pd.DataFrame({"a": index.get_indexer(scored["l_id"]), "b": index.get_indexer(scored["r_id"]),
                              "score": scored["score"].to_numpy(dtype=float)})
        edges = edges[(edges["a"] >= 0) & (edges["b"] >= 0)]

        def complete(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
            pairs = pd.DataFrame({"l_id": ids[pa], "r_id": ids[pb]})
            more = self.rescore(self._compared(con, pairs, table), frequencies, values)
            found = pd.Series(more["score"].to_numpy(), index=pd.MultiIndex.from_arrays([more["l_id"], more["r_id"]]))
            return found.reindex(pd.MultiIndex.from_arrays([pairs["l_id"], pairs["r_id"]])).fillna(0.0).to_numpy()

        return resolve(len(ids), edges, self.threshold_bits, complete)


    def _compared(self, con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame, table: KeyTable) -> pd.DataFrame:
        """The comparison levels of ``pairs`` (records of ``table``), each pair compared once per deduper."""
        known = self._completed.get(table.relation)
        if known is not None:
            seen = pd.MultiIndex.from_frame(pairs[["l_id", "r_id"]]).isin(
                pd.MultiIndex.from_frame(known[["l_id", "r_id"]]))
            new = pairs[~seen].reset_index(drop=True)
        else:
            new = pairs
        if known is None and not len(new):
            return self.linker.compare(con, new, table, table)
        if len(new):
            fresh = self._elsewhere(con, table, table, self.linker.compare(con, new, table, table))
            known = fresh if known is None else pd.concat([known, fresh], ignore_index=True)
            self._completed[table.relation] = known
        wanted = pd.MultiIndex.from_frame(known[["l_id", "r_id"]]).isin(pd.MultiIndex.from_frame(pairs[["l_id", "r_id"]]))
        return known[wanted].reset_index(drop=True)


def entity_frequencies(values: pd.DataFrame, labels: np.ndarray, keys: list[str]) -> dict[str, pd.Series]:
    """For each key column of ``values`` (one row per record): value -> number of clusters holding it."""
    out = {}
    for key in keys:
        frame = pd.DataFrame({"v": values[key].to_numpy(), "c": labels})
        frame = frame[frame["v"].notna() & (frame["v"] != "")]
        out[key] = frame.groupby("v")["c"].nunique()
    return out


@dataclass
class DedupeResult:
    """What deduplicating a table found: each id's cluster (as the position of its first id), the
    candidate pairs, the scored pairs of the final pass, and the deduper with its model."""

    ids: np.ndarray
    labels: np.ndarray
    candidates: pd.DataFrame
    scored: pd.DataFrame
    deduper: Deduper


def dedupe_table(con: duckdb.DuckDBPyConnection, settings: MatchingSettings, table: KeyTable, *,
                 labels: Labels | None = None, corroborated_by: list[str] | None = None, people: bool = False,
                 employer: bool = False, progress: Callable[[str], None] = lambda m: None) -> DedupeResult:
    """Deduplicate a whole key table (see the module docstring). ``labels``: known duplicates (learned
    from) and known distinct pairs (never put together), by the table's ids; ``people``: a file of people
    (``employer``: with where each works)."""
    apart = None
    if labels is not None and len(labels.distinct):
        apart = (labels.distinct["l_id"].to_numpy(), labels.distinct["r_id"].to_numpy())
    deduper = Deduper(settings, corroborated_by, apart=apart, people=people, employer=employer)
    keys = deduper.frequency_keys()
    values = con.execute(
        f'SELECT "{table.id}" AS _id, {", ".join(keys)} FROM {table.relation} ORDER BY 1').df().set_index("_id")
    ids = values.index.to_numpy()
    pairs = deduper.linker.candidates(con, table, table)
    progress(f"{len(pairs):,} candidate pairs among {len(ids):,} records")
    for line in describe_blocking(blocking_report(con, deduper.linker.rules, table, table, pairs)):
        progress(line)
    known = labels.duplicates if labels is not None and len(labels.duplicates) else None
    params = deduper.linker.learn(con, table, table, pairs=pairs, labels=known, progress=progress)
    for line in params.describe():
        progress(line)
    # First pass: every value held by one company, so a company's own name is full evidence.
    ones = {k: pd.Series(dtype=float) for k in keys}
    scored = deduper.rescore(deduper.score(con, table, table, pairs=pairs), ones, values)
    first = deduper.cluster(con, table, ids, scored, ones, values)
    # Second pass: frequencies over the first pass's companies.
    freq = entity_frequencies(values, first, keys)
    scored = deduper.rescore(scored, freq, values)
    final = deduper.cluster(con, table, ids, scored, freq, values)
    return DedupeResult(ids, final, pairs, scored, deduper)

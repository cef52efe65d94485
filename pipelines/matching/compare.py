"""Compare: comparison levels for candidate pairs, the second of recordlinkage's three nouns.

Each comparison is a recordlinkage ``BaseCompareFeature`` that turns a field of a
pair into one *level* ("exact", "local", "different", "missing" ...), like a
Splink comparison. Levels are what the model weighs and what the match reason
names, so they read as evidence: "same phone without its area code", "one
company name contains the other".

Every comparison is built for the records a real CRM holds: a phone typed without
its area code is still that phone ("local"); a street written three ways agrees on
its house number and name ("similar"), and two suites of one building differ only
in their unit ("other_unit"); a name with its agency in front ("Agency - Site")
is compared by its site part. A value that is absent or unreadable is *missing*
(no evidence either way), never *different*.

Underneath, the string work is vectorised with rapidfuzz's ``process.cpdist``
(element-wise, multi-threaded); the word-by-word name analysis of
:mod:`pipelines.matching.names` runs once per distinct pair of names, only where
those measures leave the level open. The API on top is recordlinkage's::

    comparer = recordlinkage.Compare(indexing_type="position")
    comparer.add(CompareName())
    comparer.add(ComparePhone())
    features = comparer.compute(pairs, leads_keys, accounts_keys)

A feature's output column holds the level's position in its ``levels`` tuple.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter

import numpy as np
import pandas as pd
from rapidfuzz import distance, fuzz, process

from pipelines.matching.keys import EMPLOYER_KEYS, NAME_KEYS
from pipelines.matching.levels import LEVELS, MISSING, PEOPLE_LEVELS
from pipelines.matching.names import (LONG_WORD, SLIP, apart_only_by_fillers, containments, given_names_alike,
                                      informative, one_but_generic, placed_after)
from pipelines.matching.normalise import name_key
from pipelines.matching.normalise.names import NAME_ABBREVIATIONS, abbreviated
from pipelines.matching.recordlinkage_base import BaseCompareFeature, recordlinkage

# A frame attribute (pandas keeps ``attrs`` through the row selections Compare makes): its text
# columns already hold '' for missing, never None or NaN, so no column needs testing for them.
CLEAN_TEXT = "clean_text"


def _strings(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values as an object array with '' for missing, and where they are present.

    The engine's key tables already send '' for missing text and say so (:data:`CLEAN_TEXT`):
    testing '' is much cheaper than ``isna`` on millions of objects; other frames are cleaned here.
    """
    values = series.to_numpy(dtype=object)
    if not series.attrs.get(CLEAN_TEXT) and series.hasnans:
        values = np.where(pd.isna(values), "", values).astype(object)
    return values, values != ""


def _similarity(a: np.ndarray, b: np.ndarray, scorer, cutoff: float | None = None) -> np.ndarray:
    """``scorer`` of each pair. ``cutoff``: the only threshold the caller tests the result against;
    rapidfuzz then stops early on a pair that cannot reach it (a similarity below it reads 0, a
    distance above it ``cutoff + 1``), which changes no comparison and saves most of the work."""
    if len(a) == 0:
        return np.zeros(0)
    # Threads pay off on large batches only (starting them costs more than a few thousand pairs).
    return process.cpdist(list(a), list(b), scorer=scorer, score_cutoff=cutoff,
                          workers=-1 if len(a) > 20_000 else 1).astype(float)


# Jaro-Winkler's greedy matching pairs a long name's repeated letters wrongly once a letter is inserted or
# dropped mid-name, and reads the two as far apart: "koninklijkephilipselectronics" /
# "koninklijikephilipselectronics", one letter apart, score 0.93, below *close*'s 0.95. From this many letters
# (the name without spaces), such a pair is *close* when its names differ in one long word, mistyped
# (:func:`_one_long_word_mistyped`), not wherever the edits are few: "Northern" / "Southern Illinois University"
# and "Marion" / "Marin County Sheriffs Office" are two a letter or two apart (the review of stop 48).
LONG_NAME = 20


class _PairNames:
    """The names of a batch of pairs as codes into their distinct names. A rebuild compares some 900,000
    pairs of 90,000 names: what is read of one name (its first letters, its words as the name key writes
    them, its numbers) is read once per name, and only for names of pairs that ask; what is judged of two
    names once per distinct pair of them, their codes standing for them (hashing two integers, not two
    strings, per pair)."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        codes, names = pd.factorize(np.concatenate([a, b]))
        self.names = np.asarray(names, dtype=object)
        self.a, self.b = codes[:len(a)], codes[len(a):]
        self._read: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.a)

    def read(self, what: str, codes: np.ndarray, reader) -> np.ndarray:
        """``reader`` (names -> one value each) of the names ``codes``, over all names: each name is read
        once, when a pair of it first asks (elsewhere None)."""
        values, done = self._read.setdefault(what, (np.full(len(self.names), None, dtype=object),
                                                    np.zeros(len(self.names), dtype=bool)))
        new = np.unique(codes)
        new = new[~done[new]]
        if len(new):
            values[new] = reader(self.names[new])
            done[new] = True
        return values

    def keyed(self, codes: np.ndarray) -> np.ndarray:
        """The names with their words as the name key writes them (:func:`abbreviated`: "fourth" -> "4th")."""
        return self.read("keyed", codes, _keyed)

    def initials(self, codes: np.ndarray) -> np.ndarray:
        """The names' distinct first letters, sorted ("koninklijke vandermolen electronics" -> "e k v")."""
        return self.read("initials", codes, lambda names: [" ".join(sorted({w[0] for w in v.split()}))
                                                           for v in names])

    def distinct(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct pairs of names among pairs ``idx``: their names' codes (two arrays), and where each
        of ``idx`` is among them."""
        n = len(self.names)
        back, keys = pd.factorize(self.a[idx].astype(np.int64) * n + self.b[idx])
        return keys // n, keys % n, back

    def judged(self, ask: np.ndarray, judge, default: bool, read=None) -> np.ndarray:
        """``judge(x, y)`` of the names of each pair where ``ask``, once per distinct pair; ``default`` elsewhere.
        ``read``: what is judged of each name instead of the name itself, as :meth:`keyed` gives it (codes of
        the names judged -> an array over all names, by code)."""
        out = np.full(len(self), default, dtype=bool)
        idx = np.flatnonzero(ask)
        if len(idx):
            x, y, back = self.distinct(idx)
            values = self.names if read is None else read(np.concatenate([x, y]))
            verdicts = np.fromiter(map(judge, values[x], values[y]), dtype=bool, count=len(x))
            out[idx] = verdicts[back]
        return out

    def numbers_apart(self, ask: np.ndarray, *, keyed: bool = True) -> np.ndarray:
        """Where ``ask``: whether both names hold numbers ("walgreens 1234", the ordinals of "5th 3rd bank", the
        route of "hwy101", "forever21" as "forever 21") and neither's are all among the other's ("854 7th ave
        between 54th and 55th sts" holds "854 7th ave"'s). Numbers as numbers: "01234" is 1234; counted: "1st
        church #1" does not hold "1st church #2"'s. ``keyed``: the names read as the name key writes their
        words, so that ordinals written as words are numbers ("Fourth" / "Fourteenth Street Baptist Church" are
        4th and 14th; not the compact key itself: "Teddy Bear 1 51st Street" would hold 151). Most names hold
        no number: only those that may are keyed and read, and only pairs of two such are compared."""
        ask = ask & (self.a != self.b)
        idx = np.flatnonzero(ask)
        if not len(idx):
            return ask
        used = np.concatenate([self.a[idx], self.b[idx]])

        def numbers(names: np.ndarray) -> np.ndarray:
            # Keyed only where the name holds a digit or a word the key writes with digits ("fourth").
            may = np.fromiter(map(bool, map((_NUMBERED if keyed else _DIGITS).search, names)), dtype=bool,
                              count=len(names))
            forms = _keyed(names[may]) if keyed else names[may]
            out = np.full(len(names), None, dtype=object)
            out[may] = [Counter(map(int, _DIGITS.findall(v))) or None for v in forms]
            return out

        found = self.read("numbers" if keyed else "numbers as written", used, numbers)
        has = np.not_equal(found, None)
        return self.judged(ask & has[self.a] & has[self.b], lambda x, y: not (x <= y or y <= x), False,
                           lambda codes: found)

    def a_word_alike(self, ask: np.ndarray, cutoff: float, block: int = 2_000_000) -> np.ndarray:
        """Where ``ask``: whether some word of one name is, letter for letter (rapidfuzz's ratio at ``cutoff``),
        a word of the other. Every word of one against every word of the other, vectorised: the cross
        product is built with numpy over the words' codes, for distinct pairs of names whose products hold
        about ``block`` pairs of words at a time (names of a dozen words, notes pasted in, would otherwise
        hold gigabytes); a word both hold settles its pair, and each distinct pair of words left in a block
        is measured once."""
        out = np.zeros(len(self), dtype=bool)
        idx = np.flatnonzero(ask)
        if not len(idx):
            return out
        x, y, back = self.distinct(idx)
        # The words of the names asked about, as codes into their distinct words: name ``used[k]``'s are
        # ``codes[offsets[k]:offsets[k + 1]]``.
        used, at = np.unique(np.concatenate([x, y]), return_inverse=True)
        x, y = at[:len(x)], at[len(x):]
        split = [v.split() for v in self.names[used]]
        offsets = np.zeros(len(split) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in split], out=offsets[1:])
        codes, words = pd.factorize(np.fromiter(itertools.chain.from_iterable(split), dtype=object,
                                                count=int(offsets[-1])))
        words = np.asarray(words, dtype=object)
        per_pair = (offsets[x + 1] - offsets[x]) * (offsets[y + 1] - offsets[y])
        ends = np.cumsum(per_pair)
        cuts = np.searchsorted(ends, np.arange(block, ends[-1], block), side="right")
        found = np.zeros(len(x), dtype=bool)
        for start, stop in itertools.pairwise([0, *np.unique(cuts).tolist(), len(x)]):
            if start < stop:
                found[start:stop] = self._a_word_alike(x[start:stop], y[start:stop], offsets, codes, words, cutoff)
        out[idx] = found[back]
        return out

    @staticmethod
    def _a_word_alike(x: np.ndarray, y: np.ndarray, offsets: np.ndarray, codes: np.ndarray, words: np.ndarray,
                      cutoff: float) -> np.ndarray:
        """:meth:`a_word_alike` of pairs of names ``x`` and ``y`` (positions into ``offsets``)."""
        nx, ny = offsets[x + 1] - offsets[x], offsets[y + 1] - offsets[y]
        per_pair = nx * ny
        pair = np.repeat(np.arange(len(x)), per_pair)
        within = np.arange(len(pair)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
        wide = ny[pair]
        left = codes[offsets[x[pair]] + within // wide]
        right = codes[offsets[y[pair]] + within % wide]
        found = np.zeros(len(x), dtype=bool)
        found[pair[left == right]] = True
        open_ = ~found[pair]
        key = left[open_].astype(np.int64) * len(words) + right[open_]
        which, distinct = pd.factorize(key)
        alike = _similarity(words[distinct // len(words)], words[distinct % len(words)], fuzz.ratio, cutoff) >= cutoff
        found[pair[open_][alike[which]]] = True
        return found


def _one_long_word_mistyped(names: _PairNames, ask: np.ndarray) -> np.ndarray:
    """Where ``ask``: whether the two names of a pair are the same words but one, and that one a long word
    mistyped in both (:data:`LONG_WORD` letters or more, the same first letter: a typo, not another word).
    Words as the name key writes them (:func:`abbreviated`): "services" and "svcs" are one word."""

    def one(x: str, y: str) -> bool:
        wx, wy = x.split(), y.split()
        apart = [(u, v) for u, v in zip(wx, wy) if u != v]
        return (len(wx) == len(wy) and len(apart) == 1 and min(map(len, apart[0])) >= LONG_WORD
                and apart[0][0][0] == apart[0][1][0])

    return names.judged(ask, one, False, names.keyed)


def _same_initials(names: _PairNames, ask: np.ndarray) -> np.ndarray:
    """Where ``ask``: whether the words of one of the two names of a pair start, letter for letter, as words
    of the other do (counted: "Delta Dental" / "Delta Rental" have a "d" each but not two; "forever21
    store" / "forever 21 stores": a word glued is no other word); elsewhere True. Typists rarely miss a word's
    first letter, and two companies' names often differ just there: "Bright" / "Wright Dental Care Associates",
    "Eastern" / "Western Michigan University"."""

    def same(x: str, y: str) -> bool:
        sx, sy = Counter(w[0] for w in x.split()), Counter(w[0] for w in y.split())
        return sx <= sy or sy <= sx

    return names.judged(ask, same, True)


_DOUBLED = re.compile(r"(.)\1+")
_UMLAUT_WRITTEN_OUT = re.compile(r"(?<=[aou])e")


def _folded(values: np.ndarray) -> np.ndarray:
    """Each name with two common ways of typing it folded into one, word by word:

    - every run of one letter written once: "molly bell" and "moly bell" are "moly bel". A word of one letter
      repeated is left as written: "AA Taxi" and "AAA Taxi" are two firms (directories' way of coming first);
    - an umlaut written out, "ue" for "ü", as the vowel alone: "Mueller", "Müller" and "Muller" (ascii_lower
      reads "ü" as "u", an English keyboard types "u", German systems write "ue").

    Once per distinct name."""
    codes, uniques = pd.factorize(values)
    once = [" ".join(w if len(set(w)) == 1 else _DOUBLED.sub(r"\1", _UMLAUT_WRITTEN_OUT.sub("", w))
                     for w in name.split()) for name in uniques]
    return np.array(once, dtype=object)[codes]


# Hangul and the CJK ideographs: a name of two of them is a whole name ("東芝"), not a short one.
_WIDE = re.compile("[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _short(keys: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Compact names too short to say enough inside a longer one (fewer than four letters: "Acme" is not, "Abc"
    is), two CJK characters or more excepted."""
    short = lengths < 4
    idx = np.flatnonzero(short & (lengths >= 2))
    if len(idx):
        short[idx] = [not _WIDE.search(k) for k in keys[idx]]
    return short


def _keyed(values: np.ndarray) -> np.ndarray:
    """Names with their words as the name key writes them (:func:`abbreviated`: "fourth" -> "4th")."""
    return abbreviated(pd.Series(values, dtype=object)).fillna("").to_numpy(dtype=object)


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


@functools.lru_cache(maxsize=262_144)
def _informative(name: str) -> bool:
    return informative(name)


_DIGITS = re.compile(r"\d+")
# A digit, or a word the name key writes with digits (an ordinal: "fourth" -> "4th"): what may hold a number.
# One word boundary around all the words: a boundary per word made the search try each word at every letter,
# 7 microseconds a name (0.7 s over the 100,000-account warehouse's names, none of which holds one).
_NUMBERED = re.compile(r"\d|\b(?:" + "|".join(re.escape(w) for w, short in NAME_ABBREVIATIONS.items()
                                              if any(c.isdigit() for c in short)) + r")\b")


def _numbers_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether both values hold numbers and neither's are all among the other's, the values as written
    (street names: "Highway 101" / "Highway 102"); :meth:`_PairNames.numbers_apart` says how."""
    return _PairNames(a, b).numbers_apart(np.ones(len(a), dtype=bool), keyed=False)


# How alike two words' letters are, whatever their order (rapidfuzz's ratio of the sorted letters), from which they
# are one word with its letters out of place ("crmaon" / "cameron" 92, "tsomh" / "thomas" 91), not another ("ryan" /
# "maynard" 73, "dolan" / "dixon" 60).
_SAME_LETTERS = 85


def _a_word_replaced(a: str, b: str, cutoff: float) -> bool:
    """Whether two names share a word and differ in the rest, those words far apart (Jaro-Winkler under
    ``cutoff``): a given name both people have, and another surname. Jaro-Winkler reads the whole of two such
    names as alike, the shared given name a long common start: "nicholas ryan" / "nicholas maynard" 0.94,
    "joshua dolan" / "joshua dixon" 0.93; FEBRL 1's namesakes of that kind, *similar*, became one person in a
    file of people. Not a surname mistyped ("ethan cra" / "carr ethan"), nor written with its letters in another
    order ("riley crmaon" / "riley cameron": :data:`_SAME_LETTERS`), nor one name inside the other."""
    wa, wb = a.split(), b.split()
    shared = set(wa) & set(wb)
    rest_a, rest_b = " ".join(w for w in wa if w not in shared), " ".join(w for w in wb if w not in shared)
    return (bool(shared and rest_a and rest_b) and distance.JaroWinkler.normalized_similarity(rest_a, rest_b) < cutoff
            and fuzz.ratio(sorted(rest_a), sorted(rest_b)) < _SAME_LETTERS)


def _compact(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``values`` without their spaces, touching only the values present (most names have no site)."""
    if not present.any():
        return values
    out = values.copy()
    idx = np.flatnonzero(present)
    out[idx] = [v.replace(" ", "") for v in values[idx]]
    return out


def _affix(a: np.ndarray, b: np.ndarray, min_length: int, shorter: np.ndarray | None = None) -> np.ndarray:
    """One compact string starts or ends the other, the shorter having ``min_length`` characters or
    more (``shorter``: the shorter one's length per pair, when the caller has it)."""
    out = np.zeros(len(a), dtype=bool)
    if len(a) == 0:
        return out
    if shorter is None:
        shorter = np.minimum(_lengths(a), _lengths(b))
    idx = np.flatnonzero(shorter >= min_length)
    a, b, shorter = a[idx], b[idx], shorter[idx]
    start = _similarity(a, b, distance.Prefix.similarity) == shorter
    out[idx] = start
    rest = np.flatnonzero(~start)
    out[idx[rest]] = _similarity(a[rest], b[rest], distance.Postfix.similarity) == shorter[rest]
    return out


class Comparison(BaseCompareFeature):
    """A comparison with named levels; subclasses fill ``levels`` and ``_compute_vectorized``."""

    levels: tuple[str, ...] = ()
    field = ""
    # The level whose agreement on a value many records share weighs less (term frequency),
    # and the key column holding that value; None when frequency says nothing.
    frequency_level: str | None = None
    frequency_key: str | None = None
    # The key column whose equality is the ``exact`` level, where it is: how often two records agree there is
    # counted from how often each value occurs (:meth:`pipelines.matching.link.Linker.learn`), and taken for u
    # where few of those pairs are matches (:data:`pipelines.matching.learn.EXACT_COUNT_SHARE`), not drawn from
    # random pairs, of which a level this rare is a dozen or two.
    exact_key: str | None = None
    # Whether a side with no value at all makes every pair missing, so that it need not be compared
    # pair by pair (a comparison of one key column, named as its field).
    absent_is_missing = False

    def __init__(self, labels_left, labels_right, label):
        super().__init__(labels_left, labels_right, label=label)
        self.field = label if isinstance(label, str) else label[0]

    def code(self, level: str) -> int:
        return self.levels.index(level)

    def _pick(self, n: int, conditions: list[tuple[np.ndarray, str]], default: str) -> np.ndarray:
        """The first level whose condition holds, else ``default`` (like SQL CASE)."""
        out = np.full(n, self.code(default), dtype=np.int8)
        for cond, level in reversed(conditions):
            out[cond] = self.code(level)
        return out


class CompareExact(Comparison):
    """Equal or not, for keys normalised so that equality is the evidence (ISO states)."""

    levels = ("exact", "different", MISSING)

    def __init__(self, field: str):
        super().__init__(field, field, label=field)

    def _compute_vectorized(self, left: pd.Series, right: pd.Series) -> np.ndarray:
        a, pa = _strings(left)
        b, pb = _strings(right)
        both = pa & pb
        return self._pick(len(a), [(~both, MISSING), (a == b, "exact")], "different")


class CompareName(Comparison):
    """Company names, strongest agreement first:

    - ``exact``: the same compact name;
    - ``close``: a typo or two (at most ``max_edits`` edits and Jaro-Winkler at ``close``, or past
      :data:`LONG_NAME` letters one long word mistyped, or a doubled letter written once or an umlaut written
      out: "Molly Bell" / "Moly Bell", "Mueller" / "Muller"), no word's first letter another (companies);
    - ``acronym``: one is the other's initials ("IBM");
    - ``variant``: every word of each name accounted for by the other, allowing abbreviations,
      truncations, initials, glued words and another order ("Smith, Mary" / "Smith, M."), or the same
      words but for a word most names of the list end with (:attr:`generic`: "Wycombe" / "Wycombe District"
      among councils, most of them "... District");
    - ``site``: one name is the site part of the other ("Agency - Nia Family Center" / "Nia
      Family Center"); two names that both carry a site are compared by their sites alone,
      so two sites of one agency are not one place;
    - two names whose closing brackets name two branches ("Spago (Las Vegas)" / "Spago (Los Angeles)")
      are compared with their branches as words of the names: one word replaced, not one name;
    - ``different`` also where both names hold numbers and neither's are all among the other's
      ("Walgreens #1234" / "Walgreens #1235");
    - ``contained``: every word of one accounted for by the other, the shorter saying enough on its
      own ("Vandermolen Electronics" / "Koninklijke Vandermolen Electronics");
    - ``subset``: the same with a short name ("Acme" / "Acme Analytics"), or one compact name
      starting the other;
    - ``similar``: most words shared (a mistyped word among them) or a high Jaro-Winkler;
    - ``partial``: half the letters alike (token-set ratio 0.5) with a word of one name in the other,
      or mistyped there (ratio ``partial``), or a Jaro-Winkler of ``partial``: one word of a name
      replaced, another perhaps badly typed ("Mitchell Wetbb" / "Phoebe Webb"); else ``different``.

    ``people``: the names are people's (a file of people), whose given names have short forms: "Bill
    Bridge" and "William Bridge" are one name written another way (``variant``), and "Bill Bridgs"
    and "William Bridge" that name mistyped (``close``, as "William Bridgs" would be;
    :func:`~pipelines.matching.names.given_names_alike`).
    """

    levels = LEVELS["name"]
    frequency_level = "exact"
    frequency_key = "name_key"
    exact_key = "name_key"
    # Words most names of the list compared against end with (:func:`pipelines.matching.link.generic_words`),
    # set by the Linker before comparing: two names the same but for them are one name (``variant``).
    generic: frozenset[str] = frozenset()

    def __init__(self, close: float = 0.95, similar: float = 0.88, max_edits: int = 2, partial: float = 0.8,
                 *, people: bool = False):
        keys = list(NAME_KEYS)
        super().__init__(keys, keys, label="name")
        self.close, self.similar, self.max_edits, self.partial = close, similar, max_edits, partial
        self.people = people

    def _compute_vectorized(self, ln, lk, ls, lb, la, lw, rn, rk, rs, rb, ra, rw):
        a, pa = _strings(ln)
        b, pb = _strings(rn)
        ka, _ = _strings(lk)
        kb, _ = _strings(rk)
        sa, psa = _strings(ls)
        sb, psb = _strings(rs)
        aa, paa = _strings(la)
        ab, pab = _strings(ra)
        n = len(a)
        both = pa & pb
        # Two branches named in brackets ("Spago (Las Vegas)" / "Spago (Los Angeles)", "Acme (HQ)" / "Acme
        # (Headquarters)"): where they differ they are words of the names, compared with them, so that the
        # names are one only as far as their branches are. A branch mistyped ("Los Angles") is that branch.
        ba, pba = _strings(lb)
        bb, pbb = _strings(rb)
        bidx = np.flatnonzero(both & pba & pbb & (ba != bb))
        if len(bidx):
            bidx = bidx[_similarity(ba[bidx], bb[bidx], distance.JaroWinkler.normalized_similarity) < self.close]
            a, b, ka, kb = a.copy(), b.copy(), ka.copy(), kb.copy()
            for name, key, branch in ((a, ka, ba), (b, kb, bb)):
                name[bidx] = name[bidx] + " " + branch[bidx]
                key[bidx] = key[bidx] + _compact(branch[bidx], np.ones(len(bidx), dtype=bool))
        # A given name's short form, written as the other name writes it: compared as that name, and
        # never more than a variant of it (mistyped besides, it is that name mistyped: close).
        nickname = np.zeros(n, dtype=bool)
        if self.people:
            nidx = np.flatnonzero(both & (ka != kb))
            rewritten, changed = given_names_alike(a[nidx], b[nidx])
            nidx, rewritten = nidx[changed], rewritten[changed]
            if len(nidx):
                nickname[nidx] = True
                a, ka = a.copy(), ka.copy()
                a[nidx] = rewritten
                ka[nidx] = name_key(pd.Series(rewritten, dtype=object)).fillna("").to_numpy(dtype=object)
        exact = both & (ka == kb)
        # Sites: one name is the other's site, or both have sites (then only the sites count).
        sa_key, sb_key = _compact(sa, psa), _compact(sb, psb)
        two_sites = both & psa & psb
        site = both & ~exact & ((psa & (sa_key == kb)) | (psb & (sb_key == ka)) | (two_sites & (sa == sb)))
        # What the word-level measures compare: the sites when both have one, else the names.
        wa = np.where(two_sites, sa, a).astype(object)
        wb = np.where(two_sites, sb, b).astype(object)
        cka = np.where(two_sites, sa_key, ka).astype(object)
        ckb = np.where(two_sites, sb_key, kb).astype(object)
        names = _PairNames(wa, wb)
        open_ = both & ~exact & ~site
        len_a, len_b = _lengths(cka), _lengths(ckb)  # millions of pairs at a rebuild: measured once
        idx = np.flatnonzero(open_)
        jw = np.zeros(n)
        edits = np.full(n, 99.0)
        token_set = np.zeros(n)
        affix = np.zeros(n, dtype=bool)
        if len(idx):
            # Cutoffs: each measure is only tested against the thresholds below, the lowest is its cutoff.
            # (Not Jaro-Winkler's: rapidfuzz prunes on the Jaro part, which can read a pair as 0 whose
            # prefix bonus would lift it over the threshold.)
            jw[idx] = _similarity(cka[idx], ckb[idx], distance.JaroWinkler.normalized_similarity)
            # Edits count only where Jaro-Winkler already says close (a swap of two letters is one edit), or
            # in a long name, where it may not say (LONG_NAME).
            long_ = np.maximum(len_a, len_b)[idx] >= LONG_NAME
            eidx = idx[(jw[idx] >= self.close) | (long_ & (jw[idx] >= self.partial))]
            edits[eidx] = _similarity(cka[eidx], ckb[eidx], distance.OSA.distance, self.max_edits)
            token_set[idx] = _similarity(wa[idx], wb[idx], fuzz.token_set_ratio, min(50, 100 * self.similar)) / 100
            affix[idx] = _affix(cka[idx], ckb[idx], 4, np.minimum(len_a, len_b)[idx])
        longer = np.maximum(len_a, len_b)
        close = open_ & (edits <= np.clip(0.2 * longer, 1, self.max_edits))
        close &= (jw >= self.close) | _one_long_word_mistyped(names, close & (longer >= LONG_NAME) & (jw < self.close))
        # A doubled letter written once ("Molly" / "Moly": the commonest slip, which Jaro-Winkler reads as worse
        # than most, a repeated letter counting as a transposition: 0.92 for "mollybell" / "molybell"), or an
        # umlaut written out ("Mueller" / "Muller": 0.92), as many letters apart as a typo may be ("Anna Koo" /
        # "Ana Ko" are two slips, and two surnames).
        apart = np.abs(len_a - len_b)
        didx = idx[(jw[idx] < self.close) & (jw[idx] >= self.partial) & (longer[idx] >= 6) & (apart[idx] >= 1)
                   & (apart[idx] <= np.clip(0.2 * longer[idx], 1, self.max_edits))] if len(idx) else idx
        if len(didx):
            close[didx] |= _folded(wa[didx]) == _folded(wb[didx])
        if not self.people:  # a word another from its first letter is another word: "Bright" / "Wright Dental"
            close &= _same_initials(names, close)
        close &= ~(two_sites & (sa != sb) & (edits > 0))  # two sites a letter apart are two sites
        acronym = both & ~exact & ((pab & (ka == ab)) | (paa & (aa == kb)))
        # Word by word, once per distinct pair, where a cheap measure says the names overlap at all.
        variant = np.zeros(n, dtype=bool)
        contained = np.zeros(n, dtype=bool)
        informative_inside = np.zeros(n, dtype=bool)
        mostly = np.zeros(n, dtype=bool)
        partial = np.zeros(n)
        pidx = np.flatnonzero(open_ & ~close & ~acronym & (token_set < 0.5) & ~affix)
        if len(pidx):  # a name glued into one word of the other: "VANDERMOLENELECTRONICSFAB"
            partial[pidx] = _similarity(cka[pidx], ckb[pidx], fuzz.partial_ratio, 85) / 100
        wordy = open_ & ~close & ~acronym & ((token_set >= 0.5) | affix | (partial >= 0.85))
        # The same words (any order), or one name's words all in the other: no word-by-word work needed.
        same_words = np.zeros(n, dtype=bool)
        sidx = np.flatnonzero(wordy)
        if len(sidx):
            same_words[sidx] = _similarity(wa[sidx], wb[sidx], fuzz.token_sort_ratio, 100) == 100
        variant |= same_words
        exact_subset = wordy & ~same_words & (token_set == 1.0)
        contained |= exact_subset
        # The same words but for an article or a joining word: "Tillerman, The" / "Tillerman", "Steak House" /
        # "Steak House, The" (a guide's way of filing), "Bank of America" / "Bank America".
        variant |= names.judged(exact_subset, apart_only_by_fillers, False)
        # Word by word, once per distinct pair, only where every word of one name has a word of the
        # other starting with its letter (an abbreviation, a truncation or an initial can then explain it).
        rest = wordy & ~same_words & ~exact_subset
        ridx = np.flatnonzero(rest)
        if len(ridx):
            initials = names.initials(np.concatenate([names.a[ridx], names.b[ridx]]))
            letters = _similarity(initials[names.a[ridx]], initials[names.b[ridx]], fuzz.token_set_ratio, 100) == 100
            ridx = ridx[letters | (partial[ridx] >= 0.85)]
        if len(ridx):
            x, y, back = names.distinct(ridx)
            shares = containments(names.names[x], names.names[y])[back]
            ca, cb, typo, cut_a, cut_b = shares[:, 0], shares[:, 1], shares[:, 2], shares[:, 3] > 0, shares[:, 4] > 0
            # A one-word name that is only the start of the other's one word is another name ("Data" / "Datadog",
            # "Micro" / "Microsoft", "Hart" / "Hartlepool"), not that name cut short: a prefix (subset) at most.
            # Read for the distinct pairs judged, by `in` (np.char.find made every name of a chunk as wide as the
            # longest: a 255-letter account name among two million names cost seconds and gigabytes).
            one_word = np.fromiter((" " not in p and " " not in q for p, q in zip(names.names[x], names.names[y])),
                                   dtype=bool, count=len(x))
            lone = one_word[back] & (cut_a | cut_b)
            variant[ridx] = (ca == 1) & (cb == 1) & (typo == 0) & ~lone
            # One name inside the other, each of its words there as written, or one long word a letter off, not
            # either name's first (names._slipped: "Koninklijke Philips Electornics" / "Philips Electronics"):
            # "Parkway Grill" is not in "Bryant Park Grill" (a word cut short, "Tech" for "Technologies", makes two
            # names variants, not one inside), nor "Cafe Centro" in "Film Center Cafe" (two words, not one mistyped).
            contained[ridx] = (((ca == 1) & ~cut_a) | ((cb == 1) & ~cut_b)) & (typo <= SLIP)
            mostly[ridx] = np.minimum(ca, cb) > 0.7
        # One name followed by the place the other's record pasted after its own ("Allianz SE Munich Germany" /
        # "Allianz SE 80802 Munich Germany"); a place no record of the pair gives is a branch's (names.placed_after).
        place_a, pplace_a = _strings(lw)
        place_b, pplace_b = _strings(rw)
        qidx = np.flatnonzero(open_ & ~close & ~acronym & ~variant & (pplace_a | pplace_b))
        if len(qidx):
            pairs = zip(a[qidx], b[qidx], place_a[qidx], place_b[qidx])
            variant[qidx] = np.fromiter((placed_after(x, y, wy) or placed_after(y, x, wx) for x, y, wx, wy in pairs),
                                        dtype=bool, count=len(qidx))
        if self.generic and not self.people:  # one name but for a word most of the list's names end with
            variant |= names.judged(wordy & ~variant, functools.partial(one_but_generic, generic=self.generic), False)
        cidx = np.flatnonzero(contained & ~variant)
        if len(cidx):
            shorter = np.where(_lengths(wa[cidx]) <= _lengths(wb[cidx]), wa[cidx], wb[cidx])
            informative_inside[cidx] = pd.Series(shorter).map(_informative).to_numpy(dtype=bool)
        short_a = _short(cka, len_a)
        short_b = _short(ckb, len_b)
        subset = open_ & ((token_set == 1.0) | affix | contained) & ~(short_a | short_b)
        alike = jw >= self.similar + 0.04
        if self.people:  # a given name both share is no likeness of two people's names (_a_word_replaced)
            ask = open_ & alike & (token_set < self.similar) & ~mostly
            alike &= ~names.judged(ask, functools.partial(_a_word_replaced, cutoff=self.partial), False)
        similar = open_ & ((token_set >= self.similar) | alike | mostly)
        # Partial: weak evidence on its own, but a name with one word replaced or mistyped ("Tayla Green" /
        # "Tayla White") at the same address. (Not for two sites: "Nia Family Center" / "Guadalupano Family
        # Center" are two places.) Half the letters alike counts where a word of one name is a word of the
        # other, or that word mistyped ("Mitchell Wetbb" / "Phoebe Webb": a given name replaced, the surname
        # mistyped); the letters alone also call "Kye Campbell" and "Annabelle Yu" half alike.
        halves = open_ & ~two_sites & (token_set >= 0.5) & (jw < self.partial)
        ask = halves & ~(close | acronym | variant | contained | subset | similar)
        halves[ask] = names.a_word_alike(ask, 100 * self.partial)[ask]
        partial = open_ & ~two_sites & (halves | (jw >= self.partial))
        # A number in a name is who it is, not a word to mistype: "Walgreens #1234" / "Walgreens #1235",
        # "School District 12" / "School District 13" are two. (Read only where the names agree somehow, from
        # the sites where both names have one: the names compared word by word, wa and wb.)
        numbers_apart = names.numbers_apart(both & ~exact & (site | close | acronym | variant | contained | subset
                                                             | similar | partial))
        return self._pick(
            n,
            [(~both, MISSING), (numbers_apart, "different"), (exact & nickname, "variant"), (exact, "exact"), (site, "site"), (close, "close"), (acronym, "acronym"),
             (variant, "variant"), (contained & informative_inside, "contained"), (subset, "subset"),
             (similar, "similar"), (partial, "partial")],
            "different",
        )


class CompareEmployer(Comparison):
    """The companies two people work for (files of people), as company names are compared: ``exact``
    the same name ("Acme Corp" / "ACME Corporation"); ``similar`` one name written another way, mistyped,
    abbreviated or part of the other (:class:`CompareName`'s close, acronym, variant, site, contained and
    subset: "IBM" / "International Business Machines", "Amazon" / "Amazon Web Services"); ``different``
    otherwise.

    No term frequency: colleagues share their employer, and a file of many contacts per company teaches
    the model so (its u); discounting the agreement again for the company's size counted it twice."""

    levels = PEOPLE_LEVELS["employer"]
    _SIMILAR = ("close", "acronym", "variant", "site", "contained", "subset")

    def __init__(self):
        keys = list(EMPLOYER_KEYS)
        super().__init__(keys, keys, label="employer")
        self._names = CompareName()
        codes = {lv: i for i, lv in enumerate(CompareName.levels)}
        # Each name level's code -> this comparison's.
        self._as_employer = np.full(len(CompareName.levels), self.code("different"), dtype=np.int8)
        self._as_employer[codes["exact"]] = self.code("exact")
        self._as_employer[[codes[lv] for lv in self._SIMILAR]] = self.code("similar")
        self._as_employer[codes[MISSING]] = self.code(MISSING)

    def _compute_vectorized(self, *columns):
        return self._as_employer[self._names._compute_vectorized(*columns)]


class CompareDomain(Comparison):
    """Company domains: the same registered domain, the same name under another suffix
    (``ibm.com`` / ``ibm.jp``: a country domain of one company), different, or missing."""

    levels = LEVELS["domain"]
    frequency_level = "exact"
    frequency_key = "domain"
    exact_key = "domain"

    def __init__(self):
        super().__init__(["domain", "domain_label"], ["domain", "domain_label"], label="domain")

    def _compute_vectorized(self, ld, ll, rd, rl):
        a, pa = _strings(ld)
        b, pb = _strings(rd)
        la, _ = _strings(ll)
        lb, _ = _strings(rl)
        both = pa & pb
        return self._pick(len(a), [(~both, MISSING), (a == b, "exact"), ((la == lb) & (la != ""), "label")],
                          "different")


class ComparePhone(Comparison):
    """Phones: the same number (E.164), the same local number (the last seven digits: one side
    without its area code, or an area code that changed), different, or missing (absent, or not
    a number at all: unknown is not different)."""

    levels = LEVELS["phone"]
    frequency_level = "exact"
    frequency_key = "phone_local"

    def __init__(self):
        super().__init__(["phone", "phone_local"], ["phone", "phone_local"], label="phone")

    def _compute_vectorized(self, lp, ll, rp, rl):
        a, pa = _strings(lp)
        b, pb = _strings(rp)
        la, pla = _strings(ll)
        lb, plb = _strings(rl)
        both = pla & plb
        return self._pick(len(a), [(~both, MISSING), (pa & pb & (a == b), "exact"), (la == lb, "local")],
                          "different")


class CompareMistyped(CompareExact):
    """A value that is one thing or another, or that one mistyped: exact, ``close`` (as the subclass's
    :meth:`_close` says, only between two present values that differ), ``near`` where the field has that
    level (:meth:`_near`: not a typo, but not far off either), different, or missing."""

    def _close(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _near(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _compute_vectorized(self, left: pd.Series, right: pd.Series) -> np.ndarray:
        a, pa = _strings(left)
        b, pb = _strings(right)
        both = pa & pb
        close = np.zeros(len(a), dtype=bool)
        near = np.zeros(len(a), dtype=bool)
        idx = np.flatnonzero(both & (a != b))
        if len(idx):
            close[idx] = self._close(a[idx], b[idx])
            if "near" in self.levels:
                far = idx[~close[idx]]
                near[far] = self._near(a[far], b[far])
        levels = [(~both, MISSING), (a == b, "exact"), (close, "close")]
        if "near" in self.levels:
            levels.append((near, "near"))
        return self._pick(len(a), levels, "different")


def _split_address(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part before the ``@`` and the host of each address (keys always hold one ``@``)."""
    parts = [v.split("@", 1) for v in values]
    return (np.array([p[0] for p in parts], dtype=object),
            np.array([p[1] if len(p) > 1 else "" for p in parts], dtype=object))


class CompareEmail(CompareMistyped):
    """Email addresses, the first of a field in lower case (no one's, "info@" or "none@none.com", is
    none): the same (one person; an address several records share weighs less by its frequency),
    ``close`` (a few letters off: "jo.smith@acme.com" / "jo.smtih@acme.com", "@gmail.com" / "@gmial.com";
    Jaro-Winkler at ``close``, Splink's threshold for emails, at most ``max_edits`` edits, the hosts at
    most two letters apart ("cole.net" / "cols.net"), so that one name at two employers, "john.smith@acme.com" /
    "john.smith@globex.com" or "@ibm.com" / "@hp.com", is not close, and three letters or more before
    the ``@``: "j@acme.com" / "k@acme.com" are two people), different, or missing. An account holds none, so this is evidence between
    leads, contacts and people's files, never between a lead and an account unless the accounts' file
    maps one. A close address is not a name's corroboration (see :mod:`pipelines.matching.dedupe`):
    colleagues' addresses are often a letter apart ("jsmith@" / "asmith@"), and only the names then
    tell them apart."""

    levels = LEVELS["email"]
    frequency_level = "exact"
    frequency_key = "email"
    exact_key = "email"
    absent_is_missing = True

    def __init__(self, close: float = 0.88, max_edits: int = 3):
        super().__init__("email")
        self.close, self.max_edits = close, max_edits

    def _close(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.zeros(len(a), dtype=bool)
        idx = np.flatnonzero(_similarity(a, b, distance.JaroWinkler.normalized_similarity) >= self.close)
        idx = idx[_similarity(a[idx], b[idx], distance.OSA.distance, self.max_edits) <= self.max_edits]
        if len(idx):  # the same host, or one mistyped; and no address of a letter or two before it
            local_a, host_a = _split_address(a[idx])
            local_b, host_b = _split_address(b[idx])
            hosts = _similarity(host_a, host_b, distance.OSA.distance, 2) <= 2
            out[idx[hosts & (np.minimum(_lengths(local_a), _lengths(local_b)) >= 3)]] = True
        return out


class CompareBirthdate(CompareMistyped):
    """A person's date of birth (``YYYYMMDD``): the same (a date many records share weighs less by its
    frequency), ``close`` (one digit mistyped or two swapped, "19560409" / "19560490", or day and month
    read the other way round, "19560409" / "19560904"), ``near`` (within a year, 366 days, "19561230" /
    "19570102", or the same year with two digits off, "19560409" / "19561210": a form filled in from memory;
    Splink's date-of-birth comparison has such levels too; two digits of the year off, "19560409" /
    "19860419", is a father and his son), different, or missing. Only files of people
    hold one: CRM accounts and leads never pay for it.

    ``near`` apart from ``different`` is what lets a file's model tell its kind of error: where true pairs'
    dates are never far apart, another date entirely learns a strong weight against; where a file swaps
    whole dates between records (FEBRL), a weak one."""

    levels = LEVELS["birthdate"]
    frequency_level = "exact"
    frequency_key = "birthdate"
    exact_key = "birthdate"
    absent_is_missing = True

    def __init__(self):
        super().__init__("birthdate")

    def _close(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        swapped = np.array([x[:4] == y[:4] and x[4:6] == y[6:] and x[6:] == y[4:6] for x, y in zip(a, b)], dtype=bool)
        return (_similarity(a, b, distance.OSA.distance, 1) <= 1) | swapped

    def _near(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # Subtracted in days, not nanoseconds: a year mistyped ("1765" for "1965") beside a date of this century is
        # more days apart than nanoseconds can count (RLdata10000's births), and pandas raised OverflowError.
        days = np.abs(self._days(a) - self._days(b))
        within = ~np.isnat(days) & (days <= np.timedelta64(366, "D"))
        same_year = np.array([x[:4] == y[:4] for x, y in zip(a, b)], dtype=bool)
        return within | (same_year & (_similarity(a, b, distance.OSA.distance, 2) <= 2))

    @staticmethod
    def _days(values: np.ndarray) -> np.ndarray:
        """``YYYYMMDD`` as days (NaT where no date pandas can hold, 1677-2262: a year mistyped)."""
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format="%Y%m%d", errors="coerce")
        return parsed.to_numpy().astype("datetime64[D]")


class CompareAddress(Comparison):
    """Street addresses, part by part (see :mod:`pipelines.matching.normalise.streets`):

    - ``exact``: the same house number and street name;
    - ``similar``: the same house number, street names alike (one containing the other, as
      "Dr Rosa Parks" and "Parks", or a typo);
    - ``other_unit``: the same building, both with a unit, different units (another suite);
    - ``same_street``: the same (or a like) street name, without a house number on one side or both;
    - ``other_number``: the same (or a like) street, another house number: another building, or
      a typo in the number; or the same number on a street of the same name in another direction
      ("100 N Main St" / "100 S Main St", "200 W 57th St" / "200 E 57th St": two buildings, often miles
      apart; a direction on one side only is a direction left off);
    - ``same_number``: the same house number on a street named otherwise (a street name mistyped
      beyond recognition, or another street);
    - ``different``: another street; ``missing`` when either side has no street name, or one is a PO
      box and the other a street (a company may use both).
    """

    levels = LEVELS["street"]
    frequency_level = "exact"
    frequency_key = "street"

    def __init__(self, similar: float = 0.88):
        keys = ["house_number", "street_key", "unit", "street"]
        super().__init__(keys, keys, label="street")
        self.similar = similar

    def _compute_vectorized(self, ln, lk, lu, ll, rn, rk, ru, rl):
        na, pna = _strings(ln)
        nb, pnb = _strings(rn)
        ka, pka = _strings(lk)
        kb, pkb = _strings(rk)
        ua, pua = _strings(lu)
        ub, pub = _strings(ru)
        n = len(ka)
        box_a, box_b = ka == "pobox", kb == "pobox"
        both = pka & pkb & ~(box_a ^ box_b)
        same_number = pna & pnb & (na == nb)
        same_name = both & (ka == kb)
        idx = np.flatnonzero(both & ~same_name)
        alike = np.zeros(n, dtype=bool)
        if len(idx):
            alike[idx] = _similarity(ka[idx], kb[idx], distance.JaroWinkler.normalized_similarity) >= self.similar
            rest = idx[~alike[idx]]  # one street name starting or ending the other, where no typo explains them
            alike[rest] = _affix(ka[rest], kb[rest], 3)
            numbered = idx[alike[idx]]  # Highway 101 and Highway 102 are two roads, not a typo
            alike[numbered] = ~_numbers_differ(ka[numbered], kb[numbered])
        unit_conflict = pua & pub & (ua != ub)
        building = both & same_number & (same_name | alike)
        # The street line ends with its direction, where it has one (keys.match_keys writes the line as house
        # number, name, type and direction).
        bidx = np.flatnonzero(building)
        if len(bidx):
            da, db = _direction(_strings(ll)[0][bidx]), _direction(_strings(rl)[0][bidx])
            building[bidx[(da != "") & (db != "") & (da != db)]] = False
        not_both_numbers = ~(pna & pnb)
        return self._pick(
            n,
            [(~both, MISSING), (building & unit_conflict, "other_unit"), (building & same_name, "exact"),
             (building, "similar"), ((same_name | alike) & not_both_numbers, "same_street"),
             ((same_name | alike) & pna & pnb, "other_number"), (same_number, "same_number")],
            "different",
        )


# A direction as normalise writes it, in a street line or a city's name ("N.W.", "North West" -> "nw").
_DIRECTION_WORDS = frozenset({"n", "s", "e", "w", "ne", "nw", "se", "sw"})


def _direction(lines: np.ndarray) -> np.ndarray:
    """Each street line's direction ("100 main st n" -> "n"), or '': read once per distinct line."""
    codes, distinct = pd.factorize(lines)
    last = [line.rpartition(" ")[2] for line in distinct.tolist()]
    return np.array([w if w in _DIRECTION_WORDS else "" for w in last] + [""], dtype=object)[codes]


def city_alike(a: np.ndarray, b: np.ndarray, threshold: float = 0.92) -> np.ndarray:
    """Two city names are one: equal, a typo (Jaro-Winkler at ``threshold`` and at most two edits), or
    one containing the other ("Springfield" / "Springfield City"), an umlaut written out or left off
    ("München" is folded to "munchen", and written "Muenchen"), their directions the same ("East
    Hartford" and "West Hartford" are two towns). Missing ('') is never alike."""
    out = (a == b) & (a != "")
    idx = np.flatnonzero((a != b) & (a != "") & (b != ""))
    if len(idx):
        # Each measure only where the ones before left the pair open, with its threshold as cutoff
        # (as the name comparison does): most pairs of a batch are two other cities.
        out[idx] = _umlauts_left_off(a[idx]) == _umlauts_left_off(b[idx])
        open_ = idx[~out[idx]]
        jw = _similarity(a[open_], b[open_], distance.JaroWinkler.normalized_similarity)
        close = open_[jw >= threshold]
        out[close] = _similarity(a[close], b[close], distance.OSA.distance, 2) <= 2
        rest = idx[~out[idx]]
        out[rest] = _similarity(a[rest], b[rest], fuzz.token_set_ratio, 100) == 100
        # A direction is part of the name: East and West Hartford, Las Vegas and North Las Vegas are two.
        alike = idx[out[idx]]
        out[alike] = _directions(a[alike]) == _directions(b[alike])
    return out


def _umlauts_left_off(values: np.ndarray) -> np.ndarray:
    """German's written-out umlauts ("ae", "oe", "ue" inside a word, not ending it: "Aue" stays) as the
    single letter an accent fold leaves, once per distinct name."""
    codes, names = pd.factorize(values)
    folded = pd.Series(names, dtype=object).str.replace(r"([aou])e(?=[a-z])", r"\1", regex=True)
    return np.append(folded.to_numpy(dtype=object), "")[codes]


def _directions(values: np.ndarray) -> np.ndarray:
    """The direction words of each city name, sorted, once per distinct name ('' for none)."""
    codes, names = pd.factorize(values)
    found = np.array([" ".join(sorted(w for w in v.split() if w in _DIRECTION_WORDS)) for v in names] + [""],
                     dtype=object)
    return found[codes]


POSTAL_TYPO_MIN = 4  # characters of the shorter code: "800" / "810" are two of Darwin's, a keystroke from most codes
_AREA = re.compile(r"[A-Z]*")  # a British postcode's area, its leading letters: "S" Sheffield, "SA" Swansea


def _district_and_typo(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pairs of postal codes (both known: normalised, none missing): the same district (the first three
    characters), and otherwise one keystroke apart in the same area (:class:`ComparePlace`'s ``postal_typo``):
    the first character, or a British postcode's leading letters, the same. What is read of a code (its
    district, area and length) is read once per distinct code; the keystroke is rapidfuzz's optimal string
    alignment distance (a swap of neighbours one edit, as for dates of birth), asked only of the pairs of one
    area whose lengths allow it."""
    fa, ua = pd.factorize(a)
    fb, ub = pd.factorize(b)
    ua, ub = np.asarray(ua, dtype=object), np.asarray(ub, dtype=object)
    district = (np.array([v[:3] for v in ua], dtype=object)[fa] == np.array([v[:3] for v in ub], dtype=object)[fb])
    typo = np.zeros(len(a), dtype=bool)
    if not len(a):
        return district, typo
    la = np.fromiter(map(len, ua), dtype=np.int64, count=len(ua))[fa]
    lb = np.fromiter(map(len, ub), dtype=np.int64, count=len(ub))[fb]
    area_a = np.array([_AREA.match(v).group() or v[:1] for v in ua], dtype=object)[fa]
    area_b = np.array([_AREA.match(v).group() or v[:1] for v in ub], dtype=object)[fb]
    ask = np.flatnonzero(~district & (area_a == area_b) & (np.minimum(la, lb) >= POSTAL_TYPO_MIN)
                         & (np.abs(la - lb) <= 1))
    typo[ask] = _similarity(a[ask], b[ask], distance.OSA.distance, 1) <= 1
    return district, typo


class ComparePlace(Comparison):
    """Where a record is, from its postal code, city and state together (one comparison, not three:
    they say the same thing, and counting each would count one place three times):

    - ``postal``: the same postal code;
    - ``city``: the same city (or one containing the other, or a typo), states not disagreeing;
    - ``district``: the same postal district (the first three characters);
    - ``postal_typo``: postal codes one keystroke apart in another district, no state or city disagreeing: a
      character changed, dropped or added, or two next to each other swapped ("4127" / "4217"), in the same area:
      the first character the same, or a British postcode's leading letters (they name the state, province or area
      in the US, Canada, Britain, Germany and the Netherlands, and mostly in Australia: "10001" / "20001" are New
      York and Washington, "2000" / "3000" Sydney and Melbourne, "S1 1AA" / "SA1 1AA" Sheffield and Swansea;
      "2600" / "2060", Canberra and North Sydney, still read as one code mistyped). A postal
      code typed by hand is mistyped like any other field: in FEBRL 2 and 3, of the candidate pairs whose names
      are alike (a *subset* or closer) and whose postal codes lie in other districts, 809 of the 824 one
      keystroke apart (the first character the same) are one person, 99 of the 1,784 three or more apart. Both
      were ``different``, so an exact name in another postal code weighed the same whichever it was;
    - ``state``: the same state only;
    - ``different``: another state or city, or another postal district more than a keystroke off; ``missing``
      when nothing compares.
    """

    levels = LEVELS["place"]

    def __init__(self):
        super().__init__(["postal_code", "city", "state"], ["postal_code", "city", "state"], label="place")

    def _compute_vectorized(self, lp, lc, ls, rp, rc, rs) -> np.ndarray:
        pa, ppa = _strings(lp)
        pb, ppb = _strings(rp)
        ca, pca = _strings(lc)
        cb, pcb = _strings(rc)
        sa, psa = _strings(ls)
        sb, psb = _strings(rs)
        postal, city, state = ppa & ppb, pca & pcb, psa & psb
        same_city = city & city_alike(ca, cb)
        district = np.zeros(len(pa), dtype=bool)
        typo = np.zeros(len(pa), dtype=bool)
        both = np.flatnonzero(postal)
        district[both], typo[both] = _district_and_typo(pa[both], pb[both])
        other_state = state & (sa != sb)
        apart = other_state | (city & ~same_city)  # a state or a city says two places
        different = apart | (postal & ~district)
        return self._pick(
            len(pa),
            [(postal & (pa == pb), "postal"), (same_city & ~other_state, "city"), (district, "district"),
             (typo & ~apart, "postal_typo"), (different, "different"), (state, "state")],
            MISSING,
        )


class CompareCountry(Comparison):
    """Countries, each side known from its address or else its domain's country suffix: the same,
    different, or missing. A lead's stated country is often where the person sits; a country-code
    domain (``acme.de``) says where the company is, so either agreeing counts as agreement."""

    levels = LEVELS["country"]

    def __init__(self):
        super().__init__(["country", "domain_country"], ["country", "domain_country"], label="country")

    def _compute_vectorized(self, lc, ld, rc, rd) -> np.ndarray:
        a, pa = _strings(lc)
        a2, pa2 = _strings(ld)
        b, pb = _strings(rc)
        b2, pb2 = _strings(rd)
        left_known, right_known = pa | pa2, pb | pb2
        agree = (pa & pb & (a == b)) | (pa2 & pb & (a2 == b)) | (pa & pb2 & (a == b2)) | (pa2 & pb2 & (a2 == b2))
        return self._pick(len(a), [(~(left_known & right_known), MISSING), (agree, "exact")], "different")


class CompareGeo(Comparison):
    """Coordinates: within 250 m, within 5 km, within 50 km, farther, or missing (haversine)."""

    levels = LEVELS["geo"]

    def __init__(self):
        super().__init__(["latitude", "longitude"], ["latitude", "longitude"], label="geo")

    def _compute_vectorized(self, lat1, lon1, lat2, lon2) -> np.ndarray:
        p1, l1, p2, l2 = (np.radians(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float))
                          for s in (lat1, lon1, lat2, lon2))
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
        km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        missing = np.isnan(km)
        km = np.where(missing, np.inf, km)
        return self._pick(len(km), [(missing, MISSING), (km <= 0.25, "same_place"), (km <= 5, "near"),
                                    (km <= 50, "same_area")], "far")


def default_comparisons(*, people: bool = False, employer: bool = False) -> list[Comparison]:
    """The comparisons the engine makes, strongest evidence first (``people``: between files of people;
    ``employer``: whose records also say where each person works)."""
    return [
        CompareDomain(),
        CompareName(people=people),
        ComparePhone(),
        CompareEmail(),
        CompareBirthdate(),
        CompareAddress(),
        ComparePlace(),
        CompareCountry(),
        CompareGeo(),
    ] + ([CompareEmployer()] if people and employer else [])


def comparison_levels() -> dict[str, tuple[str, ...]]:
    """Each comparison's field and its levels: the vocabulary ``matching.yaml`` weights are written in."""
    return {c.field: c.levels for c in default_comparisons()}


def build_compare(comparisons: list[Comparison] | None = None) -> recordlinkage.Compare:
    """A recordlinkage ``Compare`` over positions (fast ``iloc``) with the engine's comparisons."""
    comparer = recordlinkage.Compare(indexing_type="position")
    for comparison in comparisons or default_comparisons():
        comparer.add(comparison)
    return comparer

"""How two company names relate, word by word: the name comparison's hard part.

Two names of one company differ in ways a string distance misreads: words
abbreviated ("Intl", "Ctr", "Mfg") or cut short ("KONINK" for "Koninklijke"), an
initial for a given name ("Smith, M." for "Smith, Mary"), words glued together
("VANDERMOLENELECTRONICSFAB"), word order, and one name carrying words the other
lacks ("Vandermolen Electronics" inside "Koninklijke Vandermolen Electronics").
:func:`containment` answers, for each side, which share of its words the other
name accounts for, with rapidfuzz's Jaro-Winkler for typos; the comparison turns
the two shares into levels ("variant": every word of both names accounted for;
"subset": every word of the shorter one).

It runs once per *distinct* pair of names, and only for pairs the vectorised
measures leave undecided, so its Python cost follows the messy pairs, not the
candidate pairs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, JaroWinkler

from pipelines.matching.levels import TYPO_MIN_LETTERS
from pipelines.matching.normalise.names import FORMS_ENDING_NAMES, NAME_ABBREVIATIONS, NAME_STOPWORDS
from pipelines.matching.normalise.streets import is_street_word

_TYPO = 0.9  # Jaro-Winkler from which two words of five letters or more are one word mistyped
_MIN_TRUNCATION = 3  # "tec" may stand for "technologies"; "te" may not
_ABBREVIATED = 0.65  # an abbreviation keeps at most this share of the word's letters ("hldgs" for "holdings")


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


_VOWELS = frozenset("aeiouy")


def _abbreviates(short: str, long: str) -> bool:
    """Whether ``short`` is written as abbreviations are: the word's letters in order, from its first,
    and no vowel after that ("mtg", "pkg", "acct", "engr", "plmb"), or one vowel where the word's last
    letter ends it, in four letters or more ("natl", "dept", "bros"); abbreviating drops vowels. A
    shorter word that merely hides inside a longer one is not: "palm" in "pamplemousse", "care" in
    "carpenter", "bank" in "blanket", "fes" in "fiorellos"."""
    vowels = sum(ch in _VOWELS for ch in short[1:])
    return ((vowels == 0 or (vowels == 1 and short[-1] == long[-1] and len(short) >= 4))
            and len(short) <= _ABBREVIATED * len(long) and _is_subsequence(short, long))


# Letters a word must lose to be cut short, not merely written in the singular ("electronic"): "park" for "parkway"
_CUT = 3
SAME, SHORT, TYPO = 2, 1, 3  # how two words matched: equal, one written short, one mistyped
SLIP, ROUGH = 1, 2  # how far a word was mistyped: one long word a letter off (see _slipped), or more
LONG_WORD = 8  # a word this long mistyped is that word: "koninklijke" / "koninklijike"; not "marion" / "marin"


@functools.lru_cache(maxsize=1_048_576)  # words repeat across names: each pair of words is judged once
def word_match(a: str, b: str) -> int:
    """How two words may be one (0: they may not): :data:`SAME`; :data:`SHORT`, one an initial, a
    truncation or an abbreviation of the other (same first letter, letters in order:
    "intl"/"international", "ctr"/"center"); or :data:`TYPO`, the same word mistyped. Words written two
    ways are the same word ("mt"/"mount", "svcs"/"services": :data:`NAME_ABBREVIATIONS`)."""
    if a == b or NAME_ABBREVIATIONS.get(a, a) == NAME_ABBREVIATIONS.get(b, b):
        return SAME
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if short[0] != long[0]:
        return 0
    if len(short) == 1:
        return SHORT  # an initial
    if len(short) >= _MIN_TRUNCATION and long.startswith(short):
        return SHORT  # cut short: "konink" for "koninklijke"
    if len(short) >= _MIN_TRUNCATION and _abbreviates(short, long):
        return SHORT  # abbreviated: "intl" for "international"; "sytems" is no abbreviation of "systems"
    return TYPO if len(short) >= TYPO_MIN_LETTERS and JaroWinkler.normalized_similarity(a, b) >= _TYPO else 0


def _words(name: str) -> tuple[str, ...]:
    """A name's words, without the stop words unless it has nothing else."""
    return tuple(w for w in name.split() if w not in NAME_STOPWORDS) or tuple(name.split())


def _glued(w: str, other: tuple[str, ...]) -> bool:
    """Whether ``w`` holds a run of two or more of ``other``'s words glued ("vandermolenelectronicsfab"), the
    "and" of an "&" glued in too ("procterandgamble": the stop word is not among ``other``'s words)."""
    n = len(other)
    if len(w) < 6 or n < 2:
        return False
    glues = ("", "and") if "and" in w else ("",)
    # A run glued in holds its first word: runs are joined only from words ``w`` holds (most hold none).
    return any(glue.join(other[i:j]) in w
               for i in range(n - 1) if other[i] in w for glue in glues for j in range(i + 2, n + 1))


def _cut(w: str, o: str) -> bool:
    """Whether one of two words is the other cut short (by :data:`_CUT` letters or more, or to its initial):
    "park" / "parkway", "p" / "parkway"; not "electronic" / "electronics"."""
    short, long = (w, o) if len(w) <= len(o) else (o, w)
    return long.startswith(short) and (len(short) == 1 or len(long) - len(short) >= _CUT)


def _covered(words: tuple[str, ...], other: tuple[str, ...]) -> tuple[int, int, bool]:
    """How many of ``words`` the ``other`` name's words account for (a matching word, a run of two
    or more of them glued into this one: "vandermolenelectronicsfab" holds "vandermolen" +
    "electronics", or a piece of one of its long words, which may be several glued), whether a
    mistyped word was needed (0: none; :data:`SLIP`: one word, :func:`_slipped`; :data:`ROUGH`: more), and
    whether one was accounted for only by a word cut short, this one or the other (:func:`_cut`: "park" for
    "parkway" or the other way round, "p" for "parkway"; not "electronic" for "electronics"; an abbreviation
    written as one, "intl", is no cut). Names have a few words: scanning them beats building sets."""
    count, typo, cut, slips = 0, 0, False, 0
    for i, w in enumerate(words):
        if w in other:
            count += 1
            continue
        first = w[0]
        # The best way a word of the other name matches: stop at one that is neither a typo nor a word cut short.
        found, only_cut, typed_for = 0, False, 0
        for j, o in enumerate(other):
            if o[0] == first:
                kind = word_match(w, o)
                if kind and kind != TYPO:
                    found = kind
                    only_cut = kind == SHORT and _cut(w, o)
                    if not only_cut:
                        break
                elif not found:
                    found, typed_for = kind, j
        if found:
            count += 1
            if found == TYPO:
                slip = _slipped(w, i, other[typed_for], typed_for)
                slips += slip
                typo = max(typo, SLIP if slip else ROUGH)
            cut |= only_cut and not _glued(w, other)
            continue
        size = len(w)
        if size >= 6 and _glued(w, other):
            count += 1
        elif size >= _MIN_TRUNCATION and w in " ".join(other) and any(len(g) >= 6 and w in g for g in other):
            count += 1
    return count, (ROUGH if slips > 1 else typo), cut


def _slipped(w: str, i: int, o: str, j: int) -> bool:
    """Whether ``w``, the ``i``-th word of a name, is ``o``, the ``j``-th of another, with a slip of the
    keyboard: a letter dropped, doubled or replaced, or two swapped, both words :data:`LONG_WORD` letters or
    more and neither name's first ("Philips Electornics", "Shell Internationl Research").

    Not a shorter word, where a letter makes another name ("marion" / "marin", "johnson" / "johnston"), nor
    a name's first word, the one companies are told apart by: "Stamford Health" / "Stanford Health Care",
    "Stamford Health Care Partners" / "Stanford Health Care", "Greenville Hospital" / "Greeneville Hospital
    System", "Andersen Windows" / "Anderson Windows" are two. (Allowed there in names of three words or
    more, patstat's "Koninkijke Philips Electronics" joins its company: 0.8069 -> 0.8155, but so does
    Stamford's partners Stanford.)"""
    return i > 0 and j > 0 and min(len(w), len(o)) >= LONG_WORD and OSA.distance(w, o, score_cutoff=1) <= 1


def _shares(wa: tuple[str, ...], wb: tuple[str, ...]) -> tuple[float, float, int, bool, bool]:
    if not wa or not wb:
        return 0.0, 0.0, 0, False, False
    (na, ta, ca), (nb, tb, cb) = _covered(wa, wb), _covered(wb, wa)
    return na / len(wa), nb / len(wb), max(ta, tb), ca, cb


def containment(a: str, b: str) -> tuple[float, float, int, bool, bool]:
    """(share of a's words b accounts for, share of b's words a accounts for, whether a mistyped
    word was needed (0; :data:`SLIP`, one long word a letter off; :data:`ROUGH`, more), whether a word of a was
    accounted for only by b cutting it short, and of b by a), the shares 0..1.

    Example:
        >>> containment("koninklijke vandermolen electronics", "vandermolen electronics konink")
        (1.0, 1.0, 0, True, True)
        >>> containment("vandermolenelectronicsfab", "koninklijke vandermolen electronics")
        (1.0, 0.6666666666666666, 0, False, True)
        >>> containment("koninklijke philips electornics", "philips electronics")
        (0.6666666666666666, 1.0, 1, False, False)
    """
    return _shares(_words(a), _words(b))


def containments(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """:func:`containment` of each pair ``(a[i], b[i])``, as rows of (share of a, share of b, mistyped, a cut
    short by b, b cut short by a).

    Each distinct name is split once per batch. (An index per name, its words by first letter and
    its glued runs, cached across batches, held 262,144 names: at a million accounts the names of a
    rebuild's pairs did not fit, and indexing them again cost more than judging the pairs.)
    """
    words = {name: _words(name) for name in {*a, *b}}
    out = np.array([_shares(words[x], words[y]) for x, y in zip(a, b)], dtype=float)
    return out.reshape(-1, 5)


def informative(name: str) -> bool:
    """A name that says enough on its own to identify a company inside a longer one: two or more
    words of three letters or more ("Vandermolen Electronics"), or one long word; not "Acme"."""
    words = [w for w in name.split() if len(w) >= 3]
    return len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 10)


FILLERS = frozenset({"the", "and", "&", "of"})  # words that join or introduce a name's words, in any name


def apart_only_by_fillers(a: str, b: str) -> bool:
    """Whether two names differ only by :data:`FILLERS`: "tillerman the" / "tillerman" (a guide files "The
    Tillerman" so), "bank of america" / "bank america". Words counted: "watts consulting consulting" is not
    "watts consulting" here (a word typed twice; nor "Haymarket Center Haymarket Center", a site listed under
    its agency's name, "Haymarket Center"). Not the other stop words of names: "La Quinta" is not "Quinta",
    nor "A&B Plumbing" "B Plumbing"."""
    left = sorted(w for w in a.split() if w not in FILLERS)
    return bool(left) and left == sorted(w for w in b.split() if w not in FILLERS)


def one_but_generic(a: str, b: str, generic: frozenset[str]) -> bool:
    """Whether two names are one name but for the word most names of their list end with, as they end with a
    legal form: "wycombe" / "wycombe district" among local councils, most of them "... District". The words
    before it are the same, each as often and in the same order, and only one name ends with such words. The
    word is read from the list itself (:func:`pipelines.matching.link.generic_words`): "district" is none in a
    CRM where few names end with it.

    Only at the end: "University of Michigan" is not "Michigan State University" where many names say
    "University" and "State", nor "West" "Bank of the West" among banks. Words counted, not a set of them:
    "Johnson & Johnson" is not "Johnson Dental".

    Example:
        >>> one_but_generic("wycombe", "wycombe district", frozenset({"district"}))
        True
        >>> one_but_generic("north norfolk district", "south norfolk district", frozenset({"district"}))
        False
        >>> one_but_generic("district", "wycombe district", frozenset({"district"}))
        False
    """
    wa, wb = _words(a), _words(b)
    ca, cb = _before_generic(wa, generic), _before_generic(wb, generic)
    return ca == cb and (len(ca) < len(wa)) != (len(cb) < len(wb))


def placed_after(name: str, other: str, where: str | None) -> bool:
    """Whether ``name`` is ``other`` with a legal form after it and, after the form, only where the company
    is as ``other``'s record says after its own name (``where``: :func:`~pipelines.matching.normalise.name_where`).

    "Allianz SE Munich Germany" is the Allianz of "Allianz SE 80802 Munich Germany" (``other`` "allianz",
    ``where`` "80802 munich germany"), and "Deutsche Bank AG Frankfurt" the bank of "Deutsche Bank AG,
    Taunusanlage 12, Frankfurt". Read strictly, as a place is also a subsidiary's or a branch's name:

    - the form comes first, ending the name: without it the words are the name's ("HSBC Bank Canada",
      "Ameren Missouri", "Acme Hamburg GmbH" are companies of their own wherever their parents are);
    - an address counts by its town and country, after its street and number, and its postal code: not by
      the street's or the building's name ("HSBC Bank plc Canada" is not the HSBC Bank plc of "8 Canada
      Square, London"); words that are no address ("Research Division") count only all together;
    - a place no record of the pair gives stays news: "Siemens AG Austria" beside a plain "Siemens AG" is a
      subsidiary, "Deutsche Bank AG New York" another branch.

    Example:
        >>> placed_after("allianz se munich germany", "allianz", "80802 munich germany")
        True
        >>> placed_after("hsbc bank plc canada", "hsbc bank", "8 canada square london e14 5hq")
        False
    """
    if not where:
        return False
    words, start = name.split(), other.split()
    if len(words) <= len(start) + 1 or words[:len(start)] != start or words[len(start)] not in FORMS_ENDING_NAMES:
        return False
    place = words[len(start) + 1:]
    while place and place[0] in FORMS_ENDING_NAMES:  # "pty ltd"
        place = place[1:]
    there = where.split()
    end = len(there)
    while end and _DIGIT.search(there[end - 1]):  # a postal code after the town: "manchester m1 1ae"
        end -= 1
    codes = {w for w in there if _POSTAL_CODE.fullmatch(w)} | set(there[end:])
    last = max((i for i, w in enumerate(there[:end]) if _DIGIT.search(w) or is_street_word(w)), default=None)
    if last is None and not codes:  # no address: all of it or nothing ("Acme Corp, Research Division")
        return place == there
    town = there[(0 if last is None else last + 1):end]
    return bool(place) and set(place) <= set(town) | codes


_DIGIT = re.compile(r"\d")
_POSTAL_CODE = re.compile(r"[a-z]{0,2}\d{4,5}")  # "sap se 69190" / "sap se 69190 germany"


def _before_generic(words: tuple[str, ...], generic: frozenset[str]) -> tuple[str, ...]:
    """``words`` without the generic words they end with, one word left at least."""
    end = len(words)
    while end > 1 and words[end - 1] in generic:
        end -= 1
    return words[:end]


@functools.cache
def nickname_table() -> dict[str, set[str]]:
    """The ``nicknames`` package's table as it ships: each formal given name and its short forms."""
    from nicknames import NickNamer

    return NickNamer().nickname_lookup


@functools.cache
def _nicknames() -> dict[str, frozenset[str]]:
    """Each given name and the names that are its short or formal forms ("bill": william, billy ...;
    "william": bill, will ...), from the ``nicknames`` package's hand-curated table of English names
    (read once, when a file of people is first compared).

    The table is a genealogist's: it also links names that are names of their own ("wilma" lists
    "william", "veronica" "ron", "nancy" "ann"), and a household holds a William and a Wilma. A link
    counts where its short form is shorter than the full name, or as long and of its first letter
    ("william" is no short form of "wilma", nor "fred" of "bill"; "jack" is John's), and, where a full name starts with the short form ("ronald" with "ron", "annabelle" with
    "ann"), only for full names of its first letter: Ron is Ronald, not Veronica; Ann is not Nancy; Fred is
    Frederick, not Bill. Bob is still Robert ("bobby", which starts with it, is a short form itself);
    Bobby, Peggy and Ted keep Robert, Margaret and Edward. The price: Dick is no longer Richard
    ("dickson" starts with it), nor Beth Elizabeth, nor Molly Mary (longer)."""
    formals: dict[str, set[str]] = {}
    for formal, short in nickname_table().items():
        for nick in short:
            if len(nick) < len(formal) or (len(nick) == len(formal) and nick[0] == formal[0]):
                formals.setdefault(nick, set()).add(formal)
    related: dict[str, set[str]] = {}
    for nick, names in formals.items():
        # Where a full name starts with the short form (and is not itself a short form of another of them:
        # "bobby" is Robert's), only full names of its first letter: Ron is Ronald's, not Veronica's.
        starts = any(f.startswith(nick) and not formals.get(f, set()) & names for f in names)
        for formal in (f for f in names if not starts or f[0] == nick[0]):
            related.setdefault(formal, set()).add(nick)
            related.setdefault(nick, set()).add(formal)
    return {name: frozenset(others) for name, others in related.items()}


def given_names_alike(a: Sequence[str], b: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each name ``a[i]`` with a word that is a short or formal form of a word of ``b[i]`` written as
    ``b[i]`` writes it ("bill bridge" / "william bridge": "william bridge"), and whether any was.

    A person's given name has its short forms (Bill, Will and Billy for William; Mike for Michael), which
    no string distance reads as one name. A word both names hold is left as it is ("bill williams" /
    "william williams" rewrites "bill" only). The words of a distinct pair are read once, and only where
    both names hold a word of the table."""
    table = _nicknames()
    out = np.array(a, dtype=object)
    changed = np.zeros(len(out), dtype=bool)
    if not len(out):
        return out, changed
    codes, distinct = pd.factorize(pd.Series(list(zip(a, b)), dtype=object))
    rewritten: list[str | None] = []
    for x, y in distinct:
        xw, yw = x.split(), y.split()
        if not (any(w in table for w in xw) and any(w in table for w in yw)):
            rewritten.append(None)
            continue
        theirs = [w for w in yw if w not in xw]
        words = [w if w in yw else next((v for v in theirs if v in table.get(w, ())), w) for w in xw]
        rewritten.append(" ".join(words) if words != xw else None)
    found = np.array(rewritten, dtype=object)[codes]
    changed = np.array([r is not None for r in rewritten], dtype=bool)[codes]
    out[changed] = found[changed]
    return out, changed

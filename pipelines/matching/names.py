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

from rapidfuzz.distance import JaroWinkler

from pipelines.matching.normalise.names import NAME_STOPWORDS

_TYPO = 0.9  # Jaro-Winkler from which two words of five letters or more are one word mistyped
_MIN_TRUNCATION = 3  # "tec" may stand for "technologies"; "te" may not
_ABBREVIATED = 0.65  # an abbreviation keeps at most this share of the word's letters ("hldgs" for "holdings")


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


SAME, SHORT, TYPO = 2, 1, 3  # how two words matched: equal, one written short, one mistyped


def word_match(a: str, b: str) -> int:
    """How two words may be one (0: they may not): :data:`SAME`; :data:`SHORT`, one an initial, a
    truncation or an abbreviation of the other (same first letter, letters in order:
    "intl"/"international", "ctr"/"center"); or :data:`TYPO`, the same word mistyped."""
    if a == b:
        return SAME
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if short[0] != long[0]:
        return 0
    if len(short) == 1:
        return SHORT  # an initial
    if len(short) >= _MIN_TRUNCATION and long.startswith(short):
        return SHORT  # cut short: "konink" for "koninklijke"
    if len(short) >= _MIN_TRUNCATION and len(short) <= _ABBREVIATED * len(long) and _is_subsequence(short, long):
        return SHORT  # abbreviated: "intl" for "international"; "sytems" is no abbreviation of "systems"
    return TYPO if len(short) >= 5 and JaroWinkler.normalized_similarity(a, b) >= _TYPO else 0


@functools.lru_cache(maxsize=262_144)
def _index(name: str) -> tuple[tuple[str, ...], frozenset[str], dict[str, tuple[str, ...]], frozenset[str], tuple[str, ...]]:
    """A name's words, their set, its words by first letter, the runs of two or more of its words
    glued together, and its long words (which may be several glued): computed once per name."""
    words = tuple(w for w in name.split() if w not in NAME_STOPWORDS) or tuple(name.split())
    by_letter: dict[str, list[str]] = {}
    for w in words:
        by_letter.setdefault(w[0], []).append(w)
    runs = frozenset("".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1))
    return (words, frozenset(words), {k: tuple(v) for k, v in by_letter.items()}, runs,
            tuple(w for w in words if len(w) >= 6))


def _covered(words: tuple[str, ...], other: str) -> tuple[int, bool]:
    """How many of ``words`` the ``other`` name accounts for (a matching word, a run of two or more of
    its words glued into this one: "vandermolenelectronicsfab" holds "vandermolen" + "electronics",
    or a piece of one of its glued words), and whether a mistyped word was needed."""
    _, same, by_letter, runs, glued = _index(other)
    count, typo = 0, False
    for w in words:
        if w in same:
            count += 1
            continue
        kinds = {word_match(w, o) for o in by_letter.get(w[0], ())} - {0}
        if kinds:
            count += 1
            typo |= kinds == {TYPO}
        elif (len(w) >= 6 and any(r in w for r in runs)) or (len(w) >= _MIN_TRUNCATION and any(w in g for g in glued)):
            count += 1
    return count, typo


@functools.lru_cache(maxsize=262_144)
def containment(a: str, b: str) -> tuple[float, float, bool]:
    """(share of a's words b accounts for, share of b's words a accounts for, whether a mistyped
    word was needed), the shares 0..1.

    Example:
        >>> containment("koninklijke vandermolen electronics", "vandermolen electronics konink")
        (1.0, 1.0, False)
        >>> containment("vandermolenelectronicsfab", "koninklijke vandermolen electronics")
        (1.0, 0.6666666666666666, False)
    """
    wa, wb = _index(a)[0], _index(b)[0]
    if not wa or not wb:
        return 0.0, 0.0, False
    (na, ta), (nb, tb) = _covered(wa, b), _covered(wb, a)
    return na / len(wa), nb / len(wb), ta or tb


def informative(name: str) -> bool:
    """A name that says enough on its own to identify a company inside a longer one: two or more
    words of three letters or more ("Vandermolen Electronics"), or one long word; not "Acme"."""
    words = [w for w in name.split() if len(w) >= 3]
    return len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 10)

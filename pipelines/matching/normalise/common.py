"""What every normaliser shares: per-distinct application, case and accent folding, words written two ways."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

import pandas as pd
from anyascii import anyascii

PUNCT = re.compile(r"[^\w\s]|_", flags=re.UNICODE)  # "_" too: exports write "ACME_CORP" for "Acme Corp"
SPACES = re.compile(r"\s+")


def per_distinct(fn: Callable[[str], object]) -> Callable[[pd.Series], pd.Series]:
    """Lift a scalar function to a Series, calling it once per distinct non-null value."""

    @functools.wraps(fn)
    def apply(values: pd.Series) -> pd.Series:
        values = pd.Series(values)
        uniques = values.dropna().unique()
        mapping = {v: fn(v) for v in uniques}
        return values.map(mapping).astype(object).where(values.notna(), None)

    return apply


def ascii_lower(value: str) -> str:
    """Lower case without accents ("Société" -> "societe"); ASCII input skips the Unicode work.

    Letters that are not a base letter plus an accent ("ø", "æ", "ß", "ł", "đ", "þ", Turkish "ı")
    and the Greek and Cyrillic alphabets are written in Latin letters as anyascii spells them, so
    "Søren", "Łódź" and "ООО Ромашка" meet "Soren", "Lodz" and "OOO Romashka" as people type them
    on an English keyboard. Scripts written without spaces between words (Chinese, Japanese,
    Korean, Thai) keep their own characters (less their marks, as accents go, but for kana's voicing
    marks, which make other letters): their romanisations run a name's words together.
    """
    value = str(value)
    if value.isascii():
        return value.lower().strip()
    text = unicodedata.normalize("NFKD", _MARKS.sub(" ", value))
    text = "".join(c for c in text if not unicodedata.combining(c) or c in _KANA_VOICING)
    if not text.isascii():  # and Hangul, which NFKD splits into its letters, whole again
        text = unicodedata.normalize("NFC", "".join(c if c.isascii() else _in_latin_letters(c) for c in text))
    return text.lower().strip()


# Kana's voicing marks are letters of their own, not accents: "ガス" (gas) is not "カス" (dregs), nor "グループ"
# (group) "クループ". NFKD splits them off; NFC puts them back.
_KANA_VOICING = frozenset("\u3099\u309a")
# Trade and copyright marks are not part of a name ("Acme™" is not "Acme TM", which NFKD would make it).
_MARKS = re.compile("[\u2122\u2120\u00ae\u00a9]")
_ALPHABETS = ("LATIN", "GREEK", "CYRILLIC")


@functools.lru_cache(maxsize=4096)
def _in_latin_letters(char: str) -> str:
    """One character in Latin letters if its script is an alphabet anyascii reads letter by letter."""
    name = unicodedata.name(char, "")
    # Without the apostrophe anyascii writes for Cyrillic's hard and soft signs: "Связьинвест" is one word.
    return anyascii(char).replace("'", "") if char.isalpha() and name.startswith(_ALPHABETS) else char


def _ordinal_suffix(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def ordinal(n: int) -> str:
    """``9`` -> ``"9th"``, the way Publication 28 writes numbered streets."""
    return f"{n}{_ordinal_suffix(n)}"


_ORDINAL_WORDS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                  "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                  "eighteenth", "nineteenth", "twentieth"]
# Words of a name written two ways, in street names ("St. Louis Ave" / "Saint Louis Avenue") and company
# names ("Fifth Third Bank" / "5th 3rd Bank", "Ft. Worth Dental" / "Fort Worth Dental") alike.
WRITTEN_TWO_WAYS: dict[str, str] = {
    "saint": "st", "mount": "mt", "fort": "ft", "doctor": "dr", "avenue": "ave",
} | {w: ordinal(i) for i, w in enumerate(_ORDINAL_WORDS, 1)}  # fmt: skip


def words(value: str) -> str:
    """Folded text with punctuation as spaces, single-spaced."""
    return SPACES.sub(" ", PUNCT.sub(" ", ascii_lower(value))).strip()

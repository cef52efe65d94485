"""Whether a file whose only name is ``company`` is a list of people, named by that column.

``leadroute dedupe``, ``match`` and ``eval`` learn what a row is from its mapping: a first or a last name mapped
makes a file of people. Many lists of people hold a person's whole name in one column ("Sarah Bruhn"), and
a user has only ``company`` to map it to. Read as companies, such a list is matched by companies' rules:
two names that overlap need a phone or a street to vouch for them, a given name mistyped in a name's first
word is another company ("Jayden" / "Jayedn" as "Andersen" / "Anderson"). On FEBRL 3 mapped that way, by
name, street and place, recall fell from 0.931 to 0.899, and on Splink's fake_1000 with dates of birth from
0.883 to 0.756.

Two things say a ``company`` column names people:

- dates of birth in most rows, beside names in most rows that are not organisations' (few with a legal form):
  companies have no birthday (CRM accounts never hold one);
- :data:`GIVEN_NAMED_SHARE` of its names written as a person's (:func:`given_named_share`): a given name of the
  ``nicknames`` package's table (2,164 English names) and a surname ("Sarah Bruhn", "Bruhn, Sarah", "Dr Mary
  O'Brien Jr"), nothing no person's name holds, and a surname that does not end many of the list's names (a
  trade: "Smith Plumbing", "Jones Plumbing"). Lists of people score 0.39-0.53 on it (FEBRL's and Splink's
  English names; RLdata10000's German ones 0.28 and PatentsView's inventors 0.25, read as companies, as
  before), lists of organisations 0.00-0.04 (restaurants, councils, patent applicants, childcare sites, the
  generator's CRM accounts). Lists of brands that are all people's names score alike ("Ted Baker", "John
  Lewis", "Paul Smith": 0.36 in a reviewer's list of UK firms, 0.43 in one of franchise brands), and are read
  as people unless ``--companies`` says otherwise; a law firms' list of two surnames each, 0.23, is not. Fewer
  than :data:`MIN_NAMES` names say nothing either way.

Only files read for those commands are judged: the pipeline's CRM accounts are always companies.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from pipelines.matching.normalise.common import ascii_lower, per_distinct
from pipelines.matching.names import nickname_table
from pipelines.matching.normalise.names import LEGAL_WORDS, PERSON_TITLES

GIVEN_NAMED_SHARE = 0.35  # of a file's names, from which they are people's (see the module's docstring)
MIN_NAMES = 20  # a file with fewer names is never read as people by its names alone
MOST = 0.5  # of rows with a date of birth, and with a name, from which a file with dates of birth is of people
ORGANISATIONS_SHARE = 0.1  # of names with a legal form, from which a file's names are organisations'
# A word that ends this share of a file's names (and five of them at least) is its kind of business, not a
# surname: "Plumbing" in a list of sole traders ("Smith Plumbing", "Jones Plumbing"), "DDS" in one of dentists. A
# surname is rarely that common in a list of people (Smith, the commonest English one, 1%).
GENERIC_LAST_WORD, GENERIC_LAST_WORD_ROWS = 0.05, 5

# What no person's name holds: a digit, "&", "/", "@", a possessive ("Art's Deli": a person's apostrophe is
# O'Connor's); a legal form's word ("corp", "inc", "gmbh", "co": not those of two letters that are names too, "Al",
# "Da") or a word that joins or introduces a name's words ("and", "of", "the", "by": "Hair by Emma").
_NOT_A_PERSONS = re.compile(r"\d|[&/@]|['\u2019]s\b")
_APOSTROPHES = re.compile("['\u2019`]")  # inside a name: "O'Brien" is one word
_NOT_LETTERS = re.compile("[^a-z,-]+")  # a hyphen joins two words into one: "Jean-Luc", "Smith-Jones"
_LEGAL = frozenset(w for w in LEGAL_WORDS if len(w) >= 3) | {"co"}
_NOT_IN_PERSONS_NAMES = _LEGAL | {"and", "of", "the", "for", "by"}


def _words(name: str) -> tuple[list[str], bool]:
    """A name's words, folded to lower-case Latin letters, without a title before them or a suffix after, and
    whether a comma set the surname first ("Smith, John")."""
    lower = _APOSTROPHES.sub("", ascii_lower(name))
    comma = "," in lower
    words = [w.strip("-") for w in _NOT_LETTERS.sub(" ", lower.replace(",", " ")).split()]
    words = [w for w in words if w]
    while words and words[0] in PERSON_TITLES:
        words = words[1:]
    while words and words[-1] in PERSON_TITLES:
        words = words[:-1]
    return words, comma


@functools.cache
def given_names() -> frozenset[str]:
    """Every name of the ``nicknames`` package's table, formal and short ("william", "bill")."""
    table = nickname_table()
    return frozenset(table) | frozenset(n for short in table.values() for n in short)


@per_distinct
def _read(name: str) -> tuple[str | None, str, bool]:
    """What the detector reads of a name, once per distinct name: its surname where it is written as a person's
    name (see :func:`given_named_share`), else None; its last word; whether it holds a legal form."""
    words, comma = _words(name)
    last, legal = (words or [""])[-1], bool(_LEGAL.intersection(words))
    if _NOT_A_PERSONS.search(ascii_lower(name)):
        return None, last, legal
    if comma and len(words) == 3 and len(words[2]) == 1:  # "Smith, John A.": the initial after the given name
        words = words[:2]
    if len(words) == 3 and len(words[1]) == 1:  # "John A. Smith": a middle initial
        words = [words[0], words[2]]
    if len(words) != 2 or _NOT_IN_PERSONS_NAMES.intersection(words):
        return None, last, legal
    given, surname = (words[1], words[0]) if comma else (words[0], words[1])
    return (surname if given.split("-")[0] in given_names() else None), last, legal


def _readings(names: pd.Series) -> pd.DataFrame:
    """:func:`_read` of the non-empty ``names``, as columns ``surname``, ``last``, ``legal``."""
    names = names.fillna("").astype(str).str.strip()
    names = names[names != ""]
    return pd.DataFrame(_read(names).tolist(), index=names.index, columns=["surname", "last", "legal"])


def given_named_share(names: pd.Series) -> tuple[float, int]:
    """The share of the non-empty ``names`` written as a person's, and how many there were: a given name and a
    surname ("Sarah Bruhn", "Mary O'Brien", "Jean-Luc Picard"; "Bruhn, Sarah"), perhaps a middle initial, a title
    or a suffix ("Dr John A. Smith Jr"), and nothing no person's name holds (a digit, "&", a legal form, "and", a
    possessive: "Art's Deli"); the surname not a word that ends many of the names (:data:`GENERIC_LAST_WORD`: a
    business's kind).

    Example:
        >>> given_named_share(pd.Series(["Sarah Bruhn", "Bruhn, Sarah", "Acme Corp", "Art's Deli", "André Dubois",
        ...                              "Sarah Lee Bruhn", None, ""]))
        (0.5, 6)
    """
    return _share(_readings(names))


def _share(read: pd.DataFrame) -> tuple[float, int]:
    if read.empty:
        return 0.0, 0
    ends = read["last"].value_counts()
    generic = ends.index[(ends >= GENERIC_LAST_WORD_ROWS) & (ends >= GENERIC_LAST_WORD * len(read))]
    return float((read["surname"].notna() & ~read["surname"].isin(generic)).mean()), len(read)


def company_names_people(fields: pd.DataFrame, keys: pd.DataFrame) -> str | None:
    """Why the ``company`` column of ``fields`` (a file that maps no first or last name; ``keys``, its match
    keys) names people, or None when it names organisations."""
    if "company" not in fields:
        return None
    read = _readings(fields["company"])
    named = keys["name"].notna()
    if "birthdate" in fields and keys["birthdate"].notna().mean() >= MOST and named.mean() >= MOST:
        if read["legal"].reindex(fields.index[named.to_numpy()], fill_value=False).mean() < ORGANISATIONS_SHARE:
            return "dates of birth are mapped"
    share, count = _share(read)
    if count >= MIN_NAMES and share >= GIVEN_NAMED_SHARE:
        return f"{share:.0%} of its names are a given name and a surname"
    return None

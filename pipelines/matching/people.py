"""Whether a file whose only name is ``company`` is a list of people, named by that column.

``leadroute dedupe``, ``match`` and ``eval`` learn what a row is from its mapping: a first or a last name mapped
makes a file of people. Many lists of people hold a person's whole name in one column ("Sarah Bruhn"), and
a user has only ``company`` to map it to. Read as companies, such a list is matched by companies' rules:
two names that overlap need a phone or a street to vouch for them, a given name mistyped in a name's first
word is another company ("Jayden" / "Jayedn" as "Andersen" / "Anderson"). On FEBRL 3 mapped that way, by
name, street and place, recall fell from 0.931 to 0.899, and on Splink's fake_1000 with dates of birth from
0.883 to 0.756.

Two things say a ``company`` column names people:

- a date of birth mapped beside it: companies have none (CRM accounts never hold one);
- most of its names are a given name and a surname: two or three words, the first or the last a given
  name of the ``nicknames`` package's table (2,164 English names), and nothing a person's name does not
  hold: a digit, a legal form ("Charles Schwab Corp"), a word that joins or introduces words ("Marks and
  Spencer", "Ben & Jerry's") or a possessive ("Art's Deli"). Lists of people score 0.33-0.59 (German and
  international names the least), lists of organisations 0.00-0.09 (restaurants, whose names are often
  a person's, the most; a CRM's accounts 0.03-0.05): :data:`GIVEN_NAMED_SHARE` sits well between. Fewer
  than :data:`MIN_NAMES` names say nothing either way.

Only files read for those commands are judged: the pipeline's CRM accounts are always companies.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from pipelines.matching.normalise.common import ascii_lower, per_distinct
from pipelines.matching.normalise.names import LEGAL_WORDS

GIVEN_NAMED_SHARE = 0.25  # of a file's names, from which they are people's (see the module's docstring)
MIN_NAMES = 20  # a file with fewer names is never read as people by its names alone
BIRTHDATES_SHARE = 0.5  # of rows with a date of birth, from which a file is of people


# What no person's name holds: a digit, "&", a possessive ("Art's Deli": a person's apostrophe is O'Connor's);
# a legal form's word of three letters or more ("corp", "inc", "gmbh": the shorter are initials, "Al", "Da")
# or a word that joins or introduces a name's words ("and", "of", "the").
_NOT_A_PERSONS = re.compile(r"\d|&|['\u2019]s\b")
_NOT_LETTERS = re.compile("[^a-z ]")
_NOT_IN_PERSONS_NAMES = frozenset(w for w in LEGAL_WORDS if len(w) >= 3) | {"and", "of", "the", "for"}


@functools.cache
def given_names() -> frozenset[str]:
    """Every name of the ``nicknames`` package's table, formal and short ("william", "bill")."""
    from nicknames import NickNamer

    table = NickNamer().nickname_lookup
    return frozenset(table) | frozenset(n for short in table.values() for n in short)


def given_named_share(names: pd.Series) -> tuple[float, int]:
    """The share of the non-empty ``names`` written as a person's (a given name and a surname, in either
    order), and how many there were.

    Example:
        >>> given_named_share(pd.Series(["Sarah Bruhn", "BRUHN, Sarah", "Acme Corp", "Art's Deli", "André Dubois", ""]))
        (0.6, 5)
    """
    names = names.astype(str).str.strip()
    names = names[names != ""]
    if names.empty:
        return 0.0, 0
    return float(_written_as_persons(names).astype(bool).mean()), len(names)


@per_distinct
def _written_as_persons(name: str) -> bool:
    """Two or three words, the first or the last a given name, and nothing no person's name holds."""
    lower = ascii_lower(name)
    if _NOT_A_PERSONS.search(lower):
        return False
    words = _NOT_LETTERS.sub(" ", lower).split()
    table = given_names()
    return (2 <= len(words) <= 3 and not _NOT_IN_PERSONS_NAMES.intersection(words)
            and (words[0] in table or words[-1] in table))


def company_names_people(fields: pd.DataFrame) -> str | None:
    """Why the ``company`` column of ``fields`` (a file that maps no first or last name) names people, or
    None when it names organisations."""
    if "company" not in fields:
        return None
    if "birthdate" in fields and (fields["birthdate"].astype(str).str.strip() != "").mean() >= BIRTHDATES_SHARE:
        return "a date of birth is mapped"
    share, count = given_named_share(fields["company"])
    if count >= MIN_NAMES and share >= GIVEN_NAMED_SHARE:
        return f"{share:.0%} of its names are a given name and a surname"
    return None

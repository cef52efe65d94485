"""Street lines split into the parts two spellings of one address agree on.

"1200 S Dr. Rosa Parks Blvd", "1200 SOUTH DOCTOR ROSA PARKS BOULEVARD (m/c 12) Rm. 301"
and "1200 S Parks" are one building written three ways. Compared as whole strings
they look different; compared part by part they agree where it matters: the
house number, and a street name one of which contains the other. So every line
is split into

- ``house_number``: the first number (``1200``, ``12-14`` -> ``12``), or a trailing one as
  most of Europe writes it ("Hauptstr. 12"), or a PO box number (a number written as a word
  stays a word: "Seven Oaks Dr" is a street's name as often as "One Market Plaza" is a number);
- ``street_name``: the name's words, ordinals as digits ("Ninth" -> ``9th``), without
  the street type and the directions; ``street_key`` is the same without spaces, so a
  name typed as one word ("OldMill") still agrees;
- ``street_type`` and ``direction``: USPS Publication 28 abbreviations (``AVE``, ``N``);
- ``unit``: the suite, room, floor or apartment ("Ste 200", "Rm. 301", "#4", "Flat 3",
  "Level 2"), kept apart because two companies in one office building differ only there;
  text in parentheses (mail stops, "(m/c 12)") is dropped.

A line written in parts is read part by part: "Flat 3, 25 High St", "Av. Paulista, 1578"
(the number after the comma, as Brazil writes it), "Calle Mayor 23, 2º" (a floor, not the
house number), "100 Main St, Springfield" (the city typed into the line). A whole US address typed
on the line, ending in its state and ZIP code ("12224 Ventura Blvd. Studio City CA 91604", "8 Main St
Boston, MA 02110"), loses its city, state and ZIP code where ``usaddress`` tags them, and keeps them apart
(:data:`PLACE_PARTS`): a record whose own fields lack them takes them from its line.

The Publication 28 tables are ``usaddress-scourgify``'s, not a list of our own. The
regular shape (number, name, type) is split by those tables directly; a line that
does not start with its number is handed to ``usaddress``'s trained parser, which is
slower (about 10,000 lines a second) but reads intersections, leading units and
other irregular forms.
"""

from __future__ import annotations

import functools
import re

import pandas as pd
import usaddress
from scourgify import address_constants as pub28

from pipelines.matching.normalise.common import WRITTEN_TWO_WAYS, ascii_lower, ordinal
from pipelines.matching.normalise.places import us_state_code

STREET_PARTS = ("house_number", "street_name", "street_key", "street_type", "direction", "unit")
PLACE_PARTS = ("line_city", "line_state", "line_postal_code")  # of a whole US address typed on the line

_TYPES = {k.lower(): v.lower() for k, v in pub28.STREET_TYPE_ABBREVIATIONS.items()}
_TYPES.update({v: v for v in set(_TYPES.values()) if v not in _TYPES})  # the abbreviations themselves: "Rte"
_ROUTES = frozenset({"hwy", "rte", "rd", "fwy", "expy", "tpke"})  # types a road's number follows: "Highway 101", "County Road 5"
_DIRECTIONS = {k.lower(): v.lower() for k, v in pub28.DIRECTIONAL_REPLACEMENTS.items()}
_DIRECTIONS.update({v.lower(): v.lower() for v in pub28.DIRECTIONAL_REPLACEMENTS.values()})
_DIRECTIONS.update({k.lower().replace("-", ""): v.lower() for k, v in pub28.AMBIGUOUS_DIRECTIONALS.items()})
# Words that say a line is a street, in any country: Publication 28's spellings of the common street types
# ("Street", "St", "Avenue", "Blvd"; not its rarer types, nor "Court", "Way" and "Express" (an expressway's),
# which are words of company names too: "Mill", "Union", "Park", "Club", "2 Way Radio"), and streets named in
# other languages or in one word ("Rue", "Via", "Calle"; "Koniginstrasse", "Brouwerijplein", "Provincialeweg"),
# which write their number after the name. For reading a company's address pasted after its name
# (``names._before_where``), not for splitting a line.
_COMMON_TYPES = frozenset({"st", "ave", "blvd", "rd", "dr", "ln", "pl", "sq", "pkwy", "hwy", "plz", "ter", "cir",
                           "trl", "aly", "cswy", "expy", "fwy"})
_NOT_STREETS_IN_NAMES = frozenset({"express"})  # Publication 28 spells an expressway so
_NAMED_STREETS = frozenset({"rue", "quai", "chemin", "via", "viale", "piazza", "piazzale", "corso", "largo", "calle",
                            "avenida", "avda", "paseo", "rua", "platz", "strasse", "str", "straat", "weg", "laan",
                            "plein", "gasse", "allee", "ulica", "ulitsa", "plaza"})
_STREET_ENDINGS = ("strasse", "str", "straat", "weg", "laan", "plein", "platz", "allee", "gasse", "gracht", "vej",
                   "gatan", "vagen", "katu")
STREET_WORDS = (frozenset(k for k, v in _TYPES.items() if v in _COMMON_TYPES and " " not in k)
                - _NOT_STREETS_IN_NAMES) | _NAMED_STREETS


def is_named_street(word: str) -> bool:
    """Whether ``word`` (lower case, no punctuation) names a street whose number follows it: "Koniginstrasse",
    "Hauptstr", "Via", "Rue"."""
    return word in _NAMED_STREETS or (len(word) > 6 and word.endswith(_STREET_ENDINGS))


def is_street_word(word: str) -> bool:
    """Whether ``word`` (lower case, no punctuation) names a street's type: "street", "ave", "rue", "Hauptstrasse"."""
    return word in STREET_WORDS or is_named_street(word)


# Unit designators of Publication 28 that never start a street name ("Front St", "Key Largo",
# "Lower Wacker Dr" and "Upper Ave" keep theirs), with the designator they abbreviate to.
_AMBIGUOUS_UNITS = {"front", "frnt", "key", "lobby", "lbby", "lot", "lower", "lowr", "pier", "rear", "side", "slip",
                    "space", "spc", "stop", "upper", "uppr", "basement", "bsmt", "trailer", "trlr", "hanger", "hngr",
                    "penthouse", "ph"}
# Publication 28 is American: Australia Post and Royal Mail also write "Flat 3" and "Level 2".
_UNIT_WORDS = sorted(
    ({w.lower() for pair in pub28.OCCUPANCY_TYPE_ABBREVIATIONS.items() for w in pair} | {"flat", "level", "lvl"})
    - _AMBIGUOUS_UNITS,
    key=len, reverse=True)
_UNIT = re.compile(r"(?:\b(?:" + "|".join(_UNIT_WORDS) + r")\b\.?\s*(?:#|no\b\.?)?|#)\s*([a-z]?\d+[a-z]?|[a-z])\b"
                   r"|\b(\d+)(?:st|nd|rd|th)\s+(?:fl|floor)\b")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOT_WORD = re.compile(r"[^a-z0-9/]+")
_NUMBER = re.compile(r"^(\d+)[a-z]?(?:[-/]\d+[a-z]?)?$")
_RANGE = re.compile(r"^(\d+[a-z]?)\s*-\s*\d+[a-z]?\b")
_PO_BOX = re.compile(r"^(?:p\s?o|post office)\s+box\s+(\w+)")
_POSTAL = re.compile(r"\d{5}")  # five digits after a numbered street: a postal code (France, Germany, Spain, Italy)
_BARE = re.compile(r"^(\d+)[a-z]{0,2}$")  # a part that is a number alone: "25", "2o" (2º, a floor), "3rd"
_NAMED = re.compile(r"[a-z]{2}")
_DOTTED = re.compile(r"\b(?:[a-z]\.\s?){2,}")  # "N.W.", "N. E.", "U.S.", "J.F.K.": one word, "nw", "ne", "us", "jfk"
_PAIRED_DIRECTIONS = frozenset({"ne", "nw", "se", "sw"})


def _undotted(text: str) -> str:
    """Initials written with dots as one word ("N.W." -> "nw"), where they make a direction, "us" or
    three letters or more; "12 W. N. St" (a lettered street in Washington) keeps its two letters."""
    def joined(m: re.Match) -> str:
        letters = re.sub(r"[.\s]", "", m.group())
        return (letters if len(letters) > 2 or letters in _PAIRED_DIRECTIONS or letters == "us"
                else " ".join(letters)) + " "
    return _DOTTED.sub(joined, text)
# A line ending in a US ZIP code, perhaps after a state and before the country: a whole address.
_ZIP_TAIL = re.compile(r"[a-z][\s,.]+(?:[a-z]{2}\.?[\s,]+)?\d{5}(?:-\d{4})?(?:[\s,]+(?:usa?|united states))?\s*$")
_PLACE_LABELS = {"PlaceName": 0, "StateName": 1, "ZipCode": 2, "CountryName": None}


def _name_word(word: str) -> str:
    if word.isdigit():  # "123 9 Ave": a bare number as the street name is an ordinal
        return ordinal(int(word))
    word = WRITTEN_TWO_WAYS.get(word, word)
    return word[:-7] + "str" if word.endswith("strasse") else word  # Hauptstrasse / Hauptstr.


def _split(text: str) -> tuple[str | None, list[str], str | None, str | None]:
    """(house number, name words, type, direction) of a line without its unit."""
    tokens = text.split()
    if not tokens:
        return None, [], None, None
    if len(tokens) > 2 and _POSTAL.fullmatch(tokens[-1]) and any(_NUMBER.match(t) for t in tokens[:-1]):
        tokens = tokens[:-1]  # "12 Rue de la Paix 75002", "Calle Mayor 23 28013": a postal code after the street
    number = None
    box = _PO_BOX.match(" ".join(tokens))
    if box:
        return box.group(1), ["po", "box"], None, None
    first = _NUMBER.match(tokens[0])
    if first:
        number, tokens = first.group(1), tokens[1:]
    elif len(tokens) > 1 and (last := _NUMBER.match(tokens[-1])):
        if _TYPES.get(tokens[-2]) in _ROUTES and tokens[-1].isdigit():  # "US Hwy 101": a road, no house number
            return None, _name_words(tokens), None, None
        number, tokens = last.group(1), tokens[:-1]
    # A direction in two words written apart: "12 N W Main St", "12 North West Main St", "12 Main St South-West"
    if len(tokens) > 2 and _paired(tokens[0], tokens[1]):
        tokens = [tokens[0] + tokens[1], *tokens[2:]]
    if len(tokens) > 2 and _paired(tokens[-2], tokens[-1]):
        tokens = [*tokens[:-2], tokens[-2] + tokens[-1]]
    direction = street_type = None
    if len(tokens) > 1 and tokens[0] in _DIRECTIONS:
        direction, tokens = _DIRECTIONS[tokens[0]], tokens[1:]
    if len(tokens) > 1 and tokens[-1] in _DIRECTIONS:
        direction, tokens = direction or _DIRECTIONS[tokens[-1]], tokens[:-1]
    if len(tokens) > 1 and tokens[-1] in _TYPES:
        street_type, tokens = _TYPES[tokens[-1]], tokens[:-1]
    if len(tokens) > 1 and tokens[-1] in _DIRECTIONS:  # "12 Main St NW" after its type
        direction, tokens = direction or _DIRECTIONS[tokens[-1]], tokens[:-1]
    return number, _name_words(tokens), street_type, direction


def _paired(first: str, second: str) -> bool:
    """Two directions written apart that are one ("n" "w", "north" "west"): not "North" "Main"."""
    return first in _DIRECTIONS and second in _DIRECTIONS and _DIRECTIONS.get(first + second) in _PAIRED_DIRECTIONS


def _name_words(tokens: list[str]) -> list[str]:
    """A street name's words in one form. A number after a road's type is its number ("Highway 101",
    "Rte 066", "US Hwy 1"), the type written as Publication 28 abbreviates it; a number alone is an
    ordinal ("9 Ave")."""
    if len(tokens) >= 2 and tokens[-1].isdigit() and _TYPES.get(tokens[-2]) in _ROUTES:
        return [_name_word(t) for t in tokens[:-2]] + [_TYPES[tokens[-2]], str(int(tokens[-1]))]
    return [_name_word(t) for t in tokens]


_USADDRESS_NAME = ("StreetNamePreModifier", "StreetNamePreType", "StreetName")


def _with_usaddress(raw: str) -> tuple[str | None, list[str], str | None, str | None, str | None] | None:
    """usaddress's reading of an irregular line, or None when it cannot tag it either."""
    try:
        tagged, _kind = usaddress.tag(raw)
    except usaddress.RepeatedLabelError:
        return None
    number = tagged.get("AddressNumber")
    if not number or not any(tagged.get(k) for k in _USADDRESS_NAME):
        return None
    name = " ".join(tagged[k] for k in _USADDRESS_NAME if tagged.get(k))
    unit = tagged.get("OccupancyIdentifier")
    number_match = _NUMBER.match(ascii_lower(number))
    text = _NOT_WORD.sub(" ", _undotted(ascii_lower(name))).split()
    street_type = _TYPES.get(ascii_lower(tagged.get("StreetNamePostType", "")).strip("."))
    direction = _DIRECTIONS.get(ascii_lower(tagged.get("StreetNamePreDirectional")
                                            or tagged.get("StreetNamePostDirectional") or "").strip("."))
    return (number_match.group(1) if number_match else None, _name_words(text), street_type, direction,
            _NOT_WORD.sub("", ascii_lower(unit)).lstrip("#") if unit else None)


def _street_part(text: str) -> tuple[str, str | None]:
    """(the street, a floor or door) of a line written in parts, its unit already taken out.

    The street is the first part with a name. Without a number of its own, it takes the number
    alone next to it ("Av. Paulista, 1578" as Brazil writes it, "25, High Street"), or gives way to
    a later part with a name and a number ("Springfield, 100 Main St"). A number alone after a
    numbered street is a floor or a door ("Calle Mayor 23, 2º")."""
    if "," not in text and ";" not in text:
        return text, None
    parts = [p.strip() for p in re.split(r"[,;]", text)]
    parts = [p for p in parts if _NAMED.search(p) or any(c.isdigit() for c in p)]
    named = [i for i, p in enumerate(parts) if _NAMED.search(p) and not _BARE.match(p)]
    if not named:
        return " ".join(parts), None
    at = named[0]

    def bare(i: int) -> str | None:
        found = _BARE.match(parts[i]) if 0 <= i < len(parts) else None
        return found.group(1) if found else None

    street, used = parts[at], set()
    if not any(c.isdigit() for c in street):
        if bare(at + 1):
            street, used = f"{street} {bare(at + 1)}", {at + 1}
        elif bare(at - 1):
            street, used = f"{bare(at - 1)} {street}", {at - 1}
        elif numbered := [i for i in named if any(c.isdigit() for c in parts[i])]:
            at = numbered[0]
            street = parts[at]
    floor = next((bare(i) for i in range(at + 1, len(parts)) if i not in used and bare(i)), None)
    return street, floor


def _whole_address(value: str) -> tuple[str, tuple[str | None, ...]] | None:
    """(the line before its place, the place's :data:`PLACE_PARTS`) of a whole US address, as usaddress
    tags it: a city, a US state and a ZIP code, in one run after the street. None for anything else: a line
    that ends in a number without a state ("12 Boulevard Haussmann 75009", "100 Main St Room 12345") is read
    as it stands."""
    tokens = usaddress.parse(_PARENS.sub(" ", value))
    at = next((i for i, (_, label) in enumerate(tokens) if label in _PLACE_LABELS), None)
    if not at:
        return None
    run: list[tuple[str, str]] = []
    for token, label in tokens[at:]:  # the first run of place tags: a second address on the line is not read
        if label not in _PLACE_LABELS:
            break
        run.append((token.strip(",;"), label))
    state = us_state_code(" ".join(t for t, label in run if label == "StateName"))
    zip_code = " ".join(t for t, label in run if label == "ZipCode")
    if state is None or not zip_code:
        return None
    city = [t for t, label in run if label == "PlaceName"]
    street = [t for t, _ in tokens[:at]]
    if city and ascii_lower(city[0]).strip(".") in _TYPES:  # "1 Main St MA 02110": "St" is the street's type
        street, city = street + city, []
    return " ".join(street), (" ".join(city) or None, state, zip_code)


_BARE_UNIT = re.compile(r"0*[1-9]\d{0,3}[a-z]?")


def _bare_unit(text: str) -> tuple[str, str | None]:
    """(the line, its unit) where a numbered street ends in a bare number after its name and type: "100 Main St
    5" is suite 5 of 100 Main St, as "100 Main St #5" is. A road's number ("100 Highway 5", "100 County Rd 12",
    "100 NE Loop 410", "100 E Avenue 5": a type with no name before it) and a postal code ("12 Rue de la Paix
    75002") are not units."""
    tokens = text.split()
    if not (len(tokens) >= 4 and _NUMBER.match(tokens[0]) and _BARE_UNIT.fullmatch(tokens[-1])
            and tokens[-2] in _TYPES and _TYPES[tokens[-2]] not in _ROUTES):
        return text, None
    name = [t for t in tokens[1:-2] if not (t in _DIRECTIONS and len(t) <= 2)]  # "North St" is named North
    return (" ".join(tokens[:-1]), tokens[-1]) if name else (text, None)


@functools.lru_cache(maxsize=65536)
def parse_street(value: str) -> tuple[str | None, ...]:
    """The :data:`STREET_PARTS` and :data:`PLACE_PARTS` of one street line (see the module docstring)."""
    place: tuple[str | None, ...] = (None, None, None)
    lowered = ascii_lower(value)
    if _ZIP_TAIL.search(lowered) and (whole := _whole_address(str(value))):
        value, place = whole
        lowered = ascii_lower(value)
    text = _undotted(_PARENS.sub(" ", lowered))
    text = _RANGE.sub(r"\1", text.strip())  # "4300-4310 W Fullerton": the first number of a range
    unit = None
    found = _UNIT.search(text)
    if found:
        unit = found.group(1) or found.group(2)
        text = _UNIT.sub(" ", text)
    text, floor = _street_part(text)
    unit = unit or floor
    text = _NOT_WORD.sub(" ", re.sub(r"(?<!\d)/|/(?!\d)", " ", text)).strip()
    if unit is None:
        text, unit = _bare_unit(text)
    number, name, street_type, direction = _split(text)
    if number is None and any(c.isdigit() for c in text):
        parsed = _with_usaddress(str(value))
        if parsed is not None:
            number, name, street_type, direction, unit = parsed[0], parsed[1], parsed[2], parsed[3], parsed[4] or unit
    street_name = " ".join(name) or None
    return number, street_name, "".join(name) or None, street_type, direction, unit, *place


def parse_streets(values: pd.Series) -> pd.DataFrame:
    """:data:`STREET_PARTS` and :data:`PLACE_PARTS` for each street line (None where a part is absent),
    one row per value."""
    values = pd.Series(values)
    uniques = values.dropna().unique()
    parts = pd.DataFrame([parse_street(v) for v in uniques], columns=[*STREET_PARTS, *PLACE_PARTS], index=uniques,
                         dtype=object)
    out = parts.reindex(values.to_numpy())
    out.index = values.index
    return out.astype(object).where(out.notna(), None)


def street(values: pd.Series) -> pd.Series:
    """Street lines in one form, unit left out: '8358 Sunset Boulevard West' -> '8358 sunset blvd w'."""
    parts = parse_streets(values)
    line = pd.Series("", index=parts.index, dtype=object)
    for col in ("house_number", "street_name", "street_type", "direction"):
        part = parts[col].fillna("")
        line = (line + " " + part).str.strip()
    line = line.str.replace(r"\s+", " ", regex=True)
    return line.where(line != "", None)

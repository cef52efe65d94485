"""Value maps: the spellings ops see in the CRM, mapped to one taxonomy.

A value map is a two-column CSV under ``routing_rules/value_maps/`` that ops edit::

    value,canonical
    Hi-Tech,Technology
    Computer Software,Technology
    N/A,                      <- an empty canonical: this spelling means "no value"

(A spelling with no letters or digits, such as ``-`` or ``?``, is never a value.)

Spellings are compared by a *key* that ignores case, accents, dots and other
punctuation (``"Hi-Tech"``, ``"hi tech"`` and ``"HI TECH."`` are one key), so the CSV
lists each way of writing a thing once. The same key is computed in Python (for the
CSV) and in DuckDB SQL (for the data): :func:`key_sql` and :func:`spelling_key` must
agree, and a test holds them to it.

``reference: country`` adds, under the CSV, every ISO 3166 name, official and common
name, alpha-2, alpha-3 and numeric code (pycountry), alternative spellings and native names
(countryinfo), the country names in every language pycountry translates them into, and
the few names a country goes by that neither lists (UK, England, Holland):
"Deutschland", "DEU", "Germany" and "Federal Republic of Germany" all key to ``DE``.
The CSV wins where they disagree. The same reference is the one country resolver of the
project: :func:`country_codes` reads free text with it (matching calls it on leads and
accounts that did not go through unify, e.g. CSV files).
"""

from __future__ import annotations

import functools
import gettext
import os
import re
import unicodedata
from pathlib import Path

import pandas as pd

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, read_csv
from pipelines.warehouse.reference import Reference

# Languages whose country names leads type (the ones the sales teams cover): their names come
# before those of other languages where two countries share a spelling.
COUNTRY_NAME_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "pl", "ja")
# Names a country goes by that neither ISO nor countryinfo lists as one of its names.
COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
                   "britain": "GB", "great britain": "GB", "holland": "NL", "korea": "KR", "south korea": "KR"}

_NOT_KEY = re.compile(r"[^a-z0-9&]+")


def spelling_key(value: object) -> str:
    """The comparison key of a spelling: no accents, lower case, no dots, other punctuation as one space."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace(".", "")
    return _NOT_KEY.sub(" ", text).strip()


def key_sql(expr: str) -> str:
    """The same key as :func:`spelling_key`, in DuckDB SQL."""
    return (
        f"trim(regexp_replace(replace(lower(strip_accents({expr})), '.', ''), '[^a-z0-9&]+', ' ', 'g'))"
    )


def load_value_map(path: str | Path) -> pd.DataFrame:
    """Read a value-map CSV into (key, canonical, line); errors name the file and line.

    Two spellings with the same key must agree on the canonical value; ``canonical``
    may be empty (the spelling means "no value").
    """
    path = Path(path)
    return _load_value_map(str(path), path.stat().st_mtime_ns if path.exists() else 0)


@functools.lru_cache(maxsize=32)
def _load_value_map(path: str, _mtime: int) -> pd.DataFrame:
    rows = read_csv(path)
    problems = []
    seen: dict[str, tuple[str, int]] = {}
    out = []
    for line, row in rows:
        if "value" not in row or "canonical" not in row:
            problems.append(ConfigProblem(SourceRef(path, line), "expected the columns value,canonical"))
            break
        key = spelling_key(row["value"])
        if not key:
            problems.append(ConfigProblem(SourceRef(path, line), f"value {row['value']!r} has no letters or digits"))
            continue
        canonical = row["canonical"] or None
        if key in seen and seen[key][0] != canonical:
            problems.append(ConfigProblem(
                SourceRef(path, line),
                f"{row['value']!r} maps to {canonical!r}, but line {seen[key][1]} maps the same spelling "
                f"to {seen[key][0]!r}; keep one",
            ))
            continue
        seen.setdefault(key, (canonical, line))
        out.append((key, canonical, line))
    if problems:
        raise ConfigError(problems)
    return pd.DataFrame(out, columns=["key", "canonical", "line"]).drop_duplicates("key")


@functools.cache
def _country_keys() -> dict[str, str]:
    """Spelling key -> ISO alpha-2 (:func:`_build_country_keys`)."""
    frame = COUNTRY_KEYS.frame()
    return dict(zip(frame["key"], frame["canonical"]))


def _build_country_reference() -> pd.DataFrame:
    return pd.DataFrame(sorted(_build_country_keys().items()), columns=["key", "canonical"])


def _build_country_keys() -> dict[str, str]:
    """Spelling key -> ISO alpha-2; where two countries share a key, the first source below wins."""
    import pycountry  # the reference data loads on first use: most runs of unify never need it
    from countryinfo import CountryInfo

    entries: dict[str, str] = {}

    def add(spelling: object, code: str) -> None:
        key = spelling_key(spelling) if spelling else ""
        if key:
            entries.setdefault(key, code)  # first source wins: codes and English names before translations

    countries = list(pycountry.countries)
    for c in countries:
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            add(getattr(c, attr, None), c.alpha_2)
    for info in CountryInfo.all().values():
        code = (info.get("ISO") or {}).get("alpha2")
        if code:
            for spelling in [info.get("name"), info.get("nativeName"), *(info.get("altSpellings") or [])]:
                add(spelling, code)
    for lang in COUNTRY_NAME_LANGUAGES:  # the names leads type first
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
        for c in countries:
            add(tr.gettext(c.name), c.alpha_2)
    for text, code in _translated_names():  # then every translated name in a Latin script
        if _latin(text):  # the key keeps only Latin letters: other scripts would key to fragments
            add(text, code)
    for c in countries:
        add(c.numeric, c.alpha_2)
    for spelling, code in COUNTRY_ALIASES.items():
        add(spelling, code)
    return entries


COUNTRY_KEYS = Reference("country_spellings", _build_country_reference, __name__, ("pycountry", "countryinfo"))


@functools.cache
def _translated_names() -> list[tuple[str, str]]:
    """(name, ISO alpha-2) for every name, common and official name in every language pycountry translates."""
    import pycountry

    out = []
    for lang in sorted(os.listdir(pycountry.LOCALES_DIR)):
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
        for c in pycountry.countries:
            for form in ("name", "common_name", "official_name"):
                if getattr(c, form, None):
                    out.append((tr.gettext(getattr(c, form)), c.alpha_2))
    return out


def _script_key(text: str) -> str:
    """A key for a name in any script: accents and compatibility forms folded, case folded, dots and extra
    spaces dropped."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c))
    return " ".join(folded.casefold().replace(".", "").split())


@functools.cache
def _script_names() -> dict[str, str]:
    """Country names written in a script other than Latin (日本, Ελλάδα, Россия) -> ISO alpha-2."""
    out: dict[str, str] = {}
    for text, code in _translated_names():
        if not _latin(text):
            out.setdefault(_script_key(text), code)
    return out


def _latin(text: str) -> bool:
    """Whether every letter of ``text`` is a Latin one (accents aside): its spelling key keeps all of it."""
    folded = unicodedata.normalize("NFKD", text)
    return all(c.isascii() for c in folded if c.isalpha())


def country_code(value: object) -> str | None:
    """The ISO 3166-1 alpha-2 code of one way of writing a country, or None when unknown.

    Latin-script spellings by their spelling key, in :data:`COUNTRY_KEYS` (the table unify
    joins in SQL); names with letters of other scripts (日本, Ελλάδα, Đức) by their own text, from
    pycountry's translations (a spelling key would keep only their Latin letters).
    """
    if _latin(str(value)):
        return _country_keys().get(spelling_key(value))
    return _script_names().get(_script_key(str(value)))


def country_codes(values: pd.Series) -> pd.Series:
    """:func:`country_code` for a column ("Deutschland", "DEU", "U.S.A.", "日本"...), once per distinct value."""
    values = pd.Series(values)
    found = {v: country_code(v) for v in values.dropna().unique()}
    return values.map(found).astype(object).where(values.notna(), None)


# Countries whose addresses carry a state or province; their codes are what routing tables use.
SUBDIVISION_COUNTRIES = ("US", "CA", "AU", "MX", "BR", "IN")


def _build_subdivision_reference() -> pd.DataFrame:
    """State and province codes and names (pycountry) -> the code without its country ("CA", "QC").

    Only the countries in SUBDIVISION_COUNTRIES, where the code alone is how people write the
    state; a name shared by two countries keeps the first country's code. Kept in the warehouse
    (:data:`SUBDIVISION_KEYS`): loading pycountry's subdivisions cost 0.1-0.2 s of CPU in every
    tick that unified a record."""
    import pycountry

    entries: dict[str, str] = {}
    for country in SUBDIVISION_COUNTRIES:
        for sub in pycountry.subdivisions.get(country_code=country) or []:
            code = sub.code.split("-", 1)[1]
            for spelling in (code, sub.name):
                entries.setdefault(spelling_key(spelling), code)
    return pd.DataFrame(sorted(entries.items()), columns=["key", "canonical"])


SUBDIVISION_KEYS = Reference("subdivision_spellings", _build_subdivision_reference, __name__, ("pycountry",))

# The reference tables a field mapping's `values: reference:` names, each (key, canonical) and kept in
# the warehouse once built (unify primes the ones it uses, enrich the country spellings).
REFERENCES: dict[str, Reference] = {"country": COUNTRY_KEYS, "subdivision": SUBDIVISION_KEYS}


def value_map_frame(maps_dir: Path, map_name: str | None, reference: str | None) -> pd.DataFrame:
    """The (key, canonical) table one column's value map applies: its CSV over its reference."""
    frames = []
    if map_name:
        frames.append(load_value_map(maps_dir / f"{map_name}.csv")[["key", "canonical"]])
    if reference:
        frames.append(REFERENCES[reference].frame())
    if not frames:
        return pd.DataFrame(columns=["key", "canonical"])
    return pd.concat(frames, ignore_index=True).drop_duplicates("key", keep="first")

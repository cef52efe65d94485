"""Phone -> country, region and area code, with ``phonenumbers``' metadata, once per distinct number.

The text is normalised to digits in pandas (extension and "(0)" removed, an international
prefix recognised, a national number completed with the calling code of the lead's country),
and phonenumbers describes *each distinct number* once: its country (shared calling codes
such as +1, +44 or +7 are told apart by the number itself: +44 1481 is Guernsey, +44 1480
England), its geographic area code (two to five digits, by the number) and its place
description ("California", "Jersey City, NJ"), from the geocoder's English names kept in the
warehouse (:data:`PLACES`), so a tick does not load the geocoder's 40 MB. Every fact is the
number's own, so the same leads give the same facts whatever the order of the rows. Numbers that
occur more than once are described once; a tick describes only the phones of its new or changed
leads (enrich is incremental), about 60-90 us each.

A number that is too short, or that phonenumbers cannot place, gets NULLs: the lead routes
on its other fields.
"""

from __future__ import annotations

import functools

import pandas as pd
import phonenumbers

from pipelines.warehouse.reference import Reference

_EXTENSION = r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d+\s*$"


@functools.cache
def _calling_codes() -> dict[str, int]:
    return {str(cc): cc for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}


@functools.cache
def _region_prefix(region: str) -> tuple[str | None, str | None]:
    """(calling code, national trunk prefix) of an ISO region, e.g. DE -> ('49', '0')."""
    cc = phonenumbers.country_code_for_region(region)
    if not cc:
        return None, None
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return str(cc), (meta.national_prefix if meta else None)


def normalise(phones: pd.Series, default_countries: pd.Series) -> pd.DataFrame:
    """calling_code and national digits of each phone (NULL when unreadable)."""
    text = pd.Series(phones).astype("string").str.replace(_EXTENSION, "", regex=True)
    text = text.str.replace(r"\(0\)", "", regex=True).str.strip()
    international = text.str.startswith("+").fillna(False)
    digits = text.str.replace(r"\D", "", regex=True)
    countries = pd.Series(default_countries, index=text.index).astype(object)
    prefixes = {c: _region_prefix(c) for c in countries.dropna().unique()}
    # Dialled from abroad: "00" as most of the world dials out, "011" as North America does (only there:
    # Leeds' numbers start 0113).
    idd = ~international & digits.str.startswith("00").fillna(False)
    calling = countries.map({c: p[0] for c, p in prefixes.items()})
    from_nanp = (calling == "1").fillna(False)
    nanp_idd = ~international & ~idd & from_nanp & digits.str.startswith("011").fillna(False)
    digits = digits.where(~idd, digits.str.slice(2)).where(~nanp_idd, digits.str.slice(3))
    international = international | idd | nanp_idd
    cc = pd.Series(None, index=text.index, dtype=object)
    national = pd.Series(None, index=text.index, dtype=object)
    codes = _calling_codes()
    for width in (1, 2, 3):  # calling codes are prefix-free: at most one width matches
        head = digits.str.slice(0, width)
        hit = (international & head.isin(codes) & cc.isna()).fillna(False)
        cc[hit] = head[hit]
        national[hit] = digits[hit].str.slice(width)
    # National numbers: the calling code and trunk prefix of the lead's country.
    known = ~international & digits.notna() & countries.notna()
    if known.any():
        pc = calling
        trunk = countries.map({c: p[1] or "" for c, p in prefixes.items()}).fillna("")
        d = digits.where(known)
        nanp_long = (pc == "1") & (d.str.len() == 11) & d.str.startswith("1").fillna(False)
        d = d.where(~nanp_long, d.str.slice(1))
        has_trunk = (trunk != "") & d.str.startswith("0").fillna(False) & (trunk == "0")
        d = d.where(~has_trunk, d.str.slice(1))
        ok = known & pc.notna()
        cc[ok] = pc[ok]
        national[ok] = d[ok]
    national = national.where(national.astype("string").str.len().fillna(0) >= 6, None)
    cc = cc.where(national.notna(), None)
    return pd.DataFrame({"calling_code": cc, "national": national})


def _build_places() -> pd.DataFrame:
    """Every geocoded prefix's English place name, as phonenumbers' geocoder would give it."""
    from phonenumbers.geodata import GEOCODE_DATA

    # The geocoder asks for English and, for a prefix with no English name, goes on to a shorter
    # prefix; a prefix whose English name is empty stops the search there. So the English
    # entries, empty ones included, are the whole of its answer in English.
    en = [(prefix, names["en"]) for prefix, names in GEOCODE_DATA.items() if "en" in names]
    return pd.DataFrame(en, columns=["prefix", "place"], dtype=object)


def _build_countries() -> pd.DataFrame:
    """Every region's English display name, as phonenumbers' geocoder would give it."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    rows = []
    for region, names in LOCALE_DATA.items():
        name = names.get("en", "")
        if name.startswith("*"):  # "*xx": the name is held under another language
            name = names.get(name[1:], "")
        rows.append((region, name))
    return pd.DataFrame(rows, columns=["region", "name"], dtype=object)


# phonenumbers' geocoder holds 287,000 prefixes' place names in some 30 languages, 40 MB of Python
# modules that take 0.25-0.3 s of CPU to import (more from a cold disk): more than the rest of a
# one-lead tick's enrichment.
# Only the English names are used, and they change only with the phonenumbers version, so they are
# reference tables kept in the warehouse (see pipelines/warehouse/reference.py), read in milliseconds.
PLACES = Reference("phone_places", _build_places, __name__, ("phonenumbers",))
COUNTRY_NAMES = Reference("phone_country_names", _build_countries, __name__, ("phonenumbers",))
_LONGEST_PREFIX = 9  # phonenumbers' GEOCODE_LONGEST_PREFIX; a longer prefix would only miss, never mislead


def _name_region(num: phonenumbers.PhoneNumber) -> str | None:
    """The region whose name describes a number: its calling code's only region, or the one region
    where the number is valid (``geocoder.country_name_for_number``); None when several are."""
    regions = phonenumbers.region_codes_for_country_code(num.country_code)
    if len(regions) == 1:
        return regions[0]
    valid = [r for r in regions if phonenumbers.is_valid_number_for_region(num, r)]
    return valid[0] if len(valid) == 1 else None


def _describe(e164: str) -> tuple[str | None, str | None, phonenumbers.PhoneNumber | None, str | None]:
    """(country, digits to geocode, the number to name by its country, area code) of one number.

    The digits to geocode are the E.164 digits whose longest known prefix names the place (None for
    a number that is not geographical, such as most mobiles, which are described by their country);
    the number's country (:func:`_name_region`) stands in when no prefix is known. This is
    ``geocoder.description_for_valid_number`` with the place names looked up afterwards, for all
    numbers at once; its type is worked out once (phonenumbers' own ``description_for_number`` and
    ``length_of_geographical_area_code`` would each work it out again)."""
    try:
        num = phonenumbers.parse(e164)
    except Exception:  # noqa: BLE001 - an unreadable number is a missing fact, never a failed batch
        return None, None, None, None
    region = phonenumbers.region_code_for_number(num)
    if region is None:
        return None, None, None, None
    kind = phonenumbers.number_type(num)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return region, None, None, None
    if not phonenumbers.is_number_type_geographical(kind, num.country_code):  # a mobile: the country, no area
        return region, None, num, None
    nsn = phonenumbers.national_significant_number(num)
    geocoded = num
    token = phonenumbers.country_mobile_token(num.country_code)
    if token and nsn.startswith(token):  # e.g. Argentina's mobile 9 is not part of the area
        try:
            geocoded = phonenumbers.parse(nsn[len(token):], phonenumbers.region_code_for_country_code(num.country_code))
        except phonenumbers.NumberParseException:
            geocoded = num
    digits = phonenumbers.format_number(geocoded, phonenumbers.PhoneNumberFormat.E164)[1:]
    area_len = phonenumbers.length_of_geographical_area_code(num)
    return region, digits, num, (nsn[:area_len] if area_len else None)


def _places(digits: pd.Series, numbers: pd.Series) -> pd.Series:
    """The place of each number: the name of the longest known prefix of its digits, else its country's name.

    The country is worked out only for the numbers no prefix names: a country code shared by many
    regions (+1: 25) tests the number's validity in each, a third of the enrichment's CPU when done
    for every number, and most numbers are named by their prefix."""
    names = PLACES.frame().set_index("prefix")["place"]
    place = pd.Series(None, index=digits.index, dtype=object)
    open_ = digits.notna()
    for width in range(_LONGEST_PREFIX, 0, -1):
        if not open_.any():
            break
        hit = digits[open_].str.slice(0, width).map(names)
        found = hit.notna()
        place[hit.index[found]] = hit[found]
        open_[hit.index[found]] = False
    unnamed = place.isna() | (place == "")
    regions = pd.Series([_name_region(n) if isinstance(n, phonenumbers.PhoneNumber) else None for n in numbers[unnamed]],
                        index=numbers.index[unnamed], dtype=object)
    countries = COUNTRY_NAMES.frame().set_index("region")["name"]
    place = place.where(~unnamed, regions.map(countries))
    return place.where(place.notna() & (place != ""), None)


def phone_facts(phones: pd.Series, default_countries: pd.Series) -> pd.DataFrame:
    """phone_country (ISO), phone_region (place), phone_area_code for each phone: its own facts."""
    norm = normalise(phones, default_countries)
    e164 = ("+" + norm["calling_code"] + norm["national"]).astype(object)
    distinct = sorted(e164.dropna().unique())
    described = pd.DataFrame([_describe(e) for e in distinct], columns=["phone_country", "digits", "number",
                                                                       "phone_area_code"], dtype=object)
    facts = pd.DataFrame({"phone_country": described["phone_country"],
                          "phone_region": _places(described["digits"], described["number"]),
                          "phone_area_code": described["phone_area_code"]}, dtype=object)
    facts["e164"] = pd.Series(distinct, dtype=object)  # object even when no phone is readable
    out = pd.DataFrame({"e164": e164.values}).merge(facts, on="e164", how="left")
    out = out.drop(columns="e164").set_axis(pd.Series(phones).index)
    return out.astype(object).where(out.notna(), None)

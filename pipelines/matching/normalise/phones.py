"""Phone numbers: E.164 where the number is complete, and the local number where it is not.

Many records keep a number without its area code (``227-1000``, the way a local
listing prints it), or with an area code that changed (an area-code split moves a
number from 312 to 773). :func:`phone_e164` reads complete numbers with
``phonenumbers``; :func:`phone_local` keeps the last seven digits of any number
with at least seven, so two records that share a number still agree on it, as
weaker evidence. A value that is not a number at all is unknown, never different.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import datetime

import pandas as pd
import phonenumbers
from phonenumbers import timezone as phone_timezone

from pipelines.matching.normalise.common import per_distinct

LOCAL_DIGITS = 7  # a NANP subscriber number (exchange + line); the tail of most national numbers

def phone_e164(phones: pd.Series, countries: pd.Series | None = None, default_country: str = "US") -> pd.Series:
    """Phone numbers in E.164 (``+12134671108``), read with each row's ISO country, else ``default_country``.

    Numbers written with a ``+`` prefix keep their own country. Extensions are dropped (a
    company's switchboard is the same company). Values that are not a valid number for the
    country give None (so a caller can try another country).

    Plain national numbers (digits and separators only, the bulk of CRM data) are read in
    vectorised form with phonenumbers' own metadata for the region (country code, national
    prefix, possible lengths); everything else goes through ``phonenumbers.parse``.
    """
    phones = pd.Series(phones)
    if countries is None:
        countries = pd.Series(None, index=phones.index, dtype=object)
    countries = pd.Series(countries, index=phones.index)
    region = countries.astype(object).where(countries.notna(), default_country).astype(str).str.upper()
    text = phones.astype("string").str.strip()
    out = pd.Series(None, index=phones.index, dtype=object)
    plain = text.str.fullmatch(r"[\d\s().\-/]{6,}").fillna(False).astype(bool)
    plain &= ~text.str.lstrip("( ").str.startswith(("00", "011")).fillna(False).astype(bool)  # international dialling
    digits = text.str.replace(r"\D", "", regex=True)
    for reg in region[plain].unique():
        meta = phonenumbers.PhoneMetadata.metadata_for_region(reg)
        if meta is None or meta.general_desc is None:
            continue
        rows = plain & (region == reg)
        nat = digits[rows]
        lengths = set(meta.general_desc.possible_length or ())
        valid = meta.general_desc.national_number_pattern
        cc, prefix = str(meta.country_code), meta.national_prefix or ""
        if prefix:
            strip = nat.str.startswith(prefix) & (nat.str.len() - len(prefix)).isin(lengths)
            nat = nat.where(~strip, nat.str[len(prefix):])
        ok = nat.str.len().isin(lengths)
        if valid:
            ok &= nat.str.fullmatch(valid).fillna(False).astype(bool)
        out[ok[ok].index] = "+" + cc + nat[ok]
    # International format (+CC ...): the country code is the first 1-3 digits that name one.
    plus = text.str.fullmatch(r"\+[\d\s().\-/]{6,}").fillna(False).astype(bool) & out.isna()
    for size in (1, 2, 3):
        rows = plus & out.isna()
        if not rows.any():
            break
        codes = digits[rows].str[:size]
        for code in codes.unique():
            regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(code)) if code.isdigit() else None
            meta = phonenumbers.PhoneMetadata.metadata_for_region(regions[0]) if regions else None
            if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
                continue
            these = codes[codes == code].index
            nat = digits[these].str[size:]
            ok = nat.str.len().isin(set(meta.general_desc.possible_length or ())) & nat.str.fullmatch(
                meta.general_desc.national_number_pattern).fillna(False).astype(bool)
            out[ok[ok].index] = "+" + code + nat[ok]
    slow = phones.notna() & out.isna() & text.str.contains(r"\d", regex=True).fillna(False)
    if slow.any():
        frame = pd.DataFrame({"p": phones[slow].values, "c": region[slow].values})
        pairs = frame.drop_duplicates().copy()
        pairs["e164"] = [_phone(p, c) for p, c in pairs.itertuples(index=False)]
        out[slow] = frame.merge(pairs, on=["p", "c"], how="left")["e164"].to_numpy()
    return out.where(out.notna(), None)


# The international dialling prefix most of the world dials ("00") and North America's ("011"): a number
# written for dialling from abroad ("0044 20 7946 0000") is one written with a "+".
_DIALLED_ABROAD = re.compile(r"^\(?\s*(?:00|011)\s*\)?\s*(?=[1-9])")
_SEVERAL = re.compile(r"[/;,|]|[^\W\d_]")  # "212-555-0100 / 0101", "Tel: ... Fax: ...", "T: ... F: ..."


def _phone(value: object, region: str) -> str | None:
    """One value read with ``phonenumbers``: as written; else dialled from abroad as a number with a
    "+"; else the first valid number in it, where a field holds two ("212-555-0100 / 212-555-0101",
    "Tel: ... Fax: ...")."""
    text = str(value).strip()
    if not any(ch.isdigit() for ch in text):
        return None
    region = str(region).upper() if region else None
    abroad = _DIALLED_ABROAD.match(text)
    for candidate in (text, "+" + text[abroad.end():] if abroad else None):
        if candidate is None:
            continue
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if _SEVERAL.search(text):  # the matcher is slow: only for a field that may hold two numbers or words
        for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            return phonenumbers.format_number(found.number, phonenumbers.PhoneNumberFormat.E164)
    return None


_EXTENSION = r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d{1,6}\s*$"


def phone_local(phones: pd.Series, e164: pd.Series | None = None) -> pd.Series:
    """The last :data:`LOCAL_DIGITS` digits of each number (extension dropped): of its E.164 form
    when known, else of whatever digits it was written with. None below seven digits and for a
    run of one repeated digit (``0000000``, a placeholder)."""
    phones = pd.Series(phones)
    text = phones.astype("string").str.replace(_EXTENSION, "", regex=True)
    digits = text.str.replace(r"\D", "", regex=True)
    if e164 is not None:
        known = pd.Series(e164, index=phones.index).astype("string")
        digits = known.str.replace(r"\D", "", regex=True).where(known.notna(), digits)
    tail = digits.str[-LOCAL_DIGITS:]
    ok = (digits.str.len() >= LOCAL_DIGITS) & ~tail.str.fullmatch(r"(\d)\1*").fillna(True)
    return tail.astype(object).where(ok.fillna(False).astype(bool), None)


@functools.cache
def _offsets(zone: str) -> tuple[float, float]:
    """A time zone's UTC offsets in hours, in January and in July (its clock through the year)."""
    clock = zoneinfo.ZoneInfo(zone)
    return tuple(clock.utcoffset(datetime(2026, month, 15)).total_seconds() / 3600 for month in (1, 7))


def _clocks(e164: str) -> frozenset[tuple[float, float]] | None:
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    clocks = frozenset(_offsets(z) for z in zones if z != phone_timezone.UNKNOWN_TIMEZONE)
    # A number that rings under more than two clocks (toll-free, a country-wide mobile range) is anywhere.
    return clocks if 0 < len(clocks) <= 2 else None


def _us_state(e164: str) -> str | None:
    from phonenumbers import geocoder  # its table of places loads on first use: only sites ask

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    where = geocoder.description_for_number(number, "en")  # "Las Vegas, NV", "California", "" (toll-free)
    _, comma, code = where.rpartition(", ")
    return code if comma else where or None


def phone_us_state(phones: pd.Series) -> pd.Series:
    """The US state of each E.164 number's area code, as a code (``+1 702`` "NV", ``+1 310`` "CA"), from
    phonenumbers' geocoder; None outside the US and for numbers of no one place (toll-free)."""
    from pipelines.matching.normalise.places import state_code

    where = per_distinct(_us_state)(phones)
    return state_code(pd.Series("US", index=where.index), where)


phone_clocks = per_distinct(_clocks)
phone_clocks.__doc__ = """The clocks (UTC offsets in January and July) of the time zones each E.164 number's prefix
rings in, from phonenumbers' own table: ``+1 310`` Los Angeles (-8, -7), ``+1 212`` New York (-5, -4), and
Toronto's numbers the same clock as New York's. None where unknown, and for a number that rings under more
than two clocks (toll-free, a country-wide mobile range): it could be anywhere. Two numbers whose sets share
no clock ring at least an hour apart."""

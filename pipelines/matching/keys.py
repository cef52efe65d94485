"""Match keys: the normalised form of every field matching compares, computed once per record.

Leads, CRM accounts and rows of an arbitrary CSV all go through :func:`match_keys`,
so both sides of every comparison are normalised the same way. The account side
is computed when the master is built and stored in ``account_match_key``; a tick
only computes keys for its new leads.

The input is a frame with any of the :data:`FIELDS` (missing columns count as
empty); the output has one row per input row, in the same order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching import normalise
from pipelines.matching.fields import FIELDS, PERSON_NAME
from pipelines.warehouse import db

KEY_COLUMNS = (
    "name", "name_key", "name_site", "name_branch", "name_where", "acronym", "tokens", "domain", "domain_label", "domain_country", "is_free_mail",
    "email", "phone", "phone_local", "street", "house_number", "street_key", "unit", "address_tokens", "city", "state",
    "postal_code", "country", "latitude", "longitude", "birthdate", "completeness",
)  # fmt: skip
# A company's name in each form the name comparison reads (:func:`name_keys`).
NAME_KEYS = ("name", "name_key", "name_site", "name_branch", "acronym", "name_where")
# The same forms of a person's employer, in a file of people (:func:`employer_keys`).
EMPLOYER_KEYS = tuple(f"employer_{k}" for k in NAME_KEYS)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    values = frame[column].astype(object)
    stripped = values.where(values.isna(), values.astype(str).str.strip())
    return stripped.where(stripped.notna() & (stripped != ""), None)


def _number(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce")


def _reuse(frame: pd.DataFrame, given: pd.Series, column: str, raw: pd.Series, compute) -> pd.Series:
    """``frame[column]`` where ``given``, else ``compute(raw)``: computing only what is missing."""
    if not given.any() or column not in frame:
        return compute(raw)
    out = frame[column].astype(object).where(given, None)
    if (~given).any():
        out[~given] = compute(raw[~given]).to_numpy()
    return out.where(out.notna(), None)


def name_keys(company: pd.Series, normalised: pd.Series | None = None) -> pd.DataFrame:
    """:data:`NAME_KEYS` of company names (``normalised``: their :func:`~pipelines.matching.normalise.company_name`,
    when known). ``name`` is the name as written (normalised), which the word-by-word comparison reads;
    ``name_key`` its compact form with common abbreviations unified ("International" and "Intl" both "intl"),
    for exact agreement; ``name_where`` the address pasted after it, read with the name when it is not known."""
    if normalised is None:
        normalised, where = normalise.company_name_and_where(company)
    else:
        where = normalise.name_where(company, normalised)
    return pd.DataFrame({"name": normalised, "name_key": normalise.name_key(normalised),
                         "name_site": normalise.name_site(company), "name_branch": normalise.name_branch(company),
                         "acronym": normalise.acronym_of(normalised), "name_where": where}, index=company.index)


def employer_keys(employers: pd.Series) -> pd.DataFrame:
    """:data:`EMPLOYER_KEYS` of the companies people of a file work for: their names' keys, as a company's."""
    keys = name_keys(_text(pd.DataFrame({"company": employers}), "company"))
    return keys.set_axis(list(EMPLOYER_KEYS), axis=1)


def match_keys(frame: pd.DataFrame, *, default_country: str = "US", prefer: str = "email") -> pd.DataFrame:
    """The comparison keys of each row of ``frame`` (columns named as :data:`FIELDS`).

    Args:
        frame: records with any subset of :data:`FIELDS`, and a lead's ``first_name`` and ``last_name``
            (:data:`PERSON_NAME`: a company that is the person's own name is none); other columns are ignored.
        default_country: ISO code used to read phone numbers and postal codes of rows
            without a country (their ``country`` key stays empty: unknown is not a guess).
        prefer: which domain is the company's when a row has both: ``"email"`` (a lead:
            the person's employer) or ``"website"`` (an account: its own site).

    Example:
        >>> match_keys(pd.DataFrame({"company": ["IBM Corp."], "email": ["joe@us.ibm.com"]}))[["name", "domain"]]
          name   domain
        0  ibm  ibm.com
    """
    company = _text(frame, "company")
    if set(PERSON_NAME) <= set(frame.columns):  # a lead whose company is its own name has none
        company = company.where(~normalise.own_name(company, _text(frame, "first_name"), _text(frame, "last_name")),
                                None)
    # Values the enrich stage already computed with the same functions (accounts only).
    given = frame["_enriched"].fillna(False).astype(bool) if "_enriched" in frame else pd.Series(False, frame.index)
    # Names the enrich stage normalised are not read again (accounts); others are read once, with their pasted address.
    normalised = _reuse(frame, given, "_name_norm", company, normalise.company_name) if given.any() else None
    out = name_keys(company, normalised)
    out["tokens"] = _tokens(normalise.abbreviated(out["name"]))

    email = normalise.registered_domain(_text(frame, "email"))
    web = _reuse(frame, given, "_web_domain", _text(frame, "website"), normalise.registered_domain)
    email_free = normalise.is_free_mail(email)
    web_free = normalise.is_free_mail(web)
    work_email = email.where(~email_free, None)
    own_web = web.where(~web_free, None)
    first, second = (work_email, own_web) if prefer == "email" else (own_web, work_email)
    out["domain"] = first.where(first.notna(), second)
    out["domain_label"] = normalise.domain_label(out["domain"])
    out["is_free_mail"] = email_free.values
    out["email"] = normalise.email_address(_text(frame, "email"))

    out["domain_country"] = normalise.domain_country(out["domain"])
    out["country"] = normalise.country_code(_text(frame, "country"))
    region = out["country"].where(out["country"].notna(), out["domain_country"])
    region = region.where(region.notna(), default_country)
    phones = _text(frame, "phone")
    out["phone"] = normalise.phone_e164(phones, region, default_country)
    # A national number that is not valid where the record says it is may be valid where its
    # domain is (a lead's country is often the person's, not the company's).
    retry = out["phone"].isna() & phones.notna() & out["domain_country"].notna() & (out["domain_country"] != region)
    if retry.any():
        out.loc[retry, "phone"] = normalise.phone_e164(phones[retry], out["domain_country"][retry],
                                                       default_country).to_numpy()
    out["phone_local"] = normalise.phone_local(phones, out["phone"])
    streets = normalise.parse_streets(_text(frame, "street"))
    line = streets["house_number"].fillna("")
    for part in ("street_name", "street_type", "direction"):
        line = (line + " " + streets[part].fillna("")).str.strip()
    out["street"] = line.str.replace(r"\s+", " ", regex=True).where(line != "", None)
    for part in ("house_number", "street_key", "unit"):
        out[part] = streets[part]
    out["address_tokens"] = _address_tokens(streets)
    # A whole US address typed on the street line gives the place its record's own fields lack.
    in_line = region == "US"
    city, state, postal = (_text(frame, f) for f in ("city", "state", "postal_code"))
    city = city.where(city.notna() | ~in_line, streets["line_city"])
    state = state.where(state.notna() | ~in_line, streets["line_state"])
    postal = postal.where(postal.notna() | ~in_line, streets["line_postal_code"])
    out["city"] = normalise.city(city)
    out["state"] = normalise.state_code(region, state)
    out["postal_code"] = normalise.postal_code(postal, region)
    lat, lon = _number(frame, "latitude"), _number(frame, "longitude")
    valid = lat.between(-90, 90) & lon.between(-180, 180) & ~((lat == 0) & (lon == 0))
    out["latitude"] = lat.where(valid)
    out["longitude"] = lon.where(valid)
    out["birthdate"] = normalise.birthdate(_text(frame, "birthdate"), region)
    present = ["name", "domain", "phone_local", "street", "city", "state", "postal_code", "country", "latitude"]
    out["completeness"] = out[present].notna().sum(axis=1).astype(int)
    return out[list(KEY_COLUMNS)]


def _tokens(names: pd.Series) -> list[list[str]]:
    """Identifying words of each comparison-form name (no stop words, no single letters)."""
    stop = normalise.NAME_STOPWORDS
    return [[t for t in dict.fromkeys(n.split()) if t not in stop and len(t) > 1] if n else [] for n in names]


def _address_tokens(streets: pd.DataFrame) -> list[list[str]]:
    """``house number:word`` for each word of the street name and for its compact form, so that
    "1200 S Dr Rosa Parks Blvd" and "1200 S Parks" share ``1200:parks``, and "E Old Mill Rd" and
    "E OldMill" share ``oldmill``: the address blocking rule joins on these."""
    out: list[list[str]] = []
    for number, name, key in streets[["house_number", "street_name", "street_key"]].itertuples(index=False):
        if number is None or name is None:
            out.append([])
            continue
        out.append([f"{number}:{w}" for w in dict.fromkeys([*name.split(), key]) if len(w) > 1])
    return out


_UNTYPED = {'"NULL"': "VARCHAR", '"NULL"[]': "VARCHAR[]"}


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, keys: pd.DataFrame) -> Iterator[str]:
    """``keys`` (a frame of :func:`match_keys`) as the temporary table ``name`` while the block runs.

    Typed from every row (:func:`pipelines.warehouse.db.registered`: a batch of web leads of which
    two typed a street failed whole); a key no row has is text, or a list of text, as blocking rules
    compare it, not DuckDB's type NULL. Copied once into a table, the frame is read once, not again by
    each query of the blocking rules. A name already in use is refused, never replaced."""
    with db.registered(con, f"{name}_frame", keys) as frame:
        typed = [f'CAST("{c}" AS {_UNTYPED[t]}) AS "{c}"'
                 for c, t, *_ in con.execute(f"DESCRIBE {frame}").fetchall() if t in _UNTYPED]
        replace = f" REPLACE ({', '.join(typed)})" if typed else ""
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT *{replace} FROM {frame}")
    with db.released_after(lambda: con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")):
        yield name

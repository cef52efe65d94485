"""Enrich: lead -> lead_enriched, account -> account_enriched.

Adds what matching and routing compare, all from reference data that ships in
Python packages (nothing is fetched at run time):

- domains: registered domain of email and website, free mail, and the domain's kind
  (``edu``, ``gov``, ``mil``, ``free_mail``, ``business``);
- geography: ISO country and subdivision codes, UN region, subregion, continent and
  the sales region of ``enrichment.yaml``; for US ZIP codes the county, time zone and
  latitude/longitude; Puerto Rico as a state or a country, as configured;
- phone: the number's country, place and area code;
- firmographics: industry, headcount, revenue and NAICS code, from the CRM and, where
  configured, a vendor's CSV, each with its source; the NAICS sector; the size band.

Enrichment fills gaps and never overwrites a CRM value unless ``enrichment.yaml``
says so (``prefer: vendor``); every filled value records where it came from.

A record whose text breaks a reference library is quarantined (stage ``enrich``)
with the library's message; the rest of the batch goes on. A lead with an open
quarantine item is kept out of ``lead_enriched``, so it is not matched or routed
until a fixed version passes.

Incremental by version, like unify: only rows whose unified version is newer than
the enriched one are recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipelines.enrich import geo, phones, sectors
from pipelines.enrich.domains import domain_kind
from pipelines.enrich.pending import INPUTS, READ_ALSO, TABLES, changed, nothing_to_do, withdraw_quarantined
from pipelines.enrich.pending import newer as pending_newer
from pipelines.enrich.purchased import load_purchased, merge_field
from pipelines.enrich.settings import EnrichmentSettings
from pipelines.enrich.size import size_band
from pipelines.ledger import quarantine
from pipelines.matching import normalise
from pipelines.matching.versions import KEY_VERSION
from pipelines.stage import RunInfo, StageResult
from pipelines.unify.value_maps import COUNTRY_KEYS
from pipelines.warehouse import inputs
from pipelines.warehouse.db import upsert

LEAD_INPUTS = INPUTS["lead"] + READ_ALSO["lead"]
ACCOUNT_INPUTS = INPUTS["account"]


@dataclass
class Failures:
    """Rows a reference library could not read: row index -> message."""

    rows: dict[object, str] = field(default_factory=dict)


def guarded(fn: Callable[[pd.Series], pd.Series], values: pd.Series, what: str, failures: Failures) -> pd.Series:
    """``fn(values)``; if the library raises, find the values that break it and set them aside.

    The fast path is the vectorised call. Only when it fails is each distinct value tried
    alone, so one poisoned value costs its own row, not the batch.
    """
    try:
        return fn(values)
    except Exception:  # noqa: BLE001 - any library error is a data problem here, not a bug to crash on
        pass
    bad: dict[object, str] = {}
    for v in pd.Series(values).dropna().unique():
        try:
            fn(pd.Series([v]))
        except Exception as exc:  # noqa: BLE001
            bad[v] = f"{what}: {type(exc).__name__}: {exc}"[:300]
    hit = pd.Series(values).isin(list(bad))
    for idx, v in pd.Series(values)[hit].items():
        failures.rows.setdefault(idx, f"{bad[v]} (value {str(v)[:60]!r})")
    return fn(pd.Series(values).where(~hit, None))


def _geography(country_text: pd.Series, state_text: pd.Series, postal: pd.Series, settings: EnrichmentSettings,
               failures: Failures) -> pd.DataFrame:
    country = guarded(normalise.country_code, country_text, "country", failures)
    state = normalise.state_code(country, state_text)
    zip5 = geo.us_zip5(country, postal)
    zips = geo.zip_facts(zip5)
    from_zip = state.isna() & zips["zip_state"].notna()
    state = state.where(~from_zip, zips["zip_state"])
    country = country.where(~(from_zip & country.isna()), "US")
    country, state = geo.apply_puerto_rico(country, state, settings.puerto_rico)
    out = pd.DataFrame({"country_code": country, "state_code": state})
    out["state_code_source"] = pd.Series("crm", index=state.index, dtype=object).where(~from_zip, "zip")
    out["state_code_source"] = out["state_code_source"].where(state.notna(), None)
    out["subdivision_code"] = geo.subdivision_code(country, state)
    out["zip5"] = zip5
    out[["county", "time_zone", "zip_latitude", "zip_longitude"]] = zips[["county", "time_zone", "latitude",
                                                                         "longitude"]].values
    return out


def _regions(out: pd.DataFrame, settings: EnrichmentSettings) -> None:
    regions = geo.country_geography(out["country_code"], settings.regions)
    out[["region", "subregion", "continent", "sales_region"]] = regions.values


def _firmographics(df: pd.DataFrame, out: pd.DataFrame, settings: EnrichmentSettings,
                   vendor: pd.DataFrame | None) -> None:
    spec = settings.purchased
    fields = spec.fields if spec else {}
    bought = None
    if vendor is not None and "domain" in out:
        bought = out[["domain"]].merge(vendor, on="domain", how="left").set_axis(out.index)
    for name in ("industry", "employees", "revenue", "naics_code"):
        crm = df[name] if name in df else pd.Series(None, index=df.index, dtype=object)
        crm_source = df[f"{name}__source"] if f"{name}__source" in df else name
        vendor_col = bought[f"vendor_{name}"] if bought is not None and f"vendor_{name}" in bought else None
        prefer = fields[name].prefer if name in fields else "crm"
        value, source = merge_field(crm, crm_source, vendor_col, prefer, spec.label if spec else "purchased")
        if name in ("employees", "revenue"):
            value = pd.to_numeric(value, errors="coerce")
        target = "company_naics" if name == "naics_code" else f"company_{name}"
        out[target] = value
        out[f"{target}_source"] = source
    out["company_naics"] = sectors.clean_naics(out["company_naics"])
    out["naics_sector"] = sectors.naics_sector(out["company_naics"])
    band, basis = size_band(out["company_employees"], out["company_revenue"], out["sales_region"],
                            settings.size_bands)
    out["size_band"], out["size_band_basis"] = band, basis


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "").fillna(True)


def _from_street_line(street: pd.Series, country: pd.Series, state: pd.Series,
                      postal: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``state`` and ``postal`` with the place of a whole US address typed on the street line ("100 Main
    St, Springfield IL 62701") where they are empty, as the match keys read it: a web form's one address
    field still routes by its state."""
    gap = (_blank(state) | _blank(postal)) & ~_blank(street)
    gap &= _blank(country) | (normalise.country_code(country.where(gap)) == "US").fillna(False)
    if not gap.any():
        return state, postal
    line = normalise.parse_streets(street.where(gap))
    return (state.where(~_blank(state), line["line_state"]).astype(object),
            postal.where(~_blank(postal), line["line_postal_code"]).astype(object))


def enrich_leads(df: pd.DataFrame, settings: EnrichmentSettings | None = None, vendor: pd.DataFrame | None = None,
                 failures: Failures | None = None) -> pd.DataFrame:
    """Derived fields for a batch of unified leads (pure: no warehouse access)."""
    settings = settings or EnrichmentSettings()
    failures = failures if failures is not None else Failures()
    df = df.copy()
    for col in LEAD_INPUTS:
        if col not in df:
            df[col] = None
    out = pd.DataFrame({"lead_id": df["lead_id"]})
    # Only the part after the @ goes to tldextract: far fewer distinct values than addresses.
    email_host = normalise.email_hosts(df["email"])
    out["email_domain"] = guarded(normalise.mail_domain, email_host, "email", failures)
    out["website_domain"] = guarded(normalise.registered_domain, df["website"], "website", failures)
    free_email = normalise.is_free_mail(out["email_domain"])
    free_web = normalise.is_free_mail(out["website_domain"])
    out["is_free_mail"] = free_email
    work_email = out["email_domain"].where(~free_email)
    out["domain"] = work_email.fillna(out["website_domain"].where(~free_web))
    out["domain_kind"] = domain_kind(out["email_domain"].fillna(out["website_domain"]))
    # A lead whose company is its own name ("John Smith") has none: it follows no namesake's lead.
    company = df["company"].where(~normalise.own_name(df["company"], df["first_name"], df["last_name"]))
    out["company_norm"] = guarded(normalise.company_name, company, "company", failures)
    out["postal_code_norm"] = df["postal_code"].astype("string").str.strip().str.upper().astype(object)
    vendor_rows = None
    if vendor is not None and settings.purchased:
        vendor_rows = out[["domain"]].merge(vendor, on="domain", how="left").set_axis(out.index)
    country_text, state_text, postal = df["country"], df["state"], df["postal_code"]
    if vendor_rows is not None:
        for name, col in (("country", "country"), ("state", "state"), ("postal_code", "postal_code")):
            if name in settings.purchased.fields:
                v = vendor_rows[f"vendor_{name}"]
                crm = df[col]
                prefer = settings.purchased.fields[name].prefer
                merged = v.where(v.notna(), crm) if prefer == "vendor" else crm.where(crm.notna(), v)
                if name == "country":
                    country_text = merged
                elif name == "state":
                    state_text = merged
                else:
                    postal = merged
    state_text, postal = _from_street_line(df["street"], country_text, state_text, postal)
    out = out.join(_geography(country_text, state_text, postal, settings, failures))
    facts = phones.phone_facts(df["phone"], out["country_code"])
    out[["phone_country", "phone_region", "phone_area_code"]] = facts.values
    if settings.fill_country_from_phone:
        gap = out["country_code"].isna() & out["phone_country"].notna()
        out["country_code_source"] = pd.Series("crm", index=out.index, dtype=object).where(
            out["country_code"].notna(), None).where(~gap, "phone")
        out["country_code"] = out["country_code"].where(~gap, out["phone_country"])
    else:
        out["country_code_source"] = pd.Series("crm", index=out.index, dtype=object).where(
            out["country_code"].notna(), None)
    _regions(out, settings)
    lat = pd.to_numeric(df["latitude"], errors="coerce")
    lon = pd.to_numeric(df["longitude"], errors="coerce")
    crm_geo = lat.notna() & lon.notna()
    out["geo_latitude"] = lat.where(crm_geo, pd.to_numeric(out.pop("zip_latitude"), errors="coerce"))
    out["geo_longitude"] = lon.where(crm_geo, pd.to_numeric(out.pop("zip_longitude"), errors="coerce"))
    out["geo_source"] = pd.Series("crm", index=out.index, dtype=object).where(crm_geo, "zip").where(
        out["geo_latitude"].notna(), None)
    _firmographics(df, out, settings, vendor)
    out["_modstamp"] = df["_modstamp"].values if "_modstamp" in df else None
    return out


def enrich_accounts(df: pd.DataFrame, settings: EnrichmentSettings | None = None,
                    vendor: pd.DataFrame | None = None, failures: Failures | None = None) -> pd.DataFrame:
    settings = settings or EnrichmentSettings()
    failures = failures if failures is not None else Failures()
    df = df.copy()
    for col in ACCOUNT_INPUTS:
        if col not in df:
            df[col] = None
    out = pd.DataFrame({"account_id": df["account_id"]})
    domain = guarded(normalise.registered_domain, df["website"], "website", failures)
    out["website_domain"] = domain.where(~normalise.is_free_mail(domain))
    out["domain"] = out["website_domain"]
    out["name_norm"] = guarded(normalise.company_name, df["name"], "name", failures)
    out["_key_version"] = KEY_VERSION  # the master reuses these two only at its own version
    out = out.join(_geography(df["country"], df["state"], df["postal_code"], settings, failures))
    out = out.drop(columns=["zip_latitude", "zip_longitude", "state_code_source"])
    _regions(out, settings)
    _firmographics(df, out, settings, vendor)
    out = out.drop(columns=["domain"])
    out["_modstamp"] = df["_modstamp"].values if "_modstamp" in df else None
    return out


def _quarantine_failures(con, obj: str, key: str, df: pd.DataFrame, failures: Failures, run: RunInfo) -> pd.Index:
    if not failures.rows:
        return pd.Index([])
    idx = pd.Index(list(failures.rows))
    rows = df.loc[idx]
    quarantine.put(con, pd.DataFrame({
        "stage": "enrich",
        "object": obj,
        "record_id": rows[key].astype(str).values,
        "reason": "unparseable_text",
        "detail": [failures.rows[i] for i in idx],
        "payload": [json.dumps({k: v for k, v in r.items() if v is not None}, default=str)
                    for r in rows.drop(columns=["_modstamp"], errors="ignore").to_dict("records")],
        "record_modstamp": rows["_modstamp"].astype(str).values,
    }), run.run_id, run.now)
    return idx


# Records enriched a part at a time (:func:`pipelines.warehouse.inputs.chunks`): a first tick at a million
# accounts loaded them and 600,000 leads at once, and raised the tick's peak by 1.6 GiB.
ENRICH_CHUNK = 100_000


def enrich(con: duckdb.DuckDBPyConnection, run: RunInfo, settings: EnrichmentSettings | None = None,
           newer: dict[str, str] | None = None) -> StageResult:
    """Enrich the new and changed leads and accounts. ``newer``: the records :func:`pending.newer`
    found, when the caller asked already (and forgets them); otherwise they are found here."""
    if newer is None:
        newer = pending_newer(con)
        try:
            return enrich(con, run, settings, newer)
        finally:
            inputs.forget(con, *newer.values())
    settings = settings or EnrichmentSettings()
    result = StageResult("enrich")
    # (object, unified table, enriched table, key, enricher): the tables as pending.TABLES names them
    stages = tuple((obj, *TABLES[obj], fn) for obj, fn in (("lead", enrich_leads), ("account", enrich_accounts)))
    vendor, primed, withdrawn = None, False, {}
    for obj, _source, target, key, fn in stages:
        enriched_n, bad_n, example = 0, 0, None
        for part in inputs.chunks(con, newer.get(obj), ENRICH_CHUNK):  # a first tick's million: a part at a time
            df = changed(con, obj, part)
            if df.empty:
                continue
            if not primed:  # reference data only once there is a record to enrich
                vendor, primed = _references(con, settings, result), True
            failures = Failures()
            enriched = fn(df, settings, vendor, failures)
            bad = _quarantine_failures(con, obj, key, df, failures, run)
            enriched = enriched.drop(index=bad)
            enriched["_enriched_at"] = run.now
            enriched["_inputs"] = df.loc[enriched.index, "_inputs"].to_numpy()
            upsert(con, target, enriched, [key])
            if len(enriched):
                quarantine.resolve(con, "enrich", obj, enriched[key], run.now)
            result.rows = (result.rows or 0) + len(df)
            enriched_n, bad_n = enriched_n + len(enriched), bad_n + len(bad)
            if len(bad) and example is None:
                example = next(iter(failures.rows.values()))
            if obj == "lead" and len(enriched):
                _count_leads(result, enriched)
        withdrawn[obj] = withdraw_quarantined(con, target, key, obj)
        result.counts[f"{obj}s_enriched"] = enriched_n
        if bad_n:
            result.counts[f"{obj}s_quarantined"] = bad_n
            result.warnings.append(f"{bad_n} {obj}(s) quarantined: a reference library could not read their "
                                   f"text, e.g. {example}")
        if withdrawn[obj]:
            result.counts[f"{obj}s_held_in_quarantine"] = withdrawn[obj]
    return result if primed else nothing_to_do(con, withdrawn)


def _references(con: duckdb.DuckDBPyConnection, settings: EnrichmentSettings, result: StageResult):
    """Prime the reference tables from the warehouse (built and stored there on first use, not rebuilt in
    every process) and load the purchased data, if any (None when none)."""
    geo.ZIPS.prime(con)
    COUNTRY_KEYS.prime(con)
    phones.PLACES.prime(con)
    phones.COUNTRY_NAMES.prime(con)
    if not settings.purchased:
        return None
    vendor = load_purchased(settings.purchased, settings.project_root())
    if vendor is None:
        result.warnings.append(f"purchased data {settings.purchased.file} not found; enriched from the CRM "
                               f"and reference data only")
    else:
        result.counts["purchased_domains"] = len(vendor)
    return vendor


def _count_leads(result: StageResult, enriched: pd.DataFrame) -> None:
    """How many enriched leads got each field, added up over the parts; the first part's rows as the preview."""
    for col in ("domain", "country_code", "state_code", "sales_region", "size_band", "naics_sector",
                "phone_country", "time_zone"):
        result.counts[f"leads_with_{col}"] = result.counts.get(f"leads_with_{col}", 0) + int(enriched[col].notna().sum())
    result.counts["leads_free_mail"] = result.counts.get("leads_free_mail", 0) + int(enriched["is_free_mail"].sum())
    if result.preview is None:
        result.preview = enriched.head(10)

"""CRM accounts for a chunk of company families, with their opportunities and ground truth.

Why chunks: a million accounts as one DataFrame of Python strings would need
several GB. Each chunk is self-contained (a family never spans two chunks), is
written to SQLite and forgotten; only the few accounts that leads will come from
are kept.

Every account of a company renders the same facts differently: the primary is
mostly clean, duplicates change the legal suffix, case, punctuation, spelling,
website and phone format and sometimes the Type and owner, business units add a
division name. A duplicate always keeps enough to be recognised: when it loses
its website it keeps its phone and a lightly varied name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.demo import companies as co
from pipelines.demo import names as nm
from pipelines.demo import text as tx
from pipelines.demo import variants as va
from pipelines.demo import vocabulary as voc
from pipelines.demo.roster import INTEGRATION_USER_ID, Roster

PRIMARY, DUPLICATE, BUSINESS_UNIT = 0, 1, 2
KIND_NAMES = np.array(["company", "duplicate", "business_unit"], dtype=object)
TYPE_WEIGHTS = {"Customer": .18, "Target": .17, "Partner": .06, "Prospect": .35, "Non-Target": .24}
_DAY = tx.MS_PER_DAY


@dataclass
class AccountChunk:
    accounts: pd.DataFrame       # Account rows (schema columns)
    opportunities: pd.DataFrame  # Opportunity rows
    truth: pd.DataFrame          # account_id, company_id, parent_company_id, is_duplicate, kind
    companies: pd.DataFrame      # profiles (PROFILE_COLUMNS + primary_account_id)
    sources: pd.DataFrame        # profiles of the accounts leads are drawn from, with account fields


def build_chunk(rng: np.random.Generator, pools: nm.NamePools, roster: Roster, *, n_rows: int, n_sources: int,
                company_start: int, account_start: int, opportunity_start: int, now_ms: float,
                federal_first: int = 0) -> AccountChunk:
    """Plan families for exactly ``n_rows`` accounts, render them, and pick ``n_sources`` lead sources."""
    plan = co.plan_families(rng, n_rows, federal_first=federal_first)
    l1 = co.build_profiles(rng, pools, plan.level1["country"].to_numpy(dtype=object), public=plan.level1["public"].to_numpy())
    l1["company_id"] = co.company_ids(company_start, len(l1))
    next_id = company_start + len(l1)
    l1_country = l1["country"].to_numpy(dtype=object)
    parents2 = l1.iloc[plan.level2_parent].reset_index(drop=True)
    l2 = co.build_subsidiaries(rng, pools, parents2, avoid=[parents2["country"].to_numpy(dtype=object)])
    l2["company_id"] = co.company_ids(next_id, len(l2))
    next_id += len(l2)
    parents3 = l2.iloc[plan.level3_parent].reset_index(drop=True)
    grand_country = l1_country[plan.level2_parent][plan.level3_parent] if len(plan.level3_parent) else np.array([], dtype=object)
    l3 = co.build_subsidiaries(rng, pools, parents3, avoid=[parents3["country"].to_numpy(dtype=object), grand_country])
    l3["company_id"] = co.company_ids(next_id, len(l3))
    comp = pd.concat([l1, l2, l3], ignore_index=True)
    comp["level"] = np.concatenate([np.full(len(l1), 1), np.full(len(l2), 2), np.full(len(l3), 3)])
    n_dup = np.concatenate([plan.level1["n_dup"], plan.level2["n_dup"], plan.level3["n_dup"]]).astype(int)
    n_bu = np.concatenate([plan.level1["n_bu"], np.zeros(len(l2) + len(l3), int)]).astype(int)
    n_dup = _favour_acronyms(rng, n_dup, comp["acronym"].to_numpy(dtype=object), comp["level"].to_numpy() == 1)

    # account rows: one primary per company, then duplicates, then business units
    n_comp = len(comp)
    comp_idx = np.concatenate([np.arange(n_comp), np.repeat(np.arange(n_comp), n_dup), np.repeat(np.arange(n_comp), n_bu)])
    kind = np.concatenate([np.full(n_comp, PRIMARY), np.full(n_dup.sum(), DUPLICATE), np.full(n_bu.sum(), BUSINESS_UNIT)])
    assert len(comp_idx) == n_rows, (len(comp_idx), n_rows)
    accounts, truth, meta = render_accounts(rng, comp, comp_idx, kind, roster, account_start=account_start, now_ms=now_ms)

    companies = comp[co.PROFILE_COLUMNS].copy()
    companies["primary_account_id"] = meta["ids"][:n_comp]  # primaries come first, in company order

    opportunities = build_opportunities(rng, accounts, meta, start=opportunity_start, now_ms=now_ms)

    # lead sources: accounts drawn uniformly (duplicates and business units included)
    pick = rng.integers(0, n_rows, n_sources) if n_sources else np.zeros(0, dtype=int)
    sources = comp.iloc[comp_idx[pick]][co.PROFILE_COLUMNS].reset_index(drop=True)
    for col, key in (("account_id", "ids"), ("account_owner", "owner"), ("account_type", "type"), ("account_adr", "adr"),
                     ("account_created", "created")):
        sources[col] = meta[key][pick]
    return AccountChunk(accounts=accounts, opportunities=opportunities, truth=truth, companies=companies, sources=sources)


def _favour_acronyms(rng: np.random.Generator, n_dup: np.ndarray, acronym: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Hand duplicate counts to acronym-named companies (by swapping, so the account total stays exact).

    That makes every demo, even a tiny one, hold "Continental Freight Systems" next to "CFS".
    """
    n_dup = n_dup.copy()
    want = np.flatnonzero(top & (acronym != "") & (n_dup == 0) & (rng.random(len(n_dup)) < .45))
    donors = np.flatnonzero(top & (acronym == "") & (n_dup > 0))
    donors = donors[rng.permutation(len(donors))]
    k = min(len(want), len(donors))
    n_dup[want[:k]], n_dup[donors[:k]] = n_dup[donors[:k]], 0
    return n_dup


def _dates(rng: np.random.Generator, created: np.ndarray, now_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """LastModifiedDate and SystemModstamp after CreatedDate and no later than now."""
    span = np.maximum(now_ms - created, 0)
    modified = created + np.floor(span * rng.random(len(created)) ** 2)
    stamp = np.minimum(modified + rng.integers(0, 300_000, len(created)), now_ms)
    return modified, np.maximum(stamp, modified)


def render_accounts(rng: np.random.Generator, comp: pd.DataFrame, comp_idx: np.ndarray, kind: np.ndarray, roster: Roster, *,
                    account_start: int, now_ms: float) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    n = len(comp_idx)
    c = comp.iloc[comp_idx].reset_index(drop=True)
    prim, dup, bu = kind == PRIMARY, kind == DUPLICATE, kind == BUSINESS_UNIT
    core, suffix = c["core"].to_numpy(dtype=object), c["suffix"].to_numpy(dtype=object)
    acronym, domain = c["acronym"].to_numpy(dtype=object), c["domain"].to_numpy(dtype=object)
    country = c["country"].to_numpy(dtype=object)
    public = c["is_public"].to_numpy() == 1

    # --- website first: it decides how far a duplicate's name may drift
    website = np.where(prim, va.websites(rng, domain, [.45, .12, .15, .12, .02, .01, .05, .08]),
                       va.websites(rng, domain, [.25, .15, .15, .15, .08, .04, .05, .13]))
    bu_sub = bu & (rng.random(n) < .35)
    bu_slug = tx.slug(tx.pick(rng, ["health", "federal", "cloud", "labs", "digital", "research", "services"], n))
    website[bu_sub] = tx.cat("https://", bu_slug[bu_sub], ".", domain[bu_sub])
    has_site = tx.s(website).to_numpy() != ""

    # --- name
    code = np.full(n, nm.CANONICAL)
    code[prim] = rng.choice([nm.CANONICAL, nm.CORE_ONLY, nm.COMMA, nm.UPPER, nm.NO_PUNCT], size=prim.sum(), p=[.80, .07, .07, .02, .04])
    dup_codes = [nm.CANONICAL, nm.CORE_ONLY, nm.SUFFIX_VARIANT, nm.COMMA, nm.FOREIGN_SUFFIX, nm.UPPER, nm.LOWER, nm.THE,
                 nm.AMPERSAND, nm.NO_PUNCT, nm.TYPO, nm.ABBREVIATION, nm.FOLDED]
    dup_p = [.08, .14, .14, .06, .05, .06, .03, .05, .06, .08, .10, .07, .08]
    code[dup] = rng.choice(dup_codes, size=dup.sum(), p=np.array(dup_p) / sum(dup_p))
    acro_dup = dup & (acronym != "") & (rng.random(n) < .6)
    code[acro_dup] = nm.ACRONYM
    heavy = np.isin(code, nm.HEAVY) & ~has_site
    code[heavy] = nm.SUFFIX_VARIANT
    name = nm.name_variants(rng, core, suffix, acronym, code)
    unit = tx.pick(rng, voc.BUSINESS_UNITS, n)
    dept = tx.pick(rng, nm.PUBLIC_DEPARTMENTS, n)
    style = rng.integers(0, 3, n)
    bu_name = np.select([public, style == 0, style == 1],
                        [tx.cat(core, " - ", dept), tx.cat(core, " ", unit), tx.cat(nm.join_name(core, suffix), " - ", unit, " Division")],
                        tx.cat(core, " ", unit))
    name = np.where(bu, bu_name, name)

    # --- phone: duplicates without a website keep theirs
    area, sub, cc = c["phone_area"].to_numpy(dtype=object), c["phone_sub"].to_numpy(dtype=object), c["phone_cc"].to_numpy(dtype=object)
    bu_sub_no = co.subscriber_numbers(rng, cc, area)
    sub = np.where(bu, bu_sub_no, sub)
    phone = va.phones(rng, cc, area, sub, p_ext=.0)
    phone_dup = va.phones(rng, cc, area, sub, p_ext=.15)
    phone = np.where(dup, phone_dup, phone)
    drop_phone = np.where(prim, rng.random(n) < .12, rng.random(n) < .3) & ~(dup & ~has_site)
    phone[drop_phone] = ""

    # --- address
    street = np.where(prim, va.street_variants(rng, c["street"], .05, .0, .12), va.street_variants(rng, c["street"], .4, .08, .25))
    city = np.where(prim, c["city"].to_numpy(dtype=object), va.city_variants(rng, c["city"], .3, .08))
    city[prim & (rng.random(n) < .03)] = ""
    state = np.where(prim, va.state_values(rng, country, c["state"], c["state_name"], .9, .1),
                     va.state_values(rng, country, c["state"], c["state_name"], .5, .3))
    postal = c["postal"].to_numpy(dtype=object).copy()
    postal[~prim & (rng.random(n) < .2)] = ""
    country_txt = np.where(prim, va.country_names(rng, country, .88), va.country_names(rng, country, .55))
    shipping = rng.random(n) < .35

    # --- firmographics
    industry = c["industry"].to_numpy(dtype=object)
    p_ind = np.where(prim, .7, .5)
    industry_std = np.where(rng.random(n) < p_ind, industry, "")
    industry_c = np.where(rng.random(n) < np.where(prim, .25, .2), va.industry_variants(rng, industry), "")
    naics = np.where(rng.random(n) < np.where(prim, .45, .2), va.naics_codes(rng, industry), "")
    emp = c["employees"].to_numpy(dtype=float) * np.where(prim, 1.0, rng.uniform(.85, 1.15, n))
    emp = np.where(bu, np.maximum(1, emp * .2), emp)
    employees = pd.array(np.where(rng.random(n) < np.where(prim, .75, .5), np.round(emp), np.nan), dtype="Int64")
    revenue = np.where(rng.random(n) < np.where(prim, .55, .35), c["revenue"].to_numpy(dtype=float), np.nan)
    revenue = np.where(bu, np.round(revenue * .2, -3), revenue)

    # --- type and owners
    types, tp = tx.weighted(TYPE_WEIGHTS.items())
    acc_type = tx.pick(rng, types, n, tp)
    acc_type[public & (acc_type == "Partner")] = "Prospect"
    first_row = _first_row_of(comp_idx, len(comp))
    primary_type = acc_type[first_row[comp_idx]]
    keep_type = np.where(dup, rng.random(n) < .4, np.where(bu, rng.random(n) < .6, True))
    acc_type = np.where(keep_type, primary_type, acc_type)
    owner = roster.owners_for_team(c["team"].to_numpy(dtype=object), c["lang"].to_numpy(dtype=object), rng)
    primary_owner = owner[first_row[comp_idx]]
    keep_owner = np.where(dup, rng.random(n) < .5, np.where(bu, rng.random(n) < .7, True))
    owner = np.where(keep_owner, primary_owner, owner)
    inactive = roster.ids("AE", active=False)
    if len(inactive) and not np.isin(owner, inactive).any():  # even a tiny demo shows a departed rep's leftovers
        team = roster.reps.set_index("user_id").loc[inactive[0], "team"]
        rows = np.flatnonzero(prim & (c["team"].to_numpy(dtype=object) == team))
        if len(rows):
            owner[rows[0]] = inactive[0]
    customer, non_target = acc_type == "Customer", acc_type == "Non-Target"
    csms = roster.ids("CSM")
    csm = np.where(customer, tx.pick(rng, csms, n) if len(csms) else None, None)
    adr = np.where(non_target, roster.adrs_for(c["region"].to_numpy(dtype=object) == "EMEA", rng), None)
    owned = np.where(customer, va.products(rng, n), None)

    # --- dates and ids: duplicates and business units are created after their primary
    created = np.floor(now_ms - _DAY * (2 + rng.random(n) * 728))
    later = ~prim
    created_primary = created[first_row[comp_idx]]
    created = np.where(later, created_primary + np.floor((now_ms - _DAY - created_primary) * rng.random(n)), created)
    modified, stamp = _dates(rng, created, now_ms)
    order = np.argsort(created, kind="stable")
    ids = np.empty(n, dtype=object)
    ids[order] = tx.make_ids("Account", account_start, n)
    last_activity = np.where(rng.random(n) < .45, created + (now_ms - created) * rng.random(n), np.nan)

    # --- hierarchy: business units under their primary; subsidiaries under the parent's primary
    primary_of_company = np.empty(len(comp), dtype=object)
    primary_of_company[comp_idx[prim]] = ids[prim]
    company_row = pd.Series(np.arange(len(comp)), index=comp["company_id"].to_numpy())
    parent_company = c["parent_company_id"].to_numpy(dtype=object)
    has_parent = parent_company != ""
    parent_id = np.full(n, None, dtype=object)
    parent_rows = company_row.reindex(parent_company[has_parent]).to_numpy()
    parent_id[has_parent] = primary_of_company[parent_rows.astype(int)]
    parent_id[has_parent & dup & (rng.random(n) < .5)] = None  # duplicates often lack the hierarchy
    parent_id[bu] = ids[first_row[comp_idx]][bu]

    accounts = pd.DataFrame({
        "Id": ids, "Name": name, "Website": tx.blank_to_none(website), "Phone": tx.blank_to_none(phone),
        "BillingStreet": tx.blank_to_none(street), "BillingCity": tx.blank_to_none(city), "BillingState": tx.blank_to_none(state),
        "BillingPostalCode": tx.blank_to_none(postal), "BillingCountry": tx.blank_to_none(country_txt),
        "ShippingStreet": tx.blank_to_none(np.where(shipping, street, "")), "ShippingCity": tx.blank_to_none(np.where(shipping, city, "")),
        "ShippingState": tx.blank_to_none(np.where(shipping, state, "")),
        "ShippingPostalCode": tx.blank_to_none(np.where(shipping, postal, "")),
        "ShippingCountry": tx.blank_to_none(np.where(shipping, country_txt, "")),
        "Industry": tx.blank_to_none(industry_std), "Industry__c": tx.blank_to_none(industry_c), "NaicsCode": tx.blank_to_none(naics),
        "NumberOfEmployees": employees, "AnnualRevenue": revenue, "Type": acc_type, "ParentId": parent_id, "OwnerId": owner,
        "Customer_Success_Manager__c": csm, "Designated_ADR__c": adr, "Products_Owned__c": owned,
        "AccountSource": tx.blank_to_none(np.where(rng.random(n) < .7, tx.pick(rng, voc.ACCOUNT_SOURCES, n), "")),
        "Rating": tx.blank_to_none(np.where(rng.random(n) < .4, tx.pick(rng, voc.RATINGS, n), "")),
        "LastActivityDate": tx.sf_dates(last_activity),
        "CreatedDate": tx.sf_datetimes(created), "CreatedById": np.where(rng.random(n) < .7, owner, INTEGRATION_USER_ID),
        "LastModifiedDate": tx.sf_datetimes(modified), "SystemModstamp": tx.sf_datetimes(stamp), "IsDeleted": 0,
    })
    accounts = accounts.iloc[order].reset_index(drop=True)
    truth = pd.DataFrame({
        "account_id": ids, "company_id": c["company_id"].to_numpy(dtype=object), "parent_company_id": parent_company,
        "is_duplicate": dup.astype(int), "kind": KIND_NAMES[kind],
    }).iloc[order].reset_index(drop=True)
    # meta in the original (unsorted) row order, plus a map for the sorted frames
    meta = {"created": created, "order": order, "ids": ids, "owner": owner, "type": acc_type, "adr": adr}
    return accounts, truth, meta


def _first_row_of(comp_idx: np.ndarray, n_comp: int) -> np.ndarray:
    """For each company, the row of its primary account (primaries come first in ``comp_idx``)."""
    first = np.full(n_comp, -1)
    first[comp_idx[:n_comp]] = np.arange(n_comp)
    return first


def build_opportunities(rng: np.random.Generator, accounts: pd.DataFrame, meta: dict, *, start: int,
                        now_ms: float) -> pd.DataFrame:
    """Opportunities on a share of accounts, owned by the account owner; customers have at least one won deal."""
    created_sorted = meta["created"][meta["order"]]
    acc_type = accounts["Type"].to_numpy(dtype=object)
    n = len(accounts)
    count = np.select(
        [acc_type == "Customer", np.isin(acc_type, ["Prospect", "Target"]), acc_type == "Partner"],
        [1 + rng.poisson(.6, n), (rng.random(n) < .3).astype(int), (rng.random(n) < .1).astype(int)],
        (rng.random(n) < .03).astype(int),
    )
    row = np.repeat(np.arange(n), count)
    m = len(row)
    if m == 0:
        return pd.DataFrame(columns=["Id"])
    first_of_account = np.r_[True, row[1:] != row[:-1]]
    stage = tx.pick(rng, voc.OPPORTUNITY_STAGES, m, [.2, .2, .15, .1, .1, .25])
    is_customer = acc_type[row] == "Customer"
    stage = np.where(is_customer & first_of_account, "Closed Won", stage)
    stage = np.where(~is_customer & (stage == "Closed Won"), "Closed Lost", stage)
    closed = np.isin(stage, ["Closed Won", "Closed Lost"])
    acc_created = created_sorted[row]
    created = acc_created + np.floor((now_ms - acc_created) * rng.random(m) * .9)
    close_past = np.minimum(created + _DAY * rng.integers(20, 150, m), now_ms)
    close_future = now_ms + _DAY * rng.integers(10, 180, m)
    close = np.where(closed, close_past, close_future)
    modified, stamp = _dates(rng, created, now_ms)
    modified = np.where(closed, np.maximum(modified, np.minimum(close, now_ms)), modified)
    stamp = np.maximum(stamp, modified)
    product = tx.pick(rng, ["Platform", "Analytics", "Automation", "Security"], m)
    deal = tx.pick(rng, ["New Business", "Expansion", "Renewal", "Pilot"], m)
    return pd.DataFrame({
        "Id": tx.make_ids("Opportunity", start, m),
        "Name": tx.cat(accounts["Name"].to_numpy(dtype=object)[row], " - ", product, " ", deal),
        "AccountId": accounts["Id"].to_numpy(dtype=object)[row], "StageName": stage,
        "IsClosed": closed.astype(int), "IsWon": (stage == "Closed Won").astype(int),
        "Amount": np.round(rng.lognormal(np.log(40_000), 1.0, m), -2), "CloseDate": tx.sf_dates(close),
        "OwnerId": accounts["OwnerId"].to_numpy(dtype=object)[row],
        "LeadSource": tx.blank_to_none(np.where(rng.random(m) < .6, tx.pick(rng, voc.LEAD_SOURCES, m), "")),
        "CreatedDate": tx.sf_datetimes(created), "CreatedById": accounts["OwnerId"].to_numpy(dtype=object)[row],
        "LastModifiedDate": tx.sf_datetimes(modified), "SystemModstamp": tx.sf_datetimes(stamp), "IsDeleted": 0,
    })

"""Leads: people who filled a form or were met at an event, typed as messily as real leads are.

Every lead is drawn from a company profile (``companies.py``). The rule that keeps
the demo hard but fair: a lead of a company in the CRM always carries evidence a
careful human could match on. Either a work email at the company's domain (or a
subdomain: joe@us.acme.com for www.acme.com; a country domain for a subsidiary),
or a recognisable company name together with its city and country. Heavier name
damage (typos, abbreviations, acronyms, a missing company) only happens to leads
with a work email.

The scattered duplicate fields are filled the way an org's history leaves them:
Industry in ~15 % of leads while Industry__c / Industry_Vertical__c / Sector__c
bring the fill rate to ~85 %; country in Country or Company_Country__c, state in
State or State_Province__c, postal code in PostalCode or Zip_Code__c, headcount in
NumberOfEmployees or the text field Employees__c.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipelines.demo import names as nm
from pipelines.demo.companies import subscriber_numbers
from pipelines.demo import text as tx
from pipelines.demo import variants as va
from pipelines.demo import vocabulary as voc
from pipelines.demo.roster import HOLD_QUEUE, INTAKE_QUEUE, INTEGRATION_USER_ID, Roster

HISTORICAL, INTAKE, HOLD = "historical", "intake", "hold"
BROKEN_KINDS = ("empty_identity", "invalid_email", "company_too_long", "non_numeric_employees")
_DAY = tx.MS_PER_DAY
_SUBDOMAINS = ("corp", "mail", "hq", "global", "eng", "sales")


def broken_count(intake: int, minimum: int) -> int:
    """How many deliberately broken intake leads: ~0.5 %, at least ``minimum`` (capped by the intake size)."""
    return int(min(intake, max(minimum, round(intake * 0.005))))


def person_names(rng: np.random.Generator, people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    people = np.asarray(people, dtype=object)
    first = np.empty(len(people), dtype=object)
    last = np.empty(len(people), dtype=object)
    for flavor in pd.unique(people):
        rows = np.flatnonzero(people == flavor)
        f, fp, l, lp = voc.people(flavor if flavor in voc.PERSON_LOCALES else "en")
        first[rows] = tx.pick(rng, f, len(rows), fp)
        last[rows] = tx.pick(rng, l, len(rows), lp)
    # US and UK teams are diverse: a share of people with names from other lists
    mixed = np.isin(people, ["en"]) & (rng.random(len(people)) < .15)
    for flavor, rows in zip(("in", "es", "de"), np.array_split(np.flatnonzero(mixed), 3)):
        f, fp, l, lp = voc.people(flavor)
        first[rows] = tx.pick(rng, f, len(rows), fp)
        last[rows] = tx.pick(rng, l, len(rows), lp)
    return first, last


def email_local(rng: np.random.Generator, first, last, *, free: np.ndarray) -> np.ndarray:
    """'jane.doe', 'jdoe', 'jane', 'j.doe', ... free-mail users often add digits."""
    f, l = tx.slug(first), tx.slug(last)
    n = len(f)
    fi = tx.s(f).str.slice(0, 1).to_numpy(dtype=object)
    li = tx.s(l).str.slice(0, 1).to_numpy(dtype=object)
    k = rng.choice(8, size=n, p=[.45, .15, .05, .08, .05, .03, .12, .07])
    local = np.select([k == 0, k == 1, k == 2, k == 3, k == 4, k == 5, k == 6],
                      [tx.cat(f, ".", l), tx.cat(fi, l), tx.cat(f, li), f, tx.cat(f, "_", l), tx.cat(l, ".", f), tx.cat(fi, ".", l)],
                      tx.cat(f, l)).astype(object)
    digits = np.where(free & (rng.random(n) < .45), rng.integers(1, 2000, n).astype(str), "")
    return tx.cat(local, digits)


def render_leads(rng: np.random.Generator, sources: pd.DataFrame, kind: np.ndarray, roster: Roster, *, now_ms: float,
                 id_start: int, n_broken: int = 0, intake_window_days: float = 3.0,
                 created_now: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Leads for ``sources`` (one profile row per lead) of the given kinds; returns (Lead rows, truth rows, extras).

    Rows come back sorted by CreatedDate with sequential Ids from ``id_start``.
    """
    n = len(sources)
    src = sources.reset_index(drop=True)
    kind = np.asarray(kind, dtype=object)
    intake, hold, hist = kind == INTAKE, kind == HOLD, kind == HISTORICAL
    has_account = tx.s(src["account_id"]).to_numpy() != ""
    country = src["country"].to_numpy(dtype=object)
    domain = src["domain"].to_numpy(dtype=object)

    # --- person and email
    first, last = person_names(rng, src["people"].to_numpy(dtype=object))
    mail_kind = rng.choice(4, size=n, p=[.69, .07, .20, .04])  # work, work subdomain, free mail, none
    work, free, no_mail = mail_kind <= 1, mail_kind == 2, mail_kind == 3
    local = email_local(rng, first, last, free=free)
    generic_tld = tx.s(domain).str.contains(r"\.(?:com|net|io|co|ai)$", regex=True).to_numpy()
    sub_prefix = np.where(generic_tld & (rng.random(n) < .5), tx.lower(country), tx.pick(rng, _SUBDOMAINS, n))  # us.acme.com
    work_domain = np.where(mail_kind == 1, tx.cat(sub_prefix, ".", domain), domain)
    free_domain = np.empty(n, dtype=object)
    flavor = src["people"].to_numpy(dtype=object)
    for f in pd.unique(flavor):
        rows = np.flatnonzero(flavor == f)
        domains, p = voc.free_mail_choices(f)
        free_domain[rows] = tx.pick(rng, domains, len(rows), p)
    _, every_free = voc.free_mail_domains()
    tail = free & (rng.random(n) < .04)  # the long tail of providers
    free_domain[tail] = tx.pick(rng, every_free, int(tail.sum()))
    email = np.where(no_mail, "", tx.cat(local, "@", np.where(free, free_domain, work_domain)))
    email = np.where(rng.random(n) < .02, tx.upper(email), email)  # JANE.DOE@ACME.COM from an old form

    # --- company name: heavy damage only with a work email
    code = rng.choice([nm.CANONICAL, nm.CORE_ONLY, nm.SUFFIX_VARIANT, nm.COMMA, nm.UPPER, nm.LOWER, nm.THE, nm.AMPERSAND,
                       nm.NO_PUNCT, nm.FOLDED, nm.TYPO, nm.ABBREVIATION, nm.ACRONYM],
                      size=n, p=[.30, .22, .08, .04, .04, .06, .02, .04, .04, .04, .06, .03, .03])
    code[np.isin(code, nm.HEAVY) & ~work] = nm.CORE_ONLY
    company = nm.name_variants(rng, src["core"], src["suffix"], src["acronym"], code)
    company = np.where(work & (rng.random(n) < .015), "", company)

    # --- location: free-mail leads keep city and country, work-email leads may lose or contradict them
    lean = work
    city = va.city_variants(rng, src["city"], .25, .04)
    city = np.where(lean & (rng.random(n) < .25), "", city)
    remote = lean & (rng.random(n) < .04)  # someone working away from headquarters
    zips = voc.us_zip_table()
    other = zips.iloc[rng.integers(0, len(zips), n)]
    city = np.where(remote, other["city"].to_numpy(dtype=object), city)
    state_src = np.where(remote, other["state"].to_numpy(dtype=object), src["state"].to_numpy(dtype=object))
    state_name_src = np.where(remote, other["state"].map(voc.US_STATE_NAMES).to_numpy(dtype=object), src["state_name"].to_numpy(dtype=object))
    loc_country = np.where(remote, "US", country)
    state = va.state_values(rng, loc_country, state_src, state_name_src, .5, .3)
    postal = np.where(remote, other["zip_code"].to_numpy(dtype=object), src["postal"].to_numpy(dtype=object))
    us_postal = loc_country == "US"
    plus4 = us_postal & (rng.random(n) < .1)
    postal = np.where(plus4, tx.cat(postal, "-", tx.digits(rng, n, 4, 0)), postal)
    lost_zero = us_postal & (tx.s(postal).str.startswith("0").to_numpy()) & (rng.random(n) < .3)  # spreadsheet ate the 0
    postal = np.where(lost_zero, tx.s(postal).str.lstrip("0").to_numpy(dtype=object), postal)
    street = np.where(rng.random(n) < .3, va.street_variants(rng, src["street"], .4, .05, 0), "")
    street = np.where(remote, "", street)
    country_txt = va.country_names(rng, loc_country, .55)
    country_txt2 = va.country_names(rng, loc_country, .5)

    u = rng.random((n, 4))
    # Country: standard field, custom field, both, or neither (free-mail leads always keep one)
    c_pat = np.where(u[:, 0] < .5, 0, np.where(u[:, 0] < .75, 1, np.where(u[:, 0] < .9, 2, 3)))
    c_pat = np.where(free | no_mail, np.where(c_pat == 3, 0, c_pat), c_pat)
    country_std = np.where(np.isin(c_pat, [0, 2]), country_txt, "")
    country_custom = np.where(np.isin(c_pat, [1, 2]), country_txt2, "")
    s_pat = np.where(u[:, 1] < .55, 0, np.where(u[:, 1] < .75, 1, np.where(u[:, 1] < .8, 2, 3)))
    state_std = np.where(np.isin(s_pat, [0, 2]), state, "")
    state_custom = np.where(np.isin(s_pat, [1, 2]), va.state_values(rng, loc_country, state_src, state_name_src, .4, .4), "")
    z_pat = np.where(u[:, 2] < .45, 0, np.where(u[:, 2] < .7, 1, np.where(u[:, 2] < .75, 2, 3)))
    postal_std = np.where(np.isin(z_pat, [0, 2]), postal, "")
    postal_custom = np.where(np.isin(z_pat, [1, 2]), postal, "")
    city = np.where((free | no_mail) & (tx.s(city).to_numpy() == ""), src["city"].to_numpy(dtype=object), city)
    lat = np.where((loc_country == "US") & (rng.random(n) < .15), np.where(remote, other["lat"], src["lat"]), np.nan)
    lon = np.where(np.isnan(lat.astype(float)), np.nan, np.where(remote, other["long"], src["long"]))

    # --- phones: the main line, or a direct line in the same area
    cc, area = src["phone_cc"].to_numpy(dtype=object), src["phone_area"].to_numpy(dtype=object)
    direct = rng.random(n) < .6
    sub = np.where(direct, subscriber_numbers(rng, cc, area), src["phone_sub"].to_numpy(dtype=object))
    phone = np.where(rng.random(n) < .65, va.phones(rng, cc, area, sub, p_ext=.08), "")
    mobile = np.where(rng.random(n) < .15, va.phones(rng, cc, tx.digits(rng, n, 3), tx.digits(rng, n, 7)), "")
    website = np.where(rng.random(n) < .25, va.websites(rng, domain, [.4, .1, .2, .2, .05, .02, .03, 0.0]), "")

    # --- industries scattered over four fields
    industry = src["industry"].to_numpy(dtype=object)
    filled = rng.random(n) < .85
    main = rng.integers(0, 3, n)
    extra = rng.random((n, 3)) < .12
    custom = [filled & ((main == j) | extra[:, j]) for j in range(3)]
    industry_std = np.where(filled & (rng.random(n) < .15 / .85), industry, "")
    ind_c = np.where(custom[0], va.industry_variants(rng, industry), "")
    ind_v = np.where(custom[1], va.industry_variants(rng, industry), "")
    sector = np.where(custom[2], va.industry_variants(rng, industry), "")

    # --- headcount and revenue
    emp = src["employees"].to_numpy(dtype=float) * rng.uniform(.8, 1.2, n)
    e_pat = rng.choice(4, size=n, p=[.4, .35, .1, .15])  # number, text, both, neither
    employees = pd.array(np.where(np.isin(e_pat, [0, 2]), np.round(np.maximum(emp, 1)), np.nan), dtype="Int64")
    employees_txt = np.where(np.isin(e_pat, [1, 2]), va.employee_text(rng, emp), "")
    revenue = np.where(rng.random(n) < .2, np.round(src["revenue"].to_numpy(dtype=float) * rng.uniform(.7, 1.3, n), -3), np.nan)

    # --- what the lead wants
    product = tx.pick(rng, voc.PRODUCTS, n, [.45, .35, .12, .08])
    product2 = tx.pick(rng, voc.PRODUCTS, n)
    interest = np.where(rng.random(n) < .55, np.where((rng.random(n) < .1) & (product2 != product), tx.cat(product, ";", product2), product), "")
    lang = src["lang"].to_numpy(dtype=object)
    language = np.where(rng.random(n) < .5, lang, "")
    description = fill_templates(rng.integers(0, len(voc.DESCRIPTIONS), n), voc.DESCRIPTIONS, {
        "product": product, "team": rng.integers(5, 400, n).astype(str), "seats": rng.integers(5, 500, n).astype(str),
        "lang_word": pd.Series(lang).map({"fr": "French", "de": "German", "ja": "Japanese", "es": "Spanish", "it": "Italian",
                                          "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish"}).fillna("English").to_numpy(dtype=object),
    })
    title = np.where(rng.random(n) < .85, tx.pick(rng, voc.TITLES, n), "")
    sources_hist = tx.pick(rng, voc.LEAD_SOURCES, n, [.12, .12, .22, .1, .08, .12, .09, .15])
    sources_new = tx.pick(rng, voc.LEAD_SOURCES, n, [.30, .25, .05, .10, .08, .12, .05, .05])
    lead_source = np.where(hist, sources_hist, sources_new)
    lead_source = np.where(rng.random(n) < .05, "", lead_source)
    score = np.where(rng.random(n) < .7, np.round(rng.beta(2, 3, n) * 100, 1), np.nan)
    rating = np.where(rng.random(n) < .4, tx.pick(rng, voc.RATINGS, n), "")

    # --- status, conversion, owner, dates
    status = np.where(hist, tx.pick(rng, voc.HISTORICAL_STATUSES, n, [.25, .25, .15, .1, .25]), "New")
    status = np.where(hold, tx.pick(rng, ["New", "Nurture", "Unqualified"], n), status)
    converted = hist & (status == "Qualified") & has_account & (rng.random(n) < .8)
    status = np.where(hist & (status == "Qualified") & ~converted & (rng.random(n) < .5), "Working", status)
    owner = _owners(rng, src, kind, has_account, converted, roster)

    created = np.empty(n)
    created[hist] = np.floor(now_ms - _DAY * (3 + rng.random(int(hist.sum())) * 727))
    created[intake] = np.floor(now_ms - _DAY * intake_window_days * rng.random(int(intake.sum())))
    created[hold] = np.floor(now_ms - _DAY * (1 + rng.random(int(hold.sum())) * 29))
    acc_created = pd.to_numeric(src.get("account_created", pd.Series(np.nan, index=src.index)), errors="coerce").to_numpy(dtype=float)
    converted_at = np.where(converted, np.minimum(created + _DAY * rng.integers(1, 60, n), now_ms - 1), np.nan)
    converted_at = np.where(converted & ~np.isnan(acc_created), np.maximum(converted_at, np.minimum(acc_created, now_ms - 1)), converted_at)
    span = np.maximum(now_ms - created, 0)
    modified = np.where(intake & (rng.random(n) < .7), created, created + np.floor(span * rng.random(n) ** 2))
    modified = np.where(converted, np.maximum(modified, converted_at), modified)
    if created_now:
        created = np.full(n, float(now_ms))
        modified = created.copy()
    stamp = np.minimum(modified + np.where(created_now, 0, rng.integers(0, 120_000, n)), now_ms)
    stamp = np.maximum(stamp, modified)

    leads = pd.DataFrame({
        "FirstName": tx.blank_to_none(np.where(rng.random(n) < .96, first, "")), "LastName": last, "Title": tx.blank_to_none(title),
        "Email": tx.blank_to_none(email), "Company": tx.blank_to_none(company), "Website": tx.blank_to_none(website),
        "Phone": tx.blank_to_none(phone), "MobilePhone": tx.blank_to_none(mobile), "Street": tx.blank_to_none(street),
        "City": tx.blank_to_none(city), "State": tx.blank_to_none(state_std), "PostalCode": tx.blank_to_none(postal_std),
        "Country": tx.blank_to_none(country_std), "Latitude": lat.astype(float), "Longitude": lon.astype(float),
        "Industry": tx.blank_to_none(industry_std), "NumberOfEmployees": employees, "AnnualRevenue": revenue,
        "LeadSource": tx.blank_to_none(lead_source), "Status": status, "Rating": tx.blank_to_none(rating),
        "Description": tx.blank_to_none(description), "OwnerId": owner, "IsConverted": converted.astype(int),
        "ConvertedAccountId": np.where(converted, src["account_id"].to_numpy(dtype=object), None),
        "ConvertedContactId": None, "ConvertedOpportunityId": None, "ConvertedDate": tx.sf_dates(converted_at),
        "LastActivityDate": None, "Industry__c": tx.blank_to_none(ind_c), "Industry_Vertical__c": tx.blank_to_none(ind_v),
        "Sector__c": tx.blank_to_none(sector), "Company_Country__c": tx.blank_to_none(country_custom),
        "State_Province__c": tx.blank_to_none(state_custom), "Zip_Code__c": tx.blank_to_none(postal_custom),
        "Employees__c": tx.blank_to_none(employees_txt), "Product_Interest__c": tx.blank_to_none(interest),
        "Preferred_Language__c": tx.blank_to_none(language), "Lead_Score__c": score, "Matched_Account__c": None,
        "Routing_Reason__c": None, "CreatedDate": tx.sf_datetimes(created),
        "CreatedById": np.where(intake | hold | (rng.random(n) < .5), INTEGRATION_USER_ID, owner),
        "LastModifiedDate": tx.sf_datetimes(modified), "SystemModstamp": tx.sf_datetimes(stamp), "IsDeleted": 0,
    })
    truth = pd.DataFrame({
        "company_id": np.where(has_account, src["company_id"].to_numpy(dtype=object), ""),
        "account_id": tx.s(src["account_id"]).to_numpy(dtype=object), "is_intake": intake.astype(int), "broken": "",
        "real_company_id": src["company_id"].to_numpy(dtype=object),
    })
    if n_broken:
        _break(rng, leads, truth, np.flatnonzero(intake), n_broken)
    order = np.argsort(created, kind="stable")
    leads = leads.iloc[order].reset_index(drop=True)
    truth = truth.iloc[order].reset_index(drop=True)
    ids = tx.make_ids("Lead", id_start, n)
    leads.insert(0, "Id", ids)
    truth.insert(0, "lead_id", ids)
    extras = {"created": created[order], "free_mail": free[order], "converted_at": converted_at[order]}
    return leads, truth, extras


def fill_templates(choice: np.ndarray, templates, values: dict[str, np.ndarray]) -> np.ndarray:
    """Fill '{product}'-style templates, one template at a time (never one row at a time)."""
    out = np.full(len(choice), "", dtype=object)
    for i, template in enumerate(templates):
        rows = np.flatnonzero(choice == i)
        if not len(rows):
            continue
        parts = re.split(r"(\{\w+\})", template)
        pieces = [values[p[1:-1]][rows] if p.startswith("{") else p for p in parts if p]
        out[rows] = tx.cat(*pieces) if pieces else ""
    return out


def _owners(rng: np.random.Generator, src: pd.DataFrame, kind: np.ndarray, has_account: np.ndarray, converted: np.ndarray,
            roster: Roster) -> np.ndarray:
    """Queue for new intake and holding leads; reps for history.

    Historical leads of CRM companies: the account owner if converted, else mostly SDRs,
    sometimes the AE, the designated ADR of a Non-Target account, or the inactive rep who
    still owns old leads. Leads of a company that is not an account: one ADR owns all of a
    company's leads, so lead-to-lead matching has a clear answer.
    """
    n = len(src)
    owner = np.full(n, None, dtype=object)
    owner[kind == INTAKE] = roster.queue_id(INTAKE_QUEUE)
    owner[kind == HOLD] = roster.queue_id(HOLD_QUEUE)
    hist = kind == HISTORICAL
    sdrs, ae_inactive = roster.ids("SDR"), roster.ids("AE", active=False)
    acc_owner = tx.s(src.get("account_owner", pd.Series("", index=src.index))).to_numpy(dtype=object)
    acc_adr = tx.s(src.get("account_adr", pd.Series("", index=src.index))).to_numpy(dtype=object)
    u = rng.random(n)
    pick_sdr = tx.pick(rng, sdrs, n)
    account_hist = np.where(u < .22, acc_owner, pick_sdr)
    if len(ae_inactive):
        stale = (u >= .22) & (u < .27)
        candidates = np.flatnonzero(hist & has_account & ~converted & (acc_adr == ""))
        if len(candidates) and not stale[candidates].any():
            stale[candidates[0]] = True  # even a tiny demo shows the departed rep's leftover leads
        account_hist = np.where(stale, tx.pick(rng, ae_inactive, n), account_hist)
    account_hist = np.where(acc_adr != "", acc_adr, account_hist)
    account_hist = np.where(converted, acc_owner, account_hist)
    account_hist = np.where(account_hist == "", pick_sdr, account_hist)
    rows = hist & has_account
    owner[rows] = account_hist[rows]
    # non-account companies: one ADR per company
    rows = np.flatnonzero(hist & ~has_account)
    if len(rows):
        companies = src["company_id"].to_numpy(dtype=object)[rows]
        uniq, inv = np.unique(companies, return_inverse=True)
        emea = (src["region"].to_numpy(dtype=object)[rows] == "EMEA")
        company_emea = np.zeros(len(uniq), dtype=bool)
        company_emea[inv] = emea
        adr = roster.adrs_for(company_emea, rng)
        counts = np.bincount(inv)
        single_sdr = tx.pick(rng, sdrs, len(uniq))
        per_company = np.where((counts > 1) | (rng.random(len(uniq)) < .3), adr, single_sdr)
        owner[rows] = per_company[inv]
    return owner


def _break(rng: np.random.Generator, leads: pd.DataFrame, truth: pd.DataFrame, candidates: np.ndarray, k: int) -> None:
    """Make k intake leads deliberately broken (cycling through the kinds) so quarantine has something to catch."""
    rows = rng.choice(candidates, size=min(k, len(candidates)), replace=False)
    for i, row in enumerate(rows):
        reason = BROKEN_KINDS[i % len(BROKEN_KINDS)]
        truth.loc[row, "broken"] = reason
        if reason == "empty_identity":
            leads.loc[row, ["Company", "Email", "LastName", "FirstName", "Website", "Phone"]] = None
            truth.loc[row, ["company_id", "account_id"]] = ""
        elif reason == "invalid_email":
            leads.loc[row, "Email"] = ("not-an-email", "john.doe(at)example", "jane@", "@@")[(i // 4) % 4]
        elif reason == "company_too_long":
            leads.loc[row, "Company"] = ("Lorem Ipsum Dolor Sit Amet Consulting " * 60)[:2000]
            leads.loc[row, ["Email", "Website"]] = None
            truth.loc[row, ["company_id", "account_id"]] = ""
        else:
            leads.loc[row, "NumberOfEmployees"] = pd.NA
            leads.loc[row, "Employees__c"] = ("lots", "n/a", "TBD", "about fifty")[(i // 4) % 4]

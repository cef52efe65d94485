"""Enrichment from offline reference data: each lookup as a table of inputs and what they give."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.enrich.enrich import Failures, enrich_leads
from pipelines.enrich.settings import EnrichmentSettings, load_enrichment_settings
from pipelines.sourcefile import ConfigError
from tests.conftest import RULES

SETTINGS = load_enrichment_settings(RULES / "enrichment.yaml")


def lead(**fields) -> dict:
    return {"lead_id": "00Q1", "email": "jo@acme.com", "company": "Acme", **fields}


def enrich(*rows: dict, settings: EnrichmentSettings = SETTINGS, vendor=None) -> pd.DataFrame:
    df = pd.DataFrame([{**r, "lead_id": f"00Q{i}"} for i, r in enumerate(rows)]).astype(object)
    return enrich_leads(df.where(df.notna(), None), settings, vendor)


@pytest.mark.parametrize(
    ("country", "state", "postal", "expected"),
    [
        ("US", "CA", "94105", {"state_code": "CA", "county": "San Francisco County", "time_zone": "America/Los_Angeles",
                               "zip5": "94105", "subdivision_code": "US-CA", "sales_region": "NA"}),
        ("US", None, "2139", {"zip5": "02139", "state_code": "MA", "state_code_source": "zip"}),  # lost leading zero
        ("US", "California", "94105-1234", {"state_code": "CA", "state_code_source": "crm", "zip5": "94105"}),
        ("DE", "Bayern", "80331", {"state_code": "BY", "zip5": None, "sales_region": "EMEA",
                                   "continent": "Europe", "subregion": "Western Europe"}),
        ("BR", None, None, {"continent": "South America", "sales_region": "LATAM"}),
        ("JP", None, None, {"continent": "Asia", "sales_region": "APAC"}),
        ("PR", None, "00901", {"country_code": "US", "state_code": "PR", "county": "San Juan Municipio"}),
    ],
)
def test_geography_comes_from_zip_codes_and_country_reference_data(country, state, postal, expected):
    row = enrich(lead(country=country, state=state, postal_code=postal)).iloc[0]
    assert {k: row[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("street", "country", "state", "postal", "expected"),
    [
        # A web form's one address field, typed whole: its state and ZIP code fill the empty fields...
        ("12224 Ventura Blvd. Studio City CA 91604", None, None, None,
         {"country_code": "US", "state_code": "CA", "zip5": "91604"}),
        ("100 Main St, Springfield, IL 62701", "USA", None, None, {"state_code": "IL", "zip5": "62701"}),
        # ...never the lead's own:
        ("100 Main St, Springfield, IL 62701", "US", "MO", "65801", {"state_code": "MO", "zip5": "65801"}),
        # ...and only in the US: "12 Boulevard Haussmann 75009" is a street in Paris.
        ("12 Boulevard Haussmann 75009", "FR", None, None, {"country_code": "FR", "state_code": None, "zip5": None}),
        ("100 Main St", "US", None, None, {"state_code": None, "zip5": None}),
    ],
)
def test_a_whole_us_address_on_the_street_line_gives_its_state_and_zip(street, country, state, postal, expected):
    row = enrich(lead(street=street, country=country, state=state, postal_code=postal)).iloc[0]
    assert {k: row[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("mode", "country", "state", "expected"),
    [
        ("state", "PR", None, ("US", "PR")),
        ("state", "US", "PR", ("US", "PR")),
        ("country", "US", "PR", ("PR", None)),
        ("country", "PR", None, ("PR", None)),
    ],
)
def test_puerto_rico_is_a_state_or_a_country_by_configuration(mode, country, state, expected):
    settings = SETTINGS.model_copy(update={"puerto_rico": mode})
    row = enrich(lead(country=country, state=state), settings=settings).iloc[0]
    assert (row["country_code"], row["state_code"]) == expected


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("(415) 555-0123", "US", ("US", "CA", "415")),
        ("+1 416 555 0199", None, ("CA", None, "416")),
        ("+49 (0)30 1234567", "DE", ("DE", "Berlin", "30")),
        ("030-1234567", "DE", ("DE", "Berlin", "30")),
        ("+44 20 7123 4567 ext. 12", None, ("GB", "London", "20")),
        ("0049 89 2345678", None, ("DE", "Munich", "89")),
        ("011 49 89 2345678", "US", ("DE", "Munich", "89")),  # dialled out of North America
        ("0113 496 0000", "GB", ("GB", "Leeds", "113")),  # a number of Leeds, not dialled out
        ("12", "US", (None, None, None)),
    ],
)
def test_phone_numbers_give_country_place_and_area_code(phone, country, expected):
    row = enrich(lead(phone=phone, country=country)).iloc[0]
    got = (row["phone_country"], row["phone_region"], row["phone_area_code"])
    assert got[0] == expected[0] and got[2] == expected[2]
    if expected[1]:
        assert expected[1] in got[1]


@pytest.mark.parametrize(
    ("phone", "expected"),
    [  # pairs that share a calling code and their first three national digits, and not their facts
        ("+44 1481 710000", ("GG", "Guernsey", "1481")),
        ("+44 1480 210000", ("GB", "Huntingdon", "1480")),
        ("+49 6221 1234567", ("DE", "Heidelberg", "6221")),
        ("+49 6222 123456", ("DE", "Wiesloch", "6222")),
        ("+7 7172 123456", ("KZ", "Astana", "7172")),
        ("+7 717 000 0000", ("KZ", None, None)),  # Kazakhstan by its 7, but no such place: nothing borrowed
    ],
)
def test_each_phone_has_its_own_facts_not_its_neighbours(phone, expected):
    others = ["+44 1481 710000", "+44 1480 210000", "+49 6221 1234567", "+49 6222 123456", "+7 7172 123456",
              "+7 717 000 0000"]
    for batch in ([phone, *others], [*reversed(others), phone]):
        rows = enrich(*(lead(phone=p) for p in batch))
        row = rows[rows["lead_id"] == ("00Q0" if batch[0] == phone else f"00Q{len(batch) - 1}")].iloc[0]
        assert (row["phone_country"], row["phone_region"], row["phone_area_code"]) == expected


def test_the_same_leads_in_another_row_order_get_the_same_phone_facts():
    phones = ["+1 201 200 1234", "+1 201 555 1234", "+44 1481 710000", "+44 1480 210000", "0621 1234567",
              "+7 495 123 4567", "+7 7172 123456", "12", None, "+1 201 200 1234"]
    df = pd.DataFrame({"lead_id": [f"00Q{i}" for i in range(len(phones))], "phone": phones,
                       "country": ["US", "US", None, None, "DE", None, None, "US", "US", "US"],
                       "email": "jo@acme.com", "company": "Acme"}).astype(object)
    cols = ["lead_id", "phone_country", "phone_region", "phone_area_code"]
    forward = enrich_leads(df, SETTINGS)[cols].set_index("lead_id").sort_index()
    backward = enrich_leads(df.iloc[::-1].reset_index(drop=True), SETTINGS)[cols].set_index("lead_id").sort_index()
    pd.testing.assert_frame_equal(forward, backward)
    assert forward.loc["00Q0", "phone_region"] == "Jersey City, NJ"  # 201-200 is Jersey City, 201-555 New Jersey
    assert forward.loc["00Q1", "phone_region"] == "New Jersey"
    assert forward.loc["00Q0"].tolist() == forward.loc["00Q9"].tolist()  # the same number twice: the same facts


@pytest.mark.parametrize("phones", [[], [None, None], ["12", "abc"]])
def test_a_batch_with_no_readable_phone_gets_empty_phone_facts(phones):
    # A tick whose new accounts (or leads) are none: the batch is empty, and so is what it learns.
    from pipelines.enrich.phones import phone_facts

    out = phone_facts(pd.Series(phones, dtype=object), pd.Series(["US"] * len(phones), dtype=object))
    assert len(out) == len(phones) and out.isna().all().all()


def test_a_lead_without_a_country_takes_its_phones_and_says_so():
    row = enrich(lead(phone="+33 1 23 45 67 89")).iloc[0]
    assert (row["country_code"], row["country_code_source"], row["sales_region"]) == ("FR", "phone", "EMEA")


@pytest.mark.parametrize(
    ("email", "website", "kind"),
    [
        ("jo@acme.com", None, "business"), ("jo@gmail.com", None, "free_mail"), ("prof@mit.edu", None, "edu"),
        ("x@ox.ac.uk", None, "edu"), ("x@nasa.gov", None, "gov"), ("x@army.mil", None, "mil"),
        ("x@interieur.gouv.fr", None, "gov"), (None, "https://www.ed.gov/", "gov"), (None, None, None),
    ],
)
def test_the_kind_of_domain_is_read_from_its_suffix(email, website, kind):
    row = enrich(lead(email=email, website=website)).iloc[0]
    assert row["domain_kind"] == kind


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("Jo Bloggs <jo@us.acme.com>", "acme.com"),  # the display name a mail client pastes
        ("jo@acme.com; jo.bloggs@gmail.com", "acme.com"),  # two addresses: the first, not the last
        ("jo(at)acme.com", None),
        ("Jo.Smith@ACME.COM", "acme.com"),  # in lower case, as the match keys read it
        ("jo@corp.google.com", "google.com"),  # a mail host, not a web page on a page host
        ("jo@gov.scot", "gov.scot"),  # a private suffix that is an organisation's own domain
    ],
)
def test_the_domain_of_an_email_field_is_its_first_address(email, domain):
    assert enrich(lead(email=email)).iloc[0]["domain"] == domain


@pytest.mark.parametrize(
    ("country", "employees", "revenue", "band", "basis"),
    [
        ("US", 150, None, "SMB", "employees"), ("US", 500, None, "Mid-Market", "employees"),
        ("DE", 150, None, "Mid-Market", "employees"),  # EMEA's thresholds are lower
        ("US", None, 40_000_000, "SMB", "revenue"), ("US", None, 900_000_000, "Enterprise", "revenue"),
        ("US", 5000, 1_000, "Enterprise", "employees"),  # headcount first
        ("US", None, None, None, None),
    ],
)
def test_size_bands_by_headcount_else_revenue_with_regional_thresholds(country, employees, revenue, band, basis):
    row = enrich(lead(country=country, employees=employees, revenue=revenue)).iloc[0]
    assert (row["size_band"], row["size_band_basis"]) == (band, basis)


def test_purchased_data_fills_gaps_and_never_overwrites_the_crm_unless_configured(tmp_path):
    from pipelines.enrich.purchased import load_purchased

    (tmp_path / "vendor.csv").write_text("domain,industry,employees,naics\n"
                                         "www.acme.com,Manufacturing,1200,333249\nglobex.de,Retail,80,4451\n")
    settings = SETTINGS.model_copy(update={"purchased": SETTINGS.purchased.model_copy(update={"file": "vendor.csv"})})
    vendor = load_purchased(settings.purchased.model_copy(update={
        "fields": {k: v for k, v in settings.purchased.fields.items() if k != "revenue"}}), tmp_path)
    rows = enrich(lead(email="a@acme.com", industry="Technology", industry__source="Industry__c"),
                  lead(email="b@globex.de", employees=None), settings=settings, vendor=vendor)
    acme, globex = rows.iloc[0], rows.iloc[1]
    assert (acme["company_industry"], acme["company_industry_source"]) == ("Technology", "crm:Industry__c")
    assert (acme["company_employees"], acme["company_employees_source"]) == (1200, "vendor:firmographics.csv")
    assert (acme["company_naics"], acme["naics_sector"]) == ("333249", "Manufacturing")
    assert (globex["company_industry"], globex["size_band"]) == ("Retail", "SMB")


def test_text_that_breaks_a_library_sets_that_lead_aside_not_the_batch(monkeypatch):
    from pipelines.matching import normalise

    real = normalise.company_name

    def fragile(values):
        if pd.Series(values).astype(str).str.contains("\u202e").any():
            raise UnicodeError("bidi override")
        return real(values)

    monkeypatch.setattr(normalise, "company_name", fragile)
    failures = Failures()
    df = pd.DataFrame([lead(company="Acme"), lead(company="Evil\u202eCorp")]).astype(object)
    out = enrich_leads(df, SETTINGS, None, failures)
    assert list(failures.rows) == [1] and "bidi override" in failures.rows[1]
    assert out.loc[0, "company_norm"] == "acme"


def test_a_lead_whose_company_is_its_own_name_has_no_company_to_follow():
    out = enrich(lead(company="John Smith", first_name="John", last_name="Smith", email="js@gmail.com"),
                 lead(company="John Smith Plumbing", first_name="John", last_name="Smith", email="js@gmail.com"))
    assert out.loc[0, "company_norm"] is None, "no company: two John Smiths are not one company's leads"
    assert out.loc[1, "company_norm"] == "john smith plumbing"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("regions:\n  EMEA: [Europe, Narnia]\n", "'Narnia' is not an ISO country code"),
        ("size_bands:\n  EMEA:\n    - {band: Small, employees_below: 10}\n", "needs a `default` list"),
        ("size_bands:\n  default:\n    - {band: Small, employees_below: 10}\n", "must have no limits"),
        ("puerto_rico: territory\n", "puerto_rico"),
        ("purchased:\n  file: x.csv\n  fields:\n    shoe_size: {column: s}\n", "cannot buy ['shoe_size']"),
    ],
)
def test_enrichment_settings_mistakes_name_the_file_and_line(tmp_path, yaml_text, message):
    path = tmp_path / "enrichment.yaml"
    path.write_text("version: 1\n" + yaml_text)
    with pytest.raises(ConfigError) as exc:
        load_enrichment_settings(path)
    text = str(exc.value)
    assert message in text and "enrichment.yaml:" in text


def _geocoder_place(e164: str) -> str | None:
    """What phonenumbers' own geocoder says of a number, in English: the oracle for the place."""
    import phonenumbers
    from phonenumbers import geocoder

    num = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(num) is None:
        return None
    kind = phonenumbers.number_type(num)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None
    if not phonenumbers.is_number_type_geographical(kind, num.country_code):
        return geocoder.country_name_for_number(num, "en") or None
    return geocoder.description_for_valid_number(num, "en") or None


def _every_region_example_numbers() -> list[str]:
    """phonenumbers' example fixed-line and mobile number of every region, and neighbours of each
    (other area digits, other subscriber digits), plus Argentine mobiles, whose 9 is not part of the area."""
    import phonenumbers

    kinds = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
             phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    out = {"+54 9 11 2345 6789", "+54 9 351 234 5678", "+54 9 2944 12 3456", "+54 11 2345 6789"}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            ex = phonenumbers.example_number_for_type(region, kind)
            if ex is None:
                continue
            e164 = phonenumbers.format_number(ex, phonenumbers.PhoneNumberFormat.E164)
            cc = len(str(ex.country_code)) + 1
            out |= {e164, e164[:-4] + "0000", e164[:-4] + "5555", e164[:cc + 1] + "1" + e164[cc + 2:],
                    e164[:cc] + "2" + e164[cc + 1:]}
    return sorted(out)


def test_the_place_of_a_number_is_what_phonenumbers_geocoder_says():
    from pipelines.enrich.phones import phone_facts

    numbers = _every_region_example_numbers()
    facts = phone_facts(pd.Series(numbers, dtype=object), pd.Series(None, index=range(len(numbers)), dtype=object))
    read = facts["phone_country"].notna()
    assert read.sum() > 0.9 * len(numbers), "most numbers are readable (else this compares nothing)"
    got = facts.loc[read, "phone_region"].tolist()
    expected = [_geocoder_place(n) for n in pd.Series(numbers)[read]]
    from phonenumbers.geodata.locale import LOCALE_DATA

    countries = {names.get("en") for names in LOCALE_DATA.values()}
    assert sum(e is not None and e not in countries for e in expected) > 1000, "most are places, not countries"
    wrong = [(n, g, e) for n, g, e in zip(pd.Series(numbers)[read], got, expected) if g != e]
    assert wrong == []


def test_records_enriched_a_part_at_a_time_get_what_one_piece_gets(pipeline, crm, monkeypatch):
    """A first tick enriches its leads and accounts a part at a time (a million accounts and 600,000 leads at
    once raised its peak by 1.6 GiB): every record gets what it gets enriched with the rest, and the counts add up."""
    from pipelines.enrich import enrich as stage
    from pipelines.enrich.settings import load_enrichment_settings
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db
    from tests.conftest import AVA, LUKAS, NOW

    crm.account("Acme Corp", website="https://www.acme.com", owner=AVA, state="CA")
    crm.account("Globex GmbH", website="globex.de", owner=LUKAS, country="Germany")
    crm.account("Initech", website="initech.co.uk", owner=LUKAS, country="United Kingdom")
    for company, email, country in [("Acme", "jo@acme.com", "US"), ("Globex", "hans@globex.de", "Germany"),
                                    ("Initech", "p@gmail.com", "UK"), ("Umbrella", "u@umbrella.fr", "France"),
                                    ("Hooli", "g@hooli.io", None)]:
        crm.lead(company=company, email=email, country=country, phone="+44 20 7946 0958")
    monkeypatch.setattr(stage, "ENRICH_CHUNK", 2)
    outcome = pipeline.tick()
    counts = outcome.metadata["enriched"]
    tables = {t: f"SELECT * EXCLUDE (_enriched_at) FROM {t} ORDER BY 1" for t in ("lead_enriched", "account_enriched")}
    parts = {t: pipeline.query(sql) for t, sql in tables.items()}
    assert len(parts["lead_enriched"]) == 5 and len(parts["account_enriched"]) == 3
    assert counts["leads_enriched"] == 5 and counts["leads_free_mail"] == 1
    assert counts["leads_with_country_code"] == 5, "Hooli has no country: its phone gives one"

    monkeypatch.setattr(stage, "ENRICH_CHUNK", 100_000)
    with db.connect(pipeline.warehouse) as con:
        con.execute("DELETE FROM lead_enriched")
        con.execute("DELETE FROM account_enriched")
        whole = stage.enrich(con, RunInfo("again", NOW), load_enrichment_settings(pipeline.rules_dir / "enrichment.yaml"))
        for t, sql in tables.items():
            pd.testing.assert_frame_equal(con.execute(sql).df(), parts[t])
    assert {k: v for k, v in whole.counts.items()} == {k: v for k, v in counts.items() if k in whole.counts}

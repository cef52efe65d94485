"""The engine on the demo generator's labelled data: floors on a fixed seed.

Scores what the real stages (extract, unify, enrich, master, match) write against the
generator's ground truth.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.demo import generator
from pipelines.matching.evaluate import evaluate_warehouse, run_matching_stages
from pipelines.warehouse import db
from tests.conftest import NOW, RULES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    base: Path = tmp_path_factory.mktemp("eval")
    generator.generate_crm(base / "crm.sqlite", base / "truth", accounts=4_000, leads=2_000, seed=11, now=NOW,
                           rules_dir=RULES)
    run_matching_stages(base / "crm.sqlite", base / "warehouse.duckdb", RULES, now=NOW)
    with db.connect(base / "warehouse.duckdb", read_only=True) as con:
        return evaluate_warehouse(con, base / "truth")


def test_lead_to_account_matching_is_accurate_on_the_generators_hard_cases(scored):
    assert scored.leads.precision >= 0.99
    assert scored.leads.recall >= 0.98
    assert scored.leads.f1 >= 0.985
    assert scored.leads_intake is not None and scored.leads_intake.f1 >= 0.98


def test_duplicate_accounts_are_clustered_without_merging_companies(scored):
    assert scored.dedupe.precision >= 0.97, "a wrong merge misroutes two companies' leads"
    assert scored.dedupe.recall >= 0.9
    assert 0.6 <= scored.matched_share <= 0.95, "leads of companies without an account stay unmatched"

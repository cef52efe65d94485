"""Routing KPIs: the asset after the push, the `kpi` table, `leadroute report` and its HTML page."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import HANNAH, LUKAS

pytestmark = pytest.mark.slow


def test_kpis_count_what_the_tick_did_and_the_report_shows_them(pipeline, crm, monkeypatch, tmp_path):
    crm.lead(company="Globex", email="hans@globex.de", country="Deutschland")
    crm.lead(company="Globex", email="petra@globex.de", country="DE")
    crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX")
    crm.lead(company="Nobody Ltd", email="x@nobody.io", country="Atlantis")  # no territory: the SDR pool
    crm.lead(company="Hooli", email="gavin@", country="US")  # quarantined
    out = pipeline.tick()

    k = out.metadata["kpis"]
    assert (k["routed"], k["quarantined"], k["unroutable"]) == (4, 1, 0)
    assert k["share_quarantined_pct"] == 20.0
    # The leads were there before leadroute's first tick: their wait is not its speed.
    assert k["leads_before_leadroute"] == 4 and math.isnan(k["minutes_to_assignment_median"])
    crm.now = pipeline.now + timedelta(minutes=1)
    crm.lead(company="Globex", email="new@globex.de", country="DE")  # created one minute after the first tick
    later = pipeline.tick()  # five minutes after the first: pushed four minutes after it was created
    assert later.metadata["kpis"]["minutes_to_assignment_median"] == 4.0
    assert later.metadata["kpis"]["leads_before_leadroute"] == 4
    rows = pipeline.query("SELECT measure, dimension, value FROM kpi WHERE run_id = ?", [out.run_id])
    per_owner = rows[rows["measure"] == "leads_per_owner"].set_index("dimension")["value"].to_dict()
    names = dict(pipeline.query("SELECT user_id, name FROM crm_user").values)
    assert per_owner[names[LUKAS]] == 2 and per_owner[names[HANNAH]] == 1
    assert rows[rows["measure"] == "leads_per_pool"]["value"].sum() == 1
    assert rows[(rows["measure"] == "quarantined_by_reason")]["dimension"].tolist() == ["unify/lead/malformed_email"]

    from pipelines.cli import cli

    page = tmp_path / "kpis.html"
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_RULES", str(pipeline.rules_dir))
    result = CliRunner().invoke(cli, ["report", "--html", str(page)])
    assert result.exit_code == 0, result.output
    for heading in ("Recent ticks", "Quarantined records (open)", "Lead fill rates", "Data quality checks",
                    "Routing KPIs"):
        assert heading in result.output
    assert "malformed_email" in result.output
    html = page.read_text()
    assert html.count("vegaEmbed(") >= 2, "charts, drawn by the Vega libraries in the page"
    assert not re.search(r"""(src|href)=["']?https?:""", html), "no network needed to view it"

"""`leadroute report --html` as a person sees it: opened in a real browser (Debian's headless Chromium),
every chart drew (an SVG with marks inside each chart's box) and the page logged nothing to the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Charts(HTMLParser):
    """Per chart box (div id=chartN): whether an <svg> is inside it and how many Vega mark groups it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.current, self.charts = 0, None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and re.fullmatch(r"chart\d+", a.get("id") or ""):
            self.current, self.depth = a["id"], 0
            self.charts[self.current] = {"svg": False, "marks": 0}
        if self.current is None:
            return
        if tag == "div":
            self.depth += 1
        if tag == "svg":
            self.charts[self.current]["svg"] = True
        if tag == "g" and "role-mark" in (a.get("class") or ""):
            self.charts[self.current]["marks"] += 1

    def handle_endtag(self, tag):
        if self.current is not None and tag == "div":
            self.depth -= 1
            if self.depth == 0:
                self.current = None


def browse(page, tmp_path) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and Chromium's log (console messages show as CONSOLE lines)."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="Debian's chromium is not installed (`apt-get install -y chromium`; .ci/run installs it)")
def test_the_html_report_draws_every_chart_in_a_real_browser(pipeline, crm, monkeypatch, tmp_path):
    crm.lead(company="Globex", email="hans@globex.de", country="Germany")
    crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX")
    crm.lead(company="Nobody Ltd", email="x@nobody.io", country="Atlantis")
    pipeline.tick()

    from pipelines.cli import cli

    page = tmp_path / "report.html"
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(pipeline.warehouse))
    monkeypatch.setenv("LEADROUTE_RULES", str(pipeline.rules_dir))
    result = CliRunner().invoke(cli, ["report", "--html", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?https?:""", html), "no network needed to view it: nothing loaded from a URL"

    dom, log = browse(page, tmp_path)
    charts = Charts()
    charts.feed(dom)
    # Trends (leads by outcome, per step, per rep, unroutable share), owners now, fill rates, the flow.
    assert len(charts.charts) >= 7, sorted(charts.charts)
    for title in ("Leads in, by what became of them", "Decisions per rule step", "Leads per rep",
                  "Unroutable share of routed leads", "Fields filled after unification and enrichment", "new leads"):
        assert f">{title}</text>" in dom, f"chart {title!r} drew its title"
    undrawn = {name: c for name, c in charts.charts.items() if not c["svg"] or c["marks"] == 0}
    assert undrawn == {}, "every chart box holds an SVG with marks"
    assert [line for line in log.splitlines() if "CONSOLE" in line] == [], "the page logged nothing"
    for heading in ("Trends over the last 1 tick(s)", "The routing flow", "Leads per owner or queue"):
        assert heading in dom
    assert "None" not in re.sub(r"<script.*?</script>", "", dom, flags=re.S) and "nan" not in dom.split("<body")[1]

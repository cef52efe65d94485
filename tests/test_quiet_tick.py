"""A quiet tick (nothing new in the CRM) stops at its light queries: no stage loads a heavy library.

Issue 18: a tick with nothing new must not import Great Expectations, the matching engine or the
other libraries only work needs (seconds of CPU every five minutes). Checked in-process, whatever
an earlier test loaded: every ``import`` statement the quiet tick executes is heard
(``builtins.__import__``), so an import of a module already loaded counts too (in a fresh tick
process it would load it), and so is every call of the loader of Great Expectations.
"""

from __future__ import annotations

import builtins
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.conftest import AVA, LUKAS, NOW

pytestmark = pytest.mark.slow

# Loaded only by a stage with rows: data-quality suites, the matching engine (and scikit-learn under
# recordlinkage), fuzzy comparisons, geometry, charts, templates, notifications, the normalisers' reference
# libraries.
HEAVY = {"great_expectations", "recordlinkage", "sklearn", "rapidfuzz", "shapely", "altair", "jinja2", "apprise",
         "tldextract", "phonenumbers", "usaddress"}
ENGINE = {"pipelines.matching.match", "pipelines.matching.master"}  # what the match stages import lazily


def test_a_quiet_tick_imports_no_heavy_library(pipeline, crm, monkeypatch):
    from pipelines.quality import gx

    crm.account("Acme Corp", website="https://www.acme.com", owner=AVA, state="CA")
    crm.lead(company="ACME", email="jo@us.acme.com", country="USA", state="California")
    heard: set[str] = set()
    real_import = builtins.__import__

    def listening(name, *args, **kwargs):
        if name.split(".")[0] in HEAVY or name in ENGINE:
            heard.add(name if name in ENGINE else name.split(".")[0])
        return real_import(name, *args, **kwargs)

    def load_gx(load=gx._gx):
        heard.add("great_expectations")
        return load()

    monkeypatch.setattr(builtins, "__import__", listening)
    monkeypatch.setattr(gx, "_gx", load_gx)
    pipeline.tick()  # everything new: the suites and the engine run
    assert {"great_expectations", "pipelines.matching.match"} <= heard, "work loads them (else this proves nothing)"
    pipeline.tick()  # reads back the owners the first tick pushed
    heard.clear()

    quiet = pipeline.tick()

    assert heard == set()
    for stage in ("unified", "enriched", "account_master", "lead_match"):
        assert quiet.metadata[stage]["stage/skipped"] == "no new rows", stage
    assert {name: md.get("stage/rows") for name, md in quiet.check_metadata.items() if md.get("stage/rows")} == {}


def test_asking_whether_matching_has_work_loads_no_normaliser():
    # A fresh interpreter: in this one, earlier tests have loaded everything already.
    code = ("import sys, pipelines.matching.pending, pipelines.enrich.pending; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{sorted(HEAVY)!r} or m == 'pipelines.matching.keys'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_new_phone_is_placed_from_the_warehouse_without_loading_the_geocoder(pipeline, crm, monkeypatch):
    # phonenumbers' geocoder is 40 MB of place names in 30 languages (about a second to import); a tick
    # reads the English names the first tick kept in the warehouse.
    from pipelines.enrich import phones

    def new_process():  # nothing memoised, as in a new tick process
        for ref in (phones.PLACES, phones.COUNTRY_NAMES):
            monkeypatch.setattr(ref, "_frame", None)

    crm.lead(company="ACME", email="jo@acme.com", country="USA", Phone="(415) 555-0123")
    new_process()
    pipeline.tick()  # builds the place tables once and keeps them
    new_process()
    crm.now = pipeline.now  # the next lead comes in after that tick
    heard: set[str] = set()
    real_import = builtins.__import__

    def listening(name, *args, **kwargs):
        if name.startswith(("phonenumbers.geodata", "phonenumbers.geocoder")):
            heard.add(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", listening)
    new = crm.lead(company="Globex", email="al@globex.de", country="Germany", Phone="030 1234567")
    pipeline.tick()
    monkeypatch.setattr(builtins, "__import__", real_import)

    assert heard == set()
    row = pipeline.query("SELECT phone_country, phone_region, phone_area_code FROM lead_enriched WHERE lead_id = ?",
                         [new]).iloc[0]
    assert row.tolist() == ["DE", "Berlin", "30"]


def test_a_crm_gone_quiet_is_read_from_its_watermark_not_five_minutes_before_it_every_tick(pipeline, crm):
    """The extract reads five minutes (the overlap) before its watermark, the latest SystemModstamp it
    has seen, for records that show up late: committed after a read, stamped before it. A read more
    than five minutes after the watermark saw every record stamped up to it, so the read after that
    starts just past the watermark: a CRM gone quiet for the night is not read again, five minutes of
    it (after a burst of pushes, every owner written), tick after tick."""
    crm.account("Acme Corp", owner=AVA, created=NOW - timedelta(minutes=4))
    crm.account("Globex GmbH", owner=LUKAS, created=NOW - timedelta(minutes=2))  # the watermark: NOW - 2 min

    def accounts_read(minutes: int) -> int:
        return pipeline.tick(NOW + timedelta(minutes=minutes)).metadata["raw_crm"]["account_extracted"]

    assert accounts_read(0) == 2, "the first read: everything"
    late = crm.account("Initech", owner=AVA, created=NOW - timedelta(minutes=3))  # committed after that read
    assert accounts_read(1) == 3, "the last read came 2 minutes after the watermark: a record stamped before " \
                                  "it could still show up, and one did (the overlap)"
    assert accounts_read(8) == 3, "the last read came 3 minutes after the watermark: the overlap again"
    assert accounts_read(14) == 0, "the last read came 10 minutes after the watermark: from just past it"
    crm.account("Umbrella plc", owner=LUKAS, created=NOW + timedelta(minutes=11))  # committed after the read at 14
    assert accounts_read(20) == 1, "a record stamped past the watermark is read, however late it shows up"
    assert pipeline.query("SELECT count(*) AS n FROM account WHERE account_id = ?", [late]).iloc[0]["n"] == 1


# (what changed behind the master's back, SQL that does it to a settled warehouse)
MASTER_WORK = [
    ("an account edited", "UPDATE account SET _modstamp = _modstamp + INTERVAL 1 MINUTE WHERE account_id = $a"),
    ("an account deleted", "UPDATE account SET is_deleted = true WHERE account_id = $a"),
    ("an account gone", "DELETE FROM account WHERE account_id = $a"),
    ("keys of an older key version", "UPDATE account_match_key SET _key_version = _key_version - 1 WHERE account_id = $a"),
    ("a master row missing", "DELETE FROM account_master WHERE account_id = $a"),
    ("keys missing", "DELETE FROM account_match_key WHERE account_id = $a"),
]


@pytest.mark.parametrize(("changed", "sql"), MASTER_WORK, ids=[m[0] for m in MASTER_WORK])
def test_the_master_stage_finds_work_in_whatever_moved_its_accounts(pipeline, crm, changed, sql):
    """A quiet tick learns that the master is current from the versions' digests of the accounts and
    their keys; whatever else changed, it counts the work as before."""
    import duckdb

    from pipelines.matching.pending import master_work

    acme = crm.account("Acme Corp", website="https://www.acme.com", owner=AVA, state="CA")
    crm.account("Globex GmbH", website="https://globex.de", owner=LUKAS)
    pipeline.tick()
    with duckdb.connect(str(pipeline.warehouse)) as con:
        assert master_work(con) == 0, "settled: nothing to do (else this proves nothing)"
        con.execute(sql, {"a": acme})
        assert master_work(con) > 0

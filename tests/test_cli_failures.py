"""A failing command says its cause, and what to do, in one line on stderr, with an exit status a script can
read: 1 the command ran and found a problem (no such lead, a tick that did not run to the end, busy
warehouse included), 2 it could not do its work (bad arguments, no warehouse yet, a busy warehouse to read). No traceback without -v, and no command
creates an empty warehouse as a side effect."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner

from pipelines.cli import cli


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Paths of a machine where nothing has run yet."""
    paths = {"LEADROUTE_WAREHOUSE": tmp_path / "data" / "warehouse.duckdb", "LEADROUTE_CRM_PATH": tmp_path / "crm.sqlite",
             "LEADROUTE_DATA": tmp_path / "data"}
    for name, path in paths.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("LEADROUTE_BUSY_WAIT", "0")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return paths


def empty_warehouse(path) -> None:
    """A warehouse as the first tick creates it, before any lead."""
    from pipelines.crm.fields import load_field_mapping
    from pipelines.warehouse import db
    from tests.conftest import RULES

    with db.connect(path) as con:
        db.migrate(con, load_field_mapping(RULES / "fields.yaml").mapped_columns())


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line(result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    return lines[-1]


@pytest.mark.parametrize("args", [["explain", "00Q000000000000001"], ["report"],
                                  ["backfill", "--from", "2026-11-01", "--to", "2026-11-20", "--dry-run"],
                                  ["rep", "pause", "Liam Walsh", "--reason", "sick"], ["rep", "status"],
                                  ["pool", "credit", "Zoe Kim", "--pool", "inbound_sdr", "--reason", "junk"],
                                  ["assign", "00Q000000000000001", "--to", "Zoe Kim", "--reason", "by hand"]])
def test_no_warehouse_yet_is_one_line_and_creates_none(env, args):
    result = run(*args)
    assert result.exit_code == 2
    wh = env["LEADROUTE_WAREHOUSE"]
    assert one_line(result).startswith(f"Error: No warehouse at {wh} yet: ")
    assert one_line(result).endswith("Run a tick first (`leadroute tick`, or `make demo`).")
    assert not wh.exists() and not wh.parent.exists(), "nothing created as a side effect"


@pytest.mark.parametrize(("args", "message"), [
    (["tick", "--now", "yesterday"],
     "Error: Invalid value for '--now': 'yesterday' is not a time; use ISO 8601 in UTC, e.g. 2026-11-20T15:00 "
     "(or with a zone, 2026-11-20T16:00+01:00)"),
    (["demo", "trickle", "--leads", "-5"], "Error: Invalid value for '--leads': -5 is not in the range x>=1."),
    (["demo", "activity", "--now", "2026-11-20T15:00", "--touch", "1.5"],
     "Error: Invalid value for '--touch': 1.5 is not in the range 0<=x<=1."),
    (["report", "--ticks", "0"], "Error: Invalid value for '--ticks': 0 is not in the range x>=1."),
    (["rep", "pause", "Liam Walsh", "--reason", "sick", "--now", "yesterday"],
     "Error: Invalid value for '--now': 'yesterday' is not a time; use ISO 8601 in UTC, e.g. 2026-11-20T15:00 "
     "(or with a zone, 2026-11-20T16:00+01:00)"),
    (["pool", "credit", "Zoe Kim", "--pool", "inbound_sdr", "--reason", "junk", "--leads", "0"],
     "Error: Invalid value for '--leads': 0 is not in the range x>=1."),
])
def test_bad_arguments_are_refused_by_click_in_one_line(env, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert one_line(result) == message


def test_an_unknown_lead_exits_1(env):
    empty_warehouse(env["LEADROUTE_WAREHOUSE"])
    result = run("explain", "nobody@nowhere.example")
    assert result.exit_code == 1
    assert one_line(result) == (f"No lead matches 'nobody@nowhere.example' (an id, an email or a company name) in "
                                f"{env['LEADROUTE_WAREHOUSE']}. `leadroute report` lists lead ids to try.")


def test_a_busy_warehouse_names_the_process_that_holds_it(env):
    wh = env["LEADROUTE_WAREHOUSE"]
    empty_warehouse(wh)
    env["LEADROUTE_CRM_PATH"].write_text("")  # tick checks the CRM file exists before the warehouse
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
                               "sys.stdin.read()", str(wh)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        for args, status in ((["explain", "someone@example.com"], 2), (["tick"], 1)):
            result = run(*args)
            assert result.exit_code == status, result.output
            line = one_line(result)
            assert line.startswith(f"The warehouse {wh} is busy: process {holder.pid} (")
            assert line.endswith("has it open, and DuckDB lets one process open it at a time. "
                                 "Try again when that finishes.")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.slow
def test_invalid_rules_stop_the_tick_with_the_first_file_and_line(crm, rules_dir, tmp_path, monkeypatch):
    from tests.conftest import NOW

    crm.lead(company="Initech", email="bob@gmail.com", country="US", state="TX")
    flow = rules_dir / "flow.yaml"
    text = flow.read_text()
    assert "pool: inbound_sdr\n" in text
    flow.write_text(text.replace("pool: inbound_sdr\n", "pool: inbound_sdrs\n"))
    line_no = next(i for i, line in enumerate(flow.read_text().splitlines(), 1) if "pool: inbound_sdrs" in line)
    monkeypatch.setenv("LEADROUTE_RULES", str(rules_dir))
    monkeypatch.setenv("LEADROUTE_CRM_PATH", str(crm.path))
    monkeypatch.setenv("LEADROUTE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    result = run("tick", "--now", (NOW + timedelta(minutes=5)).isoformat())
    assert result.exit_code == 1
    assert result.stdout == ""
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"Rules invalid, nothing routed or pushed: {rules_dir.name}/flow.yaml:{line_no}: error: unknown pool 'inbound_sdrs' (did you "
        f"mean 'inbound_sdr'?). Leads wait in their intake queue; fix the rules (`leadroute validate` lists every "
        f"problem) and tick again."]


class Exited(Exception):
    pass


@pytest.mark.parametrize(("argv", "status", "without_teardown"), [
    (["tick", "--now", "yesterday"], 2, True),  # a tick's process ends with its status, skipping teardown
    (["tick"], 2, True),  # no CRM yet: still its status, and what it said is flushed
    (["validate", "--help"], 0, False),  # every other command exits the ordinary way
])
def test_the_process_exit_status_survives_the_exit_without_teardown(env, monkeypatch, capsys, argv, status,
                                                                    without_teardown):
    import pipelines.cli as entry
    from pipelines import gc_pause

    def fake_exit(code):
        raise Exited(code)

    monkeypatch.setattr(entry.os, "_exit", fake_exit)
    monkeypatch.setattr(entry, "_invoked", [])
    monkeypatch.setattr(entry, "_entry_point", False)  # main() sets them: restored for the next tests
    monkeypatch.setattr(gc_pause, "_one_command", False)
    monkeypatch.setattr(sys, "argv", ["leadroute", *argv])
    with pytest.raises((Exited, SystemExit)) as ended:
        entry.main()
    assert isinstance(ended.value, Exited) is without_teardown
    assert (ended.value.args[0] if without_teardown else ended.value.code) == status
    if argv == ["tick"]:
        assert "No local CRM" in capsys.readouterr().err
    assert gc_pause._one_command is without_teardown, "only a tick's process may freeze what it loads"

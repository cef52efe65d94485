"""The orgs file a deployment serves: checked when loaded, so a bad entry never starts a process."""

from __future__ import annotations

import os
import subprocess

import pytest

from pipelines.deploy.orgs import OrgError, load_orgs
from pipelines.deploy.procs import process_alive
from tests.conftest import ROOT


def write(tmp_path, text: str):
    path = tmp_path / "orgs.yaml"
    path.write_text(text)
    return path


def test_the_shipped_orgs_file_loads():
    orgs = load_orgs(ROOT / "deploy" / "production" / "orgs.yaml")
    assert [o.name for o in orgs.orgs] == ["leadroute"]


@pytest.mark.parametrize(("entry", "says"), [
    ("{name: a, port: 4266, env: {SALESFORCE_PASSWORD: hunter2}}", "must not be written in the file"),
    ("{name: a, port: 4266, env: {LEADROUTE_WAREHOUS: x.duckdb}}", "unknown variable(s) LEADROUTE_WAREHOUS"),
    ("{name: A B, port: 4266}", "LEADROUTE_ORG must be a short lower-case name"),
    ("{name: a, port: 4266, env: {LEADROUTE_CRM: hubspot}}", "LEADROUTE_CRM must be 'local' or 'salesforce'"),
    ("{name: a, port: 4266, env: {LEADROUTE_TICK_EVERY_SECONDS: soon}}", "whole number of seconds"),
])
def test_a_bad_org_is_refused_with_the_reason(tmp_path, entry, says):
    with pytest.raises(OrgError) as exc:
        load_orgs(write(tmp_path, f"orgs: [{entry}]"))
    assert says in str(exc.value) and "orgs.yaml" in str(exc.value)


def test_two_orgs_never_share_a_warehouse(tmp_path):
    text = """orgs:
  - {name: a, port: 4266, env: {LEADROUTE_WAREHOUSE: data/w.duckdb, LEADROUTE_CRM_PATH: data/a.sqlite}}
  - {name: b, port: 4267, env: {LEADROUTE_WAREHOUSE: data/./w.duckdb, LEADROUTE_CRM_PATH: data/b.sqlite}}"""
    with pytest.raises(OrgError, match="share a warehouse file"):
        load_orgs(write(tmp_path, text))


def test_an_orgs_environment_takes_secrets_from_the_host_and_nothing_from_another_org(tmp_path):
    orgs = load_orgs(write(tmp_path, """orgs:
  - name: north
    port: 4266
    env: {LEADROUTE_CRM: salesforce, LEADROUTE_WAREHOUSE: data/north.duckdb}
    env_from: {SALESFORCE_PASSWORD: NORTH_SF_PASSWORD}"""))
    host = {"PATH": "/usr/bin", "NORTH_SF_PASSWORD": "s3cret", "LEADROUTE_RULES": "other_rules",
            "SALESFORCE_USERNAME": "someone@else"}
    env = orgs.orgs[0].environment(host)
    assert env["SALESFORCE_PASSWORD"] == "s3cret" and env["LEADROUTE_ORG"] == "north"
    assert "LEADROUTE_RULES" not in env and "SALESFORCE_USERNAME" not in env
    with pytest.raises(OrgError, match="NORTH_SF_PASSWORD not set"):
        orgs.orgs[0].environment({"PATH": "/usr/bin"})


def test_a_dead_child_is_not_alive_even_before_it_is_reaped():
    child = subprocess.Popen(["true"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still a zombie
    assert not process_alive(child.pid)
    child.wait()
    assert process_alive(os.getpid())

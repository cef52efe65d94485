"""The Dagster code location: it loads, and its job, schedule and policy are what ops rely on."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.defs.policy import WRITER_TAG
from pipelines.defs.schedules import every_five_minutes


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from pipelines.definitions import defs as load

    return load()


def test_definitions_load_with_every_stage(defs):
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"raw_crm", "unified", "enriched", "account_master", "lead_match", "routing_rules",
            "routing_decision", "crm_push"} <= keys


def test_the_code_location_loads_as_a_code_server_loads_it(defs):
    # What `dagster code-server` and the UI do: every job built, every name unique (an asset and a job of
    # one name, for one, only fail here).
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert {"tick", "send_manager_digest"} <= {j.name for j in repo.get_all_jobs()}


def test_the_package_loader_finds_what_the_defs_folder_loader_finds(defs):
    # build_defs loads pipelines/defs as a package (0.3 s less per run process than the components'
    # folder loader): nothing the folder loader would find may be missing.
    from pathlib import Path

    import pipelines.defs

    def names(d: dg.Definitions) -> dict[str, set[str]]:
        repo = dg.Definitions.merge(d, dg.Definitions(resources=defs.resources)).get_repository_def()
        return {"assets": {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()},
                "checks": {str(k) for k in repo.asset_graph.asset_check_keys},
                "jobs": {j.name for j in repo.get_all_jobs()},
                "schedules": {s.name for s in repo.schedule_defs}, "sensors": {s.name for s in repo.sensor_defs}}

    folder = dg.load_from_defs_folder(path_within_project=Path(pipelines.defs.__file__).parent)
    assert names(defs) == names(folder)


def test_the_tick_job_runs_in_process_and_is_tagged_as_the_warehouse_writer(defs):
    job = defs.resolve_job_def("tick")
    assert job.executor_def.name == "in_process"
    assert job.tags.items() >= WRITER_TAG.items()


def test_the_schedule_runs_the_tick_every_five_minutes(defs):
    schedule = defs.resolve_schedule_def("every_five_minutes")
    assert schedule.cron_schedule == "*/5 * * * *"
    assert schedule.job_name == "tick"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_routing_is_guarded_by_a_blocking_rules_check(defs):
    checks = {k.name: k for k in defs.resolve_asset_graph().asset_check_keys}
    assert "rules_valid" in checks
    spec = defs.resolve_assets_def("routing_rules").get_spec_for_check_key(checks["rules_valid"])
    assert spec.blocking


@pytest.mark.parametrize(
    ("status", "skips"),
    [
        (dg.DagsterRunStatus.STARTED, True),
        (dg.DagsterRunStatus.NOT_STARTED, True),
        (dg.DagsterRunStatus.CANCELING, True),
        (dg.DagsterRunStatus.STARTING, True),
        (dg.DagsterRunStatus.SUCCESS, False),
        (dg.DagsterRunStatus.FAILURE, False),
    ],
)
def test_the_schedule_skips_while_a_writer_run_is_in_progress(defs, status, skips):
    from dagster._core.storage.dagster_run import DagsterRun

    with dg.instance_for_test() as instance:
        instance.add_run(DagsterRun(job_name="tick", run_id=f"run-{status.value.lower()}", status=status,
                                    tags=WRITER_TAG))
        result = every_five_minutes(dg.build_schedule_context(instance=instance))
    if skips:
        assert isinstance(result, dg.SkipReason)
        assert "still" in result.skip_message and "one writer" in result.skip_message
    else:
        assert isinstance(result, dg.RunRequest)


def test_a_backfill_in_progress_also_holds_the_schedule(defs):
    """Any run carrying the writer tag blocks a tick, not only runs of the tick job."""
    from dagster._core.storage.dagster_run import DagsterRun

    with dg.instance_for_test() as instance:
        instance.add_run(DagsterRun(job_name="reroute_backfill", run_id="bf", status=dg.DagsterRunStatus.STARTED,
                                    tags=WRITER_TAG))
        assert isinstance(every_five_minutes(dg.build_schedule_context(instance=instance)), dg.SkipReason)


def test_the_instance_config_limits_writer_runs_to_one():
    import yaml

    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    key, _ = next(iter(WRITER_TAG.items()))
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": key, "limit": 1} in limits

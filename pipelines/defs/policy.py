"""Project-wide run policy, in one place: the executor, one writer at a time, retries on CRM I/O.

- **Executor**: in-process. The multiprocess executor costs 15-28 s per run on a 2-core
  machine, and DuckDB takes one writing process per file anyway.
- **Concurrency**: every run that writes the warehouse (ticks, backfills) carries
  :data:`WRITER_TAG`; the instance allows one such run at a time (``deploy/dagster.yaml``
  ``tag_concurrency_limits``), so runs queue instead of colliding on DuckDB's single
  writer, and :func:`runs_in_progress` is the busy check the schedule and the in-process
  runner (:mod:`pipelines.runner`) make before starting one, after :func:`fail_dead_runs` has
  marked failed the runs whose process died (so a killed tick never holds the next one up).
- **Retries**: CRM calls fail transiently (timeouts, 503s); the stages that call the CRM
  are idempotent, so :data:`CRM_RETRY` retries them.
"""

import contextlib
import importlib
import warnings
from collections.abc import Iterator

import dagster as dg

from pipelines import gc_pause
from pipelines.defs.resources import default_resources
from pipelines.settings import Settings
from pipelines.sourcefile import ConfigError
from pipelines.warehouse import writer

EXECUTOR = dg.in_process_executor

# CRM calls fail transiently (timeouts, 503s); the stage is idempotent, so retrying it is safe.
CRM_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)

# Every run that writes the warehouse carries this tag; the instance allows one such run at a time
# (see dagster.yaml), so ticks and backfills queue instead of colliding on DuckDB's single writer.
# Its value is the org (LEADROUTE_ORG): each org has its own warehouse, so the production instance
# limits writers per value (deploy/production/dagster.yaml) and two orgs tick side by side.
WRITER_TAG = {"leadroute/warehouse": Settings.from_env().org}

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def runs_in_progress(instance: dg.DagsterInstance) -> list:
    """Runs that write the warehouse and have not finished (ticks and backfills alike)."""
    key, value = next(iter(WRITER_TAG.items()))
    return instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS, tags={key: value}), limit=5)


def status_words(status: dg.DagsterRunStatus) -> str:
    """A run status as a person says it ("waiting to start", not ``not_started``)."""
    return {
        dg.DagsterRunStatus.QUEUED: "queued",
        dg.DagsterRunStatus.NOT_STARTED: "waiting to start",
        dg.DagsterRunStatus.STARTING: "starting",
        dg.DagsterRunStatus.STARTED: "running",
        dg.DagsterRunStatus.CANCELING: "being canceled",
    }.get(status, status.value.lower().replace("_", " "))


@contextlib.contextmanager
def no_retry_for_config_errors() -> Iterator[None]:
    """Invalid settings or rules fail the step at once, with the first problem: retrying cannot fix a file."""
    try:
        yield
    except ConfigError as exc:
        more = f" (and {len(exc.problems) - 1} more: `leadroute validate`)" if len(exc.problems) > 1 else ""
        raise dg.Failure(f"invalid configuration: {exc.problems[0]}{more}", allow_retries=False) from None


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed, with the reason (shown in the UI's run log and tags), every writer run still marked
    in progress whose process is gone (kill -9, out of memory, a restart): no person has to clear it
    before ticks can move again. Returns one line per run marked."""
    marked = []
    for record in runs_in_progress(instance):
        run = record.dagster_run
        why = writer.gone(run.run_id, run.tags)
        if why is None:
            continue
        reason = f"marked failed by leadroute: {why}; the next tick reconciles what it may have written"
        instance.add_run_tags(run.run_id, {"leadroute/failed_because": why})
        instance.report_run_failed(run, reason)
        marked.append(f"run {run.run_id[:8]} ({run.job_name}) {reason}")
    return marked


def build_defs(resources: dict | None = None) -> dg.Definitions:
    """Everything in ``pipelines/defs/``, with the executor and the resources (from the environment by default).

    The modules of ``pipelines/defs/`` are loaded as a package, not through ``dg.load_from_defs_folder``:
    every run process (``leadroute tick``, a run the daemon launches) builds its definitions, and the
    components machinery behind the folder loader (a snapshot of every component library installed,
    read from entry points, and pyproject.toml read again) cost 0.3 s of CPU per process for a folder
    of plain Python modules. It finds the same assets, checks, jobs, schedules and sensors
    (``tests/test_definitions.py`` holds the two side by side); ``pipelines.defs`` stays the
    ``defs_module`` of pyproject.toml for ``dg``. Every such process runs stages, so the garbage
    collector is set to collect less often here (:func:`pipelines.gc_pause.collect_less_often`).
    """
    gc_pause.collect_less_often()
    with warnings.catch_warnings():  # preview in Dagster 1.13 (its signature is pinned by constraints.txt)
        warnings.simplefilter("ignore", dg.PreviewWarning)  # and BetaWarning: as quiet as the folder loader
        warnings.simplefilter("ignore", dg.BetaWarning)
        found = dg.load_definitions_from_package_module(importlib.import_module(__package__))
    return dg.Definitions.merge(found, dg.Definitions(executor=EXECUTOR, resources=resources or default_resources()))

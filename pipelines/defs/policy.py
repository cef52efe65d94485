"""Project-wide run policy, in one place: the executor, one writer at a time, retries on CRM I/O.

- **Executor**: in-process. The multiprocess executor costs 15-28 s per run on a 2-core
  machine, and DuckDB takes one writing process per file anyway.
- **Concurrency**: every run that writes the warehouse (ticks, backfills) carries
  :data:`WRITER_TAG`; the instance allows one such run at a time (``deploy/dagster.yaml``
  ``tag_concurrency_limits``), so runs queue instead of colliding on DuckDB's single
  writer, and :func:`runs_in_progress` is the busy check the schedule and the in-process
  runner (:mod:`pipelines.runner`) make before starting one.
- **Retries**: CRM calls fail transiently (timeouts, 503s); the stages that call the CRM
  are idempotent, so :data:`CRM_RETRY` retries them.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipelines.defs.resources import default_resources
from pipelines.sourcefile import ConfigError

EXECUTOR = dg.in_process_executor

# CRM calls fail transiently (timeouts, 503s); the stage is idempotent, so retrying it is safe.
CRM_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)

# Every run that writes the warehouse carries this tag; the instance allows one such run at a time
# (see dagster.yaml), so ticks and backfills queue instead of colliding on DuckDB's single writer.
WRITER_TAG = {"leadroute/warehouse": "writer"}

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


def build_defs(resources: dict | None = None) -> dg.Definitions:
    """Everything in ``pipelines/defs/``, with the executor and the resources (from the environment by default)."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=EXECUTOR, resources=resources or default_resources()),
    )

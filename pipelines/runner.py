"""Running the tick job in-process: what ``leadroute tick``, ``leadroute backfill`` and the end-to-end tests call.

It runs the very job the schedule runs, with the same assets, checks and policy
(:mod:`pipelines.defs.policy`), against the instance in ``DAGSTER_HOME`` when set (so
the run shows in the UI) or a temporary one. It lives outside ``defs/`` because it is not
part of the code location: it drives it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from pipelines.defs.policy import build_defs, fail_dead_runs, runs_in_progress, status_words
from pipelines.defs.resources import default_resources
from pipelines.warehouse import writer
from pipelines.warehouse.errors import WarehouseBusy

# The run tags Dagster reads a partition range from (what a UI backfill with a single-run policy sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass
class TickOutcome:
    run_id: str
    success: bool
    seconds: float
    failures: list[str] = field(default_factory=list)  # step: message
    skipped: list[str] = field(default_factory=list)  # assets not materialized (e.g. a blocking check failed)
    metadata: dict[str, dict] = field(default_factory=dict)  # asset -> metadata values
    failed_checks: dict[str, str] = field(default_factory=dict)  # check name -> what it said
    dead_runs: list[str] = field(default_factory=list)  # runs found dead and marked failed before this one
    check_metadata: dict[str, dict] = field(default_factory=dict)  # check name -> metadata values (its cost)


@dataclass
class StageEvent:
    """One moment of a run, for a live display: a stage started, finished, failed, was skipped or will retry."""

    kind: str  # start | done | failed | skipped | retry
    stage: str
    rows: int | None = None  # dagster/row_count of what the stage materialized
    metadata: dict = field(default_factory=dict)
    message: str = ""


class TickBusy(RuntimeError):
    pass


def current_instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_job(job_name: str, *, resources: dict | None = None, instance: dg.DagsterInstance | None = None,
            tags: dict | None = None, run_config: dict | None = None, log_level: str = "INFO",
            on_event: Callable[[StageEvent], None] | None = None) -> TickOutcome:
    """Run a job of the code location in-process and report what happened (never raises for a failed step).

    One writer at a time, atomically: the warehouse's writer lock is taken first (a second tick
    started at the same moment is refused at once); then runs whose process died are marked
    failed, and a writer run still alive elsewhere (e.g. launched by the daemon) refuses the start.
    ``on_event`` hears each stage start and finish as it happens (``leadroute tick``'s live lines).
    """
    if instance is None:  # this run's own instance, closed with it (an ephemeral one's temporary folder too)
        with current_instance() as own:
            return run_job(job_name, resources=resources, instance=own, tags=tags, run_config=run_config,
                           log_level=log_level, on_event=on_event)
    resources = resources or default_resources()
    try:
        with writer.hold(resources["warehouse"].path, what=f"leadroute {job_name}"):
            dead = fail_dead_runs(instance)
            busy = runs_in_progress(instance)
            if busy:
                run = busy[0].dagster_run
                raise TickBusy(f"run {run.run_id[:8]} ({run.job_name}) is {status_words(run.status)} in Dagster; "
                               f"one writer at a time, try again when it finishes")
            outcome = _execute(job_name, resources, instance, tags or {}, run_config, log_level, on_event)
    except WarehouseBusy as exc:
        raise TickBusy(str(exc)) from None
    outcome.dead_runs = dead
    return outcome


def _execute(job_name: str, resources: dict, instance: dg.DagsterInstance, tags: dict, run_config: dict | None,
             log_level: str, on_event: Callable[[StageEvent], None] | None = None) -> TickOutcome:
    job = build_defs(resources).resolve_job_def(job_name)
    started = time.perf_counter()
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
    run_id = str(uuid.uuid4())
    tags = {**tags, **writer.process_tags(run_id)}
    if on_event is not None:
        instance.add_event_listener(run_id, _listener(on_event))
    result = job.execute_in_process(instance=instance, raise_on_error=False, tags=tags, run_config=config,
                                    run_id=run_id)
    seconds = time.perf_counter() - started
    failures = _failures(result.all_events)
    materialized, metadata = set(), {}
    for e in result.all_events:
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            event = e.step_materialization_data.materialization
            materialized.add(event.asset_key.to_user_string())
        elif e.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
            event = e.event_specific_data.asset_observation
        else:
            continue
        name = event.asset_key.to_user_string()
        values = {k: plain(v) for k, v in event.metadata.items()}
        if event.partition and name in metadata:  # one event per day: the run's numbers are their sums
            for k, v in values.items():
                old = metadata[name].get(k)
                both_numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (v, old))
                per_day = both_numbers and not k.startswith("range_")
                metadata[name][k] = old + v if per_day else v
        else:
            metadata[name] = values
    selected = [k.to_user_string() for k in job.asset_layer.executable_asset_keys] if hasattr(job, "asset_layer") else []
    skipped = sorted(set(selected) - materialized)
    checks, check_metadata = {}, {}
    for e in result.all_events:
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = e.event_specific_data
            check_metadata[evaluation.check_name] = {k: plain(v) for k, v in evaluation.metadata.items()}
            if not evaluation.passed:
                checks[evaluation.check_name] = evaluation.description or ""
    return TickOutcome(result.run_id, result.success and not failures, seconds, failures, skipped, metadata, checks,
                       check_metadata=check_metadata)


def plain(value):
    """A metadata value as plain Python: a table as a list of row dicts, anything else its ``value``."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(r.data) for r in value.records]
    return getattr(value, "value", value)


def _listener(on_event: Callable[[StageEvent], None]):
    """A Dagster event listener that turns step events into :class:`StageEvent` (called in the run's thread)."""
    pending: dict[str, dict] = {}

    def listen(entry) -> None:
        event = entry.get_dagster_event() if entry.is_dagster_event else None
        if event is None or not event.step_key:
            return
        step = event.step_key
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            on_event(StageEvent("start", step))
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.step_materialization_data.materialization
            pending[step] = {k: plain(v) for k, v in mat.metadata.items()}
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            md = pending.pop(step, {})
            rows = md.get("dagster/row_count")
            on_event(StageEvent("done", step, int(rows) if isinstance(rows, (int, float)) else None, md))
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            on_event(StageEvent("failed", step, message=_root_cause(event.event_specific_data.error)))
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            on_event(StageEvent("skipped", step))
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            on_event(StageEvent("retry", step, message=_root_cause(event.event_specific_data.error)))

    return listen


def _root_cause(error) -> str:
    """The innermost error message: what the user can act on, not Dagster's wrapper."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return (error.message if error is not None else "").strip().splitlines()[-1] if error is not None else ""


def _failures(events) -> list[str]:
    """One line per failed step with its real cause; after retries, the last attempt's cause."""
    last_retry: dict[str, str] = {}
    out = []
    for e in events:
        if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            last_retry[e.step_key] = _root_cause(e.event_specific_data.error)
        elif e.event_type == dg.DagsterEventType.STEP_FAILURE:
            cause = _root_cause(e.event_specific_data.error)
            if "max_retries" in cause and e.step_key in last_retry:
                cause = f"{last_retry[e.step_key]} (after retries)"
            out.append(f"{e.step_key}: {cause}")
    return out


def run_tick(*, resources: dict | None = None, instance: dg.DagsterInstance | None = None,
             tags: dict | None = None, log_level: str = "INFO",
             on_event: Callable[[StageEvent], None] | None = None) -> TickOutcome:
    """One tick: the job the five-minute schedule runs."""
    return run_job("tick", resources=resources, instance=instance, tags=tags, log_level=log_level,
                   on_event=on_event)


def run_backfill(start: date, end: date, *, dry_run: bool, resources: dict | None = None,
                 instance: dg.DagsterInstance | None = None, log_level: str = "INFO") -> TickOutcome:
    """One backfill run over the lead-creation days ``start``..``end`` (inclusive), as the UI launches it."""
    tags = {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()}
    run_config = {"ops": {"rerouted_leads": {"config": {"dry_run": dry_run}}}}
    job = "reroute_backfill_dry_run" if dry_run else "reroute_backfill"
    return run_job(job, resources=resources, instance=instance, tags=tags, run_config=run_config,
                   log_level=log_level)

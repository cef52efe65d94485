import dagster as dg

from pipelines.defs.policy import WRITER_TAG
from pipelines.warehouse import writer

TICK_ASSETS = ["raw_crm", "unified", "enriched", "account_master", "lead_match", "routing_rules",
               "routing_decision", "reroutes", "distribution_pools", "crm_push", "kpis"]

tick_job = dg.define_asset_job(
    "tick",
    selection=dg.AssetSelection.assets(*TICK_ASSETS),
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
    description="One routing tick: extract -> unify -> enrich -> master -> match -> route -> reroute -> push.",
)

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


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed, with the reason (shown in the UI's run log and tags), every writer run still marked
    in progress whose process is gone (kill -9, out of memory, a restart): no person has to clear it
    before ticks can move again. Returns one line per run marked."""
    marked = []
    for record in runs_in_progress(instance):
        run = record.dagster_run
        why = writer.gone(run.tags)
        if why is None:
            continue
        reason = f"marked failed by leadroute: {why}; the next tick reconciles what it may have written"
        instance.add_run_tags(run.run_id, {"leadroute/failed_because": why})
        instance.report_run_failed(run, reason)
        marked.append(f"run {run.run_id[:8]} ({run.job_name}) {reason}")
    return marked


@dg.schedule(cron_schedule="*/5 * * * *", job=tick_job, default_status=dg.DefaultScheduleStatus.RUNNING,
             execution_timezone="UTC")
def every_five_minutes(context: dg.ScheduleEvaluationContext):
    """A tick every five minutes, skipped (with the reason) while another writer run is in progress;
    a run whose process died is marked failed first, so it never holds the schedule up."""
    for line in fail_dead_runs(context.instance):
        context.log.warning(line)
    busy = runs_in_progress(context.instance)
    if busy:
        run = busy[0].dagster_run
        return dg.SkipReason(
            f"Run {run.run_id[:8]} ({run.job_name}) is still {run.status.value.lower()}; "
            f"the warehouse takes one writer at a time, so this tick is skipped."
        )
    return dg.RunRequest()

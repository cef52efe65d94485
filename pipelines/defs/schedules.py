import dagster as dg

from pipelines.defs.policy import WRITER_TAG

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


@dg.schedule(cron_schedule="*/5 * * * *", job=tick_job, default_status=dg.DefaultScheduleStatus.RUNNING,
             execution_timezone="UTC")
def every_five_minutes(context: dg.ScheduleEvaluationContext):
    """A tick every five minutes, skipped (with the reason) while another writer run is in progress."""
    busy = runs_in_progress(context.instance)
    if busy:
        run = busy[0].dagster_run
        return dg.SkipReason(
            f"Run {run.run_id[:8]} ({run.job_name}) is still {run.status.value.lower()}; "
            f"the warehouse takes one writer at a time, so this tick is skipped."
        )
    return dg.RunRequest()

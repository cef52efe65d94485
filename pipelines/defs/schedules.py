import dagster as dg

from pipelines.defs.policy import EXECUTOR, WRITER_TAG, fail_dead_runs, runs_in_progress

TICK_ASSETS = ["raw_crm", "unified", "enriched", "account_master", "lead_match", "routing_rules",
               "routing_decision", "reroutes", "distribution_pools", "crm_push", "kpis"]

tick_job = dg.define_asset_job(
    "tick",
    selection=dg.AssetSelection.assets(*TICK_ASSETS),
    executor_def=EXECUTOR,
    tags=WRITER_TAG,
    description="One routing tick: extract -> unify -> enrich -> master -> match -> route -> reroute -> push.",
)


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

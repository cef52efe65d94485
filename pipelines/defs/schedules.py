import dagster as dg

from pipelines.defs.policy import EXECUTOR, WRITER_TAG, runs_in_progress, status_words

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
    """A tick every five minutes, skipped (with the reason) while another writer run is in progress."""
    busy = runs_in_progress(context.instance)
    if busy:
        run = busy[0].dagster_run
        return dg.SkipReason(
            f"Run {run.run_id[:8]} ({run.job_name}) is still {status_words(run.status)}; the warehouse takes "
            f"one writer at a time, so this tick is skipped and the next one tries again in five minutes."
        )
    return dg.RunRequest()

import dagster as dg

from pipelines.defs.policy import EXECUTOR, WRITER_TAG, fail_dead_runs, runs_in_progress, status_words
from pipelines.settings import Settings

CADENCE = Settings.from_env()

TICK_ASSETS = ["raw_crm", "unified", "enriched", "account_master", "lead_match", "routing_rules",
               "routing_decision", "reroutes", "distribution_pools", "crm_push", "notifications", "kpis"]

tick_job = dg.define_asset_job(
    "tick",
    selection=dg.AssetSelection.assets(*TICK_ASSETS),
    executor_def=EXECUTOR,
    tags=WRITER_TAG,
    description="One routing tick: extract -> unify -> enrich -> master -> match -> route -> reroute -> push.",
)


def next_tick(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """A tick, or why not: skipped while another writer run of this org is in progress; a run whose
    process died is marked failed first, so it never holds the cadence up."""
    for line in fail_dead_runs(context.instance):
        context.log.warning(line)
    busy = runs_in_progress(context.instance)
    if busy:
        run = busy[0].dagster_run
        return dg.SkipReason(
            f"Run {run.run_id[:8]} ({run.job_name}) is still {status_words(run.status)}; the warehouse takes "
            f"one writer at a time, so this tick is skipped and the next one tries again."
        )
    return dg.RunRequest()


# The name stays `every_five_minutes` (the default cadence) so a deployment's schedule history
# carries over; LEADROUTE_TICK_CRON gives an org its own.
@dg.schedule(cron_schedule=CADENCE.tick_cron, job=tick_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED if CADENCE.tick_every_seconds
             else dg.DefaultScheduleStatus.RUNNING)
def every_five_minutes(context: dg.ScheduleEvaluationContext):
    """A tick on the org's cron schedule (every five minutes by default), skipped while a writer runs."""
    return next_tick(context)


@dg.sensor(job=tick_job, minimum_interval_seconds=CADENCE.tick_every_seconds or 60,
           default_status=dg.DefaultSensorStatus.RUNNING if CADENCE.tick_every_seconds
           else dg.DefaultSensorStatus.STOPPED)
def tick_every_n_seconds(context: dg.SensorEvaluationContext):
    """A sub-minute cadence cron cannot express (LEADROUTE_TICK_EVERY_SECONDS): the daemon evaluates it
    every N seconds (at best every five) and launches a tick unless a writer run is in progress.
    On instead of the cron schedule when the variable is set; the topology test ticks this way."""
    return next_tick(context)

"""Alerts on failed runs: Dagster's run-failure sensor, sent through apprise (pipelines/alerts.py).

The shipped example of the alerts the README's Deploying section lists: any failed run of this
code location (a tick, a backfill) sends one message naming the org, the run, the failed stage and
the cause to LEADROUTE_ALERT_URLS. The daemon evaluates it; it is on by default.
"""

import dagster as dg

from pipelines.alerts import Alert, alert_urls, failed_run_alert, send
from pipelines.settings import Settings


@dg.run_failure_sensor(name="alert_on_failed_run", default_status=dg.DefaultSensorStatus.RUNNING,
                       minimum_interval_seconds=30)
def alert_on_failed_run(context: dg.RunFailureSensorContext):
    """One alert per failed run of this org's code location."""
    run = context.dagster_run
    failures = context.get_step_failure_events()
    steps = sorted({e.step_key for e in failures if e.step_key})
    causes = [f"{e.step_key}: {_root_cause(e.event_specific_data.error)}" for e in failures
              if e.event_specific_data and e.event_specific_data.error]
    alert = failed_run_alert(Settings.from_env().org, run.job_name, run.run_id, steps,
                             "\n".join(causes) or context.failure_event.message or "")
    return deliver(context, alert)


def deliver(context, alert: Alert) -> dg.SkipReason | None:
    """Log the alert and send it to LEADROUTE_ALERT_URLS: the one channel every alert sensor uses. Without
    URLs the sensor's tick says it only logged; a notifier that cannot be reached fails the tick (the UI shows it)."""
    context.log.warning(alert.title)
    urls = alert_urls()
    if not urls:
        return dg.SkipReason(f"{alert.title} (LEADROUTE_ALERT_URLS is not set: logged only)")
    if not send(alert, urls):
        raise RuntimeError(f"Could not deliver the alert '{alert.title}' to every LEADROUTE_ALERT_URLS target.")
    return None


def _root_cause(error) -> str:
    """The innermost error's message: what a person can act on, not Dagster's wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = (error.message or "").strip().splitlines()
    return lines[-1] if lines else ""

"""Alerts for engineers after each tick: asset checks with severity on ``kpis``, delivered by a sensor.

The checks (:mod:`pipelines.ops.watch`: pushes failing, a queue growing, leakage, a rep over their
cap) run in every tick after the KPIs, never block it, and show in the UI on the ``kpis`` asset with
their severity and numbers. ``alert_on_watch`` reads the failed checks of each finished tick and
sends them, one message per tick, through the apprise channel of failed-run alerts
(``LEADROUTE_ALERT_URLS``); Dagster's sensor cursor makes it one message per run.
"""

import dagster as dg

from pipelines.alerts import Alert
from pipelines.defs.alerts import deliver
from pipelines.defs.resources import RulesResource, WarehouseResource
from pipelines.ops import watch
from pipelines.settings import Settings

SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}
WATCHES = {
    "pushes_failing": "CRM writes failed in this tick, or still pending after their retries.",
    "queue_growing": "A CRM queue holds more open leads than LEADROUTE_ALERT_QUEUE_MAX.",
    "leakage": "Leads assigned, never touched, past their SLA: more than LEADROUTE_ALERT_LEAKAGE_PCT percent.",
    "rep_over_cap": "A rep received more pool leads than their daily or weekly cap.",
}


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset="kpis", description=text, blocking=False) for name, text in WATCHES.items()])
def tick_watches(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, rules: RulesResource):
    con = warehouse.connection(rules.mapping())
    limits = {name: q.alert_over for name, q in rules.rules().queues.items()}
    for f in watch.watch_all(con, context.run.run_id, watch.Thresholds.from_env(), limits):
        if not f.passed:
            context.log.warning(f"{f.name}: {f.line}")
        yield dg.AssetCheckResult(asset_key="kpis", check_name=f.name, passed=f.passed, severity=SEVERITY[f.severity],
                                  description=f.line, metadata={k: v for k, v in f.numbers.items()})


def watch_alert(org: str, run_id: str, failed: list[tuple[str, str, str]]) -> Alert:
    """One message per tick: each failed watch with its severity and its line."""
    worst = "ERROR" if any(sev == "ERROR" for _, sev, _ in failed) else "WARN"
    return Alert(title=f"leadroute {org}: {len(failed)} watch(es) failed after tick {run_id[:8]} ({worst})",
                 body="\n".join(f"[{sev}] {name}: {line}" for name, sev, line in failed)
                 + f"\n\nSee the kpis asset's checks of run {run_id} in the Dagster UI.")


def failed_watches(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str, str]]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    out = []
    for r in records:
        e = r.event_log_entry.dagster_event.event_specific_data
        if e.check_name in WATCHES and not e.passed:
            out.append((e.check_name, e.severity.value, e.description or ""))
    return out


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="alert_on_watch",
                      default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=30)
def alert_on_watch(context: dg.RunStatusSensorContext):
    """After each successful tick: one alert listing the watches that failed, through LEADROUTE_ALERT_URLS."""
    run = context.dagster_run
    failed = failed_watches(context.instance, run.run_id)
    if not failed:
        return dg.SkipReason(f"run {run.run_id[:8]}: every watch passed")
    return deliver(context, watch_alert(Settings.from_env().org, run.run_id, failed))


TICKERS = ("every_five_minutes", "tick_every_n_seconds")  # pipelines/defs/schedules.py


def recent_ticks(context: dg.SensorEvaluationContext, limit: int) -> list[watch.Tick]:
    """The newest evaluations of this code location's tick schedule and tick sensor, newest first."""
    location = context.code_location_origin.location_name if context.code_location_origin else None
    ticks = []
    for state in context.instance.all_instigator_state():
        if state.name not in TICKERS or (location and state.repository_selector.location_name != location):
            continue
        for t in context.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=limit):
            ticks.append(watch.Tick(t.timestamp, t.status.value == "SKIPPED", t.skip_reason or ""))
    return sorted(ticks, key=lambda t: -t.at)


@dg.sensor(name="alert_on_skipped_ticks", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING)
def alert_on_skipped_ticks(context: dg.SensorEvaluationContext):
    """The tick schedule skipping LEADROUTE_ALERT_SKIPPED_TICKS times in a row: one alert per streak."""
    n = watch.Thresholds.from_env().skipped_ticks
    alerted = float(context.cursor) if context.cursor else None
    finding, since = watch.skipped_streak(recent_ticks(context, max(n, 50)), n, alerted)
    if finding.passed:
        return dg.SkipReason(finding.line)
    context.update_cursor(str(since))
    return deliver(context, Alert(title=f"leadroute {Settings.from_env().org}: {finding.line.split(';')[0]}",
                                  body=finding.line + "\n\nA writer run may be stuck: see the runs in progress in the "
                                  "Dagster UI; run monitoring fails a run whose process died."))

"""Alerts for engineers after each tick: the watches (pushes failing, a queue growing, leakage, a rep over
their cap) are asset checks with severity on `kpis`, and one message per tick lists the failed ones,
through the same apprise channel as failed runs (a local webhook on 127.0.0.1 stands in)."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.defs.watch import alert_on_watch
from pipelines.ops import watch
from pipelines.warehouse import db
from tests.conftest import LIAM
from tests.test_alerts import webhook  # noqa: F401  (the local webhook fixture)

pytestmark = pytest.mark.slow


def nowhere_leads(crm, n: int) -> list[str]:
    return [crm.lead(company=f"Nowhere {i}", email=f"x{i}@nowhere{i}.io", country="Atlantis") for i in range(n)]


def test_a_tick_over_a_threshold_shows_the_failed_check_and_alerts_once(pipeline, crm, webhook, monkeypatch):  # noqa: F811
    url, received = webhook
    monkeypatch.setenv("LEADROUTE_ALERT_URLS", url)
    monkeypatch.setenv("LEADROUTE_ORG", "north")
    monkeypatch.setenv("LEADROUTE_ALERT_QUEUE_MAX", "2")
    for i in range(3):  # three leads with no company and no email: the flow parks them in Unqualified_Hold
        crm.lead(company=None, email=None, country=None)
    nowhere_leads(crm, 2)
    outcome = pipeline.tick()

    checks = {e.check_name: e for e in (r.event_log_entry.dagster_event.event_specific_data for r in
              pipeline.instance.get_records_for_run(outcome.run_id,
                                                    of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records)
              if e.check_name in ("pushes_failing", "queue_growing", "leakage", "rep_over_cap")}
    assert sorted(checks) == ["leakage", "pushes_failing", "queue_growing", "rep_over_cap"]
    assert [c for c, e in checks.items() if not e.passed] == ["queue_growing"]
    failed = checks["queue_growing"]
    assert failed.severity == dg.AssetCheckSeverity.WARN
    queue = failed.description.split(" holds ")[0]
    held = pipeline.query(f"SELECT count(*) AS n FROM lead l JOIN crm_queue q ON l.owner_id = q.queue_id "
                          f"WHERE q.developer_name = '{queue}'")["n"][0]
    assert held > 2 and failed.description == f"{queue} holds {held} open leads (threshold 2)"

    run = pipeline.instance.get_run_by_id(outcome.run_id)
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_watch", dagster_instance=pipeline.instance, dagster_run=run,
        dagster_event=next(iter(pipeline.instance.get_records_for_run(
            outcome.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records)).event_log_entry.dagster_event)
    alert_on_watch(context)
    assert len(received) == 1
    assert received[0]["title"] == f"leadroute north: 1 watch(es) failed after tick {outcome.run_id[:8]} (WARN)"
    assert received[0]["message"].startswith(f"[WARN] queue_growing: {queue} holds {held} open leads (threshold 2)")


def test_each_watch_fails_on_what_it_watches(pipeline, crm):
    nowhere_leads(crm, 3)
    outcome = pipeline.tick()
    t = watch.Thresholds.from_env({})
    with db.connect(pipeline.warehouse) as con:
        assert all(f.passed for f in watch.watch_all(con, outcome.run_id, t))
        waiting = con.execute("SELECT q.developer_name, count(*) FROM lead l JOIN crm_queue q ON l.owner_id = q.queue_id "
                              "GROUP BY ALL ORDER BY 2 DESC LIMIT 1").fetchall()[0]
        queue, n = waiting[0], int(waiting[1])
        assert watch.queue_growing(con, t, {queue: n}).passed, "at its own threshold (queues.yaml alert_over)"
        tight = watch.queue_growing(con, t, {queue: n - 1})
        assert not tight.passed and tight.line == f"{queue} holds {n} open leads (threshold {n - 1})"
        con.execute("UPDATE pool_member_state SET assigned_today = daily_cap + 1 WHERE user_id = ? AND pool = 'inbound_sdr'",
                    [LIAM])
        over = watch.rep_over_cap(con)
        assert not over.passed and over.line.startswith("Liam Walsh in inbound_sdr: 61 today (cap 60)")
        con.execute("UPDATE ledger SET status = 'failed', last_run_id = ? WHERE rowid IN (SELECT min(rowid) FROM ledger)",
                    [outcome.run_id])
        pushes = watch.pushes_failing(con, outcome.run_id, t)
        assert not pushes.passed and pushes.numbers == {"failed": 1, "stuck": 0}
        con.execute("UPDATE kpi SET value = 35 WHERE run_id = ? AND measure = 'leakage_pct' AND dimension = ''",
                    [outcome.run_id])
        con.execute("INSERT INTO kpi SELECT ?, now()::TIMESTAMP, 'leakage_pct', '', 35 WHERE NOT EXISTS "
                    "(SELECT 1 FROM kpi WHERE run_id = ? AND measure = 'leakage_pct' AND dimension = '')",
                    [outcome.run_id, outcome.run_id])
        leak = watch.leakage(con, outcome.run_id, t)
        assert not leak.passed and leak.line.startswith("leakage 35% of open assignments (threshold 20%)")


@pytest.mark.parametrize("env, error", [
    ({"LEADROUTE_ALERT_QUEUE_MAX": "many"}, "LEADROUTE_ALERT_QUEUE_MAX"),
    ({"LEADROUTE_ALERT_LEAKAGE_PCT": "120"}, "LEADROUTE_ALERT_LEAKAGE_PCT"),
])
def test_a_bad_threshold_names_its_variable(env, error):
    with pytest.raises(ValueError, match=error):
        watch.Thresholds.from_env(env)


def ticks(*kinds: str) -> list[watch.Tick]:
    """Newest first: S skipped, R a run launched; one tick a minute, the newest at t=100."""
    return [watch.Tick(100 - 60 * i, k == "S", "run abc is still started" if k == "S" else "") for i, k in enumerate(kinds)]


@pytest.mark.parametrize("history, alerted_since, fires, since", [
    (ticks("S", "S", "R", "S", "S", "S"), None, False, None),  # two in a row: under the threshold of 3
    (ticks("S", "S", "S", "R"), None, True, -20),  # three in a row: fires, the streak began at t=-20
    (ticks("S", "S", "S", "S", "R"), -80, False, -80),  # the same streak, longer: already alerted
    (ticks("S", "S", "S"), -200, True, -20),  # a new streak after an alerted one
])
def test_the_schedule_skipping_n_ticks_in_a_row_alerts_once_per_streak(history, alerted_since, fires, since):
    finding, start = watch.skipped_streak(history, 3, alerted_since)
    assert (not finding.passed, start) == (fires, since)
    if fires:
        assert finding.line == "the tick schedule skipped 3 times in a row; last reason: run abc is still started"


def test_the_skipped_ticks_sensor_reads_the_schedules_ticks_and_alerts_once(webhook, monkeypatch):  # noqa: F811
    """The schedule's state and ticks as the daemon writes them into the instance (Dagster's own classes)."""
    import time

    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
    from dagster._core.scheduler.instigation import (InstigatorState, InstigatorStatus, ScheduleInstigatorData,
                                                     TickData, TickStatus)
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from pipelines.defs.watch import alert_on_skipped_ticks

    url, received = webhook
    monkeypatch.setenv("LEADROUTE_ALERT_URLS", url)
    monkeypatch.setenv("LEADROUTE_ORG", "north")
    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__), location_name="north")
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, "__repository__"), "every_five_minutes")
    state = InstigatorState(origin, InstigatorType.SCHEDULE, InstigatorStatus.DECLARED_IN_CODE,
                            ScheduleInstigatorData("*/5 * * * *", time.time()))
    with dg.instance_for_test() as instance:
        instance.add_instigator_state(state)
        for i, status in enumerate([TickStatus.SUCCESS] + [TickStatus.SKIPPED] * 3):
            instance.create_tick(TickData(
                instigator_origin_id=state.instigator_origin_id, instigator_name="every_five_minutes",
                instigator_type=InstigatorType.SCHEDULE, status=status, timestamp=1000.0 + 300 * i,
                selector_id=state.selector_id, run_ids=["r0"] if not i else [],
                skip_reason=f"Run r{i} is still started" if i else None))
        context = dg.build_sensor_context(instance=instance)
        alert_on_skipped_ticks(context)
        again = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        alert_on_skipped_ticks(again)
    assert [m["title"] for m in received] == ["leadroute north: the tick schedule skipped 3 times in a row"]
    assert received[0]["message"].startswith(
        "the tick schedule skipped 3 times in a row; last reason: Run r3 is still started")

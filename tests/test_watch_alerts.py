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

"""A failed run sends one alert, through apprise, to a webhook (a local HTTP server stands in)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from pipelines.defs.alerts import alert_on_failed_run


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()


@dg.op
def push_to_crm():
    raise RuntimeError("INVALID_SESSION_ID: the Salesforce session expired")


@dg.job
def tick():
    push_to_crm()


def failure_context(instance):
    result = tick.execute_in_process(instance=instance, raise_on_error=False)
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_failed_run", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event()).for_run_failure()


def test_a_failed_run_alerts_with_the_org_the_stage_and_the_cause(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("LEADROUTE_ALERT_URLS", url)
    monkeypatch.setenv("LEADROUTE_ORG", "north")
    with dg.instance_for_test() as instance:
        alert_on_failed_run(failure_context(instance))
    assert len(received) == 1
    message = received[0]
    assert message["title"].startswith("leadroute north: tick run ") and "failed in push_to_crm" in message["title"]
    assert "INVALID_SESSION_ID" in message["message"]


def test_without_alert_urls_the_failure_is_logged_and_the_sensor_says_so(webhook, monkeypatch):
    _, received = webhook
    monkeypatch.delenv("LEADROUTE_ALERT_URLS", raising=False)
    with dg.instance_for_test() as instance:
        result = alert_on_failed_run(failure_context(instance))
    assert isinstance(result, dg.SkipReason) and "LEADROUTE_ALERT_URLS is not set" in result.skip_message
    assert received == []


def test_an_unreachable_notifier_fails_the_sensor_tick_so_the_ui_shows_it(monkeypatch):
    monkeypatch.setenv("LEADROUTE_ALERT_URLS", "json://127.0.0.1:9/alerts")  # nothing listens on port 9
    with dg.instance_for_test() as instance, pytest.raises(RuntimeError, match="Could not deliver"):
        alert_on_failed_run(failure_context(instance))

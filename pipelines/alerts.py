"""Alerts to people: one message, sent through apprise to the URLs in LEADROUTE_ALERT_URLS.

apprise speaks to Slack, Teams, email, PagerDuty, a plain JSON webhook and dozens more from one
URL each (``slack://…``, ``mailtos://…``, ``json://host/path``). The URLs hold tokens, so they
come from the environment only and are never logged. Without them an alert is only logged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

ALERT_URLS_VAR = "LEADROUTE_ALERT_URLS"  # apprise URLs, separated by spaces or commas


@dataclass(frozen=True)
class Alert:
    title: str
    body: str


def split_urls(text: str) -> list[str]:
    """The apprise URLs a variable holds, separated by spaces or commas (alerts and notification channels)."""
    return [u for u in re.split(r"[\s,]+", text or "") if u]


def alert_urls(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return split_urls(env.get(ALERT_URLS_VAR, ""))


def failed_run_alert(org: str, job: str, run_id: str, steps: list[str], error: str) -> Alert:
    """What the on-call person needs: which org and run, which stage, the cause, what happens next."""
    where = f" in {', '.join(steps)}" if steps else ""
    return Alert(
        title=f"leadroute {org}: {job} run {run_id[:8]} failed{where}",
        body=(f"{error.strip() or 'No error message.'}\n\nNothing is lost: the next tick starts again from the "
              f"watermarks and pushes pending ledger rows once. If ticks keep failing, leads wait undecided; "
              f"see the run {run_id} in the Dagster UI."),
    )


def send(alert: Alert, urls: list[str]) -> bool:
    """Send to every URL; True when all accepted it. Never raises for a notifier that is down."""
    if not urls:
        return False
    import apprise

    notifier = apprise.Apprise()
    for url in urls:
        notifier.add(url)
    return bool(notifier.notify(title=alert.title, body=alert.body))

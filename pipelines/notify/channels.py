"""Where messages go, from the environment only: an SMTP URL for people, apprise URLs per named channel.

- ``LEADROUTE_NOTIFY_EMAIL_URL``: an apprise email URL (``mailtos://user:pass@smtp.example.com?from=...``,
  ``mailto://127.0.0.1:2525?from=leadroute@example.com``); each message adds its recipient's address
  from ``reps.csv`` (``to=``);
- ``LEADROUTE_NOTIFY_CHANNEL_<NAME>``: the apprise URLs (Slack, Microsoft Teams, a JSON webhook...,
  separated by spaces or commas) of the channel a rule names ``{channel: <name>}``.

The URLs hold passwords and tokens: they are read here, handed to apprise, and never logged or
stored (a failure's reason names the variable, not its value). One send tries a few times
(tenacity, its sleep injectable so tests never wait); the outbox retries across ticks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, wait_exponential

from pipelines.alerts import split_urls

EMAIL_URL_VAR = "LEADROUTE_NOTIFY_EMAIL_URL"
CHANNEL_VAR = "LEADROUTE_NOTIFY_CHANNEL_"  # + the channel's name in upper case
TRIES = 3  # within one send; the outbox tries again on later ticks


def channel_var(name: str) -> str:
    return CHANNEL_VAR + name.upper()


@dataclass(frozen=True)
class Delivery:
    """What one send came to: sent, skipped (nothing configured), or failed (retry on a later tick or not)."""

    status: str  # sent | skipped | failed
    reason: str = ""
    retry: bool = False


class Courier:
    """Sends one message through apprise to an email address or a named channel."""

    def __init__(self, environ: Mapping[str, str] | None = None, sleep: Callable[[float], None] = time.sleep,
                 tries: int = TRIES, wait_seconds: float = 1.0):
        self.env = os.environ if environ is None else environ
        self.sleep, self.tries, self.wait_seconds = sleep, tries, wait_seconds

    def urls(self, channel: str, address: str | None) -> tuple[list[str], str]:
        """The apprise URLs for a message and the variable they come from."""
        if channel == "email":
            url = self.env.get(EMAIL_URL_VAR, "").strip()
            if not url:
                return [], EMAIL_URL_VAR
            return [f"{url}{'&' if '?' in url else '?'}to={quote(address or '', safe='@')}"], EMAIL_URL_VAR
        var = channel_var(channel)
        return split_urls(self.env.get(var, "")), var

    def unconfigured(self, channel: str) -> str | None:
        """Why nothing can be sent on ``channel`` (no URL in its variable), or None when it is set."""
        urls, var = self.urls(channel, "")
        return None if urls else f"no channel configured: set {var}"

    def send(self, channel: str, address: str | None, subject: str, body: str) -> Delivery:
        if why := self.unconfigured(channel):
            return Delivery("skipped", why)
        urls, var = self.urls(channel, address)
        if channel == "email" and not address:
            return Delivery("failed", "no email address in reps.csv")
        import apprise

        notifier = apprise.Apprise()
        for url in urls:
            if not notifier.add(url):
                return Delivery("failed", f"{var} holds a URL apprise does not understand")
        log: list[str] = []

        def attempt() -> bool:
            with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as captured:
                ok = bool(notifier.notify(title=subject, body=body, body_format=apprise.NotifyFormat.TEXT))
            log.append(_redacted(captured.getvalue(), urls))
            return ok

        retrying = Retrying(stop=stop_after_attempt(self.tries), wait=wait_exponential(multiplier=self.wait_seconds, max=30),
                            retry=retry_if_result(lambda ok: not ok), sleep=self.sleep)
        try:
            retrying(attempt)
        except RetryError:
            said = next((line for line in reversed(log[-1].splitlines()) if line.strip()), "") if log else ""
            return Delivery("failed", f"{channel} did not take the message after {self.tries} tries"
                                      + (f": {said.strip()}" if said else ""), retry=True)
        return Delivery("sent")


def _redacted(text: str, urls: list[str]) -> str:
    """apprise's own words about a failure, without the URLs (they hold secrets)."""
    for url in urls:
        text = text.replace(url, "<url>")
    return text

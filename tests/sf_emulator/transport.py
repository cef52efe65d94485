"""The ``requests`` session through which simple-salesforce reaches the emulator.

simple-salesforce logs in at ``https://login.salesforce.com`` (or ``test.``,
or a My Domain for client credentials) and then talks to whatever instance the
login answered with. The session below redirects only those login hosts to the
emulator; instance calls go to ``https://127.0.0.1:PORT`` directly over real
TLS, verified against the test CA. Any other host is refused, so a test that
would otherwise leak to the network fails loudly instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

ORIGINAL_HOST_HEADER = "X-SF-Emulator-Original-Host"


class RedirectAdapter(HTTPAdapter):
    """Sends requests for a login host to the emulator, keeping path and query."""

    def __init__(self, target_netloc: str):
        super().__init__()
        self.target_netloc = target_netloc

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers[ORIGINAL_HOST_HEADER] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=self.target_netloc))
        return super().send(request, **kwargs)


class RefuseAdapter(BaseAdapter):
    """Fails every request: tests must never reach the network."""

    def send(self, request, **kwargs):
        raise requests.ConnectionError(f"sf_emulator: refusing to reach {request.url}: tests must not use the network")

    def close(self):
        pass


def make_session(netloc: str, ca_bundle: str, login_hosts) -> requests.Session:
    session = requests.Session()
    session.verify = ca_bundle
    # Environment proxies or a foreign REQUESTS_CA_BUNDLE must not change where or how we connect.
    session.trust_env = False
    refuse = RefuseAdapter()
    session.mount("https://", refuse)
    session.mount("http://", refuse)
    session.mount(f"https://{netloc}/", HTTPAdapter())
    for host in login_hosts:
        session.mount(f"https://{host}/", RedirectAdapter(netloc))
    return session

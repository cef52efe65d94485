"""The ``requests.Session`` every Salesforce call goes through.

simple-salesforce sets no timeout, so a hung connection would hang the tick; this
session puts one on every call. It keeps requests' standard environment handling
(``REQUESTS_CA_BUNDLE``, proxies) unless the caller hands in a session configured
otherwise. Because every call passes here — REST, Bulk API 2.0, SOAP, logins —
it is also where calls are counted by kind and where the org's own usage figure
(``Sforce-Limit-Info``) is read from each answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
from simple_salesforce import Salesforce

from pipelines.crm.base import CallCounter

_DATA = re.compile(r"/services/data/v[\d.]+/(?P<rest>.*)$", re.I)


def call_kind(method: str, url: str, headers) -> str:
    """What a request is, for the call counter: query, update, upsert, bulk_query, bulk_ingest, convert, login..."""
    path = requests.utils.urlparse(url).path
    low = path.lower()
    if low.rstrip("/").endswith("/services/oauth2/token"):
        return "login"
    if "/services/soap/u/" in low:
        action = (headers or {}).get("SOAPAction", "") if headers else ""
        return "login" if action.strip('"') == "login" else "convert"
    m = _DATA.search(path)
    rest = (m.group("rest") if m else "").lower()
    if rest.startswith(("query", "queryall")):
        return "query"
    if rest.startswith("jobs/query"):
        return "bulk_query"
    if rest.startswith("jobs/ingest"):
        return "bulk_ingest"
    if rest.startswith("composite/sobjects"):
        return "upsert" if method.upper() == "PATCH" and rest.count("/") >= 3 else "update"
    if rest.endswith("/describe"):
        return "describe"
    if rest.startswith("limits"):
        return "limits"
    return "other"


class ApiSession(requests.Session):
    """A session with a timeout on every call, a call counter, and the org's API usage.

    ``base`` lends its transport set-up (adapters, ``verify``, ``trust_env``...):
    tests hand in the emulator's session, production a plain one. ``on_usage`` is
    called with (used, limit) whenever an answer carries ``Sforce-Limit-Info``.
    """

    def __init__(self, timeout: tuple[float, float], counter: CallCounter,
                 on_usage: Callable[[int, int], None] | None = None, base: requests.Session | None = None):
        super().__init__()
        if base is not None:
            for attr in self.__attrs__:
                setattr(self, attr, getattr(base, attr))
        self.timeout = timeout
        self.counter = counter
        self.on_usage = on_usage

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        kind = call_kind(method, url, kwargs.get("headers"))
        if kind == "login":
            self.counter.logins += 1
        else:
            self.counter.add(kind)
        response = super().request(method, url, *args, **kwargs)
        header = response.headers.get("Sforce-Limit-Info")
        if header and self.on_usage is not None:
            # The parser behind simple-salesforce's ``sf.api_usage``, applied to every answer:
            # Bulk API 2.0 and SOAP calls bypass ``sf.api_usage``.
            usage = Salesforce.parse_api_usage(header).get("api-usage")
            if usage is not None:
                self.on_usage(int(usage.used), int(usage.total))
        return response

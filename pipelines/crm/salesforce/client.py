"""One Salesforce call, made safely: budget, bounded re-login, bounded retries, clear errors.

Every call the connector makes goes through :meth:`SalesforceClient.call`, which
decides what a failure means:

====================================  ===================================================
401 ``INVALID_SESSION_ID``            log in again, at most ``max_reauth`` times, then stop
403 ``REQUEST_LIMIT_EXCEEDED``        stop at once: the org's allowance is used up
500/502/503/504, timeouts, resets     retry with doubling waits, at most ``max_retries``;
                                      but a *write* with no answer (timeout, reset) is never
                                      sent again: it stops with ``OUTCOME_UNKNOWN`` and the
                                      push reads the records back before writing anything
an answer that is not the expected    stop with :class:`CrmResponseError`; never guessed at
shape (HTML, truncated JSON)
any other refusal (400 INVALID_FIELD  :class:`SalesforceRefused`: a clear error for a person
…, 403 INSUFFICIENT_ACCESS)           (usually the field mapping or the user's permissions)
====================================  ===================================================

"Stop" is :class:`CrmUnavailable`: the push keeps what is pending for the next tick.
Messages are scrubbed of every configured secret before they leave this module.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html import escape
from typing import TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from pipelines.crm.base import CallCounter, CrmResponseError, CrmUnavailable
from pipelines.crm.salesforce import auth
from pipelines.crm.salesforce.budget import ApiBudget
from pipelines.crm.salesforce.session import ApiSession
from pipelines.crm.salesforce.settings import SalesforceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
TRANSIENT_CODES = frozenset({"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"})


class SalesforceRefused(RuntimeError):
    """Salesforce refused a request for a reason a person must fix (a field, a permission)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(f"{code}: {message}")


class MalformedAnswer(Exception):
    """Raised inside a call when an answer does not have the shape the API documents."""

    def __init__(self, what: str, body: object):
        text = body if isinstance(body, str) else repr(body)
        super().__init__(f"{what}; got {text[:300]!r}")


class _Refusal(Exception):
    """A failed HTTP/SOAP answer, reduced to what the decision table needs."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}")


class SalesforceClient:
    """A logged-in simple-salesforce client plus the rules for calling it."""

    def __init__(self, settings: SalesforceSettings, http: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.counter = CallCounter()
        self.budget = ApiBudget(settings.api_budget_share, self.counter)
        self.http = ApiSession((settings.connect_timeout_seconds, settings.timeout_seconds), self.counter,
                               self.budget.observe, base=http)
        self.sleep = sleep
        self._secrets = settings.secrets()
        self._login: auth.Login | None = None
        self._sf: Salesforce | None = None

    # -- session -------------------------------------------------------------------------------

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._log_in()
        return self._sf

    def _log_in(self) -> None:
        try:
            self._login = self._transient_retry("login", lambda: auth.login(self.settings, self.http))
        except CrmUnavailable as exc:
            raise CrmUnavailable(exc.code, self.redact(str(exc).split(": ", 1)[-1])) from None
        self._sf = auth.client(self._login, self.settings, self.http)
        self._secrets.append(self._login.session_id)

    @property
    def session_id(self) -> str:
        self.sf  # noqa: B018 - logs in when needed
        return self._login.session_id

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        self.http.close()

    # -- the call ------------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[Salesforce], T], retry: bool = True, write: bool = False) -> T:
        """Run ``fn(sf)`` under the budget, re-login and retry rules. ``what`` names it in errors.

        ``retry=False`` for a step that must not be sent twice (a Bulk upload): a 5xx or a
        timeout then stops at once, and the caller decides.

        ``write=True`` for a call that changes records: when it was sent and no answer came
        back (a read timeout, a dropped connection) Salesforce may well have carried it out,
        and sending it again would write twice (a second owner change fires the org's flows
        and notifications again). It stops with ``OUTCOME_UNKNOWN``; the push then reads the
        records back and writes only those not yet at their target.
        """
        retries = reauths = 0
        max_retries = self.settings.max_retries if retry else 0
        while True:
            self.budget.check()
            try:
                try:
                    return fn(self.sf)
                except SalesforceError as exc:
                    raise _refusal(exc) from None
            except _Refusal as r:
                if r.status == 401 or r.code == "INVALID_SESSION_ID":
                    if not auth.can_refresh(self.settings):
                        raise CrmUnavailable(
                            "INVALID_SESSION_ID",
                            "Salesforce no longer accepts the session in SALESFORCE_SESSION_ID; set a fresh one, "
                            "or configure a login (SALESFORCE_USERNAME...) so leadroute can renew it itself.",
                        ) from None
                    if reauths >= self.settings.max_reauth:
                        raise CrmUnavailable(
                            "INVALID_SESSION_ID",
                            f"Salesforce rejected the session for {what} even after {reauths} new login(s); "
                            f"stopping for this tick. Check the user's session settings (IP ranges, timeout).",
                        ) from None
                    reauths += 1
                    log.warning("Salesforce session rejected during %s; logging in again (%d/%d)",
                                what, reauths, self.settings.max_reauth)
                    self._log_in()
                    continue
                if r.code == "REQUEST_LIMIT_EXCEEDED":
                    raise CrmUnavailable(
                        r.code, f"the org's daily API allowance is used up ({what} was refused: "
                                f"{self.redact(r.message)}). Everything stays pending for a later tick.") from None
                if r.status >= 500 and (r.code in TRANSIENT_CODES or r.status != 500 or not r.code):
                    retries = self._wait_or_stop(what, retries, max_retries, "SERVER_UNAVAILABLE",
                                                 f"HTTP {r.status} {r.code}: {r.message}")
                    continue
                raise SalesforceRefused(
                    r.code or f"HTTP_{r.status}",
                    f"Salesforce refused {what} (HTTP {r.status}): {self.redact(r.message)}. "
                    f"If a field is named, check routing_rules/fields.yaml with `leadroute crm check`; "
                    f"otherwise check the integration user's permissions.",
                ) from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                sent = not isinstance(exc, requests.ConnectTimeout)
                if write and sent:
                    raise CrmUnavailable(
                        "OUTCOME_UNKNOWN",
                        f"{what} got no answer ({type(exc).__name__}); Salesforce may have carried it out, so it is "
                        f"not sent again: the next push reads those records back first") from None
                code = "TIMEOUT" if isinstance(exc, requests.Timeout) else "SERVER_UNAVAILABLE"
                retries = self._wait_or_stop(what, retries, max_retries, code, type(exc).__name__)
            except requests.JSONDecodeError as exc:
                raise CrmResponseError(f"Salesforce's answer to {what} is not readable",
                                       self.redact(f"not JSON ({exc.msg}); it begins {exc.doc[:120]!r}")) from None
            except (MalformedAnswer, ET.ParseError) as exc:
                raise CrmResponseError(f"Salesforce's answer to {what} is not readable", self.redact(str(exc))) from None

    def _wait_or_stop(self, what: str, retries: int, max_retries: int, code: str, detail: str) -> int:
        if retries >= max_retries:
            raise CrmUnavailable(code, f"{what} failed {retries + 1} time(s), last: {self.redact(detail)}; "
                                       f"stopping for this tick, everything not answered stays pending.") from None
        wait = self.settings.retry_backoff_seconds * 2 ** retries
        log.warning("Salesforce %s: %s; retry %d/%d in %.1f s", what, detail, retries + 1, max_retries, wait)
        self.sleep(wait)
        return retries + 1

    def _transient_retry(self, what: str, fn: Callable[[], T]) -> T:
        retries = 0
        while True:
            try:
                return fn()
            except requests.Timeout as exc:
                retries = self._wait_or_stop(what, retries, self.settings.max_retries, "TIMEOUT", type(exc).__name__)
            except requests.ConnectionError as exc:
                retries = self._wait_or_stop(what, retries, self.settings.max_retries, "SERVER_UNAVAILABLE",
                                             type(exc).__name__)

    # -- SOAP (partner API): convertLead has no REST resource -----------------------------------

    def soap(self, sf: Salesforce, action: str, body: str) -> ET.Element:
        """POST one partner-API call; returns the ``<{action}Response>`` element or raises a refusal."""
        envelope = (
            f'<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV}" '
            f'xmlns:urn="{PARTNER}"><soapenv:Header><urn:SessionHeader><urn:sessionId>'
            f"{escape(sf.session_id)}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
            f"<soapenv:Body><urn:{action}>{body}</urn:{action}></soapenv:Body></soapenv:Envelope>"
        )
        url = f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}"
        resp = sf.session.post(url, data=envelope.encode("utf-8"),
                               headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action})
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            if resp.status_code >= 500:
                raise _Refusal(resp.status_code, "", resp.text[:200]) from None
            raise MalformedAnswer(f"{action} answered HTTP {resp.status_code} with no SOAP envelope",
                                  resp.text) from None
        body_el = root.find(f"{{{SOAPENV}}}Body")
        fault = body_el.find(f"{{{SOAPENV}}}Fault") if body_el is not None else None
        if fault is not None:
            code = (_child_text(fault, "faultcode") or "").split(":")[-1]
            raise _Refusal(401 if code == "INVALID_SESSION_ID" else resp.status_code, code,
                           _child_text(fault, "faultstring") or "")
        answer = body_el.find(f"{{{PARTNER}}}{action}Response") if body_el is not None else None
        if answer is None:
            raise MalformedAnswer(f"{action} answered without a {action}Response", resp.text)
        return answer


def _child_text(elem: ET.Element, name: str) -> str | None:
    """A child's text by local name: ``faultcode`` is unqualified in Salesforce's faults, but a
    default namespace on the envelope would qualify it."""
    for child in elem:
        if child.tag.rsplit("}", 1)[-1] == name:
            return (child.text or "").strip()
    return None


def _refusal(exc: SalesforceError) -> _Refusal:
    """simple-salesforce's exception -> (status, errorCode, message) from Salesforce's error body."""
    content = exc.content
    code, message = "", ""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        code, message = str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    elif isinstance(content, dict):
        code, message = str(content.get("errorCode") or content.get("error", "")), str(content.get("message", ""))
    else:
        message = (content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content))[:300]
    return _Refusal(int(exc.status or 0), code, message)

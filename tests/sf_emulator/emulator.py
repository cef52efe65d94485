"""The emulator object tests hold: org, clock, faults, request log, and the running server.

``handle`` is the single entry point for every HTTP request. It applies
injected faults first, then routes: SOAP (login, convertLead), OAuth token,
and the authenticated REST surface under ``/services/data/vXX.X/`` where the
session is checked, the daily API allowance enforced and counted, and every
response stamped with ``Sforce-Limit-Info`` as Salesforce does.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import auth, bulk, rest, soap
from .certs import ca_bundle_path, server_context
from .errors import ApiError, not_found
from .faults import Faults
from .server import Request, Response, TLSServer
from .store import INTEGRATION_USER_ID, Org, case_safe_suffix
from .transport import ORIGINAL_HOST_HEADER, make_session

ORG_ID = "00DEMU0000000012BA"
USERNAME = "integration@leadroute.example"
PASSWORD = "emulator-password"
SECURITY_TOKEN = "emulatortoken"
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
MY_DOMAIN = "leadroute.my.salesforce.com"

_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d)(?:/(.*))?$", re.I)


class Clock:
    """The org's clock. Runs with real time until ``set``; ``advance`` moves a set clock."""

    def __init__(self, source=None):
        self._source = source
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        if self._fixed is not None:
            return self._fixed
        now = self._source() if self._source else datetime.now(timezone.utc)
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def set(self, when: datetime) -> None:
        self._fixed = when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    def advance(self, seconds: float = 0, **delta) -> None:
        self._fixed = self.now() + timedelta(seconds=seconds, **delta)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    query: str = ""
    host: str = ""


class RequestLog(list):
    """Every request the emulator answered, in order (a list of LoggedRequest)."""

    def count(self, method: str | None = None, path_contains: str | None = None, status: int | None = None) -> int:
        return sum(1 for r in self
                   if (method is None or r.method == method.upper())
                   and (path_contains is None or path_contains.lower() in r.path.lower())
                   and (status is None or r.status == status))


class Emulator:
    """An in-memory Salesforce org behind a local HTTPS server.

    Use as a context manager or call ``start()`` / ``stop()``. See the package
    docstring for the API overview.
    """

    def __init__(self, *, api_version: str = "59.0", page_size: int = 2000, daily_api_limit: int = 100_000,
                 bulk_polls_in_progress: int = 1, clock=None, username: str = USERNAME,
                 password: str = PASSWORD, security_token: str = SECURITY_TOKEN, sqlite_path=None):
        self.api_version = api_version
        self.page_size = page_size
        self.daily_api_limit = daily_api_limit
        self.api_usage = 0
        # Leads whose convertLead asked Salesforce to email the new owner (sendNotificationEmail=true).
        self.notification_emails: list[str] = []
        self.bulk_polls_in_progress = bulk_polls_in_progress
        self.clock = clock if isinstance(clock, Clock) else Clock(clock)
        self.credentials = {"username": username, "password": password, "security_token": security_token}
        self.user_id = INTEGRATION_USER_ID
        self.org_id = ORG_ID
        self.org = Org(self.clock)
        self.faults = Faults(self)
        self.org.lock_check = self.faults.check_lock
        self.requests = RequestLog()
        self.sessions: dict[str, str] = {}
        self.cursors: dict[str, tuple] = {}
        self.jobs: dict[str, object] = {}
        self._ids = itertools.count(1)
        self._server: TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self._usage_lock = threading.Lock()
        self.internal_errors: list[str] = []
        if sqlite_path is not None:
            self.load_sqlite(sqlite_path)

    # ----- lifecycle -----
    def start(self) -> "Emulator":
        if self._server is None:
            self._server = TLSServer(self, server_context())
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                            name=f"sf_emulator:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server.server_address[1]

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def instance_url(self) -> str:
        return f"https://{self.netloc}"

    @property
    def ca_bundle_path(self) -> str:
        return ca_bundle_path()

    def requests_session(self):
        """A requests.Session trusting the test CA, with login hosts redirected here."""
        return make_session(self.netloc, self.ca_bundle_path, LOGIN_HOSTS + (MY_DOMAIN,))

    # ----- org data -----
    def load_sqlite(self, path) -> "Emulator":
        """Replace the org's schema and records with a local-CRM SQLite file."""
        locked = self.org.load_sqlite(path)
        if locked:
            self.faults.lock_records(locked, times=None)
        return self

    def insert(self, sobject: str, **values) -> str:
        """Seed a record without validation (system fields filled in). Returns its Id."""
        return self.org.seed(sobject, values)

    def patch(self, record_id: str, **values) -> None:
        """Change a stored record as test data, without validation (system fields too)."""
        self.org.patch(record_id, values)

    def writes(self, sobject: str | None = None, field: str | None = None, op: str | None = None) -> list:
        """Writes that stuck (``store.Write``), optionally only those of an object, setting a field, or an op."""
        with self.org.lock:
            return [w for w in self.org.write_log
                    if (sobject is None or w.sobject.lower() == sobject.lower())
                    and (field is None or field in w.values) and (op is None or w.op == op)]

    def get(self, record_id: str) -> dict | None:
        """A copy of the stored record with this Id (any object, deleted included)."""
        with self.org.lock:
            _, rec = self.org.find(record_id)
            return dict(rec) if rec is not None else None

    def records(self, sobject: str, include_deleted: bool = False) -> list:
        obj = self.org.object(sobject)
        with self.org.lock:
            return [dict(r) for r in self.org.records[obj.name].values() if include_deleted or not r.get("IsDeleted")]

    def field(self, sobject: str, name: str):
        """The mutable FieldDef of a field (e.g. to change ``length`` or ``external_id``)."""
        return self.org.object(sobject).field(name)

    @property
    def converted_statuses(self) -> set:
        return self.org.converted_statuses

    # ----- sessions -----
    def new_session(self, user_id: str | None = None) -> str:
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(48)}"
        self.sessions[token] = user_id or self.user_id
        return token

    def new_id(self, prefix: str) -> str:
        body = f"{prefix}EMU{next(self._ids):09d}"
        return body + case_safe_suffix(body)

    # ----- request handling -----
    def handle(self, req: Request) -> Response:
        try:
            resp = self._handle(req)
            if self.faults.take("lose", req.method, req.path):
                resp.lost = True
        except ApiError as err:
            resp = Response.error(err)
        except Exception:  # an emulator bug: answer like Salesforce's 500 and keep the trace for the test
            trace = traceback.format_exc()
            self.internal_errors.append(trace)
            resp = Response.error(ApiError(500, "UNKNOWN_EXCEPTION", f"sf_emulator internal error: {trace}"))
        if req.path.lower().startswith("/services/"):
            resp.headers.setdefault("Sforce-Limit-Info", f"api-usage={self.api_usage}/{self.daily_api_limit}")
        entry = LoggedRequest(req.method, req.path, resp.status,
                              "&".join(f"{k}={v[0]}" for k, v in req.query.items()),
                              req.header(ORIGINAL_HOST_HEADER) or req.header("Host") or "")
        with self._log_lock:
            self.requests.append(entry)
        return resp

    def _handle(self, req: Request) -> Response:
        rule = self.faults.take("slow", req.method, req.path)
        if rule:
            time.sleep(rule.seconds)
        rule = self.faults.take("fail", req.method, req.path)
        if rule:
            return Response(rule.status, rule.body)
        rule = self.faults.take("malformed", req.method, req.path)
        if rule:
            return Response(200, rule.body, rule.content_type)
        path = req.path
        low = path.lower()
        if low.startswith("/services/soap/u/") and req.method == "POST":
            return soap.handle(self, req)
        if low.rstrip("/") == "/services/oauth2/token" and req.method == "POST":
            return auth.token(self, req)
        if low.rstrip("/") == "/services/data":
            return Response.json(200, [{"label": "emulated", "url": f"/services/data/v{self.api_version}",
                                        "version": self.api_version}])
        m = _DATA_PATH.match(path)
        if not m:
            raise not_found()
        self._authorise(req)
        version, rest_path = m.group(1), m.group(2) or ""
        segs = [s for s in rest_path.split("/")]
        while segs and segs[-1] == "":
            segs.pop()
        with self.org.lock:
            if segs and segs[0].lower() == "jobs":
                return bulk.route(self, req, version, segs[1:])
            return rest.route(self, req, version, segs)

    def _authorise(self, req: Request) -> str:
        """Session check, expiry fault, daily limit; counts the call. Returns the user id."""
        token = auth.bearer(req)
        if token is None or token not in self.sessions or self.faults.take("expire", req.method, req.path):
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        self.count_api_call()
        return self.sessions[token]

    def count_api_call(self) -> None:
        with self._usage_lock:
            if self.api_usage >= self.daily_api_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_usage += 1

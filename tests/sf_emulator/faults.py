"""Fault injection: the failures a real org produces that tests must be able to provoke.

Each fault is a rule with a countdown (``times``; ``None`` means until
cleared) and an optional ``path_contains`` filter, consulted by the server
before (or, for locks, while) handling a request. Tests arm them explicitly::

    emu.faults.lock_records({lead_id}, times=1)
    emu.faults.fail_next(status=503, times=2, path_contains="/composite/sobjects")
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from .errors import RecordError

_DEFAULT_CODES = {500: "UNKNOWN_EXCEPTION", 502: "SERVER_UNAVAILABLE", 503: "SERVER_UNAVAILABLE",
                  504: "SERVER_UNAVAILABLE", 429: "REQUEST_LIMIT_EXCEEDED"}


@dataclass
class Rule:
    kind: str
    times: int | None
    path_contains: str | None = None
    method: str | None = None
    status: int = 0
    seconds: float = 0.0
    body: bytes | None = None
    content_type: str = "application/json"
    after: int = 0  # matching requests to let through before the rule starts
    rows: int = 0  # stop_bulk_job: rows processed before the job fails

    def applies(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path_contains or self.path_contains.lower() in path.lower()


class Faults:
    """The per-emulator fault switchboard. All methods are thread-safe."""

    def __init__(self, emulator):
        self._emu = emulator
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._locks: dict[str, int | None] = {}

    # ----- arming -----
    def lock_records(self, ids, times: int | None = 1) -> None:
        """The next ``times`` writes to each (18-character) id fail with UNABLE_TO_LOCK_ROW, per record."""
        with self._lock:
            for rid in ids:
                self._locks[rid] = times

    def unlock_records(self, ids=None) -> None:
        with self._lock:
            if ids is None:
                self._locks.clear()
            for rid in ids or ():
                self._locks.pop(rid, None)

    def exhaust_api_limit(self) -> None:
        """Use up the daily API allowance: further API calls get 403 REQUEST_LIMIT_EXCEEDED."""
        self._emu.api_usage = self._emu.daily_api_limit

    def expire_session(self, times: int | None = 1, after: int = 0, path_contains: str | None = None) -> None:
        """The next ``times`` authenticated calls get 401 INVALID_SESSION_ID (None: every call).

        With ``times=None`` use ``Salesforce`` methods (query, restful, ...), which give
        up after 3 re-logins, or a session-id client: ``sf.Lead.get`` with password
        auth re-logs in without bound (simple-salesforce issue #804).
        """
        self._add(Rule("expire", times, path_contains, after=after))

    def fail_next(self, status: int = 503, times: int | None = 1, path_contains: str | None = None,
                  method: str | None = None, error_code: str | None = None, message: str | None = None,
                  after: int = 0) -> None:
        """The next ``times`` matching requests (after letting ``after`` through) answer ``status``
        with a Salesforce error body."""
        code = error_code or _DEFAULT_CODES.get(status, "UNKNOWN_EXCEPTION")
        body = json.dumps([{"message": message or "injected failure", "errorCode": code, "fields": []}])
        self._add(Rule("fail", times, path_contains, method, status=status, body=body.encode(), after=after))

    def slow(self, seconds: float, path_contains: str | None = None, times: int | None = None,
             method: str | None = None, after: int = 0) -> None:
        """Matching requests wait ``seconds`` before being handled (clients see a read timeout; the
        request is still carried out afterwards, as a real server would)."""
        self._add(Rule("slow", times, path_contains, method, seconds=seconds, after=after))

    def lose_answer(self, path_contains: str | None = None, times: int | None = 1, method: str | None = None,
                    after: int = 0) -> None:
        """The next matching requests are carried out, then the connection drops before the answer: the
        client cannot tell whether the write landed (what a read timeout on a slow org amounts to)."""
        self._add(Rule("lose", times, path_contains, method, after=after))

    def malformed_next(self, path_contains: str | None = None, times: int | None = 1, body: bytes | str | None = None,
                       content_type: str = "application/json", method: str | None = None, after: int = 0) -> None:
        """The next matching requests get 200 with a body that is not the expected shape (and are
        not carried out)."""
        if body is None:
            body = b'{"unexpected": "shape", "hint": "sf_emulator malformed_next"}'
        if isinstance(body, str):
            body = body.encode()
        self._add(Rule("malformed", times, path_contains, method, status=200, body=body, content_type=content_type,
                       after=after))

    def stop_bulk_job(self, after_rows: int, message: str = "InvalidBatch : Failed to process all rows",
                      times: int | None = 1) -> None:
        """The next ingest job processes ``after_rows`` rows, then fails: the rest are reported in
        ``unprocessedrecords``, as when a real job hits a limit part-way."""
        self._add(Rule("bulk_stop", times, rows=after_rows, body=message.encode()))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._locks.clear()

    # ----- consulted by the server and the store -----
    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def take(self, kind: str, method: str, path: str) -> Rule | None:
        """The first armed rule of ``kind`` matching the request, counted down once."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and rule.applies(method, path):
                    if rule.after > 0:
                        rule.after -= 1
                        continue
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def check_lock(self, record_id: str) -> None:
        with self._lock:
            key = record_id
            if key not in self._locks:
                return
            left = self._locks[key]
            if left is not None:
                if left <= 0:
                    return
                self._locks[key] = left - 1
        raise RecordError("UNABLE_TO_LOCK_ROW",
                          f"unable to obtain exclusive access to this record or 1 records: {record_id}", [])

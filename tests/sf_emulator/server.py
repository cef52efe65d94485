"""The HTTP(S) layer: a threading stdlib server on 127.0.0.1 with TLS per connection.

Kept thin on purpose: it turns bytes into a ``Request``, asks the emulator for
a ``Response``, and writes it back with HTTP/1.1 keep-alive (simple-salesforce
reuses one ``requests`` session, so handshakes happen once per connection).
The TLS handshake runs in the connection's own thread, so a stuck client
cannot block the accept loop.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass, field as dc_field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .errors import ApiError

JSON = "application/json;charset=UTF-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: object
    body: bytes = b""

    def param(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default=None):
        return self.headers.get(name, default)

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"The request body is not valid JSON: {exc}") from None

    def text(self) -> str:
        return self.body.decode("utf-8-sig")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict = dc_field(default_factory=dict)
    lost: bool = False  # carried out, but the connection drops before the answer (faults.lose_answer)

    @classmethod
    def json(cls, status: int, obj, **headers) -> "Response":
        return cls(status, json.dumps(obj).encode(), JSON, dict(headers))

    @classmethod
    def error(cls, err: ApiError) -> "Response":
        return cls.json(err.status, err.body())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sf_emulator"
    timeout = 30

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        req = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True), self.headers, body)
        resp = self.server.emulator.handle(req)
        if resp.lost:
            self.close_connection = True
            return
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.status == 204:
            self.end_headers()
            return
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator, context: ssl.SSLContext):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.emulator = emulator
        self.context = context
        self._conns: set = set()
        self._conns_lock = threading.Lock()

    def finish_request(self, request, client_address):
        request.settimeout(_Handler.timeout)
        # Headers and body go out in separate writes; without NODELAY, Nagle plus
        # delayed ACKs add ~40 ms to every response.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._conns_lock:
            self._conns.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def close_connections(self) -> None:
        """Unblock keep-alive threads waiting for a next request."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

"""A local SMTP server and a local JSON webhook on 127.0.0.1: where the notification tests' messages land."""

from __future__ import annotations

import email
import json
import socket
import threading
from dataclasses import dataclass
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1: every message it accepts, as (to, subject, plain-text body)."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.mails: list[Mail] = []
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = email.message_from_bytes(envelope.content, policy=policy.default)
                text = msg.get_body(preferencelist=("plain",)).get_content()
                for to in envelope.rcpt_tos:
                    outer.mails.append(Mail(to, str(msg["Subject"]), text.replace("\r\n", "\n").strip()))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=leadroute@example.com"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class Webhook:
    """A JSON webhook on 127.0.0.1 (apprise ``json://``); answers ``status`` (500 to refuse)."""

    def __init__(self, status: int = 200):
        self.posts: list[dict] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get("Content-Length", 0))
                outer.posts.append({"path": self.path, **json.loads(self.rfile.read(size) or b"{}")})
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/{path}"

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

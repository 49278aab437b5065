"""Real receivers on 127.0.0.1 for the route tests: an HTTP server and an SMTP server (aiosmtpd), both on port 0.

Both record everything they receive and can be scripted to answer badly first (``[500, 500, 200]``, a 429 with
``Retry-After``, an SMTP ``451``), so the tests exercise the routes' real retry paths over real sockets.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from llmmon.alerts.model import Notification
from llmmon.config import SecretRef
from llmmon.errors import ConfigError

# --- notifications and secrets ----------------------------------------------------------------------------------

STARTED = dt.datetime(2026, 11, 2, 9, 30, 0, tzinfo=dt.UTC)
ENDED = dt.datetime(2026, 11, 2, 13, 45, 0, tzinfo=dt.UTC)


def make_notification(kind: str = "firing", **overrides: Any) -> Notification:
    """A golden-set regression alert; ``resolved`` gets an end time."""
    fields: dict[str, Any] = {
        "kind": kind,
        "alert_id": "a1b2c3d4e5f6a7b8c9d0",
        "dedup_key": "golden_pass_rate_drop:prod:customer_support:overall",
        "rule": "golden_pass_rate_drop",
        "severity": "critical",
        "summary": "pass rate 91.0% -> 84.5% on prod (customer_support)",
        "description": "McNemar p=0.003, drop 6.5 points (CI 3.1 to 9.8).",
        "labels": {"endpoint": "prod", "suite": "customer_support"},
        "value": 0.845,
        "threshold": 0.88,
        "started_at": STARTED,
        "ended_at": ENDED if kind == "resolved" else None,
        "links": {"run": "http://airflow.example/dags/golden_eval/runs/r1"},
    }
    fields.update(overrides)
    return Notification(**fields)


def resolver(values: dict[str, str]) -> Callable[[SecretRef], str]:
    """A SecretResolver over a dict keyed by env name (``airflow_connection`` refs always fail)."""

    def resolve(ref: SecretRef) -> str:
        if ref.env is not None and ref.env in values:
            return values[ref.env]
        raise ConfigError(f"secret {ref.describe()}: environment variable {ref.env} is not set")

    return resolve


def leaked(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[str]:
    """Log lines (message and traceback) that contain any of ``secrets``; the SMTP receiver's own log is ignored
    (aiosmtpd logs the raw AUTH exchange it receives, which is the test server's business, not llmmon's)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [formatter.format(r) for r in caplog.records if not r.name.startswith("mail.log")]
    return [line for line in lines if any(s in line for s in secrets)]


# --- HTTP receiver ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # header names lower-cased
    body: bytes
    at: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Callable[[Received], str] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def echo(status: int) -> Reply:
    """A reply quoting the request (path, Authorization, body) back: a route that put the reply into its error
    unscrubbed would leak whatever secret the request carried."""
    return Reply(status, lambda r: f"{r.path} {r.headers.get('authorization', '')} {r.body.decode()[:400]}")


class HttpReceiver:
    """Records each request; answers from ``script`` (ints or Replies, in order), then ``default``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[int | Reply] = []
        self.default = Reply(200, b"ok")
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                receiver._handle(self)

            do_GET = do_PUT = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)  # fast shutdown

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        got = Received(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body, time.monotonic())
        with self._lock:
            self.requests.append(got)
            reply = self.script.pop(0) if self.script else self.default
        if isinstance(reply, int):
            reply = Reply(reply, b"")
        if reply.delay_s:
            time.sleep(reply.delay_s)
        payload = reply.body(got) if callable(reply.body) else reply.body
        data = payload.encode() if isinstance(payload, str) else payload
        try:
            h.send_response(reply.status)
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass
        h.close_connection = True


@pytest.fixture()
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture()
def unused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP receiver ----------------------------------------------------------------------------------------------

SMTP_USER = "llmmon-bot"
SMTP_PASSWORD = "pw-Zq8!smtp-secret"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None  # the authenticated user, if any


class SmtpHandler:
    """aiosmtpd handler: records accepted mail; ``data_script``/``rcpt_script`` replies are used first."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.data_script: list[str] = []
        self.rcpt_script: list[str] = []
        self.connections = 0
        self.auth_attempts: list[tuple[str, bool]] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802, ANN001, ANN201
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001, ANN201
        if self.rcpt_script:
            return self.rcpt_script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
        if self.data_script:
            return self.data_script.pop(0)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, login))
        return "250 Message accepted for delivery"

    def authenticator(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN201
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _PortZeroController(Controller):
    # aiosmtpd connects to (hostname, port) to check the server is up; with port 0 it must first learn the port.
    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpReceiver:
    handler: SmtpHandler
    host: str
    port: int


@pytest.fixture()
def smtp_receiver() -> Iterator[SmtpReceiver]:
    handler = SmtpHandler()
    controller = _PortZeroController(
        handler,
        hostname="127.0.0.1",
        port=0,
        authenticator=handler.authenticator,
        auth_require_tls=False,  # plain AUTH is fine on loopback; the route itself is tested with security "none"
    )
    controller.start()
    yield SmtpReceiver(handler, "127.0.0.1", controller.port)
    controller.stop()

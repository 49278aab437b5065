"""Webhook route against a real HTTP receiver on 127.0.0.1: delivery, retries, and the URL kept secret."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmmon.alerts import post_webhook


@pytest.fixture()
def receiver():
    state = {"bodies": [], "statuses": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["bodies"].append(json.loads(body))
            status = state["statuses"].pop(0) if state["statuses"] else 200
            self.send_response(status)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook/s3cr3t-token"
    yield state
    server.shutdown()
    server.server_close()


def test_delivers_json(receiver):
    r = post_webhook(receiver["url"], {"alert": "x", "value": 0.5})
    assert (r.status, r.attempts, r.error) == ("sent", 1, None)
    assert receiver["bodies"] == [{"alert": "x", "value": 0.5}]


def test_retries_5xx_then_succeeds(receiver):
    receiver["statuses"] = [503, 500]
    r = post_webhook(receiver["url"], {"a": 1}, backoff_s=0, max_attempts=3)
    assert (r.status, r.attempts) == ("sent", 3)
    assert len(receiver["bodies"]) == 3


def test_client_error_is_not_retried_and_url_never_in_error(receiver):
    receiver["statuses"] = [404]
    r = post_webhook(receiver["url"], {"a": 1}, backoff_s=0)
    assert (r.status, r.attempts, r.error) == ("failed", 1, "HTTP 404")
    assert "s3cr3t" not in (r.error or "")


def test_unreachable_receiver_fails_after_attempts_without_leaking_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = post_webhook(f"http://127.0.0.1:{port}/hook/s3cr3t", {"a": 1}, backoff_s=0, max_attempts=2)
    assert r.status == "failed" and r.attempts == 2 and "s3cr3t" not in r.error and str(port) not in r.error

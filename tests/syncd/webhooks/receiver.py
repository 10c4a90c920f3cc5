"""A real webhook receiver for tests: an HTTP server that verifies Standard Webhooks
signatures with the ``standardwebhooks`` library and answers from a script.

Every request is recorded (time, path, ``webhook-id``, whether the signature
verified, the body's event positions, what was answered). ``script(path, n)``
decides the answer to the n-th request (0-based) on a path: ``"ok"`` (204),
``"gone"`` (410), ``"drop"`` (close the connection without an answer),
``("slow", seconds)`` (answer 204 after a delay: the client times out first),
``(status, retry_after | None)`` for any other status.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

Action = str | tuple[str, float] | tuple[int, str | None]
Script = Callable[[str, int], Action]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@dataclass
class Delivery:
    at: float
    path: str
    webhook_id: str
    verified: bool
    body: bytes
    answered: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def positions(self) -> list[int]:
        return [int(e["position"]) for e in self.payload.get("events", [])]


class Receiver:
    """The server and what it saw; ``url(path)`` for a subscription's config."""

    def __init__(self, secret: str, script: Script | None = None) -> None:
        self.secret = secret
        self.script: Script = script or (lambda _path, _n: "ok")
        self.deliveries: list[Delivery] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = handler.path
        with self._lock:
            n = self._counts.get(path, 0)
            self._counts[path] = n + 1
        action = self.script(path, n)
        headers = {k: v for k, v in handler.headers.items()}
        try:
            payload = Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            payload, verified = {}, False
        delivery = Delivery(time.monotonic(), path, headers.get("webhook-id", ""), verified,
                            body, str(action), payload if isinstance(payload, dict) else {})
        with self._lock:
            self.deliveries.append(delivery)
        if not verified:
            self._answer(handler, 401, None)
        elif action == "drop":
            handler.close_connection = True
            handler.connection.close()
        elif action == "ok":
            self._answer(handler, 204, None)
        elif action == "gone":
            self._answer(handler, 410, None)
        elif isinstance(action, tuple) and action[0] == "slow":
            time.sleep(float(action[1]))
            self._answer(handler, 204, None)
        elif isinstance(action, tuple) and isinstance(action[0], int):
            retry_after = action[1]
            self._answer(handler, action[0], retry_after if isinstance(retry_after, str) else None)
        else:
            raise AssertionError(f"unknown action {action!r}")

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, retry_after: str | None) -> None:
        try:
            handler.send_response(status)
            if retry_after is not None:
                handler.send_header("Retry-After", retry_after)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except OSError:
            pass  # the client gave up (timeout): it will retry

    def on(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]

    def acknowledged(self, path: str) -> list[Delivery]:
        """Requests answered 2xx (or late: the client may have given up on them)."""
        return [d for d in self.on(path) if d.verified and
                (d.answered == "ok" or d.answered.startswith("('slow'"))]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"receiver condition not met within {timeout}s; saw "
                             f"{[(d.path, d.webhook_id, d.answered) for d in self.deliveries]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiver(secret: str, script: Script | None = None) -> Iterator[Receiver]:
    r = Receiver(secret, script)
    r._thread.start()
    try:
        yield r
    finally:
        r.close()


def check_order_and_ids(deliveries: list[Delivery], expected: list[int]) -> None:
    """Every expected position arrived; in feed order; a repeat only under the same id.

    * each id always carried the same body (a retry is the same batch);
    * each position was carried by exactly one id;
    * ids (first sightings) cover increasing, non-overlapping position ranges;
    * the union of positions is ``expected``.
    """
    verified = [d for d in deliveries if d.verified]
    assert len(verified) == len(deliveries), "a request failed signature verification"
    bodies: dict[str, bytes] = {}
    owner: dict[int, str] = {}
    last = 0
    for d in verified:
        if d.webhook_id in bodies:
            assert bodies[d.webhook_id] == d.body, f"{d.webhook_id} changed between attempts"
            continue
        bodies[d.webhook_id] = d.body
        assert d.positions == sorted(d.positions) and d.positions, d.webhook_id
        assert d.positions[0] > last, f"{d.webhook_id} goes back before position {last}"
        last = d.positions[-1]
        for p in d.positions:
            assert p not in owner, f"position {p} in {owner.get(p)} and {d.webhook_id}"
            owner[p] = d.webhook_id
    assert sorted(owner) == sorted(expected), (sorted(owner), sorted(expected))


def events_of(delivery: Delivery) -> list[dict[str, Any]]:
    return list(delivery.payload.get("events", []))


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True)

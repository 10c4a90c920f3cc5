"""syncd.doctor's own checks: the store and the health port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from syncd.doctor import port_check, store_check
from syncd.store.database import Database


def test_unreachable_store_names_the_url_without_password() -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check = store_check(f"postgresql://syncd:hunter2-secret@127.0.0.1:{port}/syncd")
    assert check.failed and "cannot reach the store" in check.detail
    assert "hunter2-secret" not in check.detail
    assert "store.url" in check.fix


def test_migrated_sqlite_store_is_ok(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'syncd.db'}"
    empty = Database(url)
    try:
        empty.current_revision()  # creates the file: reachable, but no tables
        check = store_check(url)
        assert check.failed and check.fix == "run `syncd migrate`"
        empty.migrate()
    finally:
        empty.dispose()
    assert store_check(url).status == "ok"


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_port_served_by_a_running_daemon_is_a_warning(health_server: int) -> None:
    check = port_check("127.0.0.1", health_server)
    assert check.status == "warning" and "running syncd" in check.detail

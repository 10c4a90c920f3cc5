"""/readyz, /metrics and backoff through the real daemon, engine, IMAP provider and store.

* A stalled account (IMAP server that accepts and never answers) turns
  /readyz red within 2 poll intervals, naming that account; a healthy account
  next to it is not blamed.
* A transient failure (IMAP server refusing connections) backs the account
  off: state ``backing_off``, the job moved to the backoff time, failures
  counted; errors by class show in /metrics.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.config import load_settings
from syncd.daemon.service import Daemon
from syncd.store.database import Database
from syncd.store.queries import account_statuses
from syncd.sync.engine import SyncEngine
from tests.syncd.daemon.exposition import has_sample
from tests.syncd.daemon.test_service import make_maildir


class SilentServer:
    """Accepts TCP connections and never says a word (a hung IMAP server)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def daemon_for(tmp_path: Path) -> Iterator[Callable[[list[dict[str, Any]], dict[str, Any]],
                                                    Daemon]]:
    made: list[tuple[Daemon, Database]] = []

    def build(accounts: list[dict[str, Any]], scheduler: dict[str, Any]) -> Daemon:
        make_maildir(tmp_path / "mail", 5)
        data = {"state_dir": str(tmp_path / "state"),
                "health": {"host": "127.0.0.1", "port": 0},
                "logging": {"level": "info", "format": "json"},
                "scheduler": {"workers": 2, **scheduler},
                "organization": {"internal_domains": ["ourco.example"]},
                "accounts": accounts}
        path = tmp_path / "syncd.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        settings = load_settings(path)
        db = Database(settings.store_url)
        db.migrate()
        engine = SyncEngine(db, settings)
        daemon = Daemon(settings, engine, enable_reminders=False,
                        statuses=lambda: [s.to_dict() for s in account_statuses(db)])
        made.append((daemon, db))
        return daemon

    yield build
    for daemon, db in made:
        daemon.shutdown(grace_s=2)
        db.dispose()


def local(account_id: str, interval: float) -> dict[str, Any]:
    return {"id": account_id, "provider": "local", "owner": "rita@ourco.example",
            "interval": interval, "jitter": 0, "backfill_days": 36500, "maildirs": ["mail"]}


def imap(account_id: str, port: int, interval: float) -> dict[str, Any]:
    return {"id": account_id, "provider": "imap", "owner": "sam@ourco.example",
            "interval": interval, "jitter": 0, "host": "127.0.0.1", "port": port,
            "security": "plain", "username": "sam", "password": "s3cret-never-shown",
            "connect_timeout": 5, "read_timeout": 600}


def test_a_stalled_account_turns_readyz_red_within_two_intervals(
        daemon_for: Callable[[list[dict[str, Any]], dict[str, Any]], Daemon]) -> None:
    silent = SilentServer()
    interval = 1.5
    try:
        daemon = daemon_for([local("rita-local", interval), imap("sam-imap", silent.port,
                                                                 interval)], {})
        daemon.start()
        assert daemon.health is not None
        base = daemon.health.url
        started = time.monotonic()
        status, body = fetch(base + "/readyz")
        assert status == 200, body
        while time.monotonic() - started < 2 * interval + 5:
            status, body = fetch(base + "/readyz")
            if status == 503:
                break
            time.sleep(0.1)
        red_after = time.monotonic() - started
        assert status == 503, body
        assert red_after <= 2 * interval + 1.5, red_after
        doc = json.loads(body)
        assert doc["store"]["reachable"] is True
        assert [a["account"] for a in doc["overdue_accounts"]] == ["sam-imap"]
        assert doc["overdue_accounts"][0]["state"] == "syncing"
        assert silent.accepted  # the pass really is stuck on the server

        status, text = fetch(base + "/metrics")
        assert status == 200
        lag = {line.split("{")[1].split(",")[0]: float(line.rsplit(" ", 1)[1])
               for line in text.splitlines() if line.startswith("syncd_account_lag_seconds{")}
        assert lag['account="sam-imap"'] > 2 * interval
        assert lag['account="rita-local"'] < 2 * interval
        assert has_sample(text,
                          'syncd_passes_total{account="rita-local",provider="local",outcome="ok"}')
        assert 'syncd_account_state{account="sam-imap",provider="imap",state="syncing"} 1' in text
        assert "s3cret" not in text + body
    finally:
        silent.close()


def test_transient_failures_back_off_with_growing_delays(
        daemon_for: Callable[[list[dict[str, Any]], dict[str, Any]], Daemon]) -> None:
    daemon = daemon_for([imap("sam-imap", closed_port(), 3600)],
                        {"backoff_base": 0.2, "backoff_max": 0.4})
    daemon.start()
    runtime = daemon.runtime["sam-imap"]
    deadline = time.monotonic() + 20
    while runtime.passes < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    # interval is an hour: only backoff can have brought three passes this fast
    assert runtime.passes >= 3
    assert runtime.last_error_code == "transient"
    assert runtime.backoff_failures >= 3 or runtime.state == "syncing"
    assert daemon.health is not None
    status, text = fetch(daemon.health.url + "/metrics")
    assert status == 200
    assert has_sample(text,
                      'syncd_errors_total{account="sam-imap",provider="imap",class="transient"}')
    assert 'outcome="transient"' in text
    status, body = fetch(daemon.health.url + "/status")
    assert status == 200
    account = next(a for a in json.loads(body)["accounts"] if a["account"] == "sam-imap")
    assert account["state"] in ("backing_off", "syncing")
    assert account["last_error"]["code"] == "transient"
    assert account["daemon"]["backoff_failures"] >= 1 and account["daemon"]["lag_s"] >= 0
    assert "s3cret" not in body

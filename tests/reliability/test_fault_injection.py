"""Fault injection: about 10 % of connections or requests fail; sync completes, nothing lost.

* IMAP: a seeded TCP proxy in front of Dovecot resets 10 % of connections at
  once and cuts another 10 % at a random point of the server's answer (a
  connection dying mid-FETCH). With its read timeout short, a stalled
  connection would surface the same way.
* Gmail: the Google stand-in answers 10 % of API calls (seeded) with 429, 500
  or 503, or drops the connection; the provider's own retries are cut to one so
  failures reach the daemon too.
* Outlook (Graph stand-in): 10 % of Graph requests (seeded) get 429 with
  Retry-After, 500/503, or a dropped connection; provider retries cut to one.

Both run through the real daemon (in-process, real engine, real SQLite store)
whose backoff retries failed passes; the final store must equal that of a
fault-free run (normalized dump: interactions, participants, sources, threads).
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from syncd.config.model import Settings
from syncd.daemon.service import Daemon
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import DovecotServer, MailUser
from tests.generate import make_message
from tests.providers.google.conftest import REP, endpoints
from tests.reliability.storedump import describe_difference, dump_history
from tests.standins.google import GoogleStandIn
from tests.standins.google.control import FaultPlan, Rule
from tests.standins.graph.server import Fault, GraphStandIn

FAULT_RATE = 0.10


class FaultyProxy:
    """TCP proxy failing a seeded 10 % of IMAP requests.

    Each chunk the client sends (an IMAP command) draws once: 5 % of them
    reset the connection before the server sees the command, another 5 %
    reach the server but its answer is cut after a random number of bytes
    (a connection dying mid-FETCH). Connections themselves are also reset at
    accept 10 % of the time.
    """

    def __init__(self, target: tuple[str, int], *, seed: int, cut_within: int) -> None:
        self.target = target
        self.rng = random.Random(seed)
        self.cut_within = cut_within
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.connections = self.requests = self.resets = self.cuts = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _draw(self) -> tuple[float, int]:
        with self._lock:
            return self.rng.random(), self.rng.randrange(1, self.cut_within)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self._draw()[0] < FAULT_RATE:
                self.resets += 1
                _reset(client)
                continue
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            # budget[0]: bytes the server may still send before the cut (None: no cut)
            budget: list[int | None] = [None]
            threading.Thread(target=self._from_client, args=(client, upstream, budget),
                             daemon=True).start()
            threading.Thread(target=self._from_server, args=(upstream, client, budget),
                             daemon=True).start()

    def _from_client(self, client: socket.socket, upstream: socket.socket,
                     budget: list[int | None]) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                break
            if not data:
                break
            draw, cut = self._draw()
            self.requests += 1
            if draw < FAULT_RATE / 2:
                self.resets += 1
                break
            if draw < FAULT_RATE and budget[0] is None:
                budget[0] = cut
            try:
                upstream.sendall(data)
            except OSError:
                break
        _reset(client)
        _reset(upstream)

    def _from_server(self, upstream: socket.socket, client: socket.socket,
                     budget: list[int | None]) -> None:
        while True:
            try:
                data = upstream.recv(65536)
            except OSError:
                break
            if not data:
                break
            left = budget[0]
            if left is not None and len(data) >= left:
                with contextlib.suppress(OSError):
                    client.sendall(data[:left])
                self.cuts += 1
                break
            if left is not None:
                budget[0] = left - len(data)
            try:
                client.sendall(data)
            except OSError:
                break
        _reset(client)
        _reset(upstream)

    def close(self) -> None:
        self.listener.close()


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # wakes the other thread blocked on this socket
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        # linger 0: the peer sees a reset, not an orderly close
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()


class RandomFaults(FaultPlan):
    """The stand-in's fault plan, firing on a seeded 10 % of calls instead of by rule."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.enabled = True

    def take(self, kind: str, path: str, *, explicit: bool = False) -> Rule | None:
        if not self.enabled or kind == "slow" or path in ("/token", "/auth"):
            return None
        with self.lock:
            draw = self.rng.random()
            status = self.rng.choice((429, 500, 503))
        if kind == "drop" and draw < FAULT_RATE / 4:
            self.fired["drop"] += 1
            return Rule("drop", 1)
        if kind == "fail" and draw < FAULT_RATE * 3 / 4:
            self.fired["fail"] += 1
            return Rule("fail", 1, status=status)
        return None


def sync_through_daemon(settings: Settings, db: Database, timeout: float = 60,
                        clock: Callable[[], datetime] | None = None) -> Daemon:
    """Run the daemon until every account had a successful pass; return it stopped."""
    daemon = Daemon(settings, SyncEngine(db, settings, clock=clock), enable_reminders=False)
    daemon.start()
    try:
        deadline = time.monotonic() + timeout
        while not all(r.last_success_at is not None for r in daemon.runtime.values()):
            assert time.monotonic() < deadline, {a: r.to_dict() for a, r in
                                                 daemon.runtime.items()}
            time.sleep(0.05)
    finally:
        daemon.shutdown(grace_s=10)
    return daemon


def settings_for(tmp_path: Path, name: str, account: dict[str, Any]) -> Settings:
    return Settings.model_validate({
        "state_dir": str(tmp_path / name), "health": {"enabled": False},
        "scheduler": {"workers": 1, "backoff_base": 0.05, "backoff_max": 0.2},
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": [account]})


def fresh_store(settings: Settings) -> Database:
    db = Database(settings.store_url)
    db.migrate()
    return db


@pytest.fixture
def seeded_user(dovecot_server: DovecotServer) -> Iterator[MailUser]:
    user = dovecot_server.new_user("faults")
    user.deliver_many([make_message(n, to=[("Rita", f"{user.name}@ourco.example")])
                       for n in range(80)])
    yield user


def test_imap_through_a_faulty_proxy_loses_nothing(tmp_path: Path, seeded_user: MailUser,
                                                   dovecot_server: DovecotServer) -> None:
    def account(port: int) -> dict[str, Any]:
        return {"id": "rita-imap", "provider": "imap", "owner": "rita@ourco.example",
                "interval": 3600, "jitter": 0, "backfill_days": 36500, "host": "127.0.0.1",
                "port": port, "security": "plain", "username": seeded_user.name,
                "password": seeded_user.password, "page_size": 10, "folders": ["INBOX"],
                "connect_timeout": 3, "read_timeout": 3}

    reference = settings_for(tmp_path, "reference", account(dovecot_server.port))
    ref_db = fresh_store(reference)
    assert SyncEngine(ref_db, reference).sync_account(reference.accounts[0]).ok
    expected = dump_history(ref_db)
    ref_db.dispose()
    assert len(expected["interactions"]) == 80

    proxy = FaultyProxy((dovecot_server.host, dovecot_server.port), seed=8,
                        cut_within=20_000)
    try:
        faulty = settings_for(tmp_path, "faulty", account(proxy.port))
        db = fresh_store(faulty)
        daemon = sync_through_daemon(faulty, db)
        actual = dump_history(db)
        db.dispose()
    finally:
        proxy.close()
    runtime = daemon.runtime["rita-imap"]
    print(f"IMAP: {proxy.connections} connections, {proxy.requests} requests, "
          f"{proxy.resets} reset, {proxy.cuts} cut; "
          f"{runtime.passes} passes, {runtime.failed_passes} failed")
    assert proxy.resets + proxy.cuts > 0  # faults really happened
    assert actual == expected, describe_difference(expected, actual)


@pytest.fixture
def google(tmp_path: Path) -> Iterator[tuple[GoogleStandIn, Path]]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.providers.google.conftest import trust, write_key_file

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with GoogleStandIn() as server:
        server.add_user(REP)
        trust(server, key)
        yield server, write_key_file(tmp_path / "sa.json", key, server)


def test_gmail_with_ten_percent_failed_calls_loses_nothing(
        tmp_path: Path, google: tuple[GoogleStandIn, Path]) -> None:
    standin, key_file = google
    for n in range(120):
        standin.add_message(REP, make_message(n, to=[("Rita", REP)]))
    account = {"id": "gmail-rita", "provider": "gmail", "owner": REP, "interval": 3600,
               "jitter": 0, "backfill_days": 3650,
               "auth": {"service_account_file": str(key_file)}, "endpoints": endpoints(standin),
               "page_size": 10, "batch_size": 5,
               "transport": {"max_retries": 1, "base_backoff": 0.01, "max_backoff": 0.05}}

    reference = settings_for(tmp_path, "reference", account)
    ref_db = fresh_store(reference)
    assert SyncEngine(ref_db, reference).sync_account(reference.accounts[0]).ok
    expected = dump_history(ref_db)
    ref_db.dispose()
    assert len(expected["interactions"]) == 120

    faults = RandomFaults(seed=11)
    standin.faults = faults
    faulty = settings_for(tmp_path, "faulty", account)
    db = fresh_store(faulty)
    daemon = sync_through_daemon(faulty, db)
    actual = dump_history(db)
    db.dispose()
    runtime = daemon.runtime["gmail-rita"]
    print(f"Gmail: faults fired {dict(faults.fired)}; {runtime.passes} passes, "
          f"{runtime.failed_passes} failed")
    assert sum(faults.fired.values()) > 0
    assert actual == expected, describe_difference(expected, actual)


class RandomGraphFaults(GraphStandIn):
    """The Graph stand-in with a seeded 10 % of Graph requests failing."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.enabled = False
        self.fired: dict[str, int] = {}

    def _take_fault(self, mailbox: str) -> Fault | None:
        if not self.enabled:
            return None
        with self.rng_lock:
            draw = self.rng.random()
            status = self.rng.choice((429, 500, 503))
        if draw >= FAULT_RATE:
            return None
        if draw < FAULT_RATE / 4:
            self.fired["drop"] = self.fired.get("drop", 0) + 1
            return Fault("drop", 1)
        self.fired[str(status)] = self.fired.get(str(status), 0) + 1
        return Fault("status", 1, status=status, retry_after=0.05 if status == 429 else None)


def test_outlook_with_ten_percent_failed_requests_loses_nothing(tmp_path: Path) -> None:
    from tests.providers.microsoft.conftest import CLIENT_ID, MAIL_NOW, SECRET, auth_settings

    with RandomGraphFaults(seed=5) as standin:
        standin.register_app(CLIENT_ID, SECRET)
        for n in range(150):
            standin.add_message("rita@ourco.example", "inbox",
                                make_message(n, to=[("Rita", "rita@ourco.example")]))
        account = {"id": "rita-mail", "provider": "outlook_mail", "owner": "rita@ourco.example",
                   "interval": 3600, "jitter": 0, "backfill_days": 90, "folders": ["inbox"],
                   "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                   "page_size": 4,
                   "limits": {"backoff_base": 0.01, "max_retry_after": 2, "max_retries": 1,
                              "timeout": 5}}
        reference = settings_for(tmp_path, "reference", account)
        ref_db = fresh_store(reference)
        result = SyncEngine(ref_db, reference, clock=lambda: MAIL_NOW).sync_account(
            reference.accounts[0])
        assert result.ok, result.to_dict()
        expected = dump_history(ref_db)
        ref_db.dispose()
        assert len(expected["interactions"]) == 150

        standin.enabled = True
        faulty = settings_for(tmp_path, "faulty", account)
        db = fresh_store(faulty)
        daemon = sync_through_daemon(faulty, db, clock=lambda: MAIL_NOW)
        actual = dump_history(db)
        db.dispose()
    runtime = daemon.runtime["rita-mail"]
    print(f"Outlook: faults fired {standin.fired}; {runtime.passes} passes, "
          f"{runtime.failed_passes} failed")
    assert sum(standin.fired.values()) > 0
    assert actual == expected, describe_difference(expected, actual)

"""sd_notify against a real AF_UNIX datagram socket, and a real ``syncd run`` under it:
READY, STATUS, WATCHDOG, RELOADING/READY on SIGHUP (a bad config refused with its key
paths, the old one kept; a good one applied without dropping the pass in flight), STOPPING
and exit 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from syncd.daemon.notify import Notifier, watchdog_interval
from tests.syncd.daemon.test_service import DaemonProcess, get_json, spawn, write_config

__all__ = ["spawn"]  # the fixture, re-used from the daemon tests


class NotifySocket:
    """A bound datagram socket collecting every notification sent to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
            with self._lock:
                self.messages.append(fields)

    def snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, check: Callable[[dict[str, str]], bool], timeout: float = 30,
                 after: int = 0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.snapshot()[after:]:
                if check(message):
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no matching notification; got {self.snapshot()}")

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        self._thread.join(timeout=2)


def logged_event(daemon: DaemonProcess, name: str, timeout: float = 30,
                 **match: str) -> dict[str, object]:
    """The first log line of ``daemon`` (consumed or not) with event ``name`` and ``match``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(daemon.lines):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("event") == name and all(entry.get(k) == v for k, v in match.items()):
                return dict(entry)
        time.sleep(0.1)
    raise AssertionError(f"no {name!r} {match} within {timeout}s: " + "".join(daemon.lines))


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


def test_notifier_sends_datagrams_and_is_a_no_op_without_a_socket(
        notify_socket: NotifySocket) -> None:
    notifier = Notifier(str(notify_socket.path))
    assert notifier.ready("warming up") and notifier.watchdog() and notifier.status("a\nb")
    assert notifier.stopping()
    first = notify_socket.wait_for(lambda m: "READY" in m)
    assert first == {"READY": "1", "STATUS": "warming up", "MAINPID": str(os.getpid())}
    notify_socket.wait_for(lambda m: m == {"WATCHDOG": "1"})
    notify_socket.wait_for(lambda m: m == {"STATUS": "a b"})  # one line per field
    notify_socket.wait_for(lambda m: m.get("STOPPING") == "1")
    assert Notifier.from_env({}).ready() is False
    # a socket that went away: False, never an exception
    assert Notifier(str(notify_socket.path) + ".gone").watchdog() is False


def test_abstract_socket_names_are_supported() -> None:
    name = f"syncd-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert Notifier("@" + name).watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"


def test_watchdog_interval_reads_usec_for_this_pid_only() -> None:
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}) == 2
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "junk"}) is None


def test_syncd_run_under_notify_ready_watchdog_reload_and_stop(
        tmp_path: Path, notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch,
        spawn: Callable[[Path], DaemonProcess]) -> None:
    messages = 1200  # a first pass of a few seconds: the reloads below happen during it
    config = write_config(tmp_path, messages=messages, page_size=10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")  # 2 s: heartbeat every 0.8 s
    daemon = spawn(config)

    ready = notify_socket.wait_for(lambda m: m.get("READY") == "1", timeout=45)
    assert ready["MAINPID"] == str(daemon.proc.pid)
    assert "1 accounts" in ready["STATUS"]
    listening = daemon.wait_for_event("health endpoint listening")
    base = listening["url"]

    # SIGHUP with a broken file while the first pass runs: refused, old config kept
    daemon.wait_for_event("pass started")
    good = config.read_text(encoding="utf-8")
    data = yaml.safe_load(good)
    data["scheduler"]["workers"] = 0
    data["accounts"][0]["intervall"] = 5
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    mark = len(notify_socket.snapshot())
    daemon.proc.send_signal(signal.SIGHUP)
    refused = daemon.wait_for_event("config reload refused; keeping the running config")
    assert "scheduler.workers" in refused["paths"]
    assert any(p.startswith("accounts[0]") or p.startswith("accounts.0") for p in
               refused["paths"]), refused["paths"]
    notify_socket.wait_for(lambda m: m.get("RELOADING") == "1", after=mark)
    notify_socket.wait_for(lambda m: m.get("READY") == "1" and "refused" in m.get("STATUS", ""),
                           after=mark)

    # a valid change (a second account) mid-pass: applied, the running pass goes on
    data = yaml.safe_load(good)
    data["accounts"].append({"id": "sam-local", "provider": "local",
                             "owner": "sam@ourco.example", "interval": 3600, "jitter": 0,
                             "maildirs": ["mail"], "backfill_days": 36500})
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    daemon.proc.send_signal(signal.SIGHUP)
    reloaded = daemon.wait_for_event("config reloaded")
    assert reloaded["added"] == ["sam-local"]
    finished = logged_event(daemon, "pass finished", account="rita-local", timeout=60)
    assert finished["outcome"] == "ok" and finished["items"] == messages
    assert reloaded["ts"] < finished["ts"]  # the reload really happened mid-pass
    assert finished["stopped"] is False

    # WATCHDOG keeps coming while the daemon runs; STATUS tracks the accounts
    for _ in range(2):
        mark = len(notify_socket.snapshot())
        notify_socket.wait_for(lambda m: m.get("WATCHDOG") == "1", after=mark, timeout=5)
    notify_socket.wait_for(lambda m: m.get("STATUS", "").startswith("2 accounts"), timeout=10)
    status, doc = get_json(base + "/status")
    assert status == 200
    assert {a["account"] for a in doc["accounts"]} == {"rita-local", "sam-local"}

    started = time.monotonic()
    assert daemon.stop(signal.SIGTERM, timeout=30) == 0
    assert time.monotonic() - started < 30
    notify_socket.wait_for(lambda m: m.get("STOPPING") == "1")
    watchdogs = [m for m in notify_socket.snapshot() if m.get("WATCHDOG") == "1"]
    assert len(watchdogs) >= 2

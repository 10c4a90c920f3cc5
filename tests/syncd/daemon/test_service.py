"""The daemon as a real process: schedules, syncs, serves health, stops cleanly on signals.

Plus in-process checks of scheduling decisions (jobs per account, reload,
skipping accounts that need re-authentication) with the real engine and a
real SQLite store.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from syncd.cli import cli
from syncd.config import load_settings
from syncd.daemon.service import Daemon
from syncd.store.database import Database
from syncd.store.schema import Account
from syncd.sync.engine import SyncEngine, config_hash
from tests.generate import make_message

REPO = Path(__file__).resolve().parents[3]
TOKEN_KEY = "tok3n-KEY-never-logged-9f8e7d"
IMAP_PASSWORD = "imap-Passw0rd-never-logged"


def make_maildir(root: Path, count: int) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (root / "cur" / f"{1790000000 + n}.M{n}P1.test:2,S").write_bytes(make_message(n))
    return root


def write_config(tmp_path: Path, *, messages: int, page_size: int = 500,
                 interval: int = 3600, extra_accounts: list[dict[str, Any]] | None = None) -> Path:
    make_maildir(tmp_path / "mail", messages)
    data: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "health": {"host": "127.0.0.1", "port": 0},
        "logging": {"level": "info", "format": "json"},
        "scheduler": {"workers": 2},
        "organization": {"internal_domains": ["ourco.example"]},
        "privacy": {"token_key": TOKEN_KEY},
        "accounts": [{
            "id": "rita-local", "provider": "local", "owner": "rita@ourco.example",
            "interval": interval, "jitter": 0, "backfill_days": 36500,
            "maildirs": ["mail"], "page_size": page_size,
        }, *(extra_accounts or [])],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class DaemonProcess:
    """``python -m syncd run`` with its JSON log lines collected as they arrive."""

    def __init__(self, config: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "--config", str(config), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            cwd=config.parent)
        self.lines: list[str] = []
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            try:
                self._events.put(json.loads(line))
            except json.JSONDecodeError:
                self._events.put({"event": "(not json)", "line": line})

    def wait_for_event(self, name: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                entry = self._events.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(f"daemon exited {self.proc.returncode}: "
                                         + "".join(self.lines)) from None
                continue
            if entry.get("event") == name:
                return entry
        raise AssertionError(f"no {name!r} log event within {timeout}s: " + "".join(self.lines))

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def spawn() -> Iterator[Callable[[Path], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path) -> DaemonProcess:
        daemon = DaemonProcess(config)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def poll_status(base: str, until: Callable[[dict[str, Any]], bool], timeout: float = 45,
                interval: float = 0.1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        status, doc = get_json(base + "/status")
        assert status == 200, doc
        # right after start the account may not be listed yet
        account = next((a for a in doc["accounts"] if a["account"] == "rita-local"), None)
        last = account
        if account is not None and until(account):
            return dict(account)
        time.sleep(interval)
    raise AssertionError(f"status never matched; last: {last}")


def test_daemon_syncs_serves_health_and_exits_0_on_sigterm(
        tmp_path: Path, spawn: Callable[[Path], DaemonProcess]) -> None:
    config = write_config(tmp_path, messages=5, extra_accounts=[{
        "id": "rita-imap", "provider": "imap", "owner": "rita@ourco.example",
        "host": "127.0.0.1", "port": 1, "username": "rita", "password": IMAP_PASSWORD,
        "enabled": False,
    }])
    daemon = spawn(config)
    listening = daemon.wait_for_event("health endpoint listening")
    base = listening["url"]
    assert base.startswith("http://127.0.0.1:") and not base.endswith(":0")

    account = poll_status(base, lambda a: a.get("last_success_at") is not None)
    assert account["provider"] == "local" and account["owner"] == "rita@ourco.example"
    assert account["items_synced"] == 5
    assert account["last_error"] is None
    assert isinstance(account["cursor_age_s"], int | float)
    assert account["daemon"]["passes"] >= 1 or account["daemon"]["state"] == "syncing"
    status, doc = get_json(base + "/status")
    assert doc["generated_at"].endswith("Z") and doc["daemon"]["alive"] is True
    # the disabled account is not scheduled
    assert "rita-imap" not in {a["account"] for a in doc["accounts"]}

    status, health = get_json(base + "/healthz")
    assert status == 200 and health["status"] == "ok" and health["scheduler_running"] is True
    assert get_json(base + "/nope")[0] == 404

    assert daemon.stop(signal.SIGTERM) == 0
    events = [json.loads(line) for line in daemon.lines]  # every line is JSON
    names = [e["event"] for e in events]
    assert "daemon started" in names and names[-1] == "daemon stopped"
    scheduled = next(e for e in events if e["event"] == "account scheduled")
    assert scheduled["account"] == "rita-local" and scheduled["interval"] == 3600
    finished = next(e for e in events if e["event"] == "pass finished")
    assert finished["account"] == "rita-local" and finished["provider"] == "local"
    assert finished["outcome"] == "ok" and finished["created"] == 5
    assert len(finished["pass_id"]) == 12
    everything = "".join(daemon.lines) + (daemon.proc.stdout.read() if daemon.proc.stdout else "")
    assert TOKEN_KEY not in everything and IMAP_PASSWORD not in everything
    # the port is released
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/healthz", timeout=2)


def test_sigint_mid_pass_stops_after_the_current_page_and_loses_nothing(
        tmp_path: Path, spawn: Callable[[Path], DaemonProcess]) -> None:
    total = 150
    config = write_config(tmp_path, messages=total, page_size=5)
    daemon = spawn(config)
    base = daemon.wait_for_event("health endpoint listening")["url"]
    poll_status(base, lambda a: a.get("state") == "syncing", interval=0.02)
    started = time.monotonic()
    assert daemon.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 20
    names = [json.loads(line)["event"] for line in daemon.lines]
    assert "stopping: finishing current pages" in names and names[-1] == "daemon stopped"

    # the interrupted pass recorded what it committed; a new pass does the rest, once
    status = json.loads(CliRunner().invoke(
        cli, ["--config", str(config), "status", "--format", "json"]).stdout)
    done_before = status["accounts"][0]["items_synced"]
    assert done_before < total, "the pass was not interrupted"
    result = CliRunner().invoke(cli, ["--config", str(config), "sync", "--once"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "rita-local" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    created = int(cells[4])
    assert done_before + created == total
    with Database(load_settings(config).store_url).session(write=False) as s:
        from sqlalchemy import func, select

        from syncd.store.schema import Interaction
        assert s.scalar(select(func.count()).select_from(Interaction)) == total


# ------------------------------------------------------------------ in-process scheduling
@pytest.fixture
def engine_for(tmp_path: Path) -> Iterator[Callable[[Path], tuple[Any, SyncEngine]]]:
    databases: list[Database] = []

    def build(config: Path) -> tuple[Any, SyncEngine]:
        settings = load_settings(config)
        db = Database(settings.store_url)
        db.migrate()
        databases.append(db)
        return settings, SyncEngine(db, settings)

    yield build
    for db in databases:
        db.dispose()


def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_jobs_follow_the_accounts_and_reauth_accounts_are_skipped(
        tmp_path: Path, engine_for: Callable[[Path], tuple[Any, SyncEngine]]) -> None:
    second = {"id": "sam-local", "provider": "local", "owner": "sam@ourco.example",
              "interval": 3600, "jitter": 0, "maildirs": ["mail"]}
    config = write_config(tmp_path, messages=2, extra_accounts=[second])
    settings, engine = engine_for(config)
    settings = settings.model_copy(update={"health": settings.health.model_copy(
        update={"enabled": False})})
    # sam's account waits for re-authentication with an unchanged config: never polled
    engine.register_accounts()
    with engine.db.session() as s:
        row = s.get(Account, "sam-local")
        assert row is not None
        row.state = "needs_reauth"
        row.config_hash = config_hash(settings.account("sam-local"))

    daemon = Daemon(settings, engine)
    daemon.start()
    try:
        wait_until(lambda: daemon.runtime["rita-local"].state == "idle"
                   and daemon.runtime["sam-local"].state == "needs_reauth")
        assert daemon.runtime["rita-local"].passes == 1
        assert daemon.runtime["sam-local"].passes == 0
        assert daemon.alive()
        jobs = {j.id for j in daemon._scheduler.get_jobs()}
        assert {"syncd:heartbeat", "rita-local", "sam-local"} <= jobs
        job = daemon._scheduler.get_job("rita-local")
        assert job.max_instances == 1 and job.coalesce is True
        assert job.trigger.interval.total_seconds() == 3600

        # reload: drop sam, change rita's interval
        rita = settings.account("rita-local").model_copy(update={"interval": 600.0})
        daemon.apply_settings(settings.model_copy(update={"accounts": [rita]}))
        assert {j.id for j in daemon._scheduler.get_jobs()} == jobs - {"sam-local"}
        assert daemon._scheduler.get_job("rita-local").trigger.interval.total_seconds() == 600
        assert "sam-local" not in daemon.runtime
        doc = daemon.status_document()
        assert [a["account"] for a in doc["accounts"] if "daemon" in a] == ["rita-local"]
    finally:
        daemon.shutdown()
    assert not daemon.alive()
    assert daemon.runtime["rita-local"].state == "stopped"


def test_status_over_http_masks_secrets_and_healthz_turns_red_when_stopping(
        tmp_path: Path, engine_for: Callable[[Path], tuple[Any, SyncEngine]]) -> None:
    config = write_config(tmp_path, messages=1)
    settings, engine = engine_for(config)
    engine.register_accounts()
    with engine.db.session() as s:  # an error message that (wrongly) carries a credential
        row = s.get(Account, "rita-local")
        assert row is not None
        row.last_error_code = "auth"
        row.last_error_message = "login refused for https://rita:hunter2secret@mail.example/"
        row.last_error_at = row.updated_at
    from syncd.store.queries import account_statuses

    daemon = Daemon(settings, engine,
                    statuses=lambda: [a.to_dict() for a in account_statuses(engine.db)])
    daemon.start()
    try:
        assert daemon.health is not None
        base = daemon.health.url
        status, doc = get_json(base + "/status")
        assert status == 200
        [account] = doc["accounts"]
        assert "hunter2secret" not in json.dumps(doc)
        assert account["last_error"]["message"] == \
            "login refused for https://rita:**********@mail.example/"
        assert get_json(base + "/healthz")[0] == 200
        daemon.request_stop("test")
        status, health = get_json(base + "/healthz")
        assert status == 503 and health["stopping"] is True and health["status"] == "down"
    finally:
        daemon.shutdown()


def test_periodic_jobs_run_repeatedly_and_survive_their_errors(
        tmp_path: Path, engine_for: Callable[[Path], tuple[Any, SyncEngine]]) -> None:
    config = write_config(tmp_path, messages=0)
    settings, engine = engine_for(config)
    settings = settings.model_copy(update={"health": settings.health.model_copy(
        update={"enabled": False})})
    daemon = Daemon(settings, engine)
    runs: list[float] = []

    def sweep() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            raise RuntimeError("first sweep fails")

    daemon.add_periodic("test:sweep", sweep, 0.2, first_delay=0)
    daemon.start()
    try:
        wait_until(lambda: len(runs) >= 3, timeout=20)
    finally:
        daemon.shutdown()
    count = len(runs)
    time.sleep(0.5)
    assert len(runs) == count  # nothing runs after shutdown

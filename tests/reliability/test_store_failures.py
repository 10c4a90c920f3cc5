"""Store failures are transient: the daemon waits, resumes, and nothing is half-written.

* PostgreSQL restarted / unreachable mid-sync: the test database refuses new
  connections (``ALLOW_CONNECTIONS false``) and every backend of it is killed
  (``pg_terminate_backend``, what a restart does to clients). The pass fails
  with a store error, the account backs off, ``/readyz`` says the store is
  unreachable; when connections are allowed again the daemon resumes on its
  own and the final history equals an uninterrupted run's.
* SQLite locked: another process-like connection holds an exclusive lock for
  a while mid-sync; writers wait (busy timeout) and the result is the same.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from syncd.config.model import Settings
from syncd.daemon.service import Daemon
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from tests.fixtures.database import PG_ADMIN_URL, _pg_conninfo, _pg_url
from tests.reliability.storedump import describe_difference, dump_history
from tests.syncd.daemon.test_service import make_maildir

MESSAGES = 200


def settings_for(tmp_path: Path, url: str, *, health: bool = False) -> Settings:
    return Settings.model_validate({
        "state_dir": str(tmp_path / "state"), "store": {"url": url},
        "health": {"enabled": health, "host": "127.0.0.1", "port": 0},
        "scheduler": {"workers": 1, "backoff_base": 0.2, "backoff_max": 0.5},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-local", "provider": "local", "owner": "rita@ourco.example",
                      "interval": 3600, "jitter": 0, "backfill_days": 36500,
                      "maildirs": [str(tmp_path / "mail")], "page_size": 10}]})


def stored(db: Database) -> int:
    try:
        return len(dump_history(db)["interactions"])
    except Exception:  # unreachable right now
        return -1


def readyz(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def pg_admin() -> Iterator[psycopg.Connection[Any]]:
    try:
        admin = psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("PostgreSQL is not reachable")
    made: list[str] = []
    setattr(admin, "syncd_made", made)  # noqa: B010
    yield admin
    for name in made:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(
            sql.Identifier(name)))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
    admin.close()


def new_pg_database(admin: psycopg.Connection[Any]) -> tuple[str, str]:
    name = f"syncd_storefail_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    getattr(admin, "syncd_made").append(name)  # noqa: B009
    return name, _pg_url(name)


def reference_dump(tmp_path: Path) -> Any:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'reference.db'}")
    db = Database(settings.store_url)
    db.migrate()
    assert SyncEngine(db, settings).sync_account(settings.accounts[0]).ok
    dump = dump_history(db)
    db.dispose()
    return dump


def test_postgresql_unreachable_mid_sync_backs_off_and_resumes(
        tmp_path: Path, pg_admin: psycopg.Connection[Any]) -> None:
    make_maildir(tmp_path / "mail", MESSAGES)
    expected = reference_dump(tmp_path)
    name, url = new_pg_database(pg_admin)
    settings = settings_for(tmp_path, url, health=True)
    db = Database(url)
    db.migrate()
    daemon = Daemon(settings, SyncEngine(db, settings), enable_reminders=False)
    daemon.start()
    try:
        assert daemon.health is not None
        deadline = time.monotonic() + 30
        while stored(db) < 40:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # the database "goes away": no new connections, existing ones killed
        pg_admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(
            sql.Identifier(name)))
        pg_admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        runtime = daemon.runtime["rita-local"]
        deadline = time.monotonic() + 30
        while runtime.state != "backing_off":
            assert time.monotonic() < deadline, runtime.to_dict()
            time.sleep(0.02)
        assert runtime.last_error_code == "store"
        status, body = readyz(daemon.health.url)
        assert status == 503 and body["store"]["reachable"] is False, body
        time.sleep(1.0)  # a few failed retries while it is down
        pg_admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(
            sql.Identifier(name)))
        deadline = time.monotonic() + 60
        while runtime.last_success_at is None:
            assert time.monotonic() < deadline, runtime.to_dict()
            time.sleep(0.05)
        status, body = readyz(daemon.health.url)
        assert status == 200, body
        assert runtime.failed_passes >= 1
    finally:
        daemon.shutdown(grace_s=10)
    actual = dump_history(db)
    db.dispose()
    assert actual == expected, describe_difference(expected, actual)


def test_sqlite_locked_mid_sync_waits_and_completes(tmp_path: Path) -> None:
    make_maildir(tmp_path / "mail", MESSAGES)
    expected = reference_dump(tmp_path)
    db_file = tmp_path / "locked.db"
    settings = settings_for(tmp_path, f"sqlite:///{db_file}")
    db = Database(settings.store_url)
    db.migrate()
    engine = SyncEngine(db, settings)
    locked = threading.Event()

    def hold_lock() -> None:
        while stored(db) < 40:
            time.sleep(0.01)
        other = sqlite3.connect(db_file, isolation_level=None, timeout=30)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(1.5)
        other.execute("ROLLBACK")
        other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    result = engine.sync_account(settings.accounts[0])
    holder.join()
    assert locked.is_set()
    assert result.ok, result.to_dict()
    actual = dump_history(db)
    db.dispose()
    assert actual == expected, describe_difference(expected, actual)

"""Replica leases: unit checks of LeaseKeeper on the real store, and three real
``syncd run`` replicas sharing the machine's PostgreSQL: accounts split evenly, a
SIGKILLed replica's accounts taken over after its lease expires, never two replicas
syncing one account at once, ``syncd status`` naming the holders."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from click.testing import CliRunner
from psycopg import sql

from syncd.cli import cli
from syncd.daemon.lease_keeper import LeaseKeeper, leases_enabled
from syncd.store.database import Database
from syncd.store.schema import Account
from tests.fixtures.database import PG_ADMIN_URL, _pg_conninfo, _pg_url
from tests.syncd.daemon.test_service import make_maildir

REPO = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def add_accounts(db: Database, ids: list[str]) -> None:
    with db.session() as s:
        for account_id in ids:
            s.add(Account(id=account_id, provider="local", owner="r@x.example", state="idle",
                          items_synced=0, last_pass_items=0))


def test_keepers_split_fairly_renew_and_take_over_after_expiry(database: Database) -> None:
    ids = [f"acct-{n}" for n in range(7)]
    add_accounts(database, ids)
    clock = Clock()
    a = LeaseKeeper(database, "replica-a", ttl_s=30, clock=clock)
    b = LeaseKeeper(database, "replica-b", ttl_s=30, clock=clock)
    gained, _ = a.refresh(ids)
    assert gained == set(ids)  # alone: everything
    assert a.begin("acct-0")  # a pass is running on acct-0: never released to rebalance
    b.refresh(ids)  # b announces itself; nothing free yet
    _, lost = a.refresh(ids)  # two live replicas: a gives back its surplus, not acct-0
    assert len(lost) == 3 and "acct-0" not in lost and "acct-0" in a.held()
    gained, _ = b.refresh(ids)
    assert gained == lost and a.held().isdisjoint(b.held())
    assert len(a.held()) == 4 and len(b.held()) == 3
    a.end("acct-0")

    # b dies (stops refreshing); its leases are a's only after they expire
    clock.now += timedelta(seconds=20)
    a.refresh(ids)
    assert len(a.held()) == 4
    clock.now += timedelta(seconds=11)  # b's leases expired, b's heartbeat too old
    b_had = b.held()
    gained, _ = a.refresh(ids)
    assert gained == b_had and a.held() == set(ids)
    # b comes back from a pause: it may not start a pass, its renewals fail
    assert not any(b.begin(account_id) for account_id in b_had)
    _, lost = b.refresh(ids)
    assert lost == b_had
    assert a.held() == set(ids) and b.held().isdisjoint(a.held())
    a.release_all()
    with database.session(write=False) as s:
        assert all(row.lease_holder != "replica-a" for row in s.query(Account))


def test_leases_default_on_for_postgresql_only() -> None:
    assert leases_enabled("auto", "postgresql") and not leases_enabled("auto", "sqlite")
    assert leases_enabled("on", "sqlite") and not leases_enabled("off", "postgresql")


# ----------------------------------------------------------------- real replicas


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("PostgreSQL is not reachable")
    name = f"syncd_leases_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _pg_url(name)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        admin.close()


class Replica:
    def __init__(self, config: Path, replica_id: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "SYNCD_REPLICA_ID": replica_id}
        env.pop("NOTIFY_SOCKET", None)
        self.id = replica_id
        self.proc = subprocess.Popen([sys.executable, "-m", "syncd", "--config", str(config),
                                      "run"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd=config.parent)
        self.events: list[dict[str, Any]] = []
        self.killed_at: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError:
                self.events.append({"event": "(not json)", "line": line})

    def passes(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") in ("pass started", "pass finished")]

    def kill(self) -> None:
        self.killed_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self.proc.kill()
        self.proc.wait(timeout=10)


def holders(db: Database) -> dict[str, str | None]:
    with db.session(write=False) as s:
        return {row.id: row.lease_holder for row in s.query(Account)}


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def intervals(replicas: list[Replica]) -> dict[str, list[tuple[str, str, str]]]:
    """account -> [(start ts, end ts, replica)] from the replicas' pass logs."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for replica in replicas:
        open_: dict[str, str] = {}
        for event in replica.passes():
            if event["event"] == "pass started":
                open_[event["account"]] = event["ts"]
            elif event["account"] in open_:
                start = open_.pop(event["account"])
                out.setdefault(event["account"], []).append((start, event["ts"], replica.id))
        for account, start in open_.items():  # killed mid-pass, or still running
            end = replica.killed_at or "9999"
            out.setdefault(account, []).append((start, end, replica.id))
    return out


def test_three_replicas_split_accounts_and_take_over_a_killed_one(
        tmp_path: Path, pg_url: str) -> None:
    accounts = []
    for n in range(6):
        make_maildir(tmp_path / f"mail{n}", 20)
        accounts.append({"id": f"acct-{n}", "provider": "local",
                         "owner": "rita@ourco.example", "interval": 1.5, "jitter": 0.2,
                         "backfill_days": 36500, "maildirs": [f"mail{n}"], "page_size": 4})
    config = tmp_path / "syncd.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "state"), "store": {"url": pg_url},
        "health": {"enabled": False}, "logging": {"level": "info", "format": "json"},
        "scheduler": {"workers": 2, "leases": "on", "lease_ttl": 3,
                      "replica_id": "${SYNCD_REPLICA_ID:-}"},
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": accounts,
    }), encoding="utf-8")
    db = Database(pg_url)
    db.migrate()  # (replicas migrating together is serialized by an advisory lock)
    replicas = [Replica(config, f"replica-{n}") for n in range(3)]
    try:
        ids = {a["id"] for a in accounts}
        # all three running and the accounts split two each
        wait_for(lambda: len(holders(db)) == 6 and sorted(
            list(holders(db).values()).count(r.id) for r in replicas) == [2, 2, 2],
            timeout=60, what="an even split: " + repr(holders(db)))
        time.sleep(1)  # a pass or two each
        victim = replicas[0]
        theirs = {a for a, h in holders(db).items() if h == victim.id}
        victim.kill()
        killed = time.monotonic()
        wait_for(lambda: all(holders(db)[a] in ("replica-1", "replica-2") for a in theirs),
                 timeout=15, what="takeover of " + repr(theirs))
        takeover_s = time.monotonic() - killed
        print(f"takeover after SIGKILL: {takeover_s:.1f} s (lease_ttl 3 s)")
        assert takeover_s <= 3 * 1.34 + 3, takeover_s  # TTL + one refresh + slack
        survivors = replicas[1:]
        # the taken-over accounts get synced by the survivors
        wait_for(lambda: theirs <= {e["account"] for r in survivors for e in r.passes()
                                    if e["event"] == "pass finished"
                                    and e["ts"] > (victim.killed_at or "")},
                 timeout=20, what="passes of taken-over accounts")

        # syncd status shows the holders
        result = CliRunner().invoke(cli, ["--config", str(config), "status", "--format",
                                          "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        shown = {a["account"]: a["lease_holder"] for a in doc["accounts"]}
        assert set(shown) == ids
        assert set(shown.values()) == {"replica-1", "replica-2"}
        table = CliRunner().invoke(cli, ["--config", str(config), "status"])
        assert "lease holder" in table.output and "replica-1" in table.output

        for replica in survivors:
            replica.proc.send_signal(signal.SIGTERM)
        for replica in survivors:
            assert replica.proc.wait(timeout=30) == 0
        assert set(holders(db).values()) == {None}  # clean stop released everything
    finally:
        for replica in replicas:
            if replica.proc.poll() is None:
                replica.proc.kill()
                replica.proc.wait(timeout=10)
        db.dispose()

    # never two replicas syncing one account at once
    per_account = intervals(replicas)
    assert set(per_account) == ids
    for account, spans in per_account.items():
        spans.sort()
        for (_s1, e1, r1), (s2, _e2, r2) in itertools.pairwise(spans):
            assert e1 <= s2, f"{account}: {r1} until {e1} overlaps {r2} from {s2}"
    synced_by = {a: {r for _s, _e, r in spans} for a, spans in per_account.items()}
    assert all(synced_by[a] & {"replica-1", "replica-2"} for a in theirs)

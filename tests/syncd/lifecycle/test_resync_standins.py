"""``syncd resync --backfill-days`` for Gmail and Outlook mail: the real CLI widens the
cursor, the real engine and providers run against the local stand-ins (tests/standins/),
on SQLite and PostgreSQL. The wider listing re-reads the window; the store dedupes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Interaction, Source, SyncCursor
from syncd.sync.engine import SyncEngine
from tests.generate import make_message
from tests.providers.google.conftest import REP, endpoints, trust, write_key_file
from tests.providers.microsoft.conftest import CLIENT_ID, SECRET, auth_settings, fast_limits
from tests.standins.google import GoogleStandIn
from tests.standins.graph import GraphStandIn
from tests.syncd.lifecycle.test_resync import count, run
from tests.syncd.lifecycle.test_resync import write as write_config

NOW = datetime.now(UTC).replace(microsecond=0)
ANN = ("Ann Acme", "ann@acme.example")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(rsa_key: rsa.RSAPrivateKey) -> Iterator[GoogleStandIn]:
    with GoogleStandIn() as server:
        server.add_user(REP)
        yield trust(server, rsa_key)


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        server.register_app(CLIENT_ID, SECRET)
        yield server


def write(tmp_path: Path, database: Database, account: dict[str, Any]) -> tuple[Path, Settings]:
    return write_config(tmp_path, database, [account])


def stored_cursor(database: Database) -> dict[str, Any]:
    with database.session(write=False) as s:
        return dict(s.scalars(select(SyncCursor.cursor)).one())


def widen_and_sync(database: Database, config: Path, settings: Settings) -> None:
    engine = SyncEngine(database, settings, fetch_process="never")
    account = settings.accounts[0]
    assert engine.sync_account(account).ok
    assert count(database, Interaction) == 1  # the 60-day-old mail is outside 30 days
    before = stored_cursor(database)
    dry = run(config, "resync", "--account", account.id, "--backfill-days", "90",
              "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    assert [r["action"] for r in json.loads(dry.stdout)["resources"]] == ["widen"]
    assert stored_cursor(database) == before
    assert run(config, "resync", "--account", account.id, "--backfill-days", "90").exit_code == 0
    assert stored_cursor(database) != before
    result = engine.sync_account(account)
    assert result.ok, result.to_dict()
    assert count(database, Interaction) == 2 and count(database, Source) == 2  # deduped
    assert engine.sync_account(account).ok and count(database, Interaction) == 2


def test_gmail_lists_again_with_the_wider_window_then_resumes_history(
        database: Database, tmp_path: Path, google: GoogleStandIn,
        rsa_key: rsa.RSAPrivateKey) -> None:
    for n, days in ((1, 60), (2, 10)):
        google.add_message(REP, make_message(n, sender=ANN, to=[("Rita", REP)],
                                             when=NOW - timedelta(days=days)),
                           internal_date=NOW - timedelta(days=days))
    key = write_key_file(tmp_path / "sa.json", rsa_key, google)
    config, settings = write(tmp_path, database, {
        "id": "gmail-rita", "provider": "gmail", "owner": REP, "backfill_days": 30,
        "auth": {"method": "service_account", "service_account_file": str(key)},
        "endpoints": endpoints(google),
        "transport": {"max_retries": 2, "base_backoff": 0.02, "max_backoff": 0.1}})
    widen_and_sync(database, config, settings)
    assert "history_id" in stored_cursor(database)
    assert stored_cursor(database).get("phase") is None  # back on history


def test_graph_starts_a_round_with_the_wider_filter(
        database: Database, tmp_path: Path, graph: GraphStandIn) -> None:
    for n, days in ((1, 60), (2, 10)):
        graph.add_message(REP, "inbox", make_message(n, sender=ANN, to=[("Rita", REP)],
                                                     when=NOW - timedelta(days=days)),
                          received=NOW - timedelta(days=days))
    config, settings = write(tmp_path, database, {
        "id": "rita-mail", "provider": "outlook_mail", "owner": REP, "backfill_days": 30,
        "auth": auth_settings(graph), "endpoints": {"graph": graph.graph_url},
        "limits": fast_limits(), "folders": ["inbox"]})
    widen_and_sync(database, config, settings)
    assert stored_cursor(database).get("link")  # a delta round again

"""The CalDAV provider through the real sync engine into a real (SQLite) store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from syncd.config.model import Settings
from syncd.directory.contacts import import_companies
from syncd.store.database import Database
from syncd.store.queries import account_statuses, timeline
from syncd.store.schema import Interaction, SyncCursor
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, EventSpec
from tests.providers.caldav.backend import RadicaleBackend

WEEK = timedelta(days=7)


@pytest.fixture
def db_backend() -> str:
    return "sqlite"  # the store's own tests cover PostgreSQL


def settings_for(backend: RadicaleBackend, **overrides: Any) -> Settings:
    account: dict[str, Any] = {
        "id": f"cal-{backend.user}", "owner": "rita@ourco.example", "provider": "caldav",
        "url": backend.server.url, "username": backend.user, "password": backend.password,
        "past_days": 30, "future_days": 60, "retries": 0, "timeout": 10}
    account.update(overrides)
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": [account]})


def meetings(db: Database) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Interaction)) or 0)


def test_meetings_land_in_the_timeline_and_survive_an_expired_token(
        database: Database, radicale_backend: RadicaleBackend, tmp_path: Path) -> None:
    companies = tmp_path / "companies.csv"
    companies.write_text("name,domains\nAcme,acme.example\n", encoding="utf-8")
    import_companies(database, companies)
    backend = radicale_backend
    bob = [("Bob", "bob@acme.example", "ACCEPTED")]
    start = BASE_TIME + timedelta(hours=5)
    backend.add_event(EventSpec(uid="kickoff@test", title="Kickoff", attendees=bob,
                                start=BASE_TIME + timedelta(days=1)))
    backend.add_event(EventSpec(uid="weekly@test", title="Weekly", attendees=bob, start=start,
                                rrule="FREQ=WEEKLY;COUNT=3", cancelled_instances=[start + WEEK]))
    settings = settings_for(backend)
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME)
    account = settings.accounts[0]

    first = engine.sync_account(account)
    assert first.ok, first.error_message
    entries = timeline(database, company="acme.example")
    assert sorted((e.subject, e.status) for e in entries) == [
        ("Kickoff", "confirmed"), ("Weekly", "cancelled"), ("Weekly", "confirmed"),
        ("Weekly", "confirmed")]

    backend.delete_event("kickoff@test")
    second = engine.sync_account(account)
    assert second.ok, second.error_message
    (kickoff,) = [e for e in timeline(database, company="acme.example") if e.subject == "Kickoff"]
    assert kickoff.deleted, "a deleted calendar object marks its meeting deleted"

    # the server forgets our token: the engine resyncs that calendar without duplicates
    with database.session() as s:
        (row,) = s.scalars(select(SyncCursor)).all()
        stale = dict(row.cursor, token="http://radicale.org/ns/sync/" + "0" * 64)
        s.execute(update(SyncCursor).where(SyncCursor.id == row.id).values(cursor=stale))
    backend.add_event(EventSpec(uid="late@test", title="Late", attendees=bob,
                                start=BASE_TIME + timedelta(days=2)))
    third = engine.sync_account(account)
    assert third.ok, third.error_message
    assert meetings(database) == 5
    assert {e.subject for e in timeline(database, company="acme.example")} == {
        "Kickoff", "Weekly", "Late"}


def test_bad_password_marks_the_account_needs_reauth(
        database: Database, radicale_backend: RadicaleBackend) -> None:
    settings = settings_for(radicale_backend, password="not-it")
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME)
    result = engine.sync_account(settings.accounts[0])
    assert not result.ok
    (status,) = account_statuses(database)
    assert status.state == "needs_reauth"
    assert "not-it" not in (status.last_error_message or "")

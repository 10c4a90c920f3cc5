"""Coverage checks through the real engine, real servers (Dovecot, Radicale) and both stores.

Drift is injected behind syncd's back — a stored copy removed with SQL, mail
the cursor was moved past, a message expunged or an event deleted with no
pass since — and each check must find it, repair it through the normal page
path without touching cursors, and come back clean the second time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from providers.base import Cursor, Page, Provider
from syncd.config.model import Settings
from syncd.store.cursors import load_cursors
from syncd.store.database import Database
from syncd.store.schema import SkipRecord, Source, SyncCursor
from syncd.sync.coverage import CoverageChecker
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import MailUser
from tests.fixtures.radicale import RadicaleServer
from tests.generate import BASE_TIME, EventSpec, make_message, to_ics
from tests.providers.caldav.backend import RadicaleBackend

CUSTOMER = ("Ann Acme", "ann@acme.example")
REP = ("Rita Rep", "rita@ourco.example")
WEEK = timedelta(days=7)


def imap_settings(user: MailUser, **coverage: Any) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "coverage": coverage,
        "accounts": [{
            "id": f"imap-{user.name}", "owner": "rita@ourco.example", "provider": "imap",
            "host": user.server.host, "port": user.server.port, "security": "plain",
            "username": user.name, "password": user.password, "folders": ["INBOX"],
            # the engine's clock is the real one: a window that covers the test mail
            "backfill_days": 36500, "connect_timeout": 5, "read_timeout": 10}]})


def seed_mailbox(user: MailUser) -> None:
    invite = to_ics(EventSpec(uid="demo@acme", title="Demo", start=BASE_TIME + WEEK,
                              attendees=[("Rita Rep", "rita@ourco.example", "NEEDS-ACTION")]),
                    method="REQUEST")
    for raw in (
        make_message(1, sender=CUSTOMER, to=[REP], subject="Pricing"),
        make_message(2, sender=REP, to=[CUSTOMER], subject="Re: Pricing"),
        make_message(3, sender=REP, to=[("Carl", "carl@ourco.example")], subject="lunch"),
        make_message(4, sender=("Acme News", "news@acme.example"), to=[REP], subject="Digest",
                     headers={"List-Id": "<news.acme.example>"}),
        make_message(5, sender=CUSTOMER, to=[REP], subject="Invitation: Demo",
                     calendar=invite),
    ):
        user.deliver(raw)


def sources(db: Database, account_id: str) -> dict[str, bool]:
    """provider id -> deleted?"""
    with db.session(write=False) as s:
        rows = s.execute(select(Source.provider_id, Source.deleted_at)
                         .where(Source.account_id == account_id))
        return {pid: deleted is not None for pid, deleted in rows}


def cursors(db: Database, account_id: str) -> dict[str, Any]:
    with db.session(write=False) as s:
        return load_cursors(s, account_id)


def set_cursor(db: Database, account_id: str, resource: str, value: dict[str, Any]) -> None:
    with db.session() as s:
        s.execute(update(SyncCursor).where(SyncCursor.account_id == account_id,
                                           SyncCursor.resource == resource)
                  .values(cursor=value))


@pytest.fixture
def synced_mailbox(database: Database, mail_user: MailUser
                   ) -> tuple[Settings, SyncEngine, str]:
    seed_mailbox(mail_user)
    settings = imap_settings(mail_user)
    engine = SyncEngine(database, settings, fetch_process="never")
    result = engine.sync_account(settings.accounts[0])
    assert result.ok, result.error_message
    uidvalidity = cursors(database, settings.accounts[0].id)["INBOX"]["uidvalidity"]
    return settings, engine, f"INBOX/{uidvalidity}/"


def test_clean_mailbox_reports_no_drift_and_skips_are_not_missing(
        database: Database, synced_mailbox: tuple[Settings, SyncEngine, str]) -> None:
    settings, _, _ = synced_mailbox
    account = settings.accounts[0]
    with database.session(write=False) as s:
        skipped = sorted(s.scalars(select(SkipRecord.reason)
                                   .where(SkipRecord.provider_id.not_like("%#invite#%"))))
    assert skipped == ["automated", "internal_only"]
    report = CoverageChecker(database, settings).check(account)
    (inbox,) = report.resources
    assert report.clean and report.supported
    assert (inbox.present, inbox.stored, inbox.skipped) == (5, 3, 2)
    assert (inbox.missing, inbox.vanished, inbox.repaired, inbox.remaining) == (0, 0, 0, 0)


def test_imap_drift_is_found_repaired_and_gone_on_the_next_check(
        database: Database, mail_user: MailUser,
        synced_mailbox: tuple[Settings, SyncEngine, str]) -> None:
    settings, engine, prefix = synced_mailbox
    account = settings.accounts[0]
    # a stored copy removed behind syncd's back
    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == prefix + "1"))
    # mail the cursor moved past without a pass reading it
    mail_user.deliver(make_message(6, sender=CUSTOMER, to=[REP], subject="Order"))
    admin: Any = mail_user.client()
    admin.select_folder("INBOX")  # Dovecot assigns UID 6 now
    moved = {**cursors(database, account.id)["INBOX"], "last_uid": 6, "uidnext": 7}
    set_cursor(database, account.id, "INBOX", moved)
    # a message expunged with no pass since
    admin.delete_messages([2])
    admin.expunge()
    admin.logout()

    report = CoverageChecker(database, settings).check(account)
    (inbox,) = report.resources
    assert (inbox.missing, inbox.vanished, inbox.repaired, inbox.remaining) == (2, 1, 3, 0)
    assert report.clean
    stored = sources(database, account.id)
    assert stored[prefix + "1"] is False and stored[prefix + "6"] is False
    assert stored[prefix + "2"] is True  # marked gone, never erased
    assert cursors(database, account.id)["INBOX"] == moved  # a repair moves no cursor

    again = CoverageChecker(database, settings).check(account)
    assert again.clean and (again.missing, again.vanished) == (0, 0)
    assert engine.sync_account(account).ok  # and the next pass finds nothing to redo


def test_no_repair_reports_and_changes_nothing(
        database: Database, synced_mailbox: tuple[Settings, SyncEngine, str]) -> None:
    settings, _, prefix = synced_mailbox
    account = settings.accounts[0]
    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == prefix + "1"))
    report = CoverageChecker(database, settings).check(account, repair=False)
    assert (report.missing, report.repaired, report.remaining) == (1, 0, 1)
    assert not report.clean
    assert prefix + "1" not in sources(database, account.id)


def test_drift_beyond_the_repair_bound_remains(
        database: Database, mail_user: MailUser,
        synced_mailbox: tuple[Settings, SyncEngine, str]) -> None:
    _, _, prefix = synced_mailbox
    settings = imap_settings(mail_user, max_repair=1)
    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id.in_([prefix + "1", prefix + "2"])))
    report = CoverageChecker(database, settings).check(settings.accounts[0])
    assert (report.missing, report.repaired, report.remaining) == (2, 1, 1)
    assert not report.clean


# ------------------------------------------------------------------ CalDAV


@pytest.fixture
def calendar(radicale_server: RadicaleServer) -> Iterator[RadicaleBackend]:
    backend = RadicaleBackend(radicale_server)
    try:
        yield backend
    finally:
        backend.client.close()


def caldav_settings(backend: RadicaleBackend) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{
            "id": f"cal-{backend.user}", "owner": "rita@ourco.example", "provider": "caldav",
            "url": backend.server.url, "username": backend.user,
            "password": backend.password, "past_days": 30, "future_days": 60, "retries": 0,
            "timeout": 10}]})


def test_caldav_drift_is_compared_per_object_and_repaired(
        database: Database, calendar: RadicaleBackend) -> None:
    bob = [("Bob", "bob@acme.example", "ACCEPTED")]
    calendar.add_event(EventSpec(uid="kickoff@test", title="Kickoff", attendees=bob,
                                 start=BASE_TIME + timedelta(days=1)))
    calendar.add_event(EventSpec(uid="weekly@test", title="Weekly", attendees=bob,
                                 start=BASE_TIME + timedelta(hours=5), rrule="FREQ=WEEKLY;COUNT=3"))
    calendar.add_event(EventSpec(uid="review@test", title="Review", attendees=bob,
                                 start=BASE_TIME + timedelta(days=2)))
    settings = caldav_settings(calendar)
    account = settings.accounts[0]
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME, fetch_process="never")
    assert engine.sync_account(account).ok
    checker = CoverageChecker(database, settings, clock=lambda: BASE_TIME)
    clean = checker.check(account)
    (cal,) = clean.resources
    assert clean.clean and (cal.present, cal.stored, cal.missing, cal.vanished) == (3, 3, 0, 0)

    weekly = calendar.path("weekly@test")
    with database.session() as s:  # every instance of the series, gone from the store
        s.execute(delete(Source).where(Source.provider_id.like(weekly + "#%")))
    calendar.delete_event("review@test")  # deleted on the server, no pass since
    before = cursors(database, account.id)

    report = checker.check(account)
    (cal,) = report.resources
    assert (cal.missing, cal.vanished, cal.repaired, cal.remaining) == (1, 1, 2, 0)
    stored = sources(database, account.id)
    # the series is fetched again as one object: each instance stored once more
    assert [gone for pid, gone in stored.items() if pid.startswith(weekly + "#")] == [False] * 3
    assert all(gone for pid, gone in stored.items()
               if pid.startswith(calendar.path("review@test")))
    assert cursors(database, account.id) == before
    assert checker.check(account).clean


class _ListsNothing(Provider):
    """A provider without the coverage capability (every built-in one has it now)."""

    kind = "local"

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        return iter(())


def test_a_provider_without_the_capability_is_reported_unsupported(
        database: Database, tmp_path: Path) -> None:
    settings = Settings.model_validate({"accounts": [{
        "id": "files", "provider": "local", "owner": "rita@ourco.example",
        "maildirs": [str(tmp_path)]}]})
    checker = CoverageChecker(database, settings,
                              provider_factory=lambda account, context: _ListsNothing())
    report = checker.check(settings.accounts[0])
    assert not report.supported and report.resources == [] and report.clean

"""Gmail and Google Calendar coverage checks through the real client library against the
stand-in, the real engine and both stores: a stored copy removed with SQL is fetched
again, a message or event deleted with no pass since is marked gone, a skipped message
is not missing, and mail older than the window never reads as deleted. Calendars are
compared per event object: a series counts once, whatever its instances."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select

from providers.google.calendar import GoogleCalendarProvider, series_key_parser
from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Source
from syncd.sync.coverage import CoverageChecker
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, EventSpec, make_message
from tests.providers.google.conftest import (
    NOW,
    REP,
    calendar_account,
    context,
    gmail_account,
)
from tests.standins.google import GoogleStandIn

CUSTOMER = ("Ann Acme", "ann@acme.example")


def sources(db: Database) -> dict[str, bool]:
    with db.session(write=False) as s:
        return {pid: gone is not None for pid, gone in s.execute(
            select(Source.provider_id, Source.deleted_at))}


def test_gmail_drift_is_found_and_repaired(database: Database, standin: GoogleStandIn,
                                           key_file: Path) -> None:
    ids = [standin.add_message(REP, make_message(n, sender=CUSTOMER, to=[("Rita", REP)],
                                                 when=BASE_TIME + timedelta(days=n)))
           for n in (1, 2, 3)]
    standin.add_message(REP, make_message(4, sender=("Carl", "carl@ourco.example"),
                                          to=[("Rita", REP)], when=BASE_TIME))  # internal
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [gmail_account(standin, key_file).model_dump(mode="json",
                                                                 exclude_none=True)]})
    account = settings.accounts[0]

    engine = SyncEngine(database, settings, clock=lambda: NOW, fetch_process="never")
    assert engine.sync_account(account).ok
    checker = CoverageChecker(database, settings, clock=lambda: NOW)
    clean = checker.check(account)
    (gmail,) = clean.resources
    assert clean.clean and (gmail.present, gmail.stored, gmail.skipped) == (4, 3, 1)

    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == ids[0]))
    standin.delete_message(REP, ids[1])
    # a month later the first messages left the window: not deleted for it
    later = CoverageChecker(database, settings, clock=lambda: NOW + timedelta(days=40))
    assert later.check(account, repair=False).vanished == 1
    report = checker.check(account)
    assert (report.missing, report.vanished, report.repaired, report.remaining) == (1, 1, 2, 0)
    stored = sources(database)
    assert stored[ids[0]] is False and stored[ids[1]] is True and stored[ids[2]] is False
    assert checker.check(account).clean


BOB = [("Bob", "bob@acme.example", "ACCEPTED")]


def test_calendar_keys_are_series_ids() -> None:
    key_of = series_key_parser("primary")
    assert key_of("primary/abc123") == "abc123"
    assert key_of("primary/abc123_20261123T150000Z") == "abc123"  # an instance
    assert key_of("primary/abc123_20261123") == "abc123"  # of an all-day series
    assert key_of("primary/_60q30c1g60o30e1i") == "_60q30c1g60o30e1i"  # imported id
    assert key_of("other/abc123") is None and key_of("primary/abc#invite#x") is None


def test_google_calendar_drift_is_found_per_object_and_repaired(
        database: Database, standin: GoogleStandIn, key_file: Path) -> None:
    for spec in (
        EventSpec(uid="kickoff@test", title="Kickoff", attendees=BOB,
                  start=BASE_TIME + timedelta(days=1)),
        EventSpec(uid="weekly@test", title="Weekly", attendees=BOB,
                  start=BASE_TIME + timedelta(hours=5), rrule="FREQ=WEEKLY;COUNT=3",
                  moved_instances={BASE_TIME + timedelta(days=7, hours=5):
                                   BASE_TIME + timedelta(days=8, hours=5)}),
        EventSpec(uid="review@test", title="Review", attendees=BOB,
                  start=BASE_TIME + timedelta(days=2)),
        EventSpec(uid="old@test", title="Old", attendees=BOB,
                  start=BASE_TIME - timedelta(days=20)),
    ):
        standin.add_event(REP, "primary", spec)
    account_model = calendar_account(standin, key_file)
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [account_model.model_dump(mode="json", exclude_none=True)]})
    account = settings.accounts[0]
    engine = SyncEngine(database, settings, clock=lambda: NOW, fetch_process="never")
    assert engine.sync_account(account).ok

    provider = GoogleCalendarProvider(account_model, context())
    try:  # ids only: the listing asks for no event data
        listed = provider.inventory("primary", {"sync_token": "any"})
        objects = provider.service.events().list(
            calendarId="primary", singleEvents=False,
            fields="items(id,recurringEventId)").execute()["items"]
    finally:
        provider.close()
    assert listed is not None and len(listed.expected) == 4 and len(listed.present) == 4
    # four event objects and the moved instance, nothing but the fields asked for
    assert len(objects) == 5 and all(set(o) <= {"id", "recurringEventId"} for o in objects)
    checker = CoverageChecker(database, settings, clock=lambda: NOW)
    clean = checker.check(account)
    (primary,) = clean.resources
    assert clean.clean and (primary.present, primary.stored) == (4, 4)
    # 40 days on, the old meeting left the window: not expected, and not vanished
    later = CoverageChecker(database, settings, clock=lambda: NOW + timedelta(days=40))
    assert later.check(account, repair=False).resources[0].vanished == 0

    stored = sources(database)
    weekly = [pid for pid in stored if pid.startswith("primary/") and "_" in pid]
    assert len(weekly) == 3
    with database.session() as s:  # every instance of the series, gone from the store
        s.execute(delete(Source).where(Source.provider_id.in_(weekly)))
    standin.remove_event(REP, "primary", "review@test")  # deleted, no pass since

    report = checker.check(account)
    (primary,) = report.resources
    assert (primary.missing, primary.vanished, primary.repaired, primary.remaining) \
        == (1, 1, 2, 0)
    after = sources(database)
    assert [after[pid] for pid in weekly] == [False] * 3  # the series, fetched again
    assert sum(gone for gone in after.values()) == 1  # the review, marked gone
    assert checker.check(account).clean

"""Outlook mail and calendar coverage checks through real msal and requests against the
Graph stand-in, the real engine and both stores: a stored copy removed with SQL is
fetched again by id, a message removed with no pass since is marked gone, an internal
message (skipped) is not missing; calendar instances are compared one by one, and a
deleted event is left to the delta (its id cannot be placed in the window)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Source
from syncd.sync.coverage import CoverageChecker
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, EventSpec, make_message
from tests.providers.microsoft.conftest import MAIL_NOW, auth_settings, fast_limits
from tests.standins.graph import GraphStandIn
from tests.standins.graph.calendarstore import expand

CUSTOMER = ("Ann Acme", "ann@acme.example")
RITA = ("Rita Rep", "rita@ourco.example")


def sources(db: Database) -> dict[str, bool]:
    with db.session(write=False) as s:
        return {pid: gone is not None for pid, gone in s.execute(
            select(Source.provider_id, Source.deleted_at))}


def test_outlook_mail_drift_is_found_and_repaired(database: Database,
                                                  standin: GraphStandIn) -> None:
    ids = [standin.add_message(RITA[1], "inbox", make_message(n, sender=CUSTOMER, to=[RITA]))
           for n in (1, 2, 3)]
    standin.add_message(RITA[1], "inbox", make_message(
        4, sender=RITA, to=[("Carl", "carl@ourco.example")]))  # internal: skipped
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-mail", "provider": "outlook_mail", "owner": RITA[1],
                      "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                      "limits": fast_limits(), "folders": ["inbox"], "backfill_days": 90}]})
    account = settings.accounts[0]
    engine = SyncEngine(database, settings, clock=lambda: MAIL_NOW, fetch_process="never")
    assert engine.sync_account(account).ok
    checker = CoverageChecker(database, settings, clock=lambda: MAIL_NOW)
    clean = checker.check(account)
    (inbox,) = clean.resources
    assert clean.clean and (inbox.present, inbox.stored, inbox.skipped) == (4, 3, 1)

    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == f"inbox/{ids[0]}"))
    standin.remove_message(RITA[1], ids[1])
    report = checker.check(account)
    assert (report.missing, report.vanished, report.repaired, report.remaining) == (1, 1, 2, 0)
    stored = sources(database)
    assert stored[f"inbox/{ids[0]}"] is False and stored[f"inbox/{ids[1]}"] is True
    assert checker.check(account).clean


def test_outlook_calendar_missing_instances_are_found_and_fetched_by_id(
        database: Database, standin: GraphStandIn) -> None:
    bob = [("Bob", "bob@acme.example", "ACCEPTED")]
    weekly = EventSpec(uid="weekly@test", title="Weekly", attendees=bob,
                       start=BASE_TIME + timedelta(hours=5), rrule="FREQ=WEEKLY;COUNT=3",
                       moved_instances={BASE_TIME + timedelta(days=7, hours=5):
                                        BASE_TIME + timedelta(days=8, hours=5)})
    kickoff = EventSpec(uid="kickoff@test", title="Kickoff", attendees=bob,
                        start=BASE_TIME + timedelta(days=1))
    for spec in (kickoff, weekly,
                 EventSpec(uid="review@test", title="Review", attendees=bob,
                           start=BASE_TIME + timedelta(days=2))):
        standin.add_event(RITA[1], spec)
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-cal", "provider": "outlook_calendar", "owner": RITA[1],
                      "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                      "limits": fast_limits(), "page_size": 2, "past_days": 30,
                      "future_days": 60}]})
    account = settings.accounts[0]
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME, fetch_process="never")
    assert engine.sync_account(account).ok
    checker = CoverageChecker(database, settings, clock=lambda: BASE_TIME)
    clean = checker.check(account)
    (calendar,) = clean.resources
    assert clean.clean and (calendar.present, calendar.stored) == (5, 5)
    listings = [r for r in standin.graph_requests(RITA[1]) if r.path.endswith("/calendarView")]
    assert listings and all("$select=id" in r.query for r in listings)

    stored = sources(database)
    occurrences = sorted(pid for pid in stored if "_" in pid)
    assert len(occurrences) == 3
    gone = [occurrences[1], expand(kickoff)[0]["id"]]  # the moved instance, a single event
    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id.in_(gone)))
    standin.remove_event(RITA[1], "review@test")
    report = checker.check(account)
    (calendar,) = report.resources
    assert (calendar.missing, calendar.vanished, calendar.repaired, calendar.remaining) \
        == (2, 0, 2, 0)
    after = sources(database)
    assert all(after[pid] is False for pid in gone)
    assert sum(after.values()) == 0  # the deleted review is the next pass's to report
    assert engine.sync_account(account).ok
    assert sum(sources(database).values()) == 1 and checker.check(account).clean

"""Google Calendar scenarios against the stand-in, through google-api-python-client."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.base import Deletion, Event
from providers.google import GoogleCalendarProvider
from syncd.errors import AuthError, CursorExpired
from tests.generate import BASE_TIME, EventSpec
from tests.providers.contract import drain, events, items
from tests.providers.google.conftest import (
    REP,
    calendar_account,
    context,
    trust,
    write_key_file,
)
from tests.standins.google import GoogleStandIn

WEEK = timedelta(days=7)


def provider(standin: GoogleStandIn, key_file: Path, privacy: str = "subject",
             **overrides: Any) -> GoogleCalendarProvider:
    return GoogleCalendarProvider(calendar_account(standin, key_file, **overrides),
                                  context(BASE_TIME, privacy=privacy))


def weekly(start: Any = None) -> EventSpec:
    start = start or BASE_TIME + timedelta(hours=6)
    return EventSpec(uid="weekly@test", title="Pipeline review", start=start,
                     rrule="FREQ=WEEKLY;COUNT=4",
                     attendees=[("Bob", "bob@acme.example", "ACCEPTED"),
                                ("Nia", "nia@acme.example", "NEEDS-ACTION")],
                     cancelled_instances=[start + WEEK],
                     moved_instances={start + 2 * WEEK: start + 2 * WEEK + timedelta(days=1)})


def test_recurring_instances_keep_original_start_as_recurrence_id(
        standin: GoogleStandIn, key_file: Path) -> None:
    spec = weekly()
    standin.add_event(REP, "primary", spec)
    evs = sorted(events(drain(provider(standin, key_file))[0]), key=lambda e: e.recurrence_id
                 or "")
    assert [e.recurrence_id for e in evs] == [
        (spec.start + k * WEEK).strftime("%Y-%m-%dT%H:%M:%SZ") for k in range(4)]
    cancelled, moved = evs[1], evs[2]
    assert cancelled.status == "cancelled"  # kept, marked
    assert moved.start == spec.start + 2 * WEEK + timedelta(days=1)
    assert moved.sequence == 1 and evs[0].sequence == 0
    assert {e.uid for e in evs} == {"weekly@test"}
    assert len({e.provider_id for e in evs}) == 4
    first = evs[0]
    assert first.timezone == "Europe/Berlin" and first.start.tzinfo is not None
    assert first.end - first.start == timedelta(hours=1)
    statuses = {a.address.email: a.status for a in first.attendees}
    assert statuses == {"bob@acme.example": "accepted", "nia@acme.example": "needs_action"}
    assert first.organizer is not None and first.organizer.name == "Rita Rep"
    assert first.updated is not None and first.calendar == "primary"


def test_window_bounds_the_full_sync(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_event(REP, "primary", EventSpec(uid="old@test", title="Old",
                                                start=BASE_TIME - timedelta(days=40)))
    standin.add_event(REP, "primary", EventSpec(uid="far@test", title="Far",
                                                start=BASE_TIME + timedelta(days=70)))
    standin.add_event(REP, "primary", EventSpec(uid="in@test", title="In", start=BASE_TIME))
    assert [e.uid for e in events(drain(provider(standin, key_file))[0])] == ["in@test"]


def test_incremental_changes_and_deletions(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_event(REP, "primary", EventSpec(uid="a@test", title="A", start=BASE_TIME))
    standin.add_event(REP, "primary", EventSpec(uid="b@test", title="B", start=BASE_TIME))
    _, cursors = drain(provider(standin, key_file))
    assert set(cursors["primary"]) == {"sync_token"}
    standin.remove_event(REP, "primary", "a@test")
    standin.add_event(REP, "primary", EventSpec(uid="c@test", title="C",
                                                start=BASE_TIME + timedelta(days=200)))
    got = items(drain(provider(standin, key_file), cursors)[0])
    assert [type(i).__name__ for i in got].count("Deletion") == 1
    assert [e.uid for e in got if isinstance(e, Event)] == ["c@test"]  # outside window: kept
    (gone,) = [i for i in got if isinstance(i, Deletion)]
    assert gone.kind == "event" and gone.provider_id.startswith("primary/")


def test_expired_sync_token_means_full_resync(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_event(REP, "primary", weekly())
    _, cursors = drain(provider(standin, key_file))
    standin.expire_sync_tokens(REP)
    with pytest.raises(CursorExpired) as info:
        drain(provider(standin, key_file), cursors)
    assert info.value.resource == "primary"
    cursors.pop("primary")
    pages, cursors = drain(provider(standin, key_file), cursors)
    assert len(events(pages)) == 4 and cursors["primary"]["sync_token"]


def test_full_listing_cursor_never_holds_a_sync_token_before_the_last_page(
        standin: GoogleStandIn, key_file: Path) -> None:
    for n in range(7):
        standin.add_event(REP, "primary", EventSpec(uid=f"e{n}@test", title=f"E{n}",
                                                    start=BASE_TIME + timedelta(hours=n)))
    gen = provider(standin, key_file, page_size=3).sync({})
    first = next(gen)  # the pass dies here: only this page was committed
    assert first.cursor is not None and "sync_token" not in first.cursor
    assert first.cursor["phase"] == "full" and first.cursor["page_token"]
    pages, cursors = drain(provider(standin, key_file, page_size=3), {"primary": first.cursor})
    uids = [e.uid for e in events([first, *pages])]
    assert sorted(uids) == [f"e{n}@test" for n in range(7)]
    assert [p.cursor and "sync_token" in p.cursor for p in pages] == [False, True]
    assert events(drain(provider(standin, key_file), cursors)[0]) == []


def test_several_calendars_are_separate_resources(standin: GoogleStandIn,
                                                  key_file: Path) -> None:
    team = "team-cal@group.calendar.example"
    standin.add_event(REP, "primary", EventSpec(uid="p@test", title="P", start=BASE_TIME))
    standin.add_event(REP, team, EventSpec(uid="t@test", title="T", start=BASE_TIME))
    pages, cursors = drain(provider(standin, key_file, calendars=["primary", team]))
    assert {(p.resource, e.uid) for p in pages for e in p.items if isinstance(e, Event)} == {
        ("primary", "p@test"), (team, "t@test")}
    assert set(cursors) == {"primary", team}


def test_metadata_privacy_drops_titles(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_event(REP, "primary", EventSpec(uid="x@test", title="Layoffs", start=BASE_TIME,
                                                location="Board room"))
    (ev,) = events(drain(provider(standin, key_file, privacy="metadata"))[0])
    assert ev.title is None and ev.location is None and ev.uid == "x@test"


def test_throttling_and_server_errors_are_retried(standin: GoogleStandIn,
                                                  key_file: Path) -> None:
    standin.add_event(REP, "primary", weekly())
    standin.faults.fail(503, times=2, path="/events")
    standin.faults.drop(times=1, path="/events")
    assert len(events(drain(provider(standin, key_file))[0])) == 4
    assert standin.faults.fired["fail"] == 2


def test_revoked_grant_is_an_auth_error(standin: GoogleStandIn, key_file: Path) -> None:
    standin.revoke(REP)
    with pytest.raises(AuthError):
        drain(provider(standin, key_file))


def test_calendar_quota_exhaustion_waits_and_completes(tmp_path: Path,
                                                       rsa_key: rsa.RSAPrivateKey) -> None:
    with GoogleStandIn(quota_units_per_second=2) as server:
        trust(server, rsa_key)
        for n in range(4):
            server.add_event(REP, "primary", EventSpec(uid=f"q{n}@test", title="Q",
                                                       start=BASE_TIME + timedelta(hours=n)))
        key = write_key_file(tmp_path / "sa.json", rsa_key, server)
        gcal = provider(server, key, page_size=1)
        pages, cursors = drain(gcal)
        assert sorted(e.uid for e in events(pages)) == [f"q{n}@test" for n in range(4)]
        assert server.throttled(REP, "calendar") > 0 and gcal.caller.throttled > 0
        assert cursors["primary"]["sync_token"]


def test_cancelled_and_tentative_events_keep_their_status(standin: GoogleStandIn,
                                                          key_file: Path) -> None:
    standin.add_event(REP, "primary", EventSpec(uid="off@test", title="Off", start=BASE_TIME,
                                                status="CANCELLED"))
    standin.add_event(REP, "primary", EventSpec(uid="maybe@test", title="Maybe",
                                                start=BASE_TIME, status="TENTATIVE"))
    statuses = {e.uid: e.status for e in events(drain(provider(standin, key_file))[0])}
    assert statuses == {"off@test": "cancelled", "maybe@test": "tentative"}

"""CalDAV provider scenarios against a real Radicale: first sync, changes, deletions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from providers.base import Deletion, Event
from syncd.errors import AuthError, ConfigError, CursorExpired, TransientError
from tests.generate import BASE_TIME, EventSpec, to_ics
from tests.providers.caldav.backend import RadicaleBackend
from tests.providers.caldav.rewriting_proxy import rewriting_proxy
from tests.providers.contract import drain, events, items, sync_all

WEEK = timedelta(days=7)


def deletions(pages: list[Any]) -> list[Deletion]:
    return [it for it in items(pages) if isinstance(it, Deletion)]


def sync_all_with(backend: RadicaleBackend, **overrides: Any) -> tuple[list[Any], dict[str, Any]]:
    """sync_all with account settings overridden (URL, password, retries...)."""
    provider = backend.provider(**overrides)
    try:
        return drain(provider)
    finally:
        provider.close()


def by_uid(pages: list[Any], uid: str) -> list[Event]:
    return [e for e in events(pages) if e.uid == uid]


def test_discovers_every_calendar_or_only_the_configured_ones(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_calendar("Private")
    backend.add_calendar("Empty")
    backend.add_event(EventSpec(uid="work@test", title="Work", start=BASE_TIME))
    backend.add_event(EventSpec(uid="dentist@test", title="Dentist", start=BASE_TIME),
                      calendar="Private")

    pages, cursors = sync_all(backend)
    assert set(cursors) == set(backend.calendars.values())  # the empty one too
    assert {e.uid for e in events(pages)} == {"work@test", "dentist@test"}

    backend.settings["calendars"] = ["work"]  # display names match case-insensitively
    pages, cursors = sync_all(backend)
    assert set(cursors) == {backend.calendars["Work"]}
    assert {e.uid for e in events(pages)} == {"work@test"}
    assert all(p.resource == backend.calendars["Work"] for p in pages)

    backend.settings["calendars"] = [backend.calendars["Private"]]  # or by URL
    pages, cursors = sync_all(backend)
    assert {e.uid for e in events(pages)} == {"dentist@test"}

    backend.settings["calendars"] = ["Holidays"]
    with pytest.raises(ConfigError) as err:
        sync_all(backend)
    assert "calendars" in str(err.value) and "Holidays" in str(err.value)


def test_a_url_naming_one_calendar_syncs_that_calendar_only(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    private = backend.add_calendar("Private")
    backend.add_event(EventSpec(uid="work@test", title="Work", start=BASE_TIME))
    backend.add_event(EventSpec(uid="dentist@test", title="Dentist", start=BASE_TIME),
                      calendar="Private")
    for url in (private, private.rstrip("/")):  # with or without the trailing slash
        pages, cursors = sync_all_with(backend, url=url)
        assert set(cursors) == {private}
        assert {e.uid for e in events(pages)} == {"dentist@test"}
    # the principal's URL (and the server's) still discovers every calendar
    principal = private.rstrip("/").rsplit("/", 1)[0] + "/"
    for url in (principal, backend.server.url):
        pages, cursors = sync_all_with(backend, url=url)
        assert set(cursors) == set(backend.calendars.values())
    # and `calendars` still selects, whatever the URL names
    pages, cursors = sync_all_with(backend, url=private, calendars=["Work"])
    assert {e.uid for e in events(pages)} == {"work@test"}


def test_incremental_reports_new_updated_and_deleted_events(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    keep = EventSpec(uid="keep@test", title="Keep", start=BASE_TIME + timedelta(days=1))
    # a UID that needs quoting in hrefs: the multiget must name it right
    change = EventSpec(uid="chänge me+1@test", title="Change",
                       start=BASE_TIME + timedelta(days=2))
    drop = EventSpec(uid="drop@test", title="Drop", start=BASE_TIME + timedelta(days=3))
    for spec in (keep, change, drop):
        backend.add_event(spec)
    first, cursors = sync_all(backend)
    dropped_id = by_uid(first, "drop@test")[0].provider_id
    json.dumps(cursors)  # cursors are stored as JSON

    backend.add_event(EventSpec(uid="new@test", title="New", start=BASE_TIME + timedelta(days=4)))
    change.title, change.sequence = "Changed", 1
    backend.add_event(change)
    backend.delete_event("drop@test")
    pages, _ = sync_all(backend, cursors)

    assert sorted((e.uid, e.title) for e in events(pages)) == [
        ("chänge me+1@test", "Changed"), ("new@test", "New")]
    # the whole object (its href), then every provider id reported for it
    assert [d.provider_id for d in deletions(pages)] == [backend.path("drop@test"), dropped_id]
    assert dropped_id.startswith(backend.path("drop@test") + "#")


def test_refused_sync_token_raises_cursor_expired_then_full_resync_works(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_event(EventSpec(uid="a@test", title="A", start=BASE_TIME))
    _, cursors = sync_all(backend)
    (resource,) = cursors
    stale = dict(cursors[resource], token="http://radicale.org/ns/sync/" + "0" * 64)

    provider = backend.provider()
    with pytest.raises(CursorExpired) as err:
        drain(provider, {resource: stale})
    assert err.value.resource == resource

    # what the engine does next: forget that cursor, sync again
    backend.add_event(EventSpec(uid="b@test", title="B", start=BASE_TIME))
    pages, again = drain(provider, {})
    provider.close()
    assert sorted(e.uid for e in events(pages)) == ["a@test", "b@test"]
    assert again[resource]["token"] != stale["token"]


def test_unreadable_cursor_is_treated_as_expired(radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    with pytest.raises(CursorExpired):
        sync_all(backend, {backend.calendar_url: {"v": 99}})


def test_recurring_meeting_with_moved_exdated_and_cancelled_instances(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    start = BASE_TIME + timedelta(hours=6)
    spec = EventSpec(uid="weekly@test", title="Pipeline review", start=start,
                     rrule="FREQ=WEEKLY;COUNT=5",
                     attendees=[("Bob", "bob@acme.example", "ACCEPTED"),
                                ("Eve", "eve@globex.example", "TENTATIVE")],
                     cancelled_instances=[start + WEEK],
                     moved_instances={start + 2 * WEEK: start + 2 * WEEK + timedelta(hours=3)})
    cal = icalendar.Calendar.from_ical(to_ics(spec))
    # the organizer also cancelled week 4 with an override (not an EXDATE)
    (master,) = [c for c in cal.walk("VEVENT") if c.get("RECURRENCE-ID") is None]
    override = icalendar.Event()
    for prop in ("UID", "SUMMARY", "DTSTAMP", "ORGANIZER", "ATTENDEE"):
        override[prop] = master[prop]
    override.add("recurrence-id", start + 3 * WEEK)
    override.add("dtstart", start + 3 * WEEK)
    override.add("dtend", start + 3 * WEEK + timedelta(hours=1))
    override.add("status", "CANCELLED")
    override.add("sequence", 1)
    cal.add_component(override)
    backend.put_ics(spec.uid, cal.to_ical().decode())

    evs = by_uid(sync_all(backend)[0], "weekly@test")
    rid = {e.recurrence_id or "": e for e in evs}

    def key(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert sorted(rid) == [key(start + n * WEEK) for n in range(5)]
    assert [rid[key(start + n * WEEK)].status for n in range(5)] == [
        "confirmed", "cancelled", "confirmed", "cancelled", "confirmed"]
    moved = rid[key(start + 2 * WEEK)]
    assert moved.start == start + 2 * WEEK + timedelta(hours=3)
    assert len({e.provider_id for e in evs}) == 5
    assert all(e.provider_id.startswith(backend.path("weekly@test") + "#") for e in evs)
    first = rid[key(start)]
    assert {a.address.email: a.status for a in first.attendees} == {
        "bob@acme.example": "accepted", "eve@globex.example": "tentative"}
    assert first.organizer is not None and first.organizer.email == "rita@ourco.example"


def test_exdate_added_later_reports_that_instance_cancelled(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    start = BASE_TIME + timedelta(hours=2)
    spec = EventSpec(uid="standup@test", title="Standup", start=start,
                     rrule="FREQ=WEEKLY;COUNT=4")
    backend.add_event(spec)
    _, cursors = sync_all(backend)
    spec.cancelled_instances = [start + 2 * WEEK]
    spec.sequence = 1
    backend.add_event(spec)
    evs = by_uid(sync_all(backend, cursors)[0], "standup@test")
    cancelled = [e for e in evs if e.status == "cancelled"]
    assert [e.start for e in cancelled] == [start + 2 * WEEK]


def test_shortened_series_reports_vanished_instances_as_deletions(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    start = BASE_TIME + timedelta(hours=4)
    spec = EventSpec(uid="series@test", title="Series", start=start, rrule="FREQ=WEEKLY;COUNT=4")
    backend.add_event(spec)
    first, cursors = sync_all(backend)
    ids = sorted(e.provider_id for e in by_uid(first, "series@test"))
    assert len(ids) == 4

    spec.rrule, spec.sequence = "FREQ=WEEKLY;COUNT=2", 1
    backend.add_event(spec)
    pages, _ = sync_all(backend, cursors)
    assert sorted(d.provider_id for d in deletions(pages)) == ids[2:]
    assert sorted(e.provider_id for e in by_uid(pages, "series@test")) == ids[:2]


def test_deleted_series_names_every_reported_instance(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_event(EventSpec(uid="gone@test", title="Gone", start=BASE_TIME,
                                rrule="FREQ=DAILY;COUNT=3"))
    first, cursors = sync_all(backend)
    backend.delete_event("gone@test")
    pages, _ = sync_all(backend, cursors)
    assert sorted(d.provider_id for d in deletions(pages)) == sorted(
        [backend.path("gone@test")] + [e.provider_id for e in events(first)])


def test_a_calendar_deleted_on_the_server_reports_its_events_gone_once(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    private = backend.add_calendar("Private")
    backend.add_event(EventSpec(uid="work@test", title="Work", start=BASE_TIME))
    backend.add_event(EventSpec(uid="dentist@test", title="Dentist", start=BASE_TIME),
                      calendar="Private")
    backend.add_event(EventSpec(uid="gym@test", title="Gym", start=BASE_TIME,
                                rrule="FREQ=DAILY;COUNT=2"), calendar="Private")
    first, cursors = sync_all(backend)
    reported = sorted(e.provider_id for e in events(first) if e.uid != "work@test")
    assert len(reported) == 3

    response = backend.client.delete(private)
    assert response.status in (200, 204), response.status
    pages, cursors = sync_all(backend, cursors)
    gone = sorted(d.provider_id for d in deletions(pages))
    assert set(reported) <= set(gone)
    assert set(gone) - set(reported) == {backend.path("dentist@test", "Private"),
                                         backend.path("gym@test", "Private")}
    assert all(p.resource == private for p in pages)  # the Work calendar is untouched
    assert cursors[private] == {"v": 1, "gone": True}

    pages, cursors = sync_all(backend, cursors)  # reported once
    assert deletions(pages) == []

    backend.add_calendar("Private")  # the same URL again: a new calendar, synced from scratch
    backend.add_event(EventSpec(uid="new@test", title="New", start=BASE_TIME),
                      calendar="Private")
    pages, cursors = sync_all(backend, cursors)
    assert [e.uid for e in events(pages)] == ["new@test"]
    assert "token" in cursors[private]


def test_a_calendar_left_out_of_the_settings_is_not_deleted(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_calendar("Private")
    backend.add_event(EventSpec(uid="dentist@test", title="Dentist", start=BASE_TIME),
                      calendar="Private")
    _, cursors = sync_all(backend)
    backend.settings["calendars"] = ["Work"]
    pages, _ = sync_all(backend, cursors)
    assert deletions(pages) == []


def test_invite_then_cancellation(radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    spec = EventSpec(uid="invite@test", title="Pricing call", start=BASE_TIME + timedelta(days=5),
                     organizer=("Zoë Ørsted", "zoe@acme.example"),
                     attendees=[("Rita Rep", "rita@ourco.example", "NEEDS-ACTION")])
    backend.add_event(spec)
    first, cursors = sync_all(backend)
    (invite,) = by_uid(first, "invite@test")
    assert invite.status == "confirmed" and invite.sequence == 0
    assert invite.attendees[0].status == "needs_action"

    spec.status, spec.sequence = "CANCELLED", 1
    backend.add_event(spec)
    pages, _ = sync_all(backend, cursors)
    (cancelled,) = by_uid(pages, "invite@test")
    assert cancelled.status == "cancelled" and cancelled.sequence == 1
    assert cancelled.provider_id == invite.provider_id
    assert deletions(pages) == []


def test_window_moving_forward_picks_up_new_instances_of_an_unchanged_series(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.settings.update(past_days=1, future_days=10)
    start = BASE_TIME + timedelta(hours=1)
    backend.add_event(EventSpec(uid="weekly@test", title="Weekly", start=start,
                                rrule="FREQ=WEEKLY;COUNT=10"))
    first, cursors = sync_all(backend)
    assert sorted(e.start for e in by_uid(first, "weekly@test")) == [start, start + WEEK]

    backend.now = BASE_TIME + timedelta(hours=5)  # same day: window unchanged, nothing to do
    assert sync_all(backend, cursors)[0] == []

    backend.now = BASE_TIME + WEEK  # a week later the window reaches week 2 and 3
    pages, cursors = sync_all(backend, cursors)
    assert start + 2 * WEEK in {e.start for e in by_uid(pages, "weekly@test")}
    assert deletions(pages) == []  # instances that left the window were not deleted
    assert sync_all(backend, cursors)[0] == []


def test_malformed_object_is_quarantined_and_the_pass_goes_on(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    good = EventSpec(uid="good@test", title="Good", start=BASE_TIME + timedelta(days=1))
    bad = EventSpec(uid="bad@test", title="Bad", start=BASE_TIME + timedelta(days=2))
    backend.add_event(good)
    backend.add_event(bad)
    # Radicale validates on PUT, so the corruption happens on the way back:
    # a server (or storage) handing out an object nobody can read.
    broken_start = bad.start.astimezone(ZoneInfo(bad.tzid)).strftime(
        "DTSTART;TZID=Europe/Berlin:%Y%m%dT%H%M%S")
    with rewriting_proxy(backend.server.port) as proxy:
        proxy.replacements[broken_start.encode()] = b"DTSTART;TZID=Europe/Berlin:garbage"
        pages, cursors = sync_all_with(backend, url=proxy.url)
    assert [e.uid for e in events(pages)] == ["good@test"]
    (quarantined,) = [q for p in pages for q in p.quarantined]
    assert quarantined.provider_id.startswith(backend.path("bad@test"))
    assert quarantined.kind == "event" and quarantined.reason
    assert "garbage" in quarantined.excerpt
    assert cursors, "the pass completed and moved the cursor"


def test_an_update_that_breaks_a_series_deletes_nothing(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    spec = EventSpec(uid="fragile@test", title="Fragile", start=BASE_TIME + timedelta(hours=3),
                     rrule="FREQ=WEEKLY;COUNT=3")
    backend.add_event(spec)
    with rewriting_proxy(backend.server.port) as proxy:
        first, cursors = sync_all_with(backend, url=proxy.url)
        assert len(events(first)) == 3
        spec.title, spec.sequence = "Fragile (edited)", 1
        backend.add_event(spec)
        proxy.replacements[spec.start.astimezone(ZoneInfo(spec.tzid)).strftime(
            "DTSTART;TZID=Europe/Berlin:%Y%m%dT%H%M%S").encode()] = b"DTSTART:garbage"
        provider = backend.provider(url=proxy.url)
        try:
            pages, after = drain(provider, cursors)
        finally:
            provider.close()
    assert events(pages) == [] and deletions(pages) == []
    assert len([q for p in pages for q in p.quarantined]) == 1
    (resource,) = cursors
    assert after[resource]["seen"] == cursors[resource]["seen"]


def test_bad_password_raises_auth_error_without_the_password(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    with pytest.raises(AuthError) as err:
        sync_all_with(backend, password="not-the-password")
    assert "not-the-password" not in str(err.value)
    assert backend.password not in repr(backend.account(password="not-the-password"))
    # credentials pasted into the URL never reach a message either
    leaky = backend.server.url.replace("http://", "http://someone:leak-me@")
    with pytest.raises(AuthError) as err:
        sync_all_with(backend, url=leaky, password="not-the-password")
    assert "leak-me" not in str(err.value)


def test_server_errors_and_unreachable_server_are_transient(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_event(EventSpec(uid="a@test", title="A", start=BASE_TIME))
    with rewriting_proxy(backend.server.port) as proxy:
        proxy.failures = 1  # one 503 is retried away
        pages, _ = sync_all_with(backend, url=proxy.url, retries=1)
        assert [e.uid for e in events(pages)] == ["a@test"]

        proxy.failures, proxy.fail_status = 100, 502
        with pytest.raises(TransientError):
            sync_all_with(backend, url=proxy.url, retries=1)

        # throttled for longer than we wait inline: handed to the engine with the delay
        proxy.failures, proxy.fail_status = 1, 429
        proxy.fail_headers = {"Retry-After": "120"}
        with pytest.raises(TransientError) as err:
            sync_all_with(backend, url=proxy.url, retries=2)
        assert err.value.retry_after == 120
        dead = proxy.url
    with pytest.raises(TransientError):
        sync_all_with(backend, url=dead, timeout=2)


def test_poll_with_nothing_new_costs_a_handful_of_requests(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    for n in range(5):
        backend.add_event(EventSpec(uid=f"e{n}@test", title=f"E{n}",
                                    start=BASE_TIME + timedelta(hours=n)))
    with rewriting_proxy(backend.server.port) as proxy:
        provider = backend.provider(url=proxy.url)
        try:
            _, cursors = drain(provider)
            before = proxy.requests
            pages, _ = drain(provider, cursors)
        finally:
            provider.close()
    assert pages == []
    # calendar discovery (the principal is cached) + one sync-collection REPORT;
    # no calendar data at all
    assert proxy.requests - before <= 3, proxy.requests - before


def test_pages_are_bounded_and_only_the_last_carries_the_cursor(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.settings.update(page_size=3, multiget_size=2)
    for n in range(7):
        backend.add_event(EventSpec(uid=f"p{n}@test", title=f"P{n}",
                                    start=BASE_TIME + timedelta(hours=n)))
    pages, _ = sync_all(backend)
    assert sorted(e.uid for e in events(pages)) == [f"p{n}@test" for n in range(7)]
    assert all(len(p.items) <= 3 for p in pages) and len(pages) >= 3
    assert [p.cursor is not None for p in pages] == [False] * (len(pages) - 1) + [True]
    assert all(p.total_hint is not None and p.total_hint > 0 for p in pages[:-1])


def test_privacy_metadata_drops_titles(radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.privacy = "metadata"
    backend.add_event(EventSpec(uid="p@test", title="Layoffs", start=BASE_TIME, location="HR"))
    (ev,) = events(sync_all(backend)[0])
    assert ev.title is None and ev.location is None
    assert ev.start == BASE_TIME


def test_meeting_moved_out_of_the_window_is_reported_with_its_new_time(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    spec = EventSpec(uid="moved@test", title="QBR", start=BASE_TIME + timedelta(days=3))
    backend.add_event(spec)
    _, cursors = sync_all(backend)
    # created outside the window: never reported, not even when it changes
    far = EventSpec(uid="far@test", title="Far", start=BASE_TIME + timedelta(days=400))
    backend.add_event(far)

    spec.start, spec.sequence = BASE_TIME + timedelta(days=200), 1  # window ends at +61 days
    backend.add_event(spec)
    pages, _ = sync_all(backend, cursors)
    assert [(e.uid, e.start) for e in events(pages)] == [("moved@test", spec.start)]
    assert deletions(pages) == []


def test_spinning_recurrence_rule_is_quarantined_not_expanded(
        radicale_backend: RadicaleBackend) -> None:
    backend = radicale_backend
    backend.add_event(EventSpec(uid="fine@test", title="Fine", start=BASE_TIME))
    # RFC 5545 forbids INTERVAL=0, Radicale stores it; dateutil would loop forever on it
    backend.put_ics("spin@test", to_ics(EventSpec(
        uid="spin@test", title="Spin", start=BASE_TIME, rrule="FREQ=WEEKLY;INTERVAL=0")))
    pages, cursors = sync_all(backend)
    assert [e.uid for e in events(pages)] == ["fine@test"]
    (quarantined,) = [q for p in pages for q in p.quarantined]
    assert quarantined.provider_id.startswith(backend.path("spin@test"))
    assert "INTERVAL=0" in quarantined.reason
    assert cursors


def test_read_timeout_from_config_is_transient() -> None:
    import socket
    import time

    from providers.base import ProviderContext
    from providers.caldav import CaldavProvider
    from providers.caldav.settings import CaldavAccount

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        account = CaldavAccount.model_validate({
            "id": "slow", "owner": "rita@ourco.example", "provider": "caldav",
            "url": f"http://127.0.0.1:{port}/", "username": "u", "password": "p",
            "timeout": 0.5, "retries": 0})
        began = time.monotonic()
        with pytest.raises(TransientError), CaldavProvider(account, ProviderContext()) as provider:
            list(provider.sync({}))
        assert time.monotonic() - began < 5

"""Outlook calendar scenarios against the Graph stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from providers.base import Deletion, Event
from providers.ical import parse_calendar
from providers.microsoft import OutlookCalendarProvider
from syncd.errors import CursorExpired
from tests.generate import BASE_TIME, EventSpec, to_ics
from tests.providers.contract import drain, events, items
from tests.providers.microsoft.conftest import MAILBOX, calendar_account, context
from tests.standins.graph import GraphStandIn

WEEK = timedelta(days=7)


def provider(standin: GraphStandIn, now: object = BASE_TIME, **over: object
             ) -> OutlookCalendarProvider:
    return OutlookCalendarProvider(calendar_account(standin, **over), context(now=now))


def weekly() -> EventSpec:
    first = BASE_TIME + timedelta(hours=6)
    return EventSpec(uid="weekly@test", title="Weekly pipeline review", start=first,
                     rrule="FREQ=WEEKLY;COUNT=4",
                     attendees=[("Bob", "bob@acme.example", "ACCEPTED"),
                                ("Eve", "eve@globex.example", "TENTATIVE"),
                                ("Zed", "zed@initech.example", "NEEDS-ACTION")],
                     cancelled_instances=[first + WEEK],
                     moved_instances={first + 2 * WEEK: first + 2 * WEEK + timedelta(days=1)})


def test_recurring_series_instances_share_the_series_uid(standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, weekly())
    evs = events(drain(provider(standin))[0])
    first = BASE_TIME + timedelta(hours=6)
    assert {e.uid for e in evs} == {"weekly@test"}  # not Graph's per-occurrence iCalUId
    by_rid = {e.recurrence_id or "": e for e in evs}
    assert sorted(by_rid) == [(first + n * WEEK).strftime("%Y-%m-%dT%H:%M:%SZ")
                              for n in range(4)]
    cancelled = by_rid[(first + WEEK).strftime("%Y-%m-%dT%H:%M:%SZ")]
    moved = by_rid[(first + 2 * WEEK).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert cancelled.status == "cancelled"
    assert moved.start == first + 2 * WEEK + timedelta(days=1) and moved.status == "confirmed"
    statuses = {a.address.email: a.status for a in evs[0].attendees}
    assert statuses == {"bob@acme.example": "accepted", "eve@globex.example": "tentative",
                        "zed@initech.example": "needs_action"}
    assert evs[0].organizer is not None and evs[0].organizer.email == "rita@ourco.example"
    assert evs[0].timezone == "Europe/Berlin"
    masters = [s for s in standin.graph_requests(MAILBOX) if "/events/" in s.path]
    assert len(masters) == 1, "one series lookup for four instances"


def test_series_lookup_is_remembered_in_the_cursor(standin: GraphStandIn) -> None:
    spec = weekly()
    standin.add_event(MAILBOX, spec)
    _, cursors = drain(provider(standin))
    spec.title = "Weekly pipeline review (new room)"
    standin.add_event(MAILBOX, spec)
    standin.requests.clear()
    evs = events(drain(provider(standin), cursors)[0])
    assert len(evs) == 4 and {e.title for e in evs} == {spec.title}
    assert not [s for s in standin.graph_requests(MAILBOX) if "/events/" in s.path]


def test_window_limits_the_initial_sync(standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, EventSpec(uid="inside@test", title="In", start=BASE_TIME))
    standin.add_event(MAILBOX, EventSpec(uid="past@test", title="Old",
                                         start=BASE_TIME - timedelta(days=40)))
    standin.add_event(MAILBOX, EventSpec(uid="future@test", title="Far",
                                         start=BASE_TIME + timedelta(days=70)))
    assert [e.uid for e in events(drain(provider(standin))[0])] == ["inside@test"]


def test_removed_events_become_deletions_even_outside_the_window(
        standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, EventSpec(uid="one@test", title="One", start=BASE_TIME))
    standin.add_event(MAILBOX, EventSpec(uid="far@test", title="Far",
                                         start=BASE_TIME + timedelta(days=300)))
    pages, cursors = drain(provider(standin))
    (one,) = events(pages)
    standin.remove_event(MAILBOX, "one@test")
    standin.remove_event(MAILBOX, "far@test")
    gone = items(drain(provider(standin), cursors)[0])
    assert all(isinstance(it, Deletion) and it.kind == "event" for it in gone)
    # the in-window one is the event we know; the other id is unknown to the store
    assert one.provider_id in {d.provider_id for d in gone} and len(gone) == 2


def test_expired_delta_and_resync(standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, weekly())
    _, cursors = drain(provider(standin))
    standin.expire_delta(MAILBOX)
    with pytest.raises(CursorExpired) as err:
        drain(provider(standin), cursors)
    assert err.value.resource == "calendar"
    again = events(drain(provider(standin))[0])
    assert len({e.dedupe_key for e in again}) == len(again) == 4


def test_window_is_reanchored_when_time_moves_on(standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, EventSpec(uid="later@test", title="Later",
                                         start=BASE_TIME + timedelta(days=65)))
    pages, cursors = drain(provider(standin))
    assert events(pages) == []  # beyond future_days
    # a few days on, the same delta round continues
    assert events(drain(provider(standin, now=BASE_TIME + timedelta(days=3)), cursors)[0]) == []
    # more than reanchor_days on: a fresh round over the moved window picks it up
    evs = events(drain(provider(standin, now=BASE_TIME + timedelta(days=8)), cursors)[0])
    assert [e.uid for e in evs] == ["later@test"]


def test_paging_over_many_instances(standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, EventSpec(uid="daily@test", title="Standup",
                                         start=BASE_TIME - timedelta(days=10),
                                         rrule="FREQ=DAILY;COUNT=35"))
    pages, cursors = drain(provider(standin, page_size=7))
    evs = [e for e in events(pages) if isinstance(e, Event)]
    assert len(evs) == 35 and len({e.recurrence_id for e in evs}) == 35
    assert len(pages) == 5 and cursors["calendar"]["final"] is True
    assert [p.cursor and p.cursor["final"] for p in pages] == [False] * 4 + [True]


def test_dedupe_keys_agree_with_the_icalendar_providers(standin: GraphStandIn) -> None:
    spec = weekly()
    standin.add_event(MAILBOX, spec)
    standin.add_event(MAILBOX, EventSpec(uid="single@test", title="Kickoff",
                                         start=BASE_TIME + timedelta(days=3)))
    outlook = {e.dedupe_key: e for e in events(drain(provider(standin))[0])}
    window = (BASE_TIME - timedelta(days=30), BASE_TIME + timedelta(days=60))
    ics = [e for text in (to_ics(spec), to_ics(EventSpec(
        uid="single@test", title="Kickoff", start=BASE_TIME + timedelta(days=3))))
        for e in parse_calendar(text, provider_id_prefix="f", window=window)]
    live_ics = {e.dedupe_key: e for e in ics if e.status != "cancelled"}
    live_outlook = {k: e for k, e in outlook.items() if e.status != "cancelled"}
    assert set(live_outlook) == set(live_ics)
    for key, ev in live_ics.items():
        assert (live_outlook[key].start, live_outlook[key].end) == (ev.start, ev.end)

"""providers.ical: instances, overrides, EXDATE, all-day, status, attendees, garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.ical import MAX_INSTANCES, format_recurrence_id, parse_calendar
from syncd.errors import BadItem
from tests.generate import BASE_TIME, EventSpec, to_ics

WEEK = timedelta(days=7)
WINDOW = (BASE_TIME - timedelta(days=30), BASE_TIME + timedelta(days=90))


def wrap(*lines: str, method: str | None = None) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    if method:
        head.append(f"METHOD:{method}")
    return "\r\n".join([*head, *lines, "END:VCALENDAR", ""])


def test_single_event_fields() -> None:
    start = BASE_TIME + timedelta(days=2)
    spec = EventSpec(uid="e1@test", title="Kickoff", start=start, location="Room 1",
                     attendees=[("Bob", "bob@acme.example", "ACCEPTED"),
                                ("Eve", "eve@globex.example", "DECLINED"),
                                ("Tom", "tom@x.example", "TENTATIVE"),
                                ("Ann", "ann@x.example", "NEEDS-ACTION"),
                                ("Del", "del@x.example", "DELEGATED")], sequence=3)
    (ev,) = parse_calendar(to_ics(spec), provider_id_prefix="cal.ics", calendar="work")
    assert (ev.uid, ev.recurrence_id, ev.provider_id) == ("e1@test", None, "cal.ics#e1@test")
    assert ev.start == start and ev.end == start + timedelta(hours=1)
    assert ev.start.tzinfo is not None and ev.timezone == "Europe/Berlin"
    assert (ev.title, ev.location, ev.sequence, ev.calendar) == ("Kickoff", "Room 1", 3, "work")
    assert ev.organizer is not None and ev.organizer.email == "rita@ourco.example"
    assert ev.organizer.name == "Rita Rep"
    assert [(a.address.email, a.status) for a in ev.attendees] == [
        ("bob@acme.example", "accepted"), ("eve@globex.example", "declined"),
        ("tom@x.example", "tentative"), ("ann@x.example", "needs_action"),
        ("del@x.example", "unknown")]
    assert ev.attendees[0].role == "REQ-PARTICIPANT"
    assert ev.status == "confirmed" and ev.method is None and not ev.all_day
    assert ev.updated == BASE_TIME


def test_recurring_set_with_moved_and_exdated_instances() -> None:
    start = BASE_TIME + timedelta(hours=6)
    spec = EventSpec(uid="w@test", title="Weekly", start=start, rrule="FREQ=WEEKLY;COUNT=4",
                     cancelled_instances=[start + WEEK],
                     moved_instances={start + 2 * WEEK: start + 2 * WEEK + timedelta(days=1)})
    evs = parse_calendar(to_ics(spec), provider_id_prefix="f", window=WINDOW)
    assert [(e.recurrence_id, e.start) for e in evs] == [
        (format_recurrence_id(start), start),
        (format_recurrence_id(start + 2 * WEEK), start + 2 * WEEK + timedelta(days=1)),
        (format_recurrence_id(start + 3 * WEEK), start + 3 * WEEK),
    ]
    assert evs[1].recurrence_id == "2026-11-16T15:00:00Z"
    assert evs[1].provider_id == "f#w@test#2026-11-16T15:00:00Z"
    assert len({e.dedupe_key for e in evs}) == 3


def test_window_limits_instances_and_unbounded_series_are_capped() -> None:
    spec = EventSpec(uid="d@test", title="Daily", start=BASE_TIME, rrule="FREQ=DAILY")
    evs = parse_calendar(to_ics(spec), provider_id_prefix="f",
                         window=(BASE_TIME + timedelta(days=10), BASE_TIME + timedelta(days=20)))
    assert [e.start for e in evs] == [BASE_TIME + timedelta(days=d) for d in range(10, 20)]
    hourly = EventSpec(uid="h@test", title="Spam", start=BASE_TIME, rrule="FREQ=HOURLY",
                       duration=timedelta(minutes=1))  # 8,784 instances in 366 days
    assert len(parse_calendar(to_ics(hourly), provider_id_prefix="f")) == MAX_INSTANCES


def test_without_window_a_series_expands_from_its_start() -> None:
    spec = EventSpec(uid="y@test", title="Monthly", start=BASE_TIME, rrule="FREQ=MONTHLY")
    evs = parse_calendar(to_ics(spec), provider_id_prefix="f")
    assert len(evs) == 13 and evs[0].start == BASE_TIME  # 366 days of monthly instances
    assert all(e.recurrence_id for e in evs)


def test_non_recurring_event_outside_window_is_dropped() -> None:
    spec = EventSpec(uid="old@test", title="Old", start=BASE_TIME - timedelta(days=400))
    assert parse_calendar(to_ics(spec), provider_id_prefix="f", window=WINDOW) == []
    assert len(parse_calendar(to_ics(spec), provider_id_prefix="f")) == 1


def test_all_day_floating_and_utc_times() -> None:
    text = wrap(
        "BEGIN:VEVENT", "UID:allday", "DTSTART;VALUE=DATE:20261105", "SUMMARY:Fair",
        "END:VEVENT",
        "BEGIN:VEVENT", "UID:float", "DTSTART:20261105T100000", "DTEND:20261105T110000",
        "END:VEVENT",
        "BEGIN:VEVENT", "UID:utc", "DTSTART:20261105T100000Z", "DURATION:PT30M",
        "END:VEVENT",
        "BEGIN:VEVENT", "UID:series", "DTSTART;VALUE=DATE:20261105", "RRULE:FREQ=DAILY;COUNT=2",
        "END:VEVENT")
    evs = {e.provider_id: e for e in parse_calendar(text, provider_id_prefix="f")}
    allday = evs["f#allday"]
    assert allday.all_day and allday.start == datetime(2026, 11, 5, tzinfo=UTC)
    assert allday.end == datetime(2026, 11, 6, tzinfo=UTC) and allday.timezone is None
    floating = evs["f#float"]
    assert floating.start == datetime(2026, 11, 5, 10, tzinfo=UTC) and floating.timezone is None
    utc = evs["f#utc"]
    assert utc.end - utc.start == timedelta(minutes=30) and utc.timezone == "UTC"
    assert {k for k in evs if k.startswith("f#series")} == {
        "f#series#2026-11-05", "f#series#2026-11-06"}
    assert evs["f#series#2026-11-06"].all_day


def test_status_method_and_cancelled_override() -> None:
    text = wrap(
        "BEGIN:VEVENT", "UID:s", "DTSTART:20261105T100000Z", "RRULE:FREQ=DAILY;COUNT=3",
        "STATUS:TENTATIVE", "END:VEVENT",
        "BEGIN:VEVENT", "UID:s", "RECURRENCE-ID:20261106T100000Z",
        "DTSTART:20261106T100000Z", "STATUS:CANCELLED", "SEQUENCE:2", "END:VEVENT",
        method="REQUEST")
    evs = parse_calendar(text, provider_id_prefix="f")
    assert [(e.recurrence_id, e.status) for e in evs] == [
        ("2026-11-05T10:00:00Z", "tentative"), ("2026-11-06T10:00:00Z", "cancelled"),
        ("2026-11-07T10:00:00Z", "tentative")]
    assert all(e.method == "REQUEST" for e in evs) and evs[1].sequence == 2
    cancel = wrap("BEGIN:VEVENT", "UID:c", "DTSTART:20261105T100000Z", "END:VEVENT",
                  method="CANCEL")
    (ev,) = parse_calendar(cancel, provider_id_prefix="f")
    assert ev.status == "cancelled" and ev.method == "CANCEL"


def test_override_without_its_series_is_one_instance() -> None:
    text = wrap("BEGIN:VEVENT", "UID:inst", "RECURRENCE-ID;TZID=Europe/Berlin:20261110T100000",
                "DTSTART;TZID=Europe/Berlin:20261110T120000", "END:VEVENT", method="REQUEST")
    (ev,) = parse_calendar(text, provider_id_prefix="f")
    assert ev.recurrence_id == "2026-11-10T09:00:00Z"
    assert ev.start == datetime(2026, 11, 10, 11, tzinfo=UTC)


def test_missing_uid_is_synthesized_stably() -> None:
    text = wrap("BEGIN:VEVENT", "DTSTART:20261105T100000Z", "SUMMARY:x", "END:VEVENT")
    (a,) = parse_calendar(text, provider_id_prefix="f")
    (b,) = parse_calendar(text, provider_id_prefix="g")
    assert a.uid == b.uid and a.uid.endswith("@synthesized.invalid")


def test_bad_group_is_reported_and_others_survive() -> None:
    text = wrap("BEGIN:VEVENT", "UID:nostart", "SUMMARY:broken", "END:VEVENT",
                "BEGIN:VEVENT", "UID:good", "DTSTART:20261105T100000Z", "END:VEVENT")
    with pytest.raises(BadItem):
        parse_calendar(text, provider_id_prefix="f")
    errors: list[BadItem] = []
    (good,) = parse_calendar(text, provider_id_prefix="f", errors=errors)
    assert good.uid == "good"
    assert [e.provider_id for e in errors] == ["f#nostart"]


@pytest.mark.parametrize("garbage", ["", "hello", b"\xff\xfe\x00", "BEGIN:VCALENDAR\nBROKEN"])
def test_unparseable_text_is_a_bad_item(garbage: str | bytes) -> None:
    with pytest.raises(BadItem):
        parse_calendar(garbage, provider_id_prefix="f")


@given(st.text(max_size=300))
@settings(max_examples=150)
def test_parse_calendar_raises_only_bad_item(body: str) -> None:
    text = wrap("BEGIN:VEVENT", *body.splitlines(), "END:VEVENT")
    try:
        evs = parse_calendar(text, provider_id_prefix="f")
    except BadItem:
        return
    for ev in evs:
        assert ev.start.tzinfo is not None and ev.end >= ev.start


@given(st.integers(0, 5), st.sampled_from(["DAILY", "WEEKLY"]), st.integers(1, 6))
@settings(max_examples=30, deadline=None)
def test_exdates_and_moves_never_duplicate_keys(day: int, freq: str, count: int) -> None:
    start = BASE_TIME + timedelta(days=day)
    step = timedelta(days=1 if freq == "DAILY" else 7)
    spec = EventSpec(uid="h@test", title="H", start=start, rrule=f"FREQ={freq};COUNT={count}",
                     cancelled_instances=[start + step] if count > 1 else [],
                     moved_instances={start: start + timedelta(hours=3)})
    evs = parse_calendar(to_ics(spec), provider_id_prefix="f", window=WINDOW)
    keys = [e.dedupe_key for e in evs]
    assert len(keys) == len(set(keys)) == count - (1 if count > 1 else 0)
    assert evs[0].recurrence_id == format_recurrence_id(start)


OUTLOOK_ZONE = [
    "BEGIN:VTIMEZONE", "TZID:W. Europe Standard Time",
    "BEGIN:STANDARD", "DTSTART:16010101T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:16010101T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT", "END:VTIMEZONE"]


def test_outlook_windows_zone_and_unknown_zone() -> None:
    text = wrap(*OUTLOOK_ZONE,
                "BEGIN:VEVENT", "UID:ol", "RRULE:FREQ=WEEKLY;UNTIL=20261110T090000Z;BYDAY=MO",
                "DTSTART;TZID=W. Europe Standard Time:20261102T100000",
                "DTEND;TZID=W. Europe Standard Time:20261102T103000", "END:VEVENT",
                "BEGIN:VEVENT", "UID:mars", "DTSTART;TZID=Mars/Olympus:20261102T100000",
                "END:VEVENT", method="REQUEST")
    evs = parse_calendar(text, provider_id_prefix="m")
    assert [(e.uid, e.recurrence_id) for e in evs] == [
        ("ol", "2026-11-02T09:00:00Z"), ("ol", "2026-11-09T09:00:00Z"), ("mars", None)]
    assert evs[0].timezone == "W. Europe Standard Time"
    assert evs[0].end - evs[0].start == timedelta(minutes=30)
    assert evs[2].start == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert evs[2].timezone == "Mars/Olympus"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("rrule", ["FREQ=WEEKLY;INTERVAL=0", "FREQ=DAILY;INTERVAL=000;COUNT=3",
                                   "FREQ=SECONDLY;COUNT=5", "FREQ=MINUTELY"])
def test_rules_that_would_spin_are_refused_not_expanded(rrule: str) -> None:
    text = to_ics(EventSpec(uid="spin@test", title="Spin", start=BASE_TIME, rrule=rrule))
    window = (BASE_TIME - timedelta(days=1), BASE_TIME + timedelta(days=365))
    with pytest.raises(BadItem, match="recurrence rule"):
        parse_calendar(text, provider_id_prefix="cal", window=window)
    errors: list[BadItem] = []
    assert parse_calendar(text, provider_id_prefix="cal", window=window, errors=errors) == []
    assert [e.provider_id for e in errors] == ["cal#spin@test"]


def test_positive_intervals_still_expand() -> None:
    text = to_ics(EventSpec(uid="ok@test", title="OK", start=BASE_TIME,
                            rrule="FREQ=DAILY;INTERVAL=05;COUNT=2"))
    found = parse_calendar(text, provider_id_prefix="cal",
                           window=(BASE_TIME, BASE_TIME + timedelta(days=30)))
    assert [e.start for e in found] == [BASE_TIME, BASE_TIME + timedelta(days=5)]

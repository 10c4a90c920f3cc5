"""Each normalizer's mapping of the private/confidential mark to ``Event.visibility``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from providers.base import Event
from providers.google.calendar_records import to_record
from providers.ical import parse_calendar
from providers.microsoft.calendar_records import to_event
from tests.generate import BASE_TIME, EventSpec, to_ics


@pytest.mark.parametrize(("mark", "expected"), [
    ("PUBLIC", "public"), ("PRIVATE", "private"), ("CONFIDENTIAL", "confidential"),
    ("private", "private"), ("X-SECRET", "public"),
])
def test_icalendar_class(mark: str, expected: str) -> None:
    text = to_ics(EventSpec(uid="u@test", title="T", start=BASE_TIME))
    text = text.replace("BEGIN:VEVENT\r\n", f"BEGIN:VEVENT\r\nCLASS:{mark}\r\n", 1)
    [event] = parse_calendar(text, provider_id_prefix="f")
    assert event.visibility == expected


def test_an_overridden_instance_keeps_its_own_class() -> None:
    start = BASE_TIME
    spec = EventSpec(uid="w@test", title="Weekly", start=start, rrule="FREQ=WEEKLY;COUNT=3",
                     moved_instances={start + timedelta(days=7): start + timedelta(days=8)},
                     classification="PRIVATE")
    text = to_ics(spec)
    # make only the master private: the override (second VEVENT) says PUBLIC
    head, _, tail = text.rpartition("CLASS:PRIVATE")
    text = head + "CLASS:PUBLIC" + tail
    got = {e.recurrence_id: e.visibility for e in parse_calendar(text, provider_id_prefix="f")}
    assert sorted(got.values()) == ["private", "private", "public"]


GOOGLE: dict[str, Any] = {"id": "e1", "iCalUID": "u@test", "status": "confirmed",
                          "start": {"dateTime": "2026-11-23T10:00:00Z"},
                          "end": {"dateTime": "2026-11-23T11:00:00Z"}}


@pytest.mark.parametrize(("value", "expected"), [
    (None, "public"), ("default", "public"), ("public", "public"), ("private", "private"),
    ("confidential", "confidential"),
])
def test_google_visibility(value: str | None, expected: str) -> None:
    resource = {**GOOGLE, **({"visibility": value} if value else {})}
    event = to_record(resource, calendar="primary")
    assert isinstance(event, Event) and event.visibility == expected


GRAPH: dict[str, Any] = {"id": "g1", "iCalUId": "u@test", "type": "singleInstance",
                         "start": {"dateTime": "2026-11-23T10:00:00.0000000", "timeZone": "UTC"},
                         "end": {"dateTime": "2026-11-23T11:00:00.0000000", "timeZone": "UTC"}}


@pytest.mark.parametrize(("value", "expected"), [
    (None, "public"), ("normal", "public"), ("personal", "public"), ("private", "private"),
    ("Confidential", "confidential"),
])
def test_graph_sensitivity(value: str | None, expected: str) -> None:
    item = {**GRAPH, **({"sensitivity": value} if value else {})}
    assert to_event(item, privacy="full").visibility == expected

"""providers.ical_light: where it reads a calendar, parse_calendar answers as with icalendar.

Differential: every calendar is parsed twice, once as shipped (the light
reader first) and once with the light reader switched off (icalendar only);
the events, or the BadItem, must be the same. Calendars are built from
invite lines as real clients write them plus hostile variants (escapes,
quoting, odd parameters, bad dates, unknown and Windows zones, recurrence,
duplicates, junk), and the hostile calendars of ``test_ical.py``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import ical, ical_light
from providers.errors import BadItem
from providers.ical_light import read_simple
from tests.generate import BASE_TIME, EventSpec, to_ics
from tests.providers.test_ical import OUTLOOK_ZONE, wrap
from tests.sales_mail import sales_mailbox

WINDOWS = [None, (BASE_TIME - timedelta(days=30), BASE_TIME + timedelta(days=30)),
           (BASE_TIME + timedelta(days=400), BASE_TIME + timedelta(days=401))]


def outcome(text: str | bytes, window: Any, *, light: bool) -> Any:
    switch = (contextlib.nullcontext() if light
              else mock.patch.object(ical_light, "read_simple", lambda _text: None))
    with switch:
        try:
            return ical.parse_calendar(text, provider_id_prefix="p", window=window)
        except BadItem as exc:
            return ("BadItem", exc.provider_id)


def same(text: str | bytes, window: Any = None) -> None:
    assert outcome(text, window, light=True) == outcome(text, window, light=False), text


def invites() -> list[str]:
    texts = []
    for raw in sales_mailbox(1500, now=datetime(2026, 12, 7, tzinfo=UTC), seed=3):
        if b"text/calendar" in raw:
            body = raw.split(b"method=REQUEST\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", 1)[1]
            texts.append(body.split(b"\r\n--", 1)[0].decode())
    return texts


def test_real_invites_take_the_light_path_and_agree() -> None:
    texts = invites()
    simple = [t for t in texts if "RRULE:FREQ=WEEKLY" not in t.split("BEGIN:VEVENT")[1]]
    assert len(texts) > 20 and simple
    for text in simple:
        assert read_simple(text) is not None
    for text in texts:
        for window in WINDOWS:
            same(text, window)


def test_generated_single_events_take_the_light_path() -> None:
    spec = EventSpec(uid="e1@test", title="Kick, off; \\ now", start=BASE_TIME,
                     location="Room 1", attendees=[("Bob, B", "bob@acme.example", "ACCEPTED"),
                                                   ("Eve", "eve@globex.example", "DECLINED")])
    for method in (None, "REQUEST", "CANCEL"):
        text = to_ics(spec, method=method)
        assert read_simple(text) is not None
        same(text)
        same(text.encode("utf-8"))


@pytest.mark.parametrize("lines", [
    [*OUTLOOK_ZONE, "BEGIN:VEVENT", "UID:ol", "DTSTART;TZID=W. Europe Standard Time:"
     "20261102T100000", "END:VEVENT"],
    ["BEGIN:VEVENT", "UID:mars", "DTSTART;TZID=Mars/Olympus:20261102T100000", "END:VEVENT"],
    ["BEGIN:VEVENT", "UID:a", "DTSTART:20261102T100000Z", "END:VEVENT",
     "BEGIN:VEVENT", "UID:a", "DTSTART:20261103T100000Z", "SEQUENCE:2", "END:VEVENT"],
    ["BEGIN:VEVENT", "DTSTART:20261102T100000Z", "SUMMARY:no uid", "END:VEVENT"],
    ["BEGIN:VEVENT", "UID:nostart", "SUMMARY:x", "END:VEVENT"],
    ["BEGIN:VEVENT", "UID:r", "DTSTART:20261102T100000Z", "RRULE:FREQ=DAILY;COUNT=3",
     "END:VEVENT"],
    ["BEGIN:VEVENT", "UID:dtstamp", "DTSTART:20261102T100000Z", "DTSTAMP:2026xx", "END:VEVENT"],
])
def test_hostile_calendars_agree(lines: list[str]) -> None:
    for window in WINDOWS:
        same(wrap(*lines, method="REQUEST"), window)


DTS = ["20261102T100000Z", "20261102T100000", "20261102", "20261302T100000Z", "2026110",
       "20260229T100000Z", "20261102T250000", "20261102t100000z", " 20261102T100000Z"]
PARAMS = ["", ";TZID=Europe/Berlin", ";TZID=\"America/New_York\"", ";VALUE=DATE",
          ";VALUE=DATE-TIME", ";TZID=W. Europe Standard Time", ";TZID=Mars/Olympus",
          ";tzid=Europe/Berlin", ";TZID=UTC", ";X-FOO=1", ";TZID=Europe/Berlin;TZID=UTC"]
TEXTS = st.text(st.sampled_from(list("ab ,;:\\\"^nN=\t\x01é\r")), max_size=12)
CNS = ["", ";CN=Bob", ";CN=\"Bob, B\"", ";CN=\"a:b;c\"", ";CN=Bob Smith", ";CN= Bob",
       ";cn=bob", ";CN=a^nb", ";CN=\"x\"y", ";CN=a,b", ";CN=a\\,b", ";CN=Bob;CN=Eve"]
PARTSTATS = ["", ";PARTSTAT=ACCEPTED", ";PARTSTAT=declined", ";PARTSTAT=\"TENTATIVE\"",
             ";ROLE=CHAIR", ";RSVP=TRUE", ";PARTSTAT =ACCEPTED"]
ADDRESSES = ["mailto:bob@acme.example", "MAILTO:eve@x.example", "mailto:a\\,b@x", "bob",
             "mailto:", "mailto:bob@acme.example "]


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["dt", "text", "person", "seq", "fixed", "junk"]))
    if kind == "dt":
        name = draw(st.sampled_from(["DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED", "dtend",
                                     "RECURRENCE-ID", "EXDATE", "CREATED"]))
        return f"{name}{draw(st.sampled_from(PARAMS))}:{draw(st.sampled_from(DTS))}"
    if kind == "text":
        name = draw(st.sampled_from(["SUMMARY", "LOCATION", "STATUS", "CLASS", "UID",
                                     "DESCRIPTION", "summary", "X-ALT-DESC", "METHOD"]))
        param = draw(st.sampled_from(["", ";LANGUAGE=en", ";ALTREP=\"cid:x\"", ";X=\"\""]))
        value = draw(st.one_of(TEXTS, st.sampled_from(["CANCELLED", "tentative", "PRIVATE",
                                                        "Confidential", "x"])))
        return f"{name}{param}:{value}"
    if kind == "person":
        name = draw(st.sampled_from(["ORGANIZER", "ATTENDEE", "ATTENDEE", "attendee"]))
        return (f"{name}{draw(st.sampled_from(CNS))}{draw(st.sampled_from(PARTSTATS))}:"
                f"{draw(st.sampled_from(ADDRESSES))}")
    if kind == "seq":
        return f"SEQUENCE:{draw(st.sampled_from(['0', '3', 'abc', ' 4', '-1', '']))}"
    if kind == "fixed":
        return draw(st.sampled_from(["DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2",
                                     "RDATE:20261110T100000Z", "BEGIN:VALARM", "END:VALARM",
                                     "TRIGGER:-PT15M", "BEGIN:VTODO", "END:VTODO", " folded",
                                     "TRANSP:OPAQUE", "PRIORITY:x", "X-MS-OLK:1"]))
    return draw(st.text(st.sampled_from(list("AB:;=\" \\é\x00")), max_size=10))


@st.composite
def calendars(draw: st.DrawFn) -> str:
    events = []
    for index in range(draw(st.integers(1, 3))):
        body = draw(st.lists(lines(), max_size=10))
        uid = draw(st.sampled_from([[f"UID:u{index}"], ["UID:same"], []]))
        start = draw(st.sampled_from([["DTSTART;TZID=Europe/Berlin:20261102T100000"],
                                      ["DTSTART:20261102T090000Z"], []]))
        events += ["BEGIN:VEVENT", *uid, *start, *body, "END:VEVENT"]
    head = draw(st.sampled_from([[], [*OUTLOOK_ZONE], ["METHOD:CANCEL"], ["METHOD:REQUEST",
                                                                          "METHOD:PUBLISH"]]))
    text = wrap(*head, *events)
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    return text.replace("\r\n", newline)


@given(calendars(), st.sampled_from(WINDOWS))
@settings(max_examples=600, deadline=None)
def test_arbitrary_calendars_agree(text: str, window: Any) -> None:
    same(text, window)


@given(calendars())
@settings(max_examples=150, deadline=None)
def test_plain_shapes_are_read_lightly(text: str) -> None:
    # the light path is actually taken for the plain shape, not always refused
    plain = wrap("BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Europe/Berlin:20261102T100000",
                 "ORGANIZER;CN=Ada:mailto:ada@acme.example", "SUMMARY:Review", "END:VEVENT")
    assert read_simple(plain) is not None
    same(text)


GOOD_DT = st.sampled_from([f"{p}:{v}" for p, v in [
    ("", "20261102T100000Z"), (";TZID=Europe/Berlin", "20261102T100000"),
    (";VALUE=DATE", "20261103"), ("", "20261104"),
    (";TZID=\"America/New_York\"", "20261102T230000"),
    (";TZID=UTC", "20261102T100000"), ("", "20261102T080000"),
    (";VALUE=DATE-TIME", "20261102T110000Z")]])
PLAIN_TEXT = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=15)


@st.composite
def plain_events(draw: st.DrawFn) -> list[str]:
    out = ["UID:" + draw(st.sampled_from(["u1", "u2", "x\\,y", "é@x"])),
           f"DTSTART{draw(GOOD_DT)}"]
    if draw(st.booleans()):
        out.append(f"DTEND{draw(GOOD_DT)}")
    for name in ("SUMMARY", "LOCATION", "STATUS", "CLASS", "DESCRIPTION"):
        if draw(st.booleans()):
            out.append(f"{name}:{draw(PLAIN_TEXT)}")
    for name in ("ORGANIZER", *["ATTENDEE"] * draw(st.integers(0, 3))):
        out.append(f"{name}{draw(st.sampled_from(CNS[:5]))}{draw(st.sampled_from(PARTSTATS[:5]))}"
                   f":{draw(st.sampled_from(ADDRESSES))}")
    if draw(st.booleans()):
        out += ["BEGIN:VALARM", "TRIGGER:-PT15M", "ACTION:DISPLAY", "END:VALARM"]
    out.append(f"SEQUENCE:{draw(st.integers(0, 5))}")
    return ["BEGIN:VEVENT", *draw(st.permutations(out)), "END:VEVENT"]


@given(plain_events(), st.sampled_from(WINDOWS), st.booleans())
@settings(max_examples=400, deadline=None)
def test_plain_invites_agree(event: list[str], window: Any, zone: bool) -> None:
    text = wrap(*(OUTLOOK_ZONE if zone else []), *event, method="REQUEST")
    same(text, window)

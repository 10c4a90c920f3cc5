"""``syncd demo refresh``: the bundled demo laid out around any today.

The story's reminders (tests/syncd/reminders/test_end_to_end.py, on the
anchor day) must appear the same a year later, and every kind must appear
on any day; the date shifting is property-tested to move exactly the dates.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import icalendar
import time_machine
import yaml
from hypothesis import given
from hypothesis import strategies as st

from syncd.cli.demo import ANCHOR, shift_calendar, shift_message, weeks_since_anchor
from tests.fixtures.demo import DEMO, run, write_demo_config
from tests.syncd.reminders.test_end_to_end import EXPECTED_OPEN

KINDS = {"reply_needed", "follow_up", "meeting_prep", "meeting_follow_up", "lead"}
NOON = timedelta(hours=12)


def refreshed(tmp_path: Path, today: date) -> Path:
    """The demo laid out around ``today``; synced in this process (a fetch process
    would not share the travelled clock, and the calendar window follows the clock)."""
    config = write_demo_config(tmp_path, None, data_dir=tmp_path / "state" / "demo")
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["scheduler"]["fetch_process"] = "never"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run(config, "demo", "refresh", "--today", today.isoformat(), "--source", str(DEMO))
    assert result.exit_code == 0, result.output
    return config


def synced_reminders(config: Path, now: datetime) -> list[dict[str, Any]]:
    with time_machine.travel(now, tick=True):
        for what in ("companies", "contacts"):
            assert run(config, "import", what, str(DEMO / f"{what}.csv")).exit_code == 0
        assert run(config, "sync", "--once").exit_code == 0
        result = run(config, "reminders", "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)["reminders"]
    return rows


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + NOON


def test_a_year_later_the_same_reminders_appear(tmp_path: Path) -> None:
    later = ANCHOR + timedelta(weeks=52)
    rows = synced_reminders(refreshed(tmp_path, later), at(later))
    year = timedelta(weeks=52)
    moved_back = [((datetime.fromisoformat(r["due_at"]) - year).isoformat().replace(
        "+00:00", "Z"), r["kind"], r["subject"]) for r in rows]
    assert moved_back == EXPECTED_OPEN


def test_on_any_weekday_every_kind_and_past_and_coming_meetings_appear(
        tmp_path: Path) -> None:
    someday = ANCHOR + timedelta(days=403)  # a Thursday, 57 weeks and 4 days on
    config = refreshed(tmp_path, someday)
    rows = synced_reminders(config, at(someday))
    assert {r["kind"] for r in rows} == KINDS
    assert all(datetime.fromisoformat(r["due_at"]) <= at(someday) + timedelta(days=14)
               for r in rows)
    timeline = run(config, "timeline", "--company", "globex.example", "--format", "json")
    meetings = [datetime.fromisoformat(i["occurred_at"]) for i in
                json.loads(timeline.stdout)["interactions"] if i["kind"] == "meeting"]
    assert min(meetings) < at(someday) < max(meetings)  # one ended, others to come


def test_refresh_is_idempotent_in_a_week_and_starts_the_store_afresh_in_the_next(
        tmp_path: Path) -> None:
    config = refreshed(tmp_path, ANCHOR)
    layout = tmp_path / "state" / "demo" / ".layout"
    assert json.loads(layout.read_text())["today"] == ANCHOR.isoformat()
    synced_reminders(config, at(ANCHOR))
    store = tmp_path / "state" / "syncd.db"
    assert store.exists()
    again = run(config, "demo", "refresh", "--today", (ANCHOR + timedelta(days=6)).isoformat(),
                "--source", str(DEMO))
    assert again.exit_code == 0 and "already laid out" in again.output
    assert store.exists()
    week = ANCHOR + timedelta(days=7)
    moved = run(config, "demo", "refresh", "--today", week.isoformat(), "--source", str(DEMO))
    assert moved.exit_code == 0 and "afresh" in moved.output, moved.output
    assert not store.exists()
    assert json.loads(layout.read_text())["today"] == week.isoformat()
    assert len(synced_reminders(config, at(week))) >= len(EXPECTED_OPEN)


def test_a_folder_without_the_demo_is_refused(tmp_path: Path) -> None:
    config = write_demo_config(tmp_path, None, data_dir=tmp_path / "state" / "demo")
    result = run(config, "demo", "refresh", "--source", str(tmp_path))
    assert result.exit_code == 2 and "holds no demo" in result.output


def test_weeks_count_from_the_anchor_to_the_last_sunday() -> None:
    assert weeks_since_anchor(ANCHOR) == 0
    assert weeks_since_anchor(ANCHOR + timedelta(days=6)) == 0
    assert weeks_since_anchor(ANCHOR + timedelta(days=7)) == 1
    assert weeks_since_anchor(ANCHOR - timedelta(days=1)) == -1


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                       timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
weeks = st.integers(min_value=-200, max_value=200).map(lambda w: timedelta(weeks=w))


@given(moments, weeks)
def test_a_message_moves_by_its_date_header_only(when: datetime, delta: timedelta) -> None:
    raw = (f"From: a@x.example\nDate: {format_datetime(when)}\nSubject: 20261122 Date:\n\n"
           "Body dated 20261122T090000Z stays.\n").encode()
    moved = shift_message(raw, delta)
    date_line = next(x for x in moved.split(b"\n") if x.startswith(b"Date:"))
    assert parsedate_to_datetime(date_line[5:].decode().strip()) == when + delta
    assert moved.replace(date_line, b"") == raw.replace(
        next(x for x in raw.split(b"\n") if x.startswith(b"Date:")), b"")
    assert shift_message(moved, -delta) == raw


@given(moments, weeks, st.booleans())
def test_an_event_moves_and_its_zones_rules_do_not(when: datetime, delta: timedelta,
                                                   utc: bool) -> None:
    stamp = when.strftime("%Y%m%dT%H%M%S") + ("Z" if utc else "")
    start = f"DTSTART:{stamp}" if utc else f"DTSTART;TZID=Europe/Berlin:{stamp}"
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
            "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\n"
            "DTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
            f"BEGIN:VEVENT\r\nUID:20261122-a@x\r\nDTSTAMP:{when:%Y%m%dT%H%M%S}Z\r\n{start}\r\n"
            f"RRULE:FREQ=WEEKLY;UNTIL={when + timedelta(weeks=3):%Y%m%dT%H%M%S}Z\r\n"
            f"EXDATE:{stamp}\r\nSUMMARY:Review 20261122\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    moved = shift_calendar(text, delta)
    assert shift_calendar(moved, -delta) == text
    (event,) = icalendar.Calendar.from_ical(moved).walk("VEVENT")
    (before,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert event.decoded("DTSTART").replace(tzinfo=None) == (
        before.decoded("DTSTART").replace(tzinfo=None) + delta)
    def until(e: icalendar.cal.Component) -> datetime:
        rule = e.decoded("RRULE")
        assert isinstance(rule, dict)
        value = rule["UNTIL"][0]
        assert isinstance(value, datetime)
        return value

    assert until(event) == until(before) + delta
    assert str(event["UID"]) == "20261122-a@x" and "Review 20261122" in moved
    assert "DTSTART:19701025T030000" in moved  # the zone's own rules stay

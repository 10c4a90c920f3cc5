"""Business-time arithmetic: fixed cases across weekends, holidays, time zones
and DST, plus property tests for the invariants in syncd.reminders.calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.config.reminders import BusinessHours
from syncd.reminders.calendar import BusinessCalendar


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


UTC_WEEK = BusinessCalendar(BusinessHours())
BERLIN = BusinessCalendar(BusinessHours(timezone="Europe/Berlin",
                                        holidays=[date(2026, 12, 24), date(2026, 12, 25)]))
NEW_YORK = BusinessCalendar(BusinessHours(timezone="America/New_York", start="08:30",
                                          end="17:30"))


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (utc(2026, 11, 2, 10), 2, utc(2026, 11, 2, 12)),       # inside one day
    (utc(2026, 11, 2, 16), 2, utc(2026, 11, 3, 10)),       # wraps overnight
    (utc(2026, 11, 6, 16), 2, utc(2026, 11, 9, 10)),       # Friday -> Monday
    (utc(2026, 11, 7, 12), 1, utc(2026, 11, 9, 10)),       # from a Saturday
    (utc(2026, 11, 2, 6), 8, utc(2026, 11, 2, 17)),        # before opening
    (utc(2026, 11, 2, 10), 0, utc(2026, 11, 2, 10)),       # zero is a no-op
    (utc(2026, 11, 9, 10), -2, utc(2026, 11, 6, 16)),      # backwards over a weekend
])
def test_add_hours_utc_week(start: datetime, hours: float, expected: datetime) -> None:
    assert UTC_WEEK.add_hours(start, hours) == expected


def test_berlin_hours_follow_the_zone_and_dst() -> None:
    # summer (CEST, UTC+2): 09:00 Berlin is 07:00 UTC
    assert BERLIN.add_hours(utc(2026, 7, 1, 4), 1) == utc(2026, 7, 1, 8)
    # winter (CET, UTC+1): 09:00 Berlin is 08:00 UTC
    assert BERLIN.add_hours(utc(2026, 12, 1, 4), 1) == utc(2026, 12, 1, 9)
    # across the DST change (Sunday 2026-10-25): Friday 16:00 CEST + 2h -> Monday 10:00 CET
    assert BERLIN.add_hours(utc(2026, 10, 23, 14), 2) == utc(2026, 10, 26, 9)


def test_holidays_are_skipped() -> None:
    # Wednesday 23 Dec 16:00 Berlin + 2 business hours skips 24th, 25th and the weekend
    assert BERLIN.add_hours(utc(2026, 12, 23, 15), 2) == utc(2026, 12, 28, 9)
    assert BERLIN.add_days(utc(2026, 12, 23, 9), 1) == utc(2026, 12, 28, 9)
    assert not BERLIN.is_working_day(date(2026, 12, 24))


def test_business_days_keep_the_wall_clock_time() -> None:
    assert UTC_WEEK.add_days(utc(2026, 11, 3, 14), 3) == utc(2026, 11, 6, 14)   # Tue -> Fri
    assert UTC_WEEK.add_days(utc(2026, 11, 5, 14), 3) == utc(2026, 11, 10, 14)  # Thu -> Tue
    assert UTC_WEEK.add_days(utc(2026, 11, 7, 14), 1) == utc(2026, 11, 10, 9)   # Sat snaps Mon
    assert UTC_WEEK.add_days(utc(2026, 11, 3, 14), 0.5) == utc(2026, 11, 4, 10)  # half a day
    assert UTC_WEEK.add_days(utc(2026, 11, 9, 14), -1) == utc(2026, 11, 6, 14)  # back to Fri
    # New York: 08:30-17:30 local; Friday 17:00 EST (22:00 UTC) + 1 day -> Monday 17:00 EST
    assert NEW_YORK.add_days(utc(2026, 11, 6, 22), 1) == utc(2026, 11, 9, 22)


def test_rep_override_inherits_what_it_leaves_out() -> None:
    from syncd.config.reminders import RepHours

    merged = RepHours(timezone="Asia/Tokyo", holidays=[date(2026, 11, 3)]).over(
        BusinessHours(start="08:00", holidays=[date(2026, 12, 25)]))
    assert (merged.timezone, merged.start, merged.end) == ("Asia/Tokyo", "08:00", "17:00")
    assert merged.holidays == [date(2026, 11, 3), date(2026, 12, 25)]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        UTC_WEEK.add_hours(datetime(2026, 11, 2, 10), 1)


# ---------------------------------------------------------------------- properties

CALENDARS = st.sampled_from([UTC_WEEK, BERLIN, NEW_YORK, BusinessCalendar(BusinessHours(
    timezone="Australia/Lord_Howe", days=["sun", "mon", "wed"], start="00:00", end="24:00",
    holidays=[date(2026, 11, 2)]))])
TIMES = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                     timezones=st.just(UTC))
HOURS = st.floats(min_value=0, max_value=200, allow_nan=False).map(lambda h: round(h, 3))


@settings(max_examples=60, deadline=None)
@given(CALENDARS, TIMES, HOURS)
def test_added_business_time_is_exactly_the_amount(cal: BusinessCalendar, t: datetime,
                                                   hours: float) -> None:
    end = cal.add_hours(t, hours)
    assert end >= t
    assert cal.business_seconds(t, end) == pytest.approx(hours * 3600, abs=1e-3)
    if hours > 0:  # lands inside opening hours (an opening's end counts)
        local_day = end.astimezone(cal.zone).date()
        spans = [cal.opening(local_day + timedelta(days=k)) for k in (-1, 0)]
        assert any(s is not None and s[0] < end <= s[1] for s in spans)


@settings(max_examples=60, deadline=None)
@given(CALENDARS, TIMES, TIMES, HOURS)
def test_monotonic_in_time(cal: BusinessCalendar, a: datetime, b: datetime,
                           hours: float) -> None:
    early, late = sorted((a, b))
    assert cal.add_hours(early, hours) <= cal.add_hours(late, hours)
    assert cal.add_days(early, hours / 10) <= cal.add_days(late, hours / 10)


@settings(max_examples=60, deadline=None)
@given(CALENDARS, TIMES, HOURS, HOURS)
def test_monotonic_in_amount_and_additive(cal: BusinessCalendar, t: datetime, h1: float,
                                          h2: float) -> None:
    small, big = sorted((h1, h2))
    assert cal.add_hours(t, small) <= cal.add_hours(t, big)
    assert cal.add_hours(cal.add_hours(t, h1), h2) == cal.add_hours(t, round(h1 + h2, 6))


@settings(max_examples=50, deadline=None)
@given(CALENDARS, TIMES, HOURS)
def test_backwards_mirrors_forwards(cal: BusinessCalendar, t: datetime, hours: float) -> None:
    start = cal.add_hours(t, -hours)
    assert start <= t
    assert cal.business_seconds(start, t) == pytest.approx(hours * 3600, abs=1e-3)


@settings(max_examples=50, deadline=None)
@given(CALENDARS, TIMES, st.integers(min_value=1, max_value=30))
def test_whole_business_days_land_on_working_days(cal: BusinessCalendar, t: datetime,
                                                  days: int) -> None:
    end = cal.add_days(t, days)
    assert end > t
    local = end.astimezone(cal.zone)
    day = local.date() if local.time() != datetime.min.time() else local.date() - timedelta(1)
    assert cal.is_working_day(day)

"""Business-time arithmetic: "3 business days after", "8 business hours before".

A :class:`BusinessCalendar` is one working week (days, opening hours, time
zone) plus holidays. Business time flows only inside opening hours of
working, non-holiday days, in the calendar's own time zone (so a Berlin
rep's 09:00-17:00 is 08:00-16:00 UTC in winter, 07:00-15:00 in summer).

Invariants (checked by property tests):

* ``add_hours(t, 0) == t``; for ``h > 0`` the result lies inside opening
  hours (an opening's end counts as inside) and
  ``business_seconds(t, add_hours(t, h)) == h * 3600``.
* ``add_hours`` is monotonic in ``t`` and in ``h``, and additive:
  ``add_hours(add_hours(t, a), b) == add_hours(t, a + b)`` for a, b ≥ 0.
* ``add_days(t, n)``: first the next business instant at or after ``t``,
  then the same wall-clock time ``n`` working days later (a fraction of a
  day is that share of one day's opening hours). Negative amounts walk
  backwards symmetrically (used for "lead time before a meeting").

All inputs and outputs are aware datetimes; outputs are UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from syncd.config.reminders import WEEKDAYS, BusinessHours, parse_hhmm

#: how far a walk may go looking for opening hours (a safety net: the config
#: guarantees at least one working day per week and holidays are finite)
_MAX_DAYS = 366 * 30


class BusinessCalendar:
    def __init__(self, hours: BusinessHours) -> None:
        self.zone = ZoneInfo(hours.timezone)
        self.workdays = frozenset(WEEKDAYS.index(d) for d in hours.days)
        self.holidays = frozenset(hours.holidays)
        self.opens: time = parse_hhmm(hours.start) or time(0)
        self.closes: time | None = parse_hhmm(hours.end)  # None: midnight at day's end

    # ------------------------------------------------------------------ days

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours in UTC, or None on a day off."""
        if not self.is_working_day(day):
            return None
        return _opening(self.zone, day, self.opens, self.closes)

    def _days(self, start: date, step: int) -> Iterator[date]:
        day = start
        for _ in range(_MAX_DAYS):
            yield day
            day += timedelta(days=step)
        raise ValueError("no opening hours within 30 years")

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self.zone).date()

    # ------------------------------------------------------------------ hours

    def add_hours(self, t: datetime, hours: float) -> datetime:
        """``t`` moved by ``hours`` of business time (backwards if negative)."""
        _aware(t)
        t = t.astimezone(UTC)
        remaining = timedelta(seconds=round(abs(hours) * 3600, 6))
        if not remaining:
            return t
        forward = hours > 0
        # start one day early/late: an opening may straddle local midnight in UTC terms
        first = self._local_date(t) - timedelta(days=1 if forward else -1)
        for day in self._days(first, 1 if forward else -1):
            span = self.opening(day)
            if span is None:
                continue
            a, b = span
            if forward:
                if b <= t:
                    continue
                s = max(a, t)
                if remaining <= b - s:
                    return s + remaining
                remaining -= b - s
            else:
                if a >= t:
                    continue
                e = min(b, t)
                if remaining <= e - a:
                    return e - remaining
                remaining -= e - a
        raise AssertionError("unreachable")  # pragma: no cover

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Business time between two instants (negative if ``end`` < ``start``)."""
        if end < start:
            return -self.business_seconds(end, start)
        total = 0.0
        day = self._local_date(start) - timedelta(days=1)
        last = self._local_date(end) + timedelta(days=1)
        while day <= last:
            span = self.opening(day)
            if span is not None:
                a, b = max(span[0], start), min(span[1], end)
                if b > a:
                    total += (b - a).total_seconds()
            day += timedelta(days=1)
        return total

    # ------------------------------------------------------------------ days

    def add_days(self, t: datetime, days: float) -> datetime:
        """``t`` moved by ``days`` working days, keeping the wall-clock time."""
        _aware(t)
        t = t.astimezone(UTC)
        if days == 0:
            return t
        forward = days > 0
        whole = math.floor(abs(days))
        fraction = abs(days) - whole
        t = self._snap(t, forward)
        local = t.astimezone(self.zone)
        wall = local.time().replace(tzinfo=None)
        day = local.date()
        step = 1 if forward else -1
        for _ in range(whole):
            day = next(d for d in self._days(day + timedelta(days=step), step)
                       if self.is_working_day(d))
            t = _wall(self.zone, day, wall, self.closes)
        if fraction:
            length = self._day_length(day)
            t = self.add_hours(t, (fraction if forward else -fraction) * length)
        return t

    def _snap(self, t: datetime, forward: bool) -> datetime:
        """The nearest business instant at/after (before) ``t``."""
        first = self._local_date(t) - timedelta(days=1 if forward else -1)
        for day in self._days(first, 1 if forward else -1):
            span = self.opening(day)
            if span is None:
                continue
            a, b = span
            if forward and t < b:
                return max(a, t)
            if not forward and t > a:
                return min(b, t)
        raise AssertionError("unreachable")  # pragma: no cover

    def _day_length(self, day: date) -> float:
        span = self.opening(day) or _opening(self.zone, day, self.opens, self.closes)
        return (span[1] - span[0]).total_seconds() / 3600


def _aware(t: datetime) -> None:
    if t.tzinfo is None:
        raise ValueError("business-time arithmetic needs aware datetimes")


def _wall(zone: ZoneInfo, day: date, wall: time, closes: time | None) -> datetime:
    if wall == time(0) and closes is None:
        # 00:00 as a snapped "end of day" means midnight after the day
        return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return datetime.combine(day, wall, zone).astimezone(UTC)


@lru_cache(maxsize=4096)
def _opening(zone: ZoneInfo, day: date, opens: time,
             closes: time | None) -> tuple[datetime, datetime]:
    a = datetime.combine(day, opens, zone).astimezone(UTC)
    if closes is None:
        b = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    else:
        b = datetime.combine(day, closes, zone).astimezone(UTC)
    return a, b

"""Per-object normalization without a server: rules that would spin are quarantined."""

from __future__ import annotations

from datetime import timedelta

import pytest

from providers.caldav.cursor import CalendarCursor, Window
from providers.caldav.dav import CalendarObject
from providers.caldav.objects import normalize_object
from tests.generate import BASE_TIME, EventSpec, to_ics


def normalize(rrule: str) -> tuple[list[object], list[object]]:
    text = to_ics(EventSpec(uid="r@test", title="R", start=BASE_TIME, rrule=rrule))
    cursor = CalendarCursor(token="t", window=Window(BASE_TIME - timedelta(days=1),
                                                     BASE_TIME + timedelta(days=30)))
    found, bad = normalize_object(CalendarObject("/u/c/r.ics", None, text), cursor=cursor,
                                  calendar="c", reported_before=False, privatize=lambda e: e)
    return list(found), list(bad)


@pytest.mark.parametrize("rrule", ["FREQ=WEEKLY;INTERVAL=0", "FREQ=DAILY;INTERVAL=000;COUNT=3",
                                   "FREQ=SECONDLY;COUNT=5"])
def test_rules_that_would_spin_are_quarantined(rrule: str) -> None:
    found, bad = normalize(rrule)
    assert found == [] and len(bad) == 1


@pytest.mark.parametrize("rrule", ["FREQ=WEEKLY;INTERVAL=10;COUNT=2",
                                   "FREQ=DAILY;INTERVAL=05;COUNT=2", "FREQ=WEEKLY;COUNT=2"])
def test_ordinary_rules_are_expanded(rrule: str) -> None:
    found, bad = normalize(rrule)
    assert bad == [] and found

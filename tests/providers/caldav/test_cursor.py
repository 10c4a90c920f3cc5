"""The CalDAV cursor and window arithmetic (property-based)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.caldav.cursor import CalendarCursor, Window, key_time
from syncd.errors import CursorExpired

days = st.integers(min_value=-400, max_value=400)
spans = st.integers(min_value=1, max_value=400)
EPOCH = datetime(2026, 11, 2, tzinfo=UTC)


def window(start: int, span: int) -> Window:
    return Window(EPOCH + timedelta(days=start), EPOCH + timedelta(days=start + span))


@given(days, spans, days, spans, st.integers(min_value=-900, max_value=900))
def test_uncovered_parts_are_exactly_the_new_window_minus_the_old(
        s1: int, n1: int, s2: int, n2: int, probe: int) -> None:
    old, new = window(s1, n1), window(s2, n2)
    parts = new.uncovered_by(old)
    moment = EPOCH + timedelta(days=probe, hours=5)
    in_parts = sum(p.contains(moment) for p in parts)
    assert in_parts <= 1, "parts do not overlap"
    assert bool(in_parts) == (new.contains(moment) and not old.contains(moment))
    assert all(p.start < p.end for p in parts)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)), st.integers(0, 3650), st.integers(0, 3650))
def test_window_is_whole_days_around_today(now: datetime, past: int, future: int) -> None:
    w = Window.around(now, past, future)
    assert w.start.time() == w.end.time() == datetime.min.time()
    assert w.contains(now)
    assert (w.end - w.start).days == past + future + 1
    assert Window.around(now.replace(hour=23, minute=59), past, future) == w


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.lists(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                 timezones=st.just(UTC)), max_size=3), max_size=5))
def test_cursor_json_round_trip_and_pruning(raw: dict[str, list[datetime]]) -> None:
    seen = {href: [f"uid#{m.strftime('%Y-%m-%dT%H:%M:%SZ')}" for m in moments]
            for href, moments in raw.items() if moments}
    cursor = CalendarCursor(token="tok", window=window(0, 30), seen=seen,
                            singles={href: ("uid", "2026-11-05T10:00:00Z") for href in raw})
    data = json.loads(json.dumps(cursor.to_json()))
    back = CalendarCursor.from_json("cal", data)
    assert back.to_json() == cursor.to_json()
    back.forget_before(EPOCH + timedelta(days=5))
    assert back.singles == {}, "meetings that ended before the window start are forgotten"
    for keys in back.seen.values():
        assert keys and all((t := key_time(k)) is not None and t >= EPOCH + timedelta(days=5)
                            for k in keys)


@pytest.mark.parametrize("raw", [{}, {"v": 2}, {"v": 1, "token": 5, "window": ["a", "b"]},
                                 {"v": 1, "token": "t", "window": ["2026-01-01", "x"]}])
def test_unreadable_cursor_means_resync(raw: dict[str, object]) -> None:
    with pytest.raises(CursorExpired) as err:
        CalendarCursor.from_json("https://cal.example/c/", raw)
    assert err.value.resource == "https://cal.example/c/"


def test_key_time_reads_dates_and_date_times() -> None:
    assert key_time("u@x#2026-11-02") == EPOCH
    assert key_time("u@x#2026-11-02T09:00:00Z") == EPOCH + timedelta(hours=9)
    assert key_time("u@x#nonsense") is None

"""``--due-before WHEN`` parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.cli.reminders import parse_when

NOW = datetime(2026, 11, 22, 21, 30, tzinfo=UTC)  # 22:30 in Berlin, Sunday


@pytest.mark.parametrize(("text", "zone", "expected"), [
    ("now", "UTC", NOW),
    ("+8h", "UTC", datetime(2026, 11, 23, 5, 30, tzinfo=UTC)),
    ("+3d", "UTC", datetime(2026, 11, 25, 21, 30, tzinfo=UTC)),
    ("+1w", "UTC", datetime(2026, 11, 29, 21, 30, tzinfo=UTC)),
    ("today", "UTC", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
    ("today", "Europe/Berlin", datetime(2026, 11, 22, 23, 0, tzinfo=UTC)),
    ("tomorrow", "America/New_York", datetime(2026, 11, 24, 5, 0, tzinfo=UTC)),
    ("2026-11-25", "Europe/Berlin", datetime(2026, 11, 25, 23, 0, tzinfo=UTC)),
    ("2026-11-25T17:00", "Europe/Berlin", datetime(2026, 11, 25, 16, 0, tzinfo=UTC)),
    ("2026-11-25T17:00Z", "Europe/Berlin", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
    ("2026-11-25T17:00+05:00", "UTC", datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
])
def test_when(text: str, zone: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW, zone=zone) == expected


@pytest.mark.parametrize("text", ["someday", "+3x", "2026-13-01", ""])
def test_bad_when(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        parse_when(text, now=NOW, zone="UTC")

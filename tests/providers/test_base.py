"""The provider contract's own helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from providers.base import ProviderContext, synthesize_message_id
from tests.generate import BASE_TIME


def test_current_time_is_pinned_supplied_or_the_wall_clock() -> None:
    assert ProviderContext(now=BASE_TIME).current_time() == BASE_TIME
    assert ProviderContext(now=lambda: BASE_TIME).current_time() == BASE_TIME
    east = BASE_TIME.astimezone(timezone(timedelta(hours=5)))
    pinned = ProviderContext(now=east).current_time()
    assert pinned == BASE_TIME and pinned.tzinfo == UTC
    assert ProviderContext(now=BASE_TIME.replace(tzinfo=None)).current_time() == BASE_TIME
    before = datetime.now(UTC)
    assert before <= ProviderContext().current_time() <= datetime.now(UTC)


def test_current_time_refuses_what_is_not_a_time() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        ProviderContext(now=lambda: "2026-11-02").current_time()  # type: ignore[arg-type, return-value]


def test_synthesized_message_ids_are_stable_and_distinct() -> None:
    one = synthesize_message_id("a@x", "Mon, 2 Nov 2026", "Hi", "b@y")
    assert one == synthesize_message_id("a@x", "Mon, 2 Nov 2026", "Hi", "b@y")
    assert one != synthesize_message_id("a@x", "Mon, 2 Nov 2026", "Hi", "c@y")
    assert one.endswith("@synthesized.invalid")

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


def test_pages_survive_pickling_field_for_field() -> None:
    # pages cross from the fetch process to the engine pickled (syncd.sync.fetch_process)
    import pickle

    from providers.base import (
        Address,
        Attendee,
        Automation,
        Deletion,
        Event,
        Message,
        Page,
        Quarantined,
    )

    ada = Address("ada@acme.example", "Ada Lovelace")
    event = Event("cal/1", "uid-1", "2026-11-03T09:00:00Z", BASE_TIME, BASE_TIME + timedelta(
        hours=1), True, "Europe/Berlin", "Review", "Room 1", ada,
        (Attendee(Address("rita@ourco.example"), "accepted", "CHAIR"),), "cancelled", 3, "Work",
        "CANCEL", BASE_TIME)
    message = Message("INBOX/7", "m7@acme.example", BASE_TIME, ada, (ada,), (ada,), (ada,),
                      "Zoë's offer", "INBOX", ("private",), "hint", "m6@acme.example",
                      ("m5@acme.example", "m6@acme.example"),
                      Automation("list.acme", "<mailto:u@acme>", "auto-replied", "bulk"),
                      1234, "snippet", "body", (event,))
    page = Page("INBOX", [message, event, Deletion("INBOX/8", "message")],
                [Quarantined("INBOX/9", "message", "no Date", "Subject: x")], {"uid": 9}, 12)
    copy = pickle.loads(pickle.dumps(page))
    assert copy == page and copy.items[0] == message and copy.items[1] == event
    assert copy is not page and copy.items[0].to[0] == ada

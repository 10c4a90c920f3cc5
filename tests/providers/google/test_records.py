"""Normalizers of Gmail and Calendar resources: fields, and never an exception."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.base import Deletion, Event, Message, Quarantined
from providers.google.calendar_records import to_record
from providers.google.gmail_records import to_message

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12)
event_keys = st.sampled_from(["id", "status", "iCalUID", "start", "end", "attendees",
                              "organizer", "originalStartTime", "sequence", "updated"])


@given(st.dictionaries(event_keys, json_values, max_size=10))
def test_any_event_resource_normalizes_or_is_quarantined(resource: dict[str, Any]) -> None:
    assert isinstance(to_record(resource, calendar="primary"), Event | Deletion | Quarantined)


@given(st.lists(st.tuples(st.sampled_from(["From", "To", "Date", "Subject", "Message-ID",
                                           "References", "X-Odd"]),
                          st.text(max_size=60)), max_size=8))
def test_any_gmail_header_set_normalizes_or_is_quarantined(
        headers: list[tuple[str, str]]) -> None:
    resource = {"id": "18c0001", "threadId": "18c0001", "labelIds": ["INBOX"],
                "internalDate": "1793600000000",
                "payload": {"headers": [{"name": n, "value": v} for n, v in headers]}}
    assert isinstance(to_message(resource, privacy="subject", label_names={}),
                      Message | Quarantined)


def test_all_day_event_and_cancelled_instance_without_times() -> None:
    ev = to_record({"id": "e1", "iCalUID": "u@x", "status": "confirmed",
                    "start": {"date": "2026-11-23"}, "end": {"date": "2026-11-24"},
                    "attendees": [{"email": "a@x", "responseStatus": "tentative",
                                   "optional": True}, {"displayName": "Room 1"}]},
                   calendar="primary")
    assert isinstance(ev, Event) and ev.all_day and ev.recurrence_id is None
    assert ev.start == datetime(2026, 11, 23, tzinfo=UTC)
    assert [(a.address.email, a.status, a.role) for a in ev.attendees] == [
        ("a@x", "tentative", "OPT-PARTICIPANT")]
    inst = to_record({"id": "e2_20261123", "iCalUID": "u@x", "status": "cancelled",
                      "recurringEventId": "e2",
                      "originalStartTime": {"date": "2026-11-23"}}, calendar="primary")
    assert isinstance(inst, Event) and inst.status == "cancelled"
    assert inst.recurrence_id == "2026-11-23"
    gone = to_record({"id": "e3", "status": "cancelled"}, calendar="primary")
    assert gone == Deletion(provider_id="primary/e3", kind="event")


def test_gmail_message_without_date_uses_internal_date() -> None:
    msg = to_message({"id": "m1", "threadId": "t1", "labelIds": ["INBOX", "Label_3"],
                      "internalDate": "1793600000000", "sizeEstimate": 1234,
                      "snippet": "Hi &amp; bye",
                      "payload": {"headers": [{"name": "From", "value": "A <a@x.example>"},
                                              {"name": "Subject", "value": "Hello"}]}},
                     privacy="snippet", label_names={"Label_3": "Private"})
    assert isinstance(msg, Message)
    assert msg.sent_at == datetime.fromtimestamp(1793600000, tz=UTC)
    assert msg.tags == ("INBOX", "Private") and msg.size == 1234
    assert msg.snippet == "Hi & bye" and msg.thread_hint == "t1"
    assert msg.message_id.endswith("@synthesized.invalid")

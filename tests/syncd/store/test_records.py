"""Pure record building: text sanitizing and keys (hypothesis), direction, invites."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from matching import resolve
from matching.types import DirectorySnapshot
from providers.base import Address
from syncd.store.records import KEY_LIMIT, event_record, key, message_record, text
from tests.syncd.store.builders import POLICY, REP, meeting, message


@given(st.text(), st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
def test_text_is_always_storable_and_idempotent(value: str, limit: int | None) -> None:
    cleaned = text(value, limit)
    assert cleaned is not None
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")  # no lone surrogates
    assert limit is None or len(cleaned) <= limit
    assert text(cleaned, limit) == cleaned


@given(st.text(min_size=0, max_size=3000))
def test_keys_fit_their_column_and_are_stable(value: str) -> None:
    k = key(value)
    assert len(k) <= KEY_LIMIT and "\x00" not in k
    assert key(value) == k
    if len(value) <= KEY_LIMIT and "\x00" not in value and value == text(value):
        assert k == value  # ordinary ids are kept as they are


def test_direction_follows_sender_and_organizer() -> None:
    ann = Address("ann@acme.example")
    colleague = Address("carl@ourco.example")
    msgs = {
        "inbound": message(1, sender=ann, to=(REP,)),
        "outbound": message(2, sender=REP, to=(ann,)),
        "internal": message(3, sender=REP, to=(colleague,)),
    }
    for expected, msg in msgs.items():
        raw = [a.email for _, a in msg.participants]
        decisions = resolve(raw, DirectorySnapshot(), POLICY)
        assert message_record(msg, decisions).direction == expected
    event = meeting("m@x", method="CANCEL")
    decisions = resolve(["rita@ourco.example", "ann@acme.example"], DirectorySnapshot(), POLICY)
    record = event_record(event, decisions)
    assert (record.direction, record.status) == ("outbound", "cancelled")
    assert [p.role for p in record.participants] == ["organizer", "attendee"]

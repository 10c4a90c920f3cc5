"""syncd.store.merge: a meeting copy marked private blanks the stored content when it wins."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from syncd.store.merge import merge_copy
from syncd.store.records import InteractionRecord
from tests.generate import BASE_TIME
from tests.syncd.store.test_merge import fold, person

CALENDAR = InteractionRecord(
    kind="meeting", dedupe_key="uid@x#", provider_id="cal/uid", folder="cal",
    occurred_at=BASE_TIME, direction="outbound", status="confirmed", sequence=0,
    provider_updated_at=BASE_TIME, origin="calendar",
    participants=[person("organizer", 0), person("attendee", 1)],
    subject="Acquisition talks", location="Room 1")
PRIVATE = dataclasses.replace(CALENDAR, subject=None, location=None, private=True,
                              provider_updated_at=BASE_TIME + timedelta(hours=1))


def test_a_private_copy_blanks_title_and_location_and_keeps_times_and_people() -> None:
    row, people = fold([CALENDAR, PRIVATE])
    assert (row.subject, row.location, row.snippet, row.body) == (None, None, None, None)
    assert row.occurred_at == BASE_TIME and [p.address for p in people] == [
        "p0@acme.example", "p1@acme.example"]


def test_the_private_cut_is_idempotent() -> None:
    row, people = fold([CALENDAR, PRIVATE])
    merged = merge_copy(row, people, PRIVATE)
    assert all(getattr(row, k) == v for k, v in merged.fields.items())


def test_an_older_private_invite_does_not_undo_the_newer_state() -> None:
    old_invite = dataclasses.replace(PRIVATE, provider_id="INBOX/1#invite#uid@x#",
                                     origin="itip", method="REQUEST", sequence=0,
                                     provider_updated_at=BASE_TIME - timedelta(days=1))
    newer = dataclasses.replace(CALENDAR, sequence=2)
    row, _ = fold([newer, old_invite])
    assert row.subject == "Acquisition talks"


def test_a_public_copy_that_wins_brings_the_title_back() -> None:
    # the meeting was made public again: the calendar's current state wins
    public = dataclasses.replace(CALENDAR, provider_updated_at=BASE_TIME + timedelta(hours=2))
    row, _ = fold([CALENDAR, PRIVATE, public])
    assert (row.subject, row.location) == ("Acquisition talks", "Room 1")

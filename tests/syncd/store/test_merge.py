"""The merge rules (syncd.store.merge) as properties, no database.

A row is folded exactly as the page writer folds it: a new row from the
first copy (``InteractionRow.from_record``), then ``merge_copy`` for every
copy including the first, assigning what differs."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.store.merge import assign, merge_copy, normalized_subject
from syncd.store.plain_rows import InteractionRow
from syncd.store.records import InteractionRecord, ParticipantRow
from tests.generate import BASE_TIME

Folded = tuple[tuple[object, ...], list[ParticipantRow]]


def person(role: str, n: int, *, status: str | None = None) -> ParticipantRow:
    return ParticipantRow(role=role, address=f"p{n}@acme.example", domain="acme.example",
                          display_name=f"P {n}", contact_id=None, company_id=None,
                          match="unmatched", match_reason=None, response_status=status)


def fold(copies: Sequence[InteractionRecord], *, shared: bool = False
         ) -> tuple[InteractionRow, list[ParticipantRow]]:
    row = InteractionRow.from_record(copies[0], now=BASE_TIME)
    people: list[ParticipantRow] = []
    for rec in copies:
        merged = merge_copy(row, people, rec, shared=shared)
        if merged.participants is not None:
            people = merged.participants
        assign(row, merged.fields)
    return row, people


def state(copies: Sequence[InteractionRecord], *, shared: bool = False) -> Folded:
    row, people = fold(copies, shared=shared)
    return row.values(), people


# ---------------------------------------------------------------------- email copies

OPTIONAL = ("subject", "snippet", "body", "in_reply_to", "thread_hint")


@st.composite
def email_copies(draw: st.DrawFn) -> list[InteractionRecord]:
    """Copies of ONE message as several mailboxes see it: any optional field
    may be missing (privacy level, provider), only the sender's copies carry
    Bcc, and each copy's date is the earliest or later (arrival time)."""
    to = [person("to", n) for n in range(draw(st.integers(1, 3)))]
    cc = [person("cc", 10 + n) for n in range(draw(st.integers(0, 2)))]
    bcc = [person("bcc", 20 + n) for n in range(draw(st.integers(0, 2)))]
    full = InteractionRecord(
        kind="email", dedupe_key="m1@mail.example", provider_id="INBOX/1", folder="INBOX",
        occurred_at=BASE_TIME, direction="inbound",
        participants=[person("from", 99), *to, *cc, *bcc],
        subject="Re: Offer", snippet="Hi", body="Hi there", in_reply_to="m0@mail.example",
        thread_hint="T1")
    copies = []
    for i in range(draw(st.integers(1, 4))):
        blank = draw(st.sets(st.sampled_from(OPTIONAL)))
        sender_copy = draw(st.booleans())
        copy = dataclasses.replace(
            full, provider_id=f"box{i}/1",
            occurred_at=BASE_TIME + timedelta(minutes=draw(st.integers(0, 5))),
            participants=[p for p in full.participants if sender_copy or p.role != "bcc"])
        for name in blank:
            setattr(copy, name, None)
        copies.append(copy)
    return copies


@settings(max_examples=200, deadline=None)
@given(email_copies(), st.randoms(use_true_random=False))
def test_email_copies_merge_in_any_order(copies: list[InteractionRecord],
                                         rnd: random.Random) -> None:
    shuffled = list(copies)
    rnd.shuffle(shuffled)
    assert state(shuffled) == state(copies)


@settings(max_examples=200, deadline=None)
@given(email_copies())
def test_email_merge_keeps_every_known_value(copies: list[InteractionRecord]) -> None:
    row, people = fold(copies)
    for name in OPTIONAL:
        known = {getattr(c, name) for c in copies} - {None}
        assert getattr(row, name) == (known.pop() if known else None)
    assert row.occurred_at == min(c.occurred_at for c in copies)
    union = {p.key for c in copies for p in c.participants}
    assert {p.key for p in people} == union and len(people) == len(union)


@settings(max_examples=200, deadline=None)
@given(email_copies(), st.data())
def test_merging_a_copy_again_changes_nothing(copies: list[InteractionRecord],
                                              data: st.DataObject) -> None:
    row, people = fold(copies)
    again = data.draw(st.sampled_from(copies))
    merged = merge_copy(row, people, again)
    assert not assign(row, merged.fields)
    assert merged.participants in (None, people)


# ---------------------------------------------------------------------- meeting copies


MEETING_FIELDS = ("subject", "sequence", "occurred_at", "status", "location",
                  "provider_updated_at")


def meeting(row: InteractionRow) -> tuple[object, ...]:
    return tuple(getattr(row, name) for name in MEETING_FIELDS)


@st.composite
def meeting_copies(draw: st.DrawFn, origin: str = "itip") -> list[InteractionRecord]:
    """Versions of one meeting, all of one ``origin``, every field present,
    attendees and times differing from version to version. iTIP copies have
    distinct (SEQUENCE, LAST-MODIFIED); calendar copies distinct
    LAST-MODIFIED, with SEQUENCE unrelated to it (organizers edit without
    raising it)."""
    n = draw(st.integers(1, 5))
    if origin == "itip":
        versions = draw(st.permutations([(s, m) for s in range(3) for m in range(2)]))[:n]
    else:
        modified = draw(st.permutations(range(6)))[:n]
        versions = [(draw(st.integers(0, 2)), m) for m in modified]
    copies = []
    for i, (sequence, modified_at) in enumerate(versions):
        people = [person("organizer", 0)] + [
            person("attendee", a) for a in sorted(draw(st.sets(st.integers(1, 6), max_size=3)))]
        copies.append(InteractionRecord(
            kind="meeting", dedupe_key="uid@x#", provider_id=f"cal{i}/uid", folder="cal",
            occurred_at=BASE_TIME + timedelta(hours=draw(st.integers(0, 48))),
            ends_at=BASE_TIME + timedelta(hours=49), direction="outbound",
            participants=people, timezone="Europe/Paris", subject=f"v{sequence}.{modified_at}",
            location=f"room {i}", status=draw(st.sampled_from(["confirmed", "tentative"])),
            sequence=sequence, provider_updated_at=BASE_TIME + timedelta(minutes=modified_at),
            method=draw(st.sampled_from([None, "REQUEST", "PUBLISH"])),
            origin="itip" if origin == "itip" else "calendar"))
    return copies


@settings(max_examples=200, deadline=None)
@given(meeting_copies(), st.randoms(use_true_random=False))
def test_the_highest_itip_version_wins_whatever_the_order(
        copies: list[InteractionRecord], rnd: random.Random) -> None:
    row, people = fold(copies)
    newest = max(copies, key=lambda c: (c.sequence, c.provider_updated_at))
    assert (row.subject, row.sequence, row.occurred_at, row.status, row.location) == (
        newest.subject, newest.sequence, newest.occurred_at, newest.status, newest.location)
    assert people == newest.participants
    shuffled = list(copies)
    rnd.shuffle(shuffled)
    assert state(shuffled) == state(copies)


@settings(max_examples=200, deadline=None)
@given(meeting_copies("calendar"), st.randoms(use_true_random=False))
def test_between_calendars_the_newest_modification_wins_whatever_the_order(
        copies: list[InteractionRecord], rnd: random.Random) -> None:
    row, people = fold(copies, shared=True)
    newest = max(copies, key=lambda c: c.provider_updated_at or BASE_TIME)
    assert meeting(row) == (newest.subject, newest.sequence, newest.occurred_at,
                            newest.status, newest.location, newest.provider_updated_at)
    assert people == newest.participants
    shuffled = list(copies)
    rnd.shuffle(shuffled)
    assert state(shuffled, shared=True) == state(copies, shared=True)


@settings(max_examples=200, deadline=None)
@given(meeting_copies("calendar"))
def test_one_calendar_s_current_state_wins_whatever_its_sequence(
        copies: list[InteractionRecord]) -> None:
    # successive reads of one calendar: the last one is what it shows now, even
    # with a lower SEQUENCE or older stamps than what an earlier read stored
    row, people = fold(copies)
    last = copies[-1]
    assert meeting(row) == (last.subject, last.sequence, last.occurred_at, last.status,
                            last.location, last.provider_updated_at)
    assert people == last.participants


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["itip", "calendar"]).flatmap(meeting_copies), st.booleans(),
       st.data())
def test_merging_the_shaping_meeting_copy_again_changes_nothing(
        copies: list[InteractionRecord], shared: bool, data: st.DataObject) -> None:
    row, people = fold(copies, shared=shared)
    # the copy that shaped the row, or with competing versions any copy at all
    competing = shared or copies[0].origin == "itip"
    again = data.draw(st.sampled_from(copies)) if competing else copies[-1]
    merged = merge_copy(row, people, again, shared=shared)
    assert not assign(row, merged.fields)
    assert merged.participants in (None, people)


def test_an_old_invite_in_mail_never_undoes_the_calendar_s_newer_state() -> None:
    invite = InteractionRecord(
        kind="meeting", dedupe_key="uid@x#", provider_id="INBOX/7#invite#uid@x#",
        folder="INBOX", occurred_at=BASE_TIME, direction="inbound", status="confirmed",
        sequence=0, provider_updated_at=BASE_TIME, method="REQUEST", origin="itip",
        participants=[person("organizer", 0), person("attendee", 1)], subject="Sync")
    moved = dataclasses.replace(invite, provider_id="cal/uid", folder="cal", method=None,
                                origin="calendar", sequence=1,
                                occurred_at=BASE_TIME + timedelta(hours=2),
                                provider_updated_at=BASE_TIME + timedelta(hours=1))
    row, _ = fold([invite, moved, invite])
    assert (row.occurred_at, row.sequence) == (moved.occurred_at, 1)
    # ... while the calendar, read again without a SEQUENCE bump, still wins
    back = dataclasses.replace(moved, occurred_at=BASE_TIME, sequence=0)
    row, _ = fold([invite, moved, back])
    assert (row.occurred_at, row.sequence) == (BASE_TIME, 0)


@settings(max_examples=100, deadline=None)
@given(meeting_copies(), st.integers(1, 6), st.sampled_from(["accepted", "declined"]))
def test_a_reply_only_sets_the_repliers_status(copies: list[InteractionRecord], who: int,
                                               answer: str) -> None:
    row, people = fold(copies)
    before = row.values()
    reply = dataclasses.replace(
        copies[0], method="REPLY", subject="ignored", sequence=0, provider_updated_at=None,
        participants=[person("organizer", 0), person("attendee", who, status=answer)])
    merged = merge_copy(row, people, reply)
    assert not assign(row, merged.fields) and row.values() == before
    assert merged.participants is not None
    assert [p.key for p in merged.participants] == [p.key for p in people]
    for old, new in zip(people, merged.participants, strict=True):
        replied = new.role == "attendee" and new.address == f"p{who}@acme.example"
        assert new.response_status == (answer if replied else old.response_status)


def test_a_cancel_keeps_the_known_attendees_and_sets_cancelled() -> None:
    request = InteractionRecord(
        kind="meeting", dedupe_key="uid@x#", provider_id="cal/uid", folder="cal",
        occurred_at=BASE_TIME, direction="outbound", status="confirmed", sequence=1,
        participants=[person("organizer", 0), person("attendee", 1)], subject="Sync")
    cancel = dataclasses.replace(request, method="CANCEL", status="cancelled", sequence=2,
                                 participants=[], subject=None)
    row, people = fold([request, cancel])
    assert (row.status, row.subject, row.sequence) == ("cancelled", "Sync", 2)
    assert people == request.participants


def test_thread_subject_drops_reply_prefixes() -> None:
    assert normalized_subject("RE: AW: Fwd[2]: Offer ") == "Offer"
    assert normalized_subject("Re:") == "Re:"
    assert normalized_subject(None) is None

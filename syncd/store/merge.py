"""How one copy of an interaction folds into what is stored: pure rules, no database.

The page writer (:mod:`syncd.store.page_writer`) reads a stored row and its
participants, asks :func:`merge_copy` what a record changes, and writes
only what differs (:func:`assign`). Keeping the rules here, apart from the
SQL, lets them be property-tested (``tests/syncd/store/test_merge.py``).

Invariants:

* **Mail copies merge, order does not matter.** One email seen in several
  mailboxes: fields merge as "new value unless it is None" (so an account
  at privacy level ``metadata`` never blanks a subject another account
  stored), ``occurred_at`` is the earliest copy's, participants are the
  union (only the sender's copy knows Bcc). This holds for copies of one
  message, i.e. copies that agree wherever both carry a value.
* **Idempotent.** Merging a copy into a row it already shaped changes
  nothing, so re-applying a page writes nothing (meetings included: the
  copy that shaped the row is equal to it, older ones are refused).
* **A calendar's current state wins; SEQUENCE guards iTIP messages.**
  A meeting copy carries its origin (:class:`~syncd.store.records.InteractionRecord`
  ``origin``). A copy read from a calendar (CalDAV, Google Calendar, Graph,
  .ics files) is what that calendar shows now, and organizers routinely
  edit a series without raising SEQUENCE (removing an override, adding an
  EXDATE), while an expansion lends every instance the series' highest
  SEQUENCE: so a calendar copy replaces the meeting whatever its
  SEQUENCE. Only when another account's calendar holds a live copy too
  (``shared``) do the calendars compete: the newer LAST-MODIFIED (else
  DTSTAMP) wins, a tie goes to the copy being written (the newer sync).
  An iTIP copy (an invite, update or cancellation found in mail) replaces
  the meeting only if its (SEQUENCE, DTSTAMP) is not lower than the
  stored one: an old invite in a mailbox never undoes a newer state.
  ``METHOD:CANCEL`` sets status cancelled (the record says so) and keeps
  the attendees already stored; a ``REPLY`` only updates the replying
  attendee's response status (and never creates a meeting: the writer
  does not insert rows for REPLY-only keys).
* **A private copy blanks.** A meeting copy marked private or confidential
  (``InteractionRecord.private``, the ``busy`` policy) that replaces the
  meeting sets its title, location, snippet and body to None instead of
  keeping the stored ones: a meeting that became private is cut down.
* **Order independence holds per origin.** iTIP copies of distinct
  versions, and calendar copies of distinct LAST-MODIFIED held by
  several accounts, fold to the same meeting in any order. Across origins
  the order matters on purpose: a calendar re-read after an iTIP message
  shows whether the calendar took the update.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from syncd.store.records import ROLE_ORDER, InteractionRecord, ParticipantRow

#: a value of an ``interactions`` column the merge decides
Value = datetime | str | int | bool | None
T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PARTICIPANT_FIELDS = [f.name for f in fields(ParticipantRow)]
#: reply/forward prefixes in the languages seen in practice (``Re:``, ``AW:``, ``Fwd[2]:`` …)
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


class Stored(Protocol):
    """The stored fields of an interaction that a copy can change."""

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def snippet(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...
    @property
    def location(self) -> str | None: ...
    @property
    def in_reply_to(self) -> str | None: ...
    @property
    def thread_hint(self) -> str | None: ...
    @property
    def sequence(self) -> int | None: ...
    @property
    def provider_updated_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Merge:
    """What one copy changes: column values to assign (possibly equal to the
    stored ones), and the new participant list (None: keep the stored one)."""

    fields: dict[str, Value]
    participants: list[ParticipantRow] | None


def merge_copy(stored: Stored, people: Sequence[ParticipantRow],
               rec: InteractionRecord, *, shared: bool = False) -> Merge:
    """Fold ``rec`` (one copy) into a stored row and its participants ``people``.

    ``shared``: another account's calendar holds a live copy of this meeting
    (see the module docstring); ignored for mail and iTIP copies.
    """
    if rec.kind == "email":
        return Merge(
            {
                "occurred_at": min(stored.occurred_at, rec.occurred_at),
                "subject": keep(rec.subject, stored.subject),
                "snippet": keep(rec.snippet, stored.snippet),
                "body": keep(rec.body, stored.body),
                "in_reply_to": keep(rec.in_reply_to, stored.in_reply_to),
                "thread_hint": keep(rec.thread_hint, stored.thread_hint),
                "direction": rec.direction,
            },
            union_participants(people, rec.participants),
        )
    if rec.method == "REPLY":
        return Merge({}, with_replies(people, rec.participants))
    if not supersedes(rec, stored, shared=shared):
        return Merge({}, None)  # an older copy of the meeting: keep what we have
    # a CANCEL often lists nobody: the attendees we know stay on record
    replace = rec.method != "CANCEL" or not people
    merged = Merge(
        {
            "occurred_at": rec.occurred_at,
            "ends_at": rec.ends_at,
            "all_day": rec.all_day,
            "timezone": keep(rec.timezone, stored.timezone),
            "subject": keep(rec.subject, stored.subject),
            "location": keep(rec.location, stored.location),
            "status": rec.status,
            "sequence": rec.sequence,
            "provider_updated_at": keep(rec.provider_updated_at, stored.provider_updated_at),
            "direction": rec.direction,
        },
        list(rec.participants) if replace else None,
    )
    if rec.private:
        merged.fields.update(subject=None, location=None, snippet=None, body=None)
    return merged


def keep(new: T | None, old: T | None) -> T | None:
    """The new value unless it is None (a copy that lacks a field never blanks it)."""
    return new if new is not None else old


def version(sequence: int | None, updated: datetime | None) -> tuple[int, datetime]:
    """An iTIP copy's rank: iCalendar SEQUENCE, then LAST-MODIFIED (else DTSTAMP)."""
    return (sequence or 0, updated or _EPOCH)


def supersedes(rec: InteractionRecord, stored: Stored, *, shared: bool) -> bool:
    """Whether meeting copy ``rec`` replaces the stored state (module docstring)."""
    if rec.origin == "itip":
        return version(rec.sequence, rec.provider_updated_at) >= version(
            stored.sequence, stored.provider_updated_at)
    if not shared:
        return True  # this calendar is the only one: its current state is the truth
    return (rec.provider_updated_at or _EPOCH) >= (stored.provider_updated_at or _EPOCH)


def union_participants(old: Sequence[ParticipantRow],
                       new: Sequence[ParticipantRow]) -> list[ParticipantRow]:
    """Participants of every copy of a message; the newest copy's data wins per person."""
    by_key = {p.key: p for p in old}
    by_key.update({p.key: p for p in new})
    new_keys = [p.key for p in new]
    seen = set(new_keys)
    order = new_keys + [p.key for p in old if p.key not in seen]
    merged = [by_key[k] for k in order]
    return sorted(merged, key=lambda p: ROLE_ORDER.get(p.role, 9))


def with_replies(old: Sequence[ParticipantRow],
                 replies: Sequence[ParticipantRow]) -> list[ParticipantRow]:
    """``old`` with each replying attendee's response status (nobody added or removed)."""
    status = {p.address: p.response_status for p in replies if p.role == "attendee"}
    out: list[ParticipantRow] = []
    for p in old:
        if p.role == "attendee" and p.address in status and status[p.address]:
            p = ParticipantRow(**{**{n: getattr(p, n) for n in _PARTICIPANT_FIELDS},
                                  "response_status": status[p.address]})
        out.append(p)
    return out


def normalized_subject(subject: str | None) -> str | None:
    """A thread's subject: reply/forward prefixes dropped (the whole text if nothing is left)."""
    if subject is None:
        return None
    return REPLY_PREFIX.sub("", subject).strip() or subject.strip()


def assign(obj: object, values: Mapping[str, object]) -> bool:
    """Set the attributes that differ; True if any did.

    Every write of the page writer goes through a comparison like this one,
    so an unchanged row is never written and re-applying a page writes nothing.
    """
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed

"""From a provider page plus matching decisions to plain rows to write.

Pure functions, no database: :func:`message_record` and :func:`event_record`
turn the items of one page into :class:`InteractionRecord` values (one per
message, event, and calendar invite inside a message); the engine's triage
(:mod:`syncd.sync.triage`) gathers them into a :class:`PageWrite`, which the
page writer upserts in one transaction.

Rules fixed here:

* Participants are kept in provider order (``position``); blocklisted
  (``excluded``) addresses are never stored. ``match`` is the matching
  kind, or ``invalid`` for a string that is not an address.
* ``participants.domain`` is the registrable domain, NULL for free mail, so
  linking a company later can never claim gmail.com users.
* Direction: ``outbound`` when the sender / organizer is internal,
  ``internal`` when nobody external takes part, else ``inbound``.
* Thread key (global, so copies in different mailboxes agree): the root of
  References; else the thread of the In-Reply-To parent (resolved by
  apply); else the message's own Message-ID. The provider's thread hint
  (Gmail threadId, Graph conversationId) is per mailbox, so it is stored
  on the interaction for later refinement but not used as the key.
* An invite inside a message becomes a meeting record with the source
  provider id ``<message provider id>#invite#<iCalUID#instance>``.
* A meeting marked private or confidential (``Event.visibility``) that the
  engine lets through (``privacy.private_events: busy``) becomes a record
  with no title or location and ``private`` set, whatever the privacy level.
* A meeting record says where the copy comes from (``origin``):
  ``calendar`` for a calendar's own state (CalDAV, Google Calendar, Graph,
  .ics files), ``itip`` for an invite, update or cancellation found in
  mail. The merge rules differ (:mod:`syncd.store.merge`); the ``method``
  of the text (a .ics file may say ``PUBLISH`` or even ``REQUEST``) does
  not decide it, where the copy was read does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from matching.types import Decision, Kind
from providers.base import Address, Cursor, Deletion, Event, Message, Quarantined

KEY_LIMIT = 1000
#: where a meeting copy was read: a calendar's current state, or an iTIP message in mail
Origin = Literal["calendar", "itip"]
ROLE_ORDER = {"from": 0, "to": 1, "cc": 2, "bcc": 3, "organizer": 0, "attendee": 1}


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~2x, and pages build thousands
class ParticipantRow:
    role: str
    address: str
    domain: str | None
    display_name: str | None
    contact_id: int | None
    company_id: int | None
    match: str
    match_reason: str | None
    response_status: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.role, self.address)


@dataclass(slots=True)
class InteractionRecord:
    kind: str  # email | meeting
    dedupe_key: str
    provider_id: str
    folder: str | None
    occurred_at: datetime
    direction: str
    participants: list[ParticipantRow]
    ends_at: datetime | None = None
    all_day: bool = False
    timezone: str | None = None
    subject: str | None = None
    snippet: str | None = None
    body: str | None = None
    location: str | None = None
    status: str | None = None
    sequence: int | None = None
    provider_updated_at: datetime | None = None
    method: str | None = None
    origin: Origin = "calendar"  # meetings only (see the module docstring)
    in_reply_to: str | None = None
    thread_root: str | None = None  # References root, for the thread key
    thread_hint: str | None = None
    #: a meeting copy marked private/confidential (busy policy): it carries no title,
    #: location or body and blanks them on the stored meeting (syncd.store.merge)
    private: bool = False


@dataclass(frozen=True, slots=True)
class Skip:
    """An item the engine decided not to log: ``reason`` is a short code
    (``internal_only``, ``automated``, ``blocklisted``, ``private``,
    ``outside_window``, ``unknown_meeting``, ``no_participants``, ``not_logged``...;
    :data:`syncd.sync.skip_reasons.SKIP_REASONS`) and ``detail`` what decided it.
    ``invite``: an invite inside a message (not counted as an item)."""

    provider_id: str
    kind: str
    reason: str
    detail: str
    dedupe_key: str | None = None
    invite: bool = False


@dataclass(slots=True)
class PageWrite:
    """Everything one page writes, decided before the store is touched.

    ``records`` are the logged interactions (skipped items are not here);
    ``deletions`` already exclude those voided by the same item reappearing
    later in the page; ``cursor`` (None: unchanged) is saved in the same
    transaction. ``items`` and ``skipped`` are counts for the pass result.
    """

    resource: str
    records: list[InteractionRecord]
    deletions: list[Deletion]
    quarantined: list[Quarantined]
    cursor: Cursor | None
    items: int = 0
    skipped: int = 0
    #: why each item not in ``records`` was skipped (the skip records; ``skipped``
    #: counts its top-level entries)
    skips: list[Skip] = field(default_factory=list)


def invite_provider_id(message: Message, event: Event) -> str:
    return f"{message.provider_id}#invite#{event.dedupe_key}"


def text(value: str | None, limit: int | None = None) -> str | None:
    """Text both databases accept: no NUL (PostgreSQL refuses it), no lone
    surrogates (undecodable bytes), cut to the column's length. Mail is
    hostile input; one odd header must not make a page fail forever."""
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit is not None else value


def key(value: str) -> str:
    """A unique key that fits its column (1000): over-long ids become a digest."""
    cleaned = text(value) or ""
    if len(cleaned) <= KEY_LIMIT:
        return cleaned
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def participant_rows(
    pairs: Iterable[tuple[str, Address, str | None]], decisions: Mapping[str, Decision]
) -> list[ParticipantRow]:
    """Rows for (role, address, response status) triples, minus excluded people.

    A (role, address) pair listed twice is kept once.
    """
    rows: list[ParticipantRow] = []
    seen: set[tuple[str, str]] = set()
    for role, addr, status in pairs:
        decision = decisions.get(addr.email)
        if decision is None:
            address = addr.email.strip().lower()
            decision = Decision(address=address, kind=Kind.UNMATCHED, reason="not resolved")
        if decision.kind == Kind.EXCLUDED:
            continue
        if (role, decision.address) in seen:
            continue
        seen.add((role, decision.address))
        # not an address at all: kept as written, never matched later
        match = str(decision.kind) if decision.domain is not None else "invalid"
        rows.append(
            ParticipantRow(
                role=role,
                address=text(decision.address, 320) or "",
                domain=None if decision.free_mail else decision.domain,
                display_name=text(addr.name, 300),
                contact_id=decision.contact_id,
                company_id=decision.company_id,
                match=match,
                match_reason=decision.reason[:200] if decision.reason else None,
                response_status=text(status, 20),
            )
        )
    return rows


def direction_of(initiator: Address | None, decisions: Mapping[str, Decision],
                 everyone: Iterable[Address]) -> str:
    kinds = [_kind(a, decisions) for a in everyone]
    if kinds and all(k == Kind.INTERNAL for k in kinds if k != Kind.EXCLUDED):
        return "internal"
    if initiator is not None and _kind(initiator, decisions) == Kind.INTERNAL:
        return "outbound"
    return "inbound"


def _kind(addr: Address, decisions: Mapping[str, Decision]) -> Kind:
    decision = decisions.get(addr.email)
    return decision.kind if decision is not None else Kind.UNMATCHED


def message_record(message: Message, decisions: Mapping[str, Decision]) -> InteractionRecord:
    people = message.participants  # a property that builds a new tuple: once
    pairs = [(role, addr, None) for role, addr in people]
    return InteractionRecord(
        kind="email",
        dedupe_key=key(message.message_id),
        provider_id=key(message.provider_id),
        folder=text(message.folder, 1000),
        occurred_at=message.sent_at,
        direction=direction_of(message.sender, decisions, [a for _, a in people]),
        participants=participant_rows(pairs, decisions),
        subject=text(message.subject),
        snippet=text(message.snippet),
        body=text(message.body),
        in_reply_to=key(message.in_reply_to) if message.in_reply_to else None,
        thread_root=key(message.references[0]) if message.references else None,
        thread_hint=text(message.thread_hint, 1000),
    )


def event_record(
    event: Event,
    decisions: Mapping[str, Decision],
    *,
    provider_id: str | None = None,
    folder: str | None = None,
    origin: Origin = "calendar",
) -> InteractionRecord:
    pairs: list[tuple[str, Address, str | None]] = []
    if event.organizer is not None:
        pairs.append(("organizer", event.organizer, None))
    pairs.extend(("attendee", att.address, att.status) for att in event.attendees)
    everyone = [a for _, a, _ in pairs]
    method = (event.method or "").upper() or None
    status = "cancelled" if method == "CANCEL" else event.status
    # a private meeting is kept as busy time: participants and times, no content
    private = event.visibility != "public"
    return InteractionRecord(
        kind="meeting",
        dedupe_key=key(event.dedupe_key),
        provider_id=key(provider_id or event.provider_id),
        folder=text(folder if folder is not None else event.calendar, 1000),
        occurred_at=event.start,
        ends_at=event.end,
        all_day=event.all_day,
        timezone=text(event.timezone, 100),
        direction=direction_of(event.organizer, decisions, everyone),
        participants=participant_rows(pairs, decisions),
        subject=None if private else text(event.title),
        location=None if private else text(event.location),
        status=status,
        sequence=event.sequence,
        provider_updated_at=event.updated,
        method=method,
        origin=origin,
        private=private,
    )


def addresses_of(items: Iterable[object]) -> list[str]:
    """Every address string (as found) on the messages, events and invites."""
    out: list[str] = []
    for item in items:
        if isinstance(item, Message):
            out.extend(a.email for _, a in item.participants)
            for invite in item.invites:
                out.extend(_event_addresses(invite))
        elif isinstance(item, Event):
            out.extend(_event_addresses(item))
    return out


def _event_addresses(event: Event) -> list[str]:
    found = [a.address.email for a in event.attendees]
    if event.organizer is not None:
        found.append(event.organizer.email)
    return found

"""Erasing history: the one path that deletes interactions and sources.

Callers: purge (:mod:`syncd.lifecycle.purge`: the ``syncd purge`` command
and the blocklists), offboarding (:mod:`syncd.lifecycle.offboard`: ``syncd
purge --account ID`` alone), retention (:mod:`syncd.lifecycle.retention`),
a lowered privacy level (:mod:`syncd.lifecycle.privacy_scrub`, which
erases content, not rows: :func:`scrub_content`) and the engine's handling
of mail a rep marked private (:func:`forget_sources`). A provider's
deletion is NOT this: it only marks the account's source (see
:mod:`syncd.store.page_writer`).

Invariants:

* **Per account first.** :func:`remove_account_sources` and
  :func:`forget_sources` drop only that account's sources; an interaction
  is deleted only when no source is left, so another rep who saw it keeps
  it. :func:`delete_interactions` deletes outright, whoever saw it.
* **Nothing dangles.** An interaction goes with its participants and
  sources; its open reminders are closed (``superseded``, with the given
  reason), and so are the open reminders of a thread left with no
  interaction (the thread row stays, totals zeroed).
* **Aggregates follow.** Thread totals (:mod:`syncd.store.thread_totals`),
  ``unmatched_addresses`` (:mod:`syncd.store.unmatched`) and the rollups of
  the contacts and companies involved (:mod:`syncd.store.rollups`) are
  recomputed from the remaining rows, in the same transaction.
* **Idempotent.** Removing what is already gone removes nothing and counts
  zero.
* **The feed hears it, without content.** Each interaction deleted
  outright appends ``interaction.deleted`` (``erased`` true, subject,
  snippet and location null: the row's content is never even read here)
  and each reminder closed appends ``reminder.resolved`` without its
  subject (:mod:`syncd.store.change_events`), in the same transaction. A
  rep's copy dropped while other copies stay appends nothing (sources
  are not part of an interaction's event state).
* **Audited.** Each removal that removed something adds one audit row
  (:func:`record_removal`: what, how many, why, when) in its transaction;
  a dry run rolls it back with the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, CursorResult, Executable, delete, or_, select, update
from sqlalchemy.orm import Session

from syncd.store.audit import ADMIN, Actor, record
from syncd.store.change_events import (
    ERASED_FIELDS,
    REMINDER_STATE_FIELDS,
    erased_interaction,
    interaction_state,
    reminder_change,
)
from syncd.store.changes import Change, record_changes
from syncd.store.records import key
from syncd.store.rollups import parties_of, refresh_rollups
from syncd.store.schema import Interaction, Participant, Reminder, Source, SyncCursor, Thread
from syncd.store.sql import chunks
from syncd.store.thread_totals import refresh_thread_totals
from syncd.store.types import utcnow
from syncd.store.unmatched import refresh_unmatched


@dataclass
class RemovalCounts:
    """What one removal deleted (rows) and closed (reminders)."""

    interactions: int = 0
    participants: int = 0
    sources: int = 0
    reminders: int = 0

    def add(self, other: RemovalCounts) -> None:
        self.interactions += other.interactions
        self.participants += other.participants
        self.sources += other.sources
        self.reminders += other.reminders

    @property
    def empty(self) -> bool:
        return not (self.interactions or self.participants or self.sources or self.reminders)


#: who removes when no person asked through the API (the CLI, the daemon)
SYSTEM = Actor(name="syncd", viewer=ADMIN)


def record_removal(session: Session, action: str, *, reason: str,
                   counts: RemovalCounts | None = None, scope: dict[str, object] | None = None,
                   extra: dict[str, int] | None = None, actor: Actor = SYSTEM) -> None:
    """One audit row for a removal (action, scope, counts, reason; ``at`` is now)."""
    after: dict[str, object] = {"reason": reason, **(scope or {})}
    if counts is not None:
        after.update(interactions=counts.interactions, participants=counts.participants,
                     sources=counts.sources, reminders=counts.reminders)
    after.update(extra or {})
    record(session, actor, action, "removal", None, after=after)


def delete_interactions(session: Session, ids: Sequence[int], *,
                        reason: str = "purged") -> RemovalCounts:
    """Delete these interactions with their participants and sources (see module doc)."""
    counts = RemovalCounts()
    ids = sorted(set(ids))
    if not ids:
        return counts
    now = utcnow()
    threads: set[int] = set()
    addresses: set[str] = set()
    events: list[Change] = []  # the feed, in the order of the writes
    contacts, companies = parties_of(session, ids)
    erased = [getattr(Interaction, name) for name in ERASED_FIELDS]
    for batch in chunks(ids):
        # metadata only, locked like a page writing them would (PostgreSQL)
        rows = session.execute(select(Interaction.id, *erased)
                               .where(Interaction.id.in_(batch))
                               .order_by(Interaction.id).with_for_update()).all()
        threads.update(r.thread_id for r in rows if r.thread_id is not None)
        addresses.update(session.scalars(
            select(Participant.address).where(Participant.interaction_id.in_(batch))))
        counts.reminders += _close_reminders(
            session, Reminder.interaction_id.in_(batch), reason, now, events)
        counts.participants += _affected(session,
            delete(Participant).where(Participant.interaction_id.in_(batch)))
        counts.sources += _affected(session,
            delete(Source).where(Source.interaction_id.in_(batch)))
        counts.interactions += _affected(session,
            delete(Interaction).where(Interaction.id.in_(batch)))
        events.extend(erased_interaction(r, r.id, reason=reason, at=now) for r in rows)
    emptied = refresh_thread_totals(session, threads, now=now)
    for thread_batch in chunks(sorted(emptied)):
        counts.reminders += _close_reminders(
            session, Reminder.thread_id.in_(thread_batch), reason, now, events)
    record_changes(session, events, at=now)
    for address_batch in chunks(sorted(addresses)):
        refresh_unmatched(session, address_batch)
    refresh_rollups(session, contacts, companies, now=now)
    return counts


def remove_account_sources(session: Session, account_id: str, ids: Sequence[int], *,
                           reason: str = "purged") -> RemovalCounts:
    """Drop ``account_id``'s sources of these interactions; delete those left sourceless."""
    counts = RemovalCounts()
    contacts, companies = parties_of(session, ids)  # survivors lose a rep
    for batch in chunks(sorted(set(ids))):
        counts.sources += _affected(session,
            delete(Source).where(Source.interaction_id.in_(batch),
                                 Source.account_id == account_id))
    orphans: list[int] = []
    for batch in chunks(sorted(set(ids))):
        alive = set(session.scalars(select(Source.interaction_id)
                                    .where(Source.interaction_id.in_(batch)).distinct()))
        orphans.extend(i for i in batch if i not in alive)
    counts.add(delete_interactions(session, orphans, reason=reason))
    if counts.sources:
        refresh_rollups(session, contacts, companies, now=utcnow())
    return counts


def forget_sources(session: Session, account_id: str, provider_ids: Iterable[str]) -> int:
    """Remove this account's sources for ``provider_ids`` (as the provider gave them);
    delete interactions left with no source. Returns how many were deleted outright.

    For mail the rep marked private after it was logged: their copy goes,
    copies other reps saw unmarked stay.
    """
    pids = sorted({key(p) for p in provider_ids})
    ids: set[int] = set()
    for batch in chunks(pids):
        ids.update(session.scalars(
            select(Source.interaction_id)
            .where(Source.provider_id.in_(batch), Source.account_id == account_id)))
    return _forget_marked_private(session, account_id, ids)


def forget_meetings(session: Session, account_id: str, dedupe_keys: Iterable[str]) -> int:
    """Remove this account's sources of the meetings ``dedupe_keys`` (iCalUID#instance),
    whichever copy logged them (its calendar, an invite in its mail); delete meetings
    left with no source. Returns how many were deleted outright.

    For meetings marked private under ``privacy.private_events: skip``: the mark may
    arrive on another copy (an invite update) than the one that logged the meeting.
    """
    keys = sorted({key(k) for k in dedupe_keys})
    ids: set[int] = set()
    for batch in chunks(keys):
        ids.update(session.scalars(
            select(Source.interaction_id).join(Interaction, Interaction.id == Source.interaction_id)
            .where(Interaction.dedupe_key.in_(batch), Interaction.kind == "meeting",
                   Source.account_id == account_id)))
    return _forget_marked_private(session, account_id, ids)


def _forget_marked_private(session: Session, account_id: str, ids: set[int]) -> int:
    """Remove the account's sources of interactions ``ids`` (audited); how many
    interactions were deleted outright."""
    if not ids:
        return 0
    counts = remove_account_sources(session, account_id, sorted(ids), reason="marked private")
    if not counts.empty:
        record_removal(session, "marked_private", reason="marked private", counts=counts,
                       scope={"account": account_id})
    return counts.interactions


def remove_cursors(session: Session, account_id: str) -> int:
    """Forget every cursor of ``account_id`` (offboarding); how many there were."""
    return _affected(session, delete(SyncCursor).where(SyncCursor.account_id == account_id))


def close_owner_reminders(session: Session, owner: str, *, reason: str) -> int:
    """Close every open reminder of ``owner`` (a departed rep) as ``superseded``."""
    events: list[Change] = []
    closed = _close_reminders(session, Reminder.owner == owner, reason, utcnow(), events)
    record_changes(session, events)
    return closed


#: content an interaction keeps at each privacy level (see syncd.sync.privacy)
CONTENT_ABOVE: dict[str, tuple[str, ...]] = {
    "metadata": ("subject", "snippet", "body", "location"),
    "subject": ("snippet", "body"),
    "snippet": ("body",),
    "full": (),
}


def scrub_content(session: Session, ids: Sequence[int], level: str, *,
                  reason: str) -> int:
    """Null the content of these interactions beyond privacy ``level``.

    Each interaction whose stored content changed appends
    ``interaction.updated`` with ``changed`` naming the fields (its state
    read after the scrub); reminders of an interaction that loses its
    subject lose theirs (``reminder.updated``, ``changed: ["subject"]``),
    and so do a thread left with no subject among its interactions and
    that thread's reminders. Returns how many interactions changed.
    """
    fields = CONTENT_ABOVE[level]
    if not fields or not ids:
        return 0
    columns = [getattr(Interaction, name) for name in fields]
    now = utcnow()
    events: list[Change] = []
    changed_total = 0
    for batch in chunks(sorted(set(ids))):
        rows = session.execute(select(Interaction.id, Interaction.thread_id, *columns)
                               .where(Interaction.id.in_(batch))
                               .order_by(Interaction.id).with_for_update()).all()
        dirty = {r.id: [n for n in fields if getattr(r, n) is not None] for r in rows}
        dirty = {i: names for i, names in dirty.items() if names}
        if not dirty:
            continue
        session.execute(update(Interaction).where(Interaction.id.in_(sorted(dirty)))
                        .values({**{name: None for name in fields}, "updated_at": now}))
        changed_total += len(dirty)
        stored = {r.id: r for r in session.execute(
            select(Interaction).where(Interaction.id.in_(sorted(dirty)))
            .execution_options(populate_existing=True)).scalars()}
        for interaction_id, names in sorted(dirty.items()):
            state = interaction_state(stored[interaction_id])
            state["changed"] = names  # "body" too: not in the state, but it went
            events.append(Change("interaction.updated", "interaction", interaction_id, state))
        if "subject" in fields:
            lost = sorted(i for i, names in dirty.items() if "subject" in names)
            threads = sorted({r.thread_id for r in rows
                              if r.id in lost and r.thread_id is not None})
            bare: list[int] = []
            if threads:  # threads none of whose interactions keeps a subject
                with_subject = select(Interaction.thread_id).where(
                    Interaction.thread_id.in_(threads), Interaction.subject.is_not(None))
                bare = list(session.scalars(
                    update(Thread).where(Thread.id.in_(threads), Thread.id.not_in(with_subject))
                    .values(subject=None).returning(Thread.id)))
            cut = session.execute(
                update(Reminder).where(or_(Reminder.interaction_id.in_(lost),
                                           Reminder.thread_id.in_(bare)),
                                       Reminder.subject.is_not(None))
                .values(subject=None, updated_at=now)
                .returning(Reminder.id, *[getattr(Reminder, n)
                                          for n in REMINDER_STATE_FIELDS])).all()
            events.extend(reminder_change("updated", r.id, r._mapping, changed=["subject"])
                          for r in sorted(cut, key=lambda r: r.id))
    record_changes(session, events, at=now)
    return changed_total


def _close_reminders(session: Session, which: ColumnElement[bool], reason: str,
                     now: datetime, events: list[Change]) -> int:
    """Close the open reminders ``which`` selects as ``superseded``; add their
    ``reminder.resolved`` events (subject not copied) to ``events``."""
    columns = [getattr(Reminder, name) for name in REMINDER_STATE_FIELDS]
    closed = session.execute(
        update(Reminder).where(which, Reminder.status == "open")
        .values(status="superseded", reason=reason, resolved_at=now, updated_at=now)
        .returning(Reminder.id, *columns)).all()
    events.extend(reminder_change("resolved", row.id, row._mapping, subject=None)
                  for row in sorted(closed, key=lambda r: r.id))
    return len(closed)


def _affected(session: Session, stmt: Executable) -> int:
    result = session.execute(stmt)
    return int(cast("CursorResult[object]", result).rowcount or 0)

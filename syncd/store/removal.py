"""Erasing history: the one path that deletes interactions and sources.

Callers: purge (:mod:`syncd.lifecycle.purge`: the ``syncd purge`` command
and the blocklists) and the engine's handling of mail a rep marked private
(:func:`forget_sources`). A provider's deletion is NOT this: it only marks
the account's source (see :mod:`syncd.store.page_writer`).

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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, CursorResult, Executable, delete, select, update
from sqlalchemy.orm import Session

from syncd.store.change_events import (
    ERASED_FIELDS,
    REMINDER_STATE_FIELDS,
    erased_interaction,
    reminder_change,
)
from syncd.store.changes import Change, record_changes
from syncd.store.records import key
from syncd.store.rollups import parties_of, refresh_rollups
from syncd.store.schema import Interaction, Participant, Reminder, Source
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
    if not ids:
        return 0
    return remove_account_sources(session, account_id, sorted(ids),
                                  reason="marked private").interactions


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

"""What people do to reminders: done, dismiss, snooze, reassign, create manual ones.

Each function works inside the caller's transaction, locks the row it
changes (``FOR UPDATE`` on PostgreSQL, like derivation's thread locks), and
writes one audit row (:mod:`syncd.store.audit`) with the reminder before
and after.

Invariants (derivation, :mod:`.reconcile`, respects each one):

* ``done`` / ``dismissed`` are final: derivation never touches them again.
* Snoozing an open reminder sets ``due_at`` and ``snoozed_until`` to the
  new time; derivation may move the due time later (a nudge), never
  earlier than ``snoozed_until``.
* Reassigning sets ``owner`` and ``assigned_by``: derivation then keeps
  that owner.
* Manual reminders have ``rule`` :data:`MANUAL`, an idempotency key
  ``manual:<key>``, no thread and no meeting, so no derivation plan ever
  has them in scope; purge closes them only if they name an interaction
  it erases. Creating one with a key already used returns the stored one.
* :func:`after_logged` re-derives the threads with an open ``follow_up``
  for contacts a note or call was just logged about, so it is answered at
  once (the sweep would do it later anyway).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import canonical_address
from syncd.config.model import Settings
from syncd.errors import StoreError, describe
from syncd.logs import get_logger
from syncd.reminders.derive import DeriveReport, derive
from syncd.reminders.events import record_reminder
from syncd.reminders.plan import utc_text
from syncd.store.audit import Actor, record
from syncd.store.records import text
from syncd.store.schema import Company, Contact, Opportunity, Reminder, Thread
from syncd.store.sql import chunks
from syncd.store.types import utcnow

log = get_logger(__name__)

MANUAL = "manual"
PRIORITIES = ("low", "normal", "high", "urgent")
CLOSING = ("done", "dismissed")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ReminderError(ValueError):
    """A request the reminder's state or the values refuse (the message says why)."""


class ReminderStateError(ReminderError):
    """The reminder is no longer open (for a 409)."""


class UnknownReminder(LookupError):
    """No reminder with that id."""


def snapshot(row: Reminder) -> dict[str, Any]:
    """The reminder's fields as audit rows and the API show them."""
    return {name: getattr(row, name) for name in (
        "id", "kind", "status", "due_at", "priority", "owner", "subject", "contact_id",
        "company_id", "opportunity_id", "thread_id", "interaction_id", "rule", "reason",
        "snoozed_until", "assigned_by", "created_by", "created_at", "updated_at",
        "resolved_at")}


def close(s: Session, reminder_id: int, status: str, *, actor: Actor, note: str | None = None,
          now: datetime | None = None) -> Reminder:
    """Mark a reminder ``done`` or ``dismissed`` (final: the other one is then
    refused). Marking it the same again changes nothing (still audited)."""
    if status not in CLOSING:
        raise ReminderError(f"status must be done or dismissed, not {status!r}")
    now = now or utcnow()
    row = _locked(s, reminder_id)
    if row.status in CLOSING and row.status != status:
        raise ReminderStateError(f"reminder {row.id} is {row.status} already; "
                                 "a person's decision is final")
    before = snapshot(row)
    if row.status != status:
        row.status = status
        row.resolved_at = row.updated_at = now
        row.reason = text(note) if note else f"marked {status} by {actor.label}"
        record_reminder(s, "status_changed", row.id, row, previous_status=before["status"])
    s.flush()
    record(s, actor, f"reminder.{status}", "reminder", row.id, before=before,
           after=snapshot(row), now=now)
    return row


def snooze(s: Session, reminder_id: int, until: datetime, *, actor: Actor,
           now: datetime | None = None) -> Reminder:
    """Move an open reminder's due time to ``until`` (which must be in the future)."""
    now = now or utcnow()
    if until.tzinfo is None:
        raise ReminderError("until: give a time zone (e.g. 2026-12-08T09:00:00Z)")
    if until <= now:
        raise ReminderError("until: must be in the future")
    row = _locked(s, reminder_id)
    _open(row, "snoozed")
    before = snapshot(row)
    row.due_at = row.snoozed_until = until
    row.reason = f"snoozed until {utc_text(until)} by {actor.label}"
    row.updated_at = now
    record_reminder(s, "updated", row.id, row, changed=["due_at", "snoozed_until"])
    s.flush()
    record(s, actor, "reminder.snoozed", "reminder", row.id, before=before,
           after=snapshot(row), now=now)
    return row


def reassign(s: Session, reminder_id: int, owner: str, *, actor: Actor,
             now: datetime | None = None) -> Reminder:
    """Give an open reminder to another rep; derivation keeps that owner."""
    now = now or utcnow()
    address = canonical_address(owner)
    if address is None or len(address) > 320:
        raise ReminderError(f"owner: {owner!r} is not an email address")
    row = _locked(s, reminder_id)
    _open(row, "reassigned")
    before = snapshot(row)
    row.owner, row.assigned_by = address, actor.label
    row.reason = f"reassigned to {address} by {actor.label}"
    row.updated_at = now
    record_reminder(s, "updated", row.id, row, changed=["owner"])
    s.flush()
    record(s, actor, "reminder.reassigned", "reminder", row.id, before=before,
           after=snapshot(row), now=now)
    return row


def create_manual(s: Session, *, actor: Actor, kind: str, due_at: datetime, subject: str,
                  priority: str = "normal", owner: str | None = None,
                  contact_id: int | None = None, company_id: int | None = None,
                  opportunity_id: int | None = None, key: str | None = None,
                  now: datetime | None = None) -> tuple[Reminder, bool]:
    """A reminder a person asked for ("call Ann on Friday"); returns it and
    whether it was created (False: ``key`` was used before)."""
    now = now or utcnow()
    idempotency_key = text(f"{MANUAL}:{key or uuid.uuid4().hex}", 500) or MANUAL
    found = s.scalars(select(Reminder).where(
        Reminder.idempotency_key == idempotency_key)).one_or_none()
    if found is not None:
        if found.rule != MANUAL:
            raise ReminderError(f"key: {key!r} is used by another reminder")
        return found, False
    if not _KIND.match(kind):
        raise ReminderError(f"type: {kind!r} is not a type name (lower case letters, "
                            "digits, _; e.g. call)")
    if priority not in PRIORITIES:
        raise ReminderError(f"priority: {priority!r} is not one of {', '.join(PRIORITIES)}")
    if due_at.tzinfo is None:
        raise ReminderError("due_at: give a time zone (e.g. 2026-12-08T09:00:00Z)")
    if not subject.strip():
        raise ReminderError("subject: must not be empty")
    address = None
    if owner is not None:
        address = canonical_address(owner)
        if address is None or len(address) > 320:
            raise ReminderError(f"owner: {owner!r} is not an email address")
    for name, model, value in (("contact", Contact, contact_id), ("company", Company, company_id),
                               ("opportunity", Opportunity, opportunity_id)):
        if value is not None and s.get(model, value) is None:
            raise ReminderError(f"{name}: no {name} {value}")
    if company_id is None and contact_id is not None:
        contact = s.get(Contact, contact_id)
        company_id = contact.company_id if contact is not None else None
    row = Reminder(kind=kind, due_at=due_at, priority=priority,
                   owner=address or actor_owner(actor), subject=text(subject.strip(), 2000),
                   contact_id=contact_id, company_id=company_id,
                   opportunity_id=opportunity_id, rule=MANUAL, status="open",
                   idempotency_key=idempotency_key, reason=f"created by {actor.label}",
                   created_by=actor.label, created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    record_reminder(s, "opened", row.id, row)
    record(s, actor, "reminder.created", "reminder", row.id, after=snapshot(row), now=now)
    return row, True


def actor_owner(actor: Actor) -> str | None:
    """The default owner of a manual reminder: the rep who asked (None for admin)."""
    return canonical_address(actor.viewer)


def after_logged(s: Session, settings: Settings, contact_ids: Iterable[int], *,
                 now: datetime | None = None) -> DeriveReport:
    """Re-derive the threads of these contacts' open ``follow_up`` reminders
    (a note or call was just logged about them), in ``s``'s transaction."""
    ids = sorted(set(contact_ids))
    threads: set[int] = set()
    for batch in chunks(ids):
        threads.update(t for t, kind, status in s.execute(
            select(Reminder.thread_id, Reminder.kind, Reminder.status)
            .where(Reminder.contact_id.in_(batch)))
            if t is not None and kind == "follow_up" and status == "open")
    if not threads:
        return DeriveReport()
    # the row locks a page applying these threads takes first (PostgreSQL)
    s.execute(select(Thread.id).where(Thread.id.in_(sorted(threads))).order_by(Thread.id)
              .with_for_update())
    try:
        with s.begin_nested():  # like after a page: a derivation bug never costs the write
            return derive(s, settings, threads=threads, now=now or utcnow())
    except (StoreError, sa_exc.DBAPIError):
        raise
    except Exception as exc:
        log.exception("reminder derivation after a logged note failed; the sweep retries",
                      error=describe(exc))
        return DeriveReport()


def _locked(s: Session, reminder_id: int) -> Reminder:
    row = s.get(Reminder, reminder_id, with_for_update=True)
    if row is None:
        raise UnknownReminder(reminder_id)
    return row


def _open(row: Reminder, what: str) -> None:
    if row.status != "open":
        raise ReminderStateError(f"reminder {row.id} is {row.status}; only an open one can be "
                                 f"{what}")

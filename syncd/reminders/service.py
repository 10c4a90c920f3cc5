"""Entry points into reminder derivation, and people's status changes.

* :func:`derive_after_page` — the sync engine calls it with the threads
  and meetings the page touched (header-less mail already regrouped by the
  engine) INSIDE the page's transaction, under a savepoint. Same
  transaction because the page already holds the row locks of its threads
  and meetings (so two accounts applying the same thread derive one after
  the other, never both inserting), and a page is then committed together
  with its reminders. Under a savepoint because
  reminders must never cost a page: a failure rolls back only the
  derivation, is logged, and the periodic sweep repairs it later.
* :func:`sweep` — the daemon's clock job: meetings that start or end by
  the clock alone (prep reminders entering their horizon, follow-ups of
  meetings that just ended, preps of meetings that started), threads with
  open reminders (rules or blocklists may have changed) and threads active
  within ``sweep_days`` (a safety net for a derivation that failed), and
  leads that are new and recent or have an open reminder
  (:func:`syncd.store.lead_queries.sweep_leads`), and the relationship
  kinds ``gone_quiet`` and ``single_threaded``
  (:func:`syncd.reminders.relationship_rules.evaluate`, set-based), after
  refreshing the rollups pages left marked
  (:mod:`syncd.store.rollup_backlog`).
  Batches of 500, one transaction each, so it never holds locks for long.
* :func:`set_status` — ``done`` / ``dismiss`` by a person (the CLI); derivation
  never touches those again. It is :func:`syncd.reminders.actions.close`
  (audited) in a transaction of its own; the API calls ``actions`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.config.model import Settings
from syncd.errors import StoreError, SyncdError, describe
from syncd.logs import get_logger
from syncd.reminders.actions import ReminderError, UnknownReminder, close
from syncd.reminders.derive import MEETING_KINDS, THREAD_KINDS, DeriveReport, derive
from syncd.reminders.relationship_rules import evaluate as evaluate_relationship_rules
from syncd.store.audit import ADMIN, Actor
from syncd.store.database import Database
from syncd.store.lead_queries import sweep_leads
from syncd.store.rollup_backlog import flush as flush_backlog
from syncd.store.schema import Interaction, Reminder, Thread
from syncd.store.sql import chunks
from syncd.store.types import utcnow

log = get_logger(__name__)

STATUSES = ("open", "done", "dismissed", "superseded")
#: who the audit log names for changes made with ``syncd reminders`` on the server
CLI_ACTOR = Actor(name="cli", viewer=ADMIN)


def derive_after_page(session: Session, settings: Settings, *, threads: Iterable[int],
                      meetings: Iterable[int], leads: Iterable[int] = (),
                      now: datetime | None = None) -> DeriveReport | None:
    """Derive for the threads, meetings and leads one applied page touched (see module
    doc)."""
    threads, meetings, leads = set(threads), set(meetings), set(leads)
    if not settings.reminders.enabled or not (threads or meetings or leads):
        return None
    try:
        with session.begin_nested():
            return derive(session, settings, threads=threads, meetings=meetings,
                          leads=leads, now=now or utcnow())
    except StoreError as exc:
        log.warning("reminder derivation skipped for this page; the sweep retries",
                    error=describe(exc))
    except SyncdError as exc:
        log.error("reminder derivation failed for this page", error=describe(exc))
    except Exception as exc:  # a bug in reminders must never cost a sync page
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            # the connection died: the page's transaction is gone too, so the page must
            # fail (Database.errors makes it a transient StoreError) instead of going on
            raise
        log.exception("reminder derivation crashed for this page", error=describe(exc))
    return None


def sweep(db: Database, settings: Settings, *, now: datetime | None = None) -> DeriveReport:
    """The periodic clock job (see module docstring)."""
    now = now or utcnow()
    report = DeriveReport()
    conf = settings.reminders
    if not conf.enabled:
        return report
    horizon = max((r.horizon_days for r in conf.rules.values() if r.kind == "meeting_prep"),
                  default=0.0)
    with db.session(write=False) as s:
        meeting_ids = set(s.scalars(
            select(Interaction.id).where(
                Interaction.kind == "meeting",
                Interaction.occurred_at >= now - timedelta(days=conf.max_age_days + 2),
                Interaction.occurred_at <= now + timedelta(days=horizon + 1))))
        meeting_ids.update(i for i in s.scalars(
            select(Reminder.interaction_id).where(Reminder.status == "open",
                                                  Reminder.kind.in_(MEETING_KINDS)))
            if i is not None)
        thread_ids = set(s.scalars(select(Thread.id).where(
            Thread.last_message_at >= now - timedelta(days=conf.sweep_days))))
        thread_ids.update(i for i in s.scalars(
            select(Reminder.thread_id).where(Reminder.status == "open",
                                             Reminder.kind.in_(THREAD_KINDS)))
            if i is not None)
    for batch in chunks(sorted(thread_ids)):
        with db.session() as s:
            _lock_threads(s, batch)
            report.add(derive(s, settings, threads=batch, now=now))
    for batch in chunks(sorted(meeting_ids)):
        with db.session() as s:
            # the same row locks a page applying these meetings takes first
            s.execute(select(Interaction.id).where(Interaction.id.in_(batch))
                      .order_by(Interaction.id).with_for_update())
            report.add(derive(s, settings, meetings=batch, now=now))
    with db.session(write=False) as s:
        lead_ids = sweep_leads(s, now - timedelta(days=conf.max_age_days + 1))
    for batch in chunks(lead_ids):
        with db.session() as s:
            report.add(derive(s, settings, leads=batch, now=now))
    with db.session() as s:  # gone_quiet, single_threaded: set-based, one transaction
        # the rules read the relationship facts: refresh what pages left marked first
        flush_backlog(s, now=now)
        report.add(evaluate_relationship_rules(s, settings, now=now))
    return report


def _lock_threads(s: Session, ids: Iterable[int]) -> None:
    """Serialize with a concurrent page on the same threads (PostgreSQL; SQLite
    write sessions already hold the database write lock)."""
    s.execute(select(Thread.id).where(Thread.id.in_(list(ids))).order_by(Thread.id)
              .with_for_update())


def set_status(db: Database, reminder_id: int, status: str, *,
               now: datetime | None = None, note: str | None = None) -> Reminder:
    """Mark a reminder done or dismissed (by a person). Raises KeyError if unknown."""
    if status not in ("done", "dismissed"):
        raise ValueError(f"status must be done or dismissed, not {status!r}")
    with db.session() as s:
        try:
            row = close(s, reminder_id, status, actor=CLI_ACTOR,
                        note=note or f"marked {status} by a person", now=now)
        except UnknownReminder as exc:
            raise KeyError(reminder_id) from exc
        except ReminderError as exc:
            raise ValueError(str(exc)) from exc
        s.flush()
        s.expunge(row)
        return row

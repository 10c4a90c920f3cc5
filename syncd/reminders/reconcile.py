"""Comparing the reminders a plan wants with the stored ones, and writing the difference.

==================  =====================================================
wanted, not stored  inserted ``open`` (unless not *creatable*: its anchor
                    is older than ``max_age_days``, or a prep is beyond
                    ``horizon_days``)
wanted, ``open``    due/owner/priority/subject/contact/company/opportunity/
                    interaction updated; a changed due time is a *move* and
                    says why in ``reason``
wanted, superseded  re-opened (the basis came back, e.g. un-cancelled)
wanted, done or     left alone: a person decided
dismissed
open, not wanted    closed with the plan's closing for its scope and kind:
                    ``done`` when what it asked for happened, ``superseded``
                    when its basis went away; ``superseded`` with "rule X
                    applies now" when the plan wants that kind of another
                    rule X in the same scope
==================  =====================================================

Invariants:

* People's decisions are final: a ``done`` or ``dismissed`` row is never
  changed, and only ``open`` rows are ever closed. A snoozed row's due
  time never moves before ``snoozed_until``; a reassigned row
  (``assigned_by`` set) keeps its owner. Manual reminders (``rule``
  ``manual``, no thread or meeting) are never in a plan's scope.
* An open row whose scope and kind the plan has no closing or rule for is
  outside the run and stays as it is.
* New rows are inserted ignoring idempotency-key conflicts, so a row a
  concurrent derivation inserted first is kept, never duplicated.
* Applying the same plan to the rows it produced changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from syncd.reminders.events import record_reminder
from syncd.reminders.plan import THREAD_KINDS, Closing, Plan, Wanted, utc_text
from syncd.store.change_events import reminder_change
from syncd.store.changes import record_changes
from syncd.store.schema import Reminder
from syncd.store.sql import chunks, dialect_insert, table_of


@dataclass(slots=True)
class DeriveReport:
    created: int = 0
    moved: int = 0
    updated: int = 0
    reopened: int = 0
    done: int = 0
    superseded: int = 0
    threads: int = 0
    meetings: int = 0

    def add(self, other: DeriveReport) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def _scope(r: Reminder) -> int | None:
    return r.thread_id if r.kind in THREAD_KINDS else r.interaction_id


def reconcile(s: Session, plan: Plan, existing: Mapping[str, Reminder], now: datetime,
              report: DeriveReport) -> None:
    wanted = {w.key: w for w in plan.wanted}
    for key, old in existing.items():
        if key in wanted or old.status != "open":
            continue
        scope = _scope(old)
        if scope is None:
            continue
        closing = plan.closings.get((scope, old.kind))
        rule_now = plan.rules.get((scope, old.kind))
        if rule_now is not None and rule_now != old.rule:
            closing = Closing("superseded", f"rule {rule_now} applies now")
        if closing is None:
            continue  # outside this run's scope
        close_open(s, old, closing.status, closing.reason, now, report)
    new_rows: list[dict[str, Any]] = []
    for key, w in wanted.items():
        row = existing.get(key)
        if row is None:
            if w.creatable:
                new_rows.append(_row(w, now))
            continue
        if row.status in ("done", "dismissed"):
            continue
        reopened = False
        if row.status == "superseded":
            row.status, row.resolved_at = "open", None
            row.reason = f"reopened: {w.why}"
            row.updated_at = now
            report.reopened += 1
            reopened = True
        before = (row.due_at, *(getattr(row, k) for k in _UPDATABLE))
        due = w.due_at if row.snoozed_until is None else max(w.due_at, row.snoozed_until)
        if row.due_at != due:
            row.reason = (f"due moved from {utc_text(row.due_at)} to {utc_text(due)}: "
                          f"{w.because}")
            row.due_at = due
            row.updated_at = now
            report.moved += 1
        update_fields(row, {"priority": w.priority, "subject": w.subject,
                            "owner": w.owner if row.assigned_by is None else row.owner,
                            "contact_id": w.contact_id, "company_id": w.company_id,
                            "opportunity_id": w.opportunity_id,
                            "interaction_id": w.interaction_id}, now, report)
        moved = [k for k, old_v in zip(("due_at", *_UPDATABLE), before, strict=True)
                 if getattr(row, k) != old_v]
        if reopened:
            record_reminder(s, "opened", row.id, row, reopened=True)
        elif moved:
            record_reminder(s, "updated", row.id, row, changed=moved)
    insert_new(s, new_rows, report)


#: fields derivation may update on a stored reminder (besides ``due_at``)
_UPDATABLE = ("priority", "subject", "owner", "contact_id", "company_id", "opportunity_id",
              "interaction_id")


def update_fields(row: Reminder, fields: Mapping[str, object], now: datetime,
                  report: DeriveReport) -> list[str]:
    """Give an open reminder the values derivation wants now (the caller keeps an
    owner a person set); counts the row as updated when any differed and returns
    the names of those that did."""
    changed = [k for k, v in fields.items() if getattr(row, k) != v]
    for k in changed:
        setattr(row, k, fields[k])
    if changed:
        row.updated_at = now
        report.updated += 1
    return changed


def close_open(s: Session, row: Reminder, status: str, reason: str, now: datetime,
               report: DeriveReport) -> None:
    """Close an ``open`` row as ``done`` or ``superseded``, with its feed event."""
    row.status, row.reason = status, reason
    row.resolved_at = row.updated_at = now
    record_reminder(s, "resolved", row.id, row)
    if status == "done":
        report.done += 1
    else:
        report.superseded += 1


def insert_new(s: Session, rows: list[dict[str, Any]], report: DeriveReport) -> None:
    """Insert ignoring idempotency-key conflicts (a concurrent derivation's row
    is kept); only the rows this call inserted count and get a ``reminder.opened``
    event, one batch of events per 200 rows (a clock run may open thousands)."""
    table = table_of(Reminder)
    by_key = {r["idempotency_key"]: r for r in rows}
    for batch in chunks(rows, 200):
        stmt = (dialect_insert(s, table)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(table.c.id, table.c.idempotency_key))
        inserted = s.execute(stmt, batch).all()
        report.created += len(inserted)
        record_changes(s, [reminder_change("opened", new_id, by_key[key])
                           for new_id, key in inserted])


def _row(w: Wanted, now: datetime) -> dict[str, Any]:
    """The insert values of a new reminder (column name -> value; ``Any`` because
    :func:`~syncd.store.sql.insert_ignoring_conflicts` takes ``dict[str, Any]``)."""
    return {
        "kind": w.kind, "due_at": w.due_at, "priority": w.priority, "owner": w.owner,
        "subject": w.subject, "contact_id": w.contact_id, "company_id": w.company_id,
        "opportunity_id": w.opportunity_id, "thread_id": w.thread_id,
        "interaction_id": w.interaction_id, "rule": w.rule, "status": "open",
        "idempotency_key": w.key, "reason": w.why, "created_at": now, "updated_at": now,
        "resolved_at": None,
    }

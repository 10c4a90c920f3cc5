"""The change-feed events of reminders (see :mod:`syncd.store.changes`).

Event types (entity ``reminder``): ``reminder.opened`` (derived or manual;
``reopened`` true when a superseded one came back), ``reminder.resolved``
(closed by derivation: ``done`` or ``superseded``, with its ``reason``),
``reminder.status_changed`` (a person marked it done or dismissed, with
``previous_status``) and ``reminder.updated`` (due time, owner, priority,
links; ``changed`` names them).

Invariant: the state is the stored row's fields; the subject is a copy of
stored content (cut per viewer by readers), nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from syncd.store.changes import record_change

STATE_FIELDS = ("kind", "status", "reason", "due_at", "priority", "owner", "subject",
                "contact_id", "company_id", "opportunity_id", "thread_id", "interaction_id",
                "rule", "resolved_at", "snoozed_until")


def reminder_state(row: object) -> dict[str, Any]:
    """The event state of a reminder (ORM row or insert values)."""
    if isinstance(row, Mapping):
        return {name: row.get(name) for name in STATE_FIELDS}
    return {name: getattr(row, name, None) for name in STATE_FIELDS}


def record_reminder(s: Session, type: str, reminder_id: int, row: object,
                    **extra: Any) -> None:
    """Append ``reminder.<type>`` for ``row`` in ``s``'s transaction."""
    state = reminder_state(row)
    state.update(extra)
    record_change(s, f"reminder.{type}", "reminder", reminder_id, state)

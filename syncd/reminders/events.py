"""The change-feed events of reminders (see :mod:`syncd.store.changes`).

Event types (entity ``reminder``): ``reminder.opened`` (derived or manual;
``reopened`` true when a superseded one came back), ``reminder.resolved``
(closed by derivation: ``done`` or ``superseded``, with its ``reason``),
``reminder.status_changed`` (a person marked it done or dismissed, with
``previous_status``) and ``reminder.updated`` (due time, owner, priority,
links; ``changed`` names them).

Invariant: the state is the stored row's fields; the subject is a copy of
stored content (cut per viewer by readers), nothing more. The state is
built by :func:`syncd.store.change_events.reminder_state`, shared with
:mod:`syncd.store.removal`, which closes reminders of erased history
(``reminder.resolved``, ``superseded``, without the subject).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from syncd.store.change_events import REMINDER_STATE_FIELDS, reminder_change, reminder_state
from syncd.store.changes import record_changes

#: the state's fields; they live in the store, whose erasure closes reminders too
STATE_FIELDS = REMINDER_STATE_FIELDS

__all__ = ["STATE_FIELDS", "record_reminder", "reminder_state"]


def record_reminder(s: Session, type: str, reminder_id: int, row: object,
                    **extra: Any) -> None:
    """Append ``reminder.<type>`` for ``row`` in ``s``'s transaction."""
    record_changes(s, [reminder_change(type, reminder_id, row, **extra)])

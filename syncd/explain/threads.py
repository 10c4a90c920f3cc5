"""Why an interaction is in its thread, and the reminders it opened or resolved.

The thread key rule is :mod:`syncd.store.records` (References root, else
the In-Reply-To parent's thread, else its own Message-ID) plus
:mod:`syncd.store.regroup` for mail without threading headers; the
explanation names whichever of them the stored row shows.

A reminder was *opened* by the interaction it is anchored on
(``reminders.interaction_id``); a thread reminder closed by derivation
(``done`` or ``superseded``) was *resolved* by the newest message of its
thread stored by the time it closed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from syncd.explain.answers import ReminderAnswer, ThreadAnswer
from syncd.jsontext import utc_iso
from syncd.store.interaction_views import InteractionView
from syncd.store.schema import Interaction, Reminder

#: a reminder closes in the page's transaction, a moment after the rows it stored
_SAME_PAGE = timedelta(seconds=5)


def thread_of(session: Session, row: Any, view: InteractionView) -> ThreadAnswer | None:
    thread = view.thread
    if thread is None:
        return None
    return ThreadAnswer(id=thread.id, key=thread.key, subject=thread.subject,
                        message_count=thread.message_count,
                        reason=_thread_reason(session, row, thread.key))


def _thread_reason(session: Session, row: Any, thread_key: str) -> str:
    if thread_key == row.dedupe_key:
        return "it started the thread: no References or In-Reply-To led elsewhere, " \
               "so the thread is keyed by its own Message-ID"
    if row.in_reply_to:
        parent = session.scalar(select(Interaction.thread_id)
                                .where(Interaction.dedupe_key == row.in_reply_to))
        if parent is not None and parent == row.thread_id:
            return f"it replies to {row.in_reply_to}, which is in this thread"
        return f"its References chain starts at {thread_key}"
    if row.thread_hint:
        return "regrouped: it carries no In-Reply-To; it joined the thread of another " \
               "message with the same provider thread id, or its References root " \
               f"is {thread_key}"
    return "regrouped: it carries no In-Reply-To; its reply subject and an external " \
           f"participant match this thread, or its References root is {thread_key}"


def reminders_of(session: Session, row: Any, show_subject: bool) -> list[ReminderAnswer]:
    """Reminders anchored on ``row``, and thread reminders it resolved."""
    clauses = [Reminder.interaction_id == row.id]
    if row.thread_id is not None:
        clauses.append(Reminder.thread_id == row.thread_id)
    out: list[ReminderAnswer] = []
    newest: dict[Any, int | None] = {}
    for r in session.scalars(select(Reminder).where(or_(*clauses)).order_by(Reminder.id)):
        if r.interaction_id == row.id:
            relation = "opened"
        elif (r.status in ("done", "superseded") and r.resolved_at is not None
              and r.thread_id == row.thread_id):
            if r.resolved_at not in newest:
                newest[r.resolved_at] = session.scalar(
                    select(Interaction.id)
                    .where(Interaction.thread_id == row.thread_id,
                           Interaction.created_at <= r.resolved_at + _SAME_PAGE)
                    .order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(1))
            if newest[r.resolved_at] != row.id:
                continue
            relation = "resolved"
        else:
            continue
        out.append(ReminderAnswer(
            id=r.id, kind=r.kind, rule=r.rule, status=r.status, relation=relation,
            reason=r.reason if show_subject else None, due_at=utc_iso(r.due_at),
            resolved_at=utc_iso(r.resolved_at)))
    return out

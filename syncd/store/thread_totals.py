"""Thread aggregates, recomputed from the interaction rows: the one refresh.

A thread's totals are its first and last message, its last inbound and
last outbound message, and its message count. Three writers change which
interactions a thread holds, and all three call :func:`refresh_thread_totals`
for the threads they touched:

* the page writer (:mod:`syncd.store.page_writer`): threads the page added
  to or updated, and threads a message left for a better-evidenced one;
* removal (:mod:`syncd.store.removal`): threads that lost interactions;
* regrouping (:mod:`syncd.store.regroup`): both sides of every move.

Invariants:

* **From rows, never incremented.** Refreshing twice changes nothing the
  second time, and two writers cannot drift a counter.
* **Every interaction of the thread counts, deleted ones included.** A
  deletion only marks an interaction (see the page writer), the message
  still happened; purged interactions are gone from the rows, so they no
  longer count.
* **Emptied threads stay.** A thread left with no interaction keeps its
  row with zeroed totals (count 0, times NULL), so reminders that point at
  it can still be found and closed; the refresh returns those thread ids.
* **``updated_at`` moves iff a total changed.** Unchanged rows are not
  written at all.
* The subject is not a total: the page writer sets it when it creates a
  thread or first learns one (:mod:`syncd.store.merge` normalizes it).

Rows are written with Core; ORM copies of the refreshed threads held by
the session are expired so later ORM reads in the transaction see the new
totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import Session

from syncd.store.bulk import update_rows
from syncd.store.schema import Interaction, Thread
from syncd.store.sql import aware_utc, chunks, table_of


class ThreadTotals(NamedTuple):
    """The aggregates of one thread (times are aware UTC)."""

    first_message_at: datetime | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    message_count: int


#: the totals of a thread with no interactions left
EMPTY_TOTALS = ThreadTotals(None, None, None, None, 0)
_TOTALS = ThreadTotals._fields


def refresh_thread_totals(session: Session, thread_ids: Iterable[int], *,
                          now: datetime) -> set[int]:
    """Recompute the totals of these threads from their interactions.

    Writes only threads whose totals changed (``updated_at = now``); returns
    the ids of the threads left with no interaction. Unknown ids are ignored.
    """
    ids = sorted(set(thread_ids))
    if not ids:
        return set()
    session.flush()  # an ORM caller's pending moves and deletions belong in the rows read
    conn = session.connection()
    table = table_of(Thread)
    emptied: set[int] = set()
    changed: list[tuple[object, ...]] = []
    for batch in chunks(ids):
        totals = thread_totals(conn, batch)
        stored = select(table.c.id, *(table.c[name] for name in _TOTALS)).where(
            table.c.id.in_(batch))
        for thread_id, first, last, last_in, last_out, count in conn.execute(stored):
            new = totals.get(thread_id, EMPTY_TOTALS)
            if new.message_count == 0:
                emptied.add(thread_id)
            if ThreadTotals(first, last, last_in, last_out, count) != new:
                changed.append((*new, now, thread_id))
    update_rows(conn, table, (*_TOTALS, "updated_at"), changed)
    for thread_id in ids:
        held = session.identity_map.get(Session.identity_key(Thread, thread_id))
        if held is not None:
            session.expire(held)
    return emptied


def thread_totals(conn: Connection, thread_ids: Sequence[int]) -> dict[int, ThreadTotals]:
    """The totals of these threads as their interactions say (no writes).

    Threads without interactions are absent: use :data:`EMPTY_TOTALS`.
    """
    c = table_of(Interaction).c
    stmt = (
        select(c.thread_id, func.min(c.occurred_at), func.max(c.occurred_at),
               func.max(case((c.direction == "inbound", c.occurred_at), else_=None)),
               func.max(case((c.direction == "outbound", c.occurred_at), else_=None)),
               func.count())
        .where(c.thread_id.in_(list(thread_ids)))
        .group_by(c.thread_id)
    )
    return {
        row[0]: ThreadTotals(aware_utc(row[1]), aware_utc(row[2]), aware_utc(row[3]),
                             aware_utc(row[4]), int(row[5]))
        for row in conn.execute(stmt)
    }

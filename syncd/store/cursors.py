"""``sync_cursors``: where each (account, resource) sync resumes. The one module
that reads and writes the table.

Invariants:

* **Saved with its page.** The page writer calls :func:`save_cursor` in the
  page's transaction, so a cursor never runs ahead of the rows it covers;
  a crash mid-page leaves the previous cursor and the redo is harmless.
* **Untouched when it did not move**: ``updated_at`` is when the cursor
  last changed, which is what status reports as the cursor's age.
* A cursor is the provider's JSON as given; ``CursorExpired`` from a
  provider makes the engine :func:`clear_cursor` that resource and sync it
  from scratch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from providers.base import Cursor
from syncd.store.schema import SyncCursor
from syncd.store.types import utcnow


def load_cursors(session: Session, account_id: str) -> dict[str, Cursor]:
    """resource -> cursor, for every resource of the account that has one (copies)."""
    rows = session.execute(select(SyncCursor.resource, SyncCursor.cursor)
                           .where(SyncCursor.account_id == account_id))
    return {resource: dict(cursor) for resource, cursor in rows}


def has_cursors(session: Session, account_id: str) -> bool:
    """Whether any resource of the account has a cursor (False: a first pass)."""
    found = session.scalar(select(SyncCursor.resource)
                           .where(SyncCursor.account_id == account_id).limit(1))
    return found is not None


def save_cursor(session: Session, account_id: str, resource: str, cursor: Cursor, *,
                now: datetime | None = None) -> None:
    """Store ``cursor`` for (account, resource); untouched if it did not move."""
    row = session.scalars(
        select(SyncCursor).where(
            SyncCursor.account_id == account_id, SyncCursor.resource == resource
        )
    ).one_or_none()
    now = now or utcnow()
    if row is None:
        session.add(SyncCursor(account_id=account_id, resource=resource, cursor=cursor,
                               updated_at=now))
    elif row.cursor != cursor:
        row.cursor = dict(cursor)
        row.updated_at = now


def clear_cursor(session: Session, account_id: str, resource: str) -> None:
    """Forget the cursor of (account, resource): its next sync starts from scratch."""
    session.execute(delete(SyncCursor).where(SyncCursor.account_id == account_id,
                                             SyncCursor.resource == resource))


def cursor_times(session: Session) -> dict[str, dict[str, datetime]]:
    """account id -> resource -> when its cursor last moved, for every account."""
    out: dict[str, dict[str, datetime]] = {}
    for account_id, resource, updated in session.execute(
        select(SyncCursor.account_id, SyncCursor.resource, SyncCursor.updated_at)
    ):
        out.setdefault(account_id, {})[resource] = updated
    return out

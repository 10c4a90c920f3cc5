"""``quarantine``: items a provider could not normalize, per (account, provider id).

Written by the page writer in the page's transaction.

Invariants:

* One row per (account, provider id). Seeing the item bad again moves
  ``last_seen`` (it says the item is still bad: the one column a re-applied
  page changes); going bad again after it was resolved bumps ``count``.
* An item that arrives normalized resolves its row (``resolved_at``); the
  row stays as history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from providers.base import Quarantined
from syncd.store.merge import assign
from syncd.store.records import key, text
from syncd.store.schema import QuarantineEntry
from syncd.store.sql import chunks, table_of


def write_quarantine(session: Session, account_id: str, resource: str,
                     entries: Sequence[Quarantined], *, now: datetime) -> int:
    """Upsert the page's quarantined items; returns how many there were."""
    if not entries:
        return 0
    entries = [Quarantined(key(q.provider_id), q.kind, text(q.reason) or "",
                           text(q.excerpt, 2000) or "") for q in entries]
    existing: dict[str, QuarantineEntry] = {}
    for batch in chunks(sorted({q.provider_id for q in entries})):
        for row in session.scalars(
            select(QuarantineEntry).where(QuarantineEntry.account_id == account_id,
                                          QuarantineEntry.provider_id.in_(batch))
        ):
            existing[row.provider_id] = row
    for q in entries:
        found = existing.get(q.provider_id)
        if found is None:
            row = QuarantineEntry(account_id=account_id, resource=resource,
                                  provider_id=q.provider_id, kind=q.kind, reason=q.reason,
                                  excerpt=q.excerpt or None, first_seen=now, last_seen=now,
                                  count=1)
            session.add(row)
            existing[q.provider_id] = row
        else:
            if found.resolved_at is not None:  # it went bad again
                found.count += 1
            found.last_seen = now
            assign(found, {"reason": q.reason, "excerpt": q.excerpt or None, "kind": q.kind,
                           "resource": resource, "resolved_at": None})
    return len(entries)


def resolve_quarantine(conn: Connection, account_id: str, provider_ids: Sequence[str], *,
                       now: datetime) -> None:
    """Mark these items' open quarantine rows resolved (they arrived normalized)."""
    table = table_of(QuarantineEntry)
    for batch in chunks(sorted(set(provider_ids))):
        conn.execute(
            update(table)
            .where(table.c.account_id == account_id,
                   table.c.provider_id.in_(batch),
                   table.c.resolved_at.is_(None))
            .values(resolved_at=now)
        )

"""``skip_records``: why an item was not logged, per (account, provider id).

Written by the page writer in the page's transaction, from the engine's
triage (:class:`syncd.store.records.Skip`); read by ``syncd explain``.

Invariants:

* One row per (account, provider id): a redone page updates the row, never
  adds one. Seeing it skipped again moves ``last_seen_at`` and takes the
  latest reason (a blocklist entry removed, a mark taken off...).
* An item of that account that is logged later drops its row: the record
  answers "why is it missing", and it no longer is.
* Bounded: :func:`prune_skip_records` deletes rows not seen for the
  retention, in batches, each in its own short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select

from syncd.store.bulk import insert_rows, update_rows
from syncd.store.database import Database
from syncd.store.records import Skip, key, text
from syncd.store.schema import SkipRecord
from syncd.store.sql import chunks, table_of
from syncd.store.types import utcnow

#: rows deleted per prune transaction (keeps each one short beside running passes)
PRUNE_BATCH = 1000
_MUTABLE = ("resource", "kind", "dedupe_key", "reason", "detail", "last_seen_at")


def write_skips(conn: Connection, account_id: str, resource: str, skips: Sequence[Skip], *,
                now: datetime) -> None:
    """Upsert the page's skip records (see module docstring)."""
    latest = {key(s.provider_id): s for s in skips}  # an item twice on a page: its last word
    if not latest:
        return
    table = table_of(SkipRecord)
    existing: dict[str, int] = {}
    for batch in chunks(sorted(latest)):
        existing.update(conn.execute(
            select(table.c.provider_id, table.c.id)
            .where(table.c.account_id == account_id, table.c.provider_id.in_(batch))).all())
    values = {pid: (text(resource, 1000), skip.kind, skip.dedupe_key, skip.reason[:40],
                    text(skip.detail) or "", now)
              for pid, skip in latest.items()}
    insert_rows(conn, table, ("account_id", "provider_id", *_MUTABLE, "first_seen_at"),
                [(account_id, pid, *values[pid], now) for pid in sorted(latest)
                 if pid not in existing])
    update_rows(conn, table, _MUTABLE,
                [(*values[pid], existing[pid]) for pid in sorted(latest) if pid in existing])


def clear_skips(conn: Connection, account_id: str, provider_ids: Sequence[str]) -> None:
    """Drop the records of these items of ``account_id``: they are logged now."""
    table = table_of(SkipRecord)
    for batch in chunks(sorted({key(p) for p in provider_ids})):
        conn.execute(delete(table).where(table.c.account_id == account_id,
                                         table.c.provider_id.in_(batch)))


def prune_skip_records(database: Database, *, retention_days: int,
                       now: datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete records last seen more than ``retention_days`` ago; return how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    table = table_of(SkipRecord)
    pruned = 0
    while True:
        with database.session() as session:
            ids = list(session.scalars(
                select(table.c.id).where(table.c.last_seen_at < cutoff)
                .order_by(table.c.id).limit(batch)))
            if ids:
                session.execute(delete(table).where(table.c.id.in_(ids)))
        pruned += len(ids)
        if len(ids) < batch:
            return pruned

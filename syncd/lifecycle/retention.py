"""Retention: prune synced interactions older than ``retention.interactions_days``.

Off unless the key is set. The daemon runs :func:`prune` daily
(:mod:`syncd.daemon.retention_job`); ``syncd retention [--dry-run]`` shows
or applies the same counts.

What goes: mail and meetings (the kinds providers sync) whose time is
before ``now - interactions_days``, with their participants and sources,
their reminders closed ``superseded`` (reason ``retention``), through
:func:`syncd.store.removal.delete_interactions` (the feed hears
``interaction.deleted`` with ``erased`` true). Threads left with no
interaction at all are deleted too (their reminders are closed first and
keep their row; the reference is set NULL). Notes and calls people logged
are their records, not a mailbox's: retention keeps them.

Bounded work: at most ``batch`` interactions per transaction, each batch
committed (with its audit row) before the next is read, so a first run on
a big store never holds the write lock for long and a crash loses at most
the batch in flight (the next run redoes it). A dry run counts everything
in one transaction that it rolls back: exact counts, nothing changed.
A provider may later re-send old mail still in the mailbox only when its
cursor is reset; the backfill window is normally shorter than retention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from syncd.store.database import Database
from syncd.store.removal import RemovalCounts, delete_interactions, record_removal
from syncd.store.schema import Interaction, Thread
from syncd.store.types import utcnow

REASON = "retention"
#: the kinds providers sync (notes and calls are kept)
SYNCED_KINDS = ("email", "meeting")
BATCH = 500


@dataclass
class RetentionReport:
    days: int
    cutoff: datetime
    dry_run: bool = False
    removed: RemovalCounts = field(default_factory=RemovalCounts)
    threads: int = 0
    batches: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "cutoff": self.cutoff.isoformat(), "dry_run": self.dry_run,
                **asdict(self.removed), "threads": self.threads, "batches": self.batches}


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def _due(session: Session, cutoff: datetime, limit: int | None) -> list[int]:
    stmt = (select(Interaction.id).where(Interaction.occurred_at < cutoff,
                                         Interaction.kind.in_(SYNCED_KINDS))
            .order_by(Interaction.id))
    return list(session.scalars(stmt.limit(limit) if limit else stmt))


def prune_batch(session: Session, cutoff: datetime, *,
                limit: int | None = BATCH) -> tuple[RemovalCounts, int]:
    """Remove up to ``limit`` due interactions (all with None) in ``session``'s
    transaction; (counts, threads deleted). Zero counts: nothing was due."""
    ids = _due(session, cutoff, limit)
    if not ids:
        return RemovalCounts(), 0
    threads = set(session.scalars(select(Interaction.thread_id)
                                  .where(Interaction.id.in_(ids),
                                         Interaction.thread_id.is_not(None))))
    counts = delete_interactions(session, ids, reason=REASON)
    emptied = 0
    if threads:
        still_used = select(Interaction.thread_id).where(Interaction.thread_id.in_(threads))
        result = session.execute(delete(Thread).where(Thread.id.in_(threads),
                                                      Thread.id.not_in(still_used)))
        emptied = int(getattr(result, "rowcount", 0) or 0)
    record_removal(session, "retention", reason=REASON, counts=counts,
                   scope={"cutoff": cutoff.isoformat()}, extra={"threads": emptied})
    return counts, emptied


def count_due(session: Session, cutoff: datetime) -> int:
    """How many interactions are due (for a progress bar)."""
    return len(_due(session, cutoff, None))


def prune(db: Database, days: int, *, now: datetime | None = None, dry_run: bool = False,
          batch: int = BATCH,
          progress: Callable[[RetentionReport], None] | None = None) -> RetentionReport:
    """Prune everything due (see the module doc); one transaction per batch;
    ``progress`` hears the running totals after each committed batch."""
    report = RetentionReport(days=days, cutoff=cutoff_for(days, now), dry_run=dry_run)
    if dry_run:
        with db.session() as s:
            savepoint = s.begin_nested()
            try:
                report.removed, report.threads = prune_batch(s, report.cutoff, limit=None)
                report.batches = 1 if not report.removed.empty else 0
            finally:
                savepoint.rollback()
        return report
    while True:
        with db.session() as s:
            counts, threads = prune_batch(s, report.cutoff, limit=batch)
        if counts.empty:
            return report
        report.removed.add(counts)
        report.threads += threads
        report.batches += 1
        if progress is not None:
            progress(report)

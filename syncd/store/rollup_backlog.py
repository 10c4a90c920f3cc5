"""The rollup backlog: parties whose rollups a page marked instead of refreshing.

Why: a refresh (:func:`syncd.store.rollups.refresh_rollups`) reads each
party's whole history. On an initial sync one company appears on page
after page while its history grows, so refreshing per page costs the sum
of ever longer histories: quadratic in the mailbox (measured: +44 % on a
100,000-message IMAP sync). The pages of a long pass therefore only mark
the parties they touched; a flush refreshes every marked party once.

A party is either **clean** (no row here: its rollups and relationship
facts equal their definition over the committed rows) or **marked** (a row
here: they may lag). Who marks and who flushes
(:func:`syncd.sync.commit.commit_page` decides per page):

* a page that is not its pass's last marks its parties, in its own
  transaction, unless the backlog's oldest mark is old enough
  (:meth:`Pace.lag`: :data:`MAX_LAG`, or ten times the last flush's
  duration when that is longer, so refreshing takes at most about a tenth
  of a long pass before its end: each flush rereads the whole history of
  every party it refreshes);
* the last page of a pass, a page after that lag, the clock job before it
  evaluates the relationship rules, and a daemon's start flush: take every
  mark (this page's parties included), refresh those parties, delete the
  marks, in one transaction (the page's, for a page).

A pass of one page (the steady state) therefore keeps refreshing in its
page's transaction, as before.

Invariants:

* **Nothing lost.** A mark commits with the rows that made it; a crash
  leaves it for the next flush (any account's, or the clock job's).
* **A flush never drops a mark for rows it did not read.** On PostgreSQL,
  marking is an upsert that takes the row lock (``ON CONFLICT DO UPDATE``),
  and a flush first deletes the marks it can lock without waiting
  (``FOR UPDATE SKIP LOCKED``), then reads. A page marking a party whose
  mark a flush deleted waits until the flush commits and then inserts the
  mark anew: its rows were not visible to the flush. A flush skips the
  marks that pages still in flight hold (re-marked, not yet committed);
  those pages flush them or leave them for the next. SQLite write
  transactions are serial.
* **Lock order.** Marks are upserted sorted (contacts, then companies,
  ascending ids); a flush takes marks without waiting, then the rollup rows
  in :func:`~syncd.store.rollups.refresh_rollups`'s one order. Nobody
  waits for a mark while holding a rollup row.
* Refreshing is idempotent (rollups are recomputed from rows, never
  incremented), so a party marked twice or refreshed meanwhile by late
  matching or removal is simply refreshed again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from syncd.store.rollups import COMPANIES, CONTACTS, refresh_rollups
from syncd.store.schema import RollupBacklog
from syncd.store.sql import table_of

#: how long a marked party waits while its pass goes on, at least: what a reader of
#: the rollups may see lag behind the pages of a long pass (an initial sync or a
#: catch-up; a one-page pass refreshes at once). Each flush rereads the whole
#: history of its parties, so a shorter lag costs a long pass a flush per lag
#: (2.7 s for the whole 100,000-message sales store)
MAX_LAG = timedelta(seconds=60)
#: ... and at most this share of a long pass goes to refreshing before its end: the
#: wait grows to ``last flush's duration / FLUSH_SHARE`` when flushes get long
FLUSH_SHARE = 0.1


@dataclass
class Pace:
    """How long this process's last flush took (seconds): pacing only, never data."""

    last_flush_s: float = 0.0

    def lag(self) -> timedelta:
        """The age of the oldest mark at which a page of a long pass flushes."""
        return max(MAX_LAG, timedelta(seconds=self.last_flush_s / FLUSH_SHARE))


pace = Pace()

_TABLE = table_of(RollupBacklog)


def mark(session: Session, contacts: Iterable[int | None], companies: Iterable[int | None],
         *, now: datetime) -> None:
    """Mark these parties for the next flush (``None`` ignored); a party already
    marked keeps its first ``marked_at``."""
    rows = [{"kind": kind, "party_id": i, "marked_at": now}
            for kind, ids in ((CONTACTS.kind, contacts), (COMPANIES.kind, companies))
            for i in sorted({i for i in ids if i is not None})]
    if not rows:
        return
    conn = session.connection()
    # one cached single-row statement, executed for every row (executemany): a
    # multi-VALUES statement would be compiled anew for every page's row count
    if conn.dialect.name == "postgresql":
        # a no-op update, for its row lock (module doc: a flush holding the mark)
        conn.execute(pg_insert(_TABLE).on_conflict_do_update(
            index_elements=["kind", "party_id"], set_={"marked_at": _TABLE.c.marked_at}),
            rows)
    else:
        conn.execute(sqlite_insert(_TABLE).on_conflict_do_nothing(), rows)


def due(session: Session, *, now: datetime) -> bool:
    """Whether the backlog's oldest mark is :meth:`Pace.lag` old (or older)."""
    oldest = session.scalar(select(func.min(RollupBacklog.marked_at)))
    return oldest is not None and now - oldest >= pace.lag()


def flush(session: Session, contacts: Iterable[int | None] = (),
          companies: Iterable[int | None] = (), *, now: datetime
          ) -> tuple[set[int], set[int]]:
    """Take every mark not held by another transaction, then refresh those parties
    and these; returns the parties refreshed (contacts, companies)."""
    started = time.perf_counter()
    taken = _take(session.connection())
    refreshed_contacts = {i for i in contacts if i is not None} | taken[CONTACTS.kind]
    refreshed_companies = {i for i in companies if i is not None} | taken[COMPANIES.kind]
    refresh_rollups(session, refreshed_contacts, refreshed_companies, now=now)
    pace.last_flush_s = time.perf_counter() - started
    return refreshed_contacts, refreshed_companies


def pending(session: Session) -> int:
    """How many parties are marked."""
    return int(session.scalar(select(func.count()).select_from(_TABLE)) or 0)


def _take(conn: Connection) -> dict[str, set[int]]:
    """Delete the marks no other transaction holds and return them; deleted first,
    so a page marking one of them meanwhile waits for this transaction and then
    marks it anew (module doc)."""
    out: dict[str, set[int]] = {CONTACTS.kind: set(), COMPANIES.kind: set()}
    if conn.dialect.name == "postgresql":
        free = (select(_TABLE.c.kind, _TABLE.c.party_id)
                .order_by(_TABLE.c.kind, _TABLE.c.party_id)
                .with_for_update(skip_locked=True))
        rows = conn.execute(delete(_TABLE)
                            .where(tuple_(_TABLE.c.kind, _TABLE.c.party_id).in_(free))
                            .returning(_TABLE.c.kind, _TABLE.c.party_id)).all()
    else:  # one writer at a time: nothing to skip
        rows = conn.execute(select(_TABLE.c.kind, _TABLE.c.party_id)).all()
        conn.execute(delete(_TABLE))
    for kind, party_id in rows:
        out.setdefault(kind, set()).add(party_id)
    return out

"""The change feed: a transactional outbox read as a stream in commit order.

Writers call :func:`record_change` / :func:`record_changes` inside the
transaction that makes the change, so an event commits if and only if its
change does. Readers call :func:`read_changes` with the last position they
processed (``after``) and get the next events in position order.

How positions follow commit order
---------------------------------

Writers never number their events: they insert them with ``position`` NULL
(a plain autoincrement ``id`` keeps their order within and across
transactions). Numbering is done by :func:`assign_positions`, in a short
transaction of its own that first locks the feed's single
``change_feed`` row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite write
sessions already hold the database write lock), then reads the committed
rows still unnumbered, numbers them ``last_position + 1 …`` in ``id``
order and stores the new ``last_position``. Readers run it when the
numbered events do not fill their page (the daemon's feed job runs it
too); when nothing is unnumbered it only reads, so idle polling never
takes the write lock.

Invariant: **a position becomes visible only after every smaller position
is visible.** The assigner's numbers are all committed together, and the
next assigner can only lock the row once they are (under READ COMMITTED
its next statement's snapshot then sees them), so it numbers from above
them. An event committed by a writer after an assigner read the
unnumbered rows simply waits for the next assigner and gets a larger
number. So a reader that stored P and asks for ``after=P`` never misses
an event committed later: nothing can ever be numbered at or below P
again. Sequence values (or ``id`` alone) would not do: two writers take
ids 5 and 6 and commit 6 first; a reader at 6 would skip 5 forever.

Writers take no lock (the page write path is not serialized by the
feed). Events of one entity keep their order where the writer holds the
entity's row lock when it records (the page writer records after it
locked the interactions; people's reminder actions lock the reminder): a
later writer of that row waits for the earlier one's commit, so its event
gets a larger ``id`` and is numbered in the same or a later round, and
rounds number by ``id``.
A rolled-back writer leaves nothing; numbers are gap-free.

Retention: :func:`prune_changes` deletes numbered events older than the
retention and raises ``pruned_through``; :func:`read_changes` raises
:class:`ChangesPruned` for an ``after`` below it (checked after reading,
so a prune running meanwhile cannot hide a gap) — never a silent gap.

State carried by an event is built from the stored row only (what the
privacy level let the store keep), never from the provider's item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from syncd.errors import SyncdError
from syncd.jsontext import utc_iso
from syncd.store.database import Database
from syncd.store.schema import ChangeEvent, ChangeFeedState
from syncd.store.sql import table_of
from syncd.store.types import utcnow

#: unnumbered rows numbered per statement batch
_ASSIGN_BATCH = 1000


class ChangesPruned(SyncdError):
    """The reader's position was pruned: events after it are gone; resync."""

    code = "changes_pruned"

    def __init__(self, after: int, pruned_through: int) -> None:
        super().__init__(
            f"position {after} was pruned (events through {pruned_through} are gone); "
            "resync: load a `syncd export` snapshot and follow the feed after the position "
            "on its first line (or re-read the API's lists, then follow from position "
            f"{pruned_through})")
        self.after = after
        self.pruned_through = pruned_through


@dataclass(frozen=True, slots=True)
class Change:
    """One event as written: type (``interaction.created``…), entity kind, id, state."""

    type: str
    entity: str
    entity_id: int
    state: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One event as read, with its position and the time it was recorded."""

    position: int
    type: str
    entity: str
    entity_id: int
    state: dict[str, Any]
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "type": self.type, "entity": self.entity,
                "entity_id": self.entity_id, "state": self.state, "at": utc_iso(self.at)}


@dataclass(frozen=True, slots=True)
class ChangesPage:
    """Events after a position; ``last_position`` is the newest position numbered
    when read (a full page of numbered events numbers nothing, so events committed
    since may follow it unnumbered)."""

    events: list[FeedEvent]
    last_position: int


def jsonable(value: object) -> object:
    """A stored value as JSON: datetimes as UTC ISO-8601 text, the rest as is."""
    if isinstance(value, datetime):
        return utc_iso(value)
    return value


def record_change(session: Session, type: str, entity: str, entity_id: int,
                  state: Mapping[str, Any], *, at: datetime | None = None) -> None:
    """Append one event in ``session``'s transaction (numbered once it commits)."""
    record_changes(session, [Change(type, entity, entity_id, state)], at=at)


def record_changes(session: Session, changes: Sequence[Change], *,
                   at: datetime | None = None) -> None:
    """Append ``changes`` in order, in ``session``'s transaction (one executemany)."""
    if not changes:
        return
    moment = at or utcnow()
    session.execute(insert(table_of(ChangeEvent)), [
        {"type": c.type, "entity": c.entity, "entity_id": c.entity_id,
         "state": {k: jsonable(v) for k, v in c.state.items()}, "position": None,
         "at": moment}
        for c in changes
    ])


def _lock_feed(session: Session) -> ChangeFeedState:
    """The feed row, created if missing, locked until the transaction ends."""
    table = table_of(ChangeFeedState)
    values = {"id": 1, "last_position": 0, "pruned_through": 0}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(table).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(table).values(values).on_conflict_do_nothing())
    state = session.scalars(
        select(ChangeFeedState).where(ChangeFeedState.id == 1)
        .with_for_update().execution_options(populate_existing=True)).one()
    return state


def assign_positions(database: Database) -> int:
    """Number every committed, unnumbered event in ``id`` order; return the last position."""
    table = table_of(ChangeEvent)
    with database.session(write=False) as session:  # the common case: nothing to number
        pending = session.scalar(
            select(ChangeEvent.id).where(ChangeEvent.position.is_(None)).limit(1))
        if pending is None:
            return session.scalar(
                select(ChangeFeedState.last_position).where(ChangeFeedState.id == 1)) or 0
    with database.session() as session:
        if database.dialect == "postgresql":  # each statement's snapshot must see commits
            session.connection(execution_options={"isolation_level": "READ COMMITTED"})
        feed = _lock_feed(session)
        last = feed.last_position
        while True:
            ids = list(session.scalars(
                select(ChangeEvent.id).where(ChangeEvent.position.is_(None))
                .order_by(ChangeEvent.id).limit(_ASSIGN_BATCH)))
            if not ids:
                break
            session.execute(
                update(table).where(table.c.id == bindparam("row_id"))
                .values(position=bindparam("new_position")),
                [{"row_id": i, "new_position": last + n} for n, i in enumerate(ids, 1)])
            last += len(ids)
        if last != feed.last_position:
            feed.last_position = last
        return last


def read_changes(database: Database, *, after: int, limit: int) -> ChangesPage:
    """Up to ``limit`` events with positions above ``after``, oldest first.

    Raises :class:`ChangesPruned` if events after ``after`` were pruned.

    Numbered events are read first: when they fill the page, nothing is
    numbered (a reader with a backlog, such as a webhook worker during a
    big sync, never waits for the write lock the page writer keeps busy);
    otherwise pending events are numbered and the read is repeated. Either
    way the page is the gap-free run after ``after``: positions become
    visible only in order (see the module docstring).
    """
    last, rows, pruned = _read_numbered(database, after=after, limit=limit)
    if len(rows) < limit:
        assign_positions(database)
        last, rows, pruned = _read_numbered(database, after=after, limit=limit)
    if after < pruned:
        raise ChangesPruned(after, pruned)
    events = [FeedEvent(position=r.position, type=r.type, entity=r.entity,
                        entity_id=r.entity_id, state=dict(r.state), at=r.at) for r in rows]
    return ChangesPage(events=events, last_position=last)


def _read_numbered(database: Database, *, after: int, limit: int
                   ) -> tuple[int, Sequence[Row[Any]], int]:
    """(last position, up to ``limit`` numbered events after ``after``, pruned through),
    from one read transaction."""
    with database.session(write=False) as session:
        rows = session.execute(
            select(ChangeEvent.position, ChangeEvent.type, ChangeEvent.entity,
                   ChangeEvent.entity_id, ChangeEvent.state, ChangeEvent.at)
            .where(ChangeEvent.position > after)
            .order_by(ChangeEvent.position).limit(limit)).all()
        # after the rows (each statement may see newer commits): a prune that ran
        # meanwhile shows here, so it cannot hide a gap
        state = session.execute(
            select(ChangeFeedState.last_position, ChangeFeedState.pruned_through)
            .where(ChangeFeedState.id == 1)).first()
    last, pruned = (state[0] or 0, state[1] or 0) if state is not None else (0, 0)
    return max([last, *(r.position for r in rows)]), rows, pruned


def prune_changes(database: Database, *, retention_days: int,
                  now: datetime | None = None) -> int:
    """Delete events recorded more than ``retention_days`` ago; return how many.

    Only a prefix of positions is removed (through the newest position
    recorded before the cutoff), so what remains is gap-free.
    """
    assign_positions(database)
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with database.session() as session:
        feed = _lock_feed(session)
        through = session.scalar(
            select(func.max(ChangeEvent.position)).where(ChangeEvent.at < cutoff,
                                                         ChangeEvent.position.is_not(None)))
        if through is None or through <= feed.pruned_through:
            return 0
        result = session.execute(
            delete(table_of(ChangeEvent)).where(ChangeEvent.position <= through))
        feed.pruned_through = through
        return int(getattr(result, "rowcount", 0) or 0)

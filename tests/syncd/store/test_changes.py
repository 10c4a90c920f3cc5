"""The change feed on both databases: commit-order positions under concurrent
writers and readers (no gap, no duplicate, nothing rolled back), retention."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from syncd.store.changes import (
    Change,
    ChangesPruned,
    prune_changes,
    read_changes,
    record_change,
    record_changes,
)
from syncd.store.database import Database
from syncd.store.schema import ChangeEvent
from syncd.store.types import utcnow

WRITERS = 4
TRANSACTIONS = 50
READERS = 2


class _Rollback(Exception):
    pass


def _writer(db: Database, writer: int, committed: list[tuple[int, int]],
            lock: threading.Lock, errors: list[BaseException]) -> None:
    rng = random.Random(writer)
    serial = 0
    try:
        for tx in range(TRANSACTIONS):
            size = rng.choice((1, 2, 5, 20, 40))
            keys = []
            rollback = tx % 7 == 3
            try:
                with db.session() as session:
                    for _ in range(size):
                        serial += 1
                        keys.append((writer, serial))
                        record_change(session, "test.event", "writer", writer,
                                      {"writer": writer, "serial": serial})
                        if rng.random() < 0.1:
                            time.sleep(rng.random() * 0.01)  # long transactions interleave
                    if rollback:
                        raise _Rollback
            except _Rollback:
                continue
            with lock:
                committed.extend(keys)
    except BaseException as exc:  # pragma: no cover - surfaced by the assertion
        errors.append(exc)


def _reader(db: Database, done: threading.Event, seen: list[tuple[int, tuple[int, int]]],
            errors: list[BaseException]) -> None:
    after = 0
    try:
        while True:
            finished = done.is_set()  # read once more after the writers stopped
            page = read_changes(db, after=after, limit=57)
            for event in page.events:
                seen.append((event.position, (event.state["writer"], event.state["serial"])))
                after = event.position
            if finished and not page.events:
                return
            if not page.events:
                time.sleep(0.002)
    except BaseException as exc:  # pragma: no cover - surfaced by the assertion
        errors.append(exc)


def test_readers_never_miss_a_later_commit(database: Database) -> None:
    committed: list[tuple[int, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()
    seen: list[list[tuple[int, tuple[int, int]]]] = [[] for _ in range(READERS)]
    readers = [threading.Thread(target=_reader, args=(database, done, seen[n], errors))
               for n in range(READERS)]
    writers = [threading.Thread(target=_writer, args=(database, n, committed, lock, errors))
               for n in range(WRITERS)]
    for thread in (*readers, *writers):
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    done.set()
    for thread in readers:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(committed) >= 2000
    for events in seen:
        positions = [p for p, _ in events]
        # consecutive: nothing skipped while polling, nothing twice
        assert positions == list(range(1, len(committed) + 1))
        keys = [k for _, k in events]
        assert len(set(keys)) == len(keys)
        assert set(keys) == set(committed)  # nothing rolled back, nothing lost
        # a writer's own events keep their order
        for writer in range(WRITERS):
            serials = [s for w, s in keys if w == writer]
            assert serials == sorted(serials)
    assert seen[0] == seen[1]  # every reader sees the same numbering


def test_state_is_json_and_pages_continue(database: Database) -> None:
    moment = utcnow()
    with database.session() as session:
        record_changes(session, [Change("interaction.created", "interaction", n,
                                        {"n": n, "at": moment}) for n in range(1, 6)])
    first = read_changes(database, after=0, limit=2)
    assert [e.entity_id for e in first.events] == [1, 2]
    assert first.last_position == 5
    assert isinstance(first.events[0].state["at"], str)
    assert first.events[0].as_json()["position"] == 1
    rest = read_changes(database, after=2, limit=10)
    assert [e.position for e in rest.events] == [3, 4, 5]
    assert read_changes(database, after=5, limit=10).events == []


def test_pruned_positions_are_refused_not_skipped(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        record_change(session, "a", "x", 1, {}, at=now - timedelta(days=9))
        record_change(session, "b", "x", 2, {}, at=now - timedelta(days=8))
    with database.session() as session:
        record_change(session, "c", "x", 3, {}, at=now)
    assert prune_changes(database, retention_days=7, now=now) == 2
    assert prune_changes(database, retention_days=7, now=now) == 0
    with pytest.raises(ChangesPruned) as raised:
        read_changes(database, after=1, limit=10)
    assert raised.value.pruned_through == 2
    assert "resync" in str(raised.value)
    assert [e.type for e in read_changes(database, after=2, limit=10).events] == ["c"]
    # pruning everything keeps the numbering going
    assert prune_changes(database, retention_days=0, now=now + timedelta(seconds=1)) == 1
    with database.session() as session:
        record_change(session, "d", "x", 4, {})
    assert [e.position for e in read_changes(database, after=3, limit=10).events] == [4]


def test_a_full_page_of_numbered_events_is_read_without_numbering(database: Database) -> None:
    """A reader with a backlog never needs the write lock; numbering waits until
    the numbered events no longer fill its page."""
    with database.session() as session:
        record_changes(session, [Change("test.event", "t", n, {"n": n}) for n in range(5)])
    assert [e.position for e in read_changes(database, after=0, limit=2).events] == [1, 2]
    with database.session() as session:  # committed after the numbering above
        record_changes(session, [Change("test.event", "t", n, {"n": n}) for n in range(5, 8)])

    def unnumbered() -> int:
        with database.session(write=False) as s:
            return int(s.scalar(select(func.count()).select_from(ChangeEvent)
                                .where(ChangeEvent.position.is_(None))) or 0)

    page = read_changes(database, after=2, limit=3)
    assert [e.position for e in page.events] == [3, 4, 5] and unnumbered() == 3
    page = read_changes(database, after=5, limit=3)  # fewer than a page: number, read again
    assert [e.position for e in page.events] == [6, 7, 8] and unnumbered() == 0
    assert [e.state["n"] for e in page.events] == [5, 6, 7] and page.last_position == 8

"""syncd.store.bulk: rows written straight to the driver read back exactly as Core's do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from syncd.store.bulk import insert_returning, insert_rows, update_rows
from syncd.store.database import Database
from syncd.store.types import JSONType, UTCDateTime

ODD_TEXT = ["plain", "O'Brien; DROP TABLE t; --", 'quote " and %s and ? and %(x)s', "Zoë 東京 🙂",
            "", None]
WHEN = [datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), None]


def values(i: int) -> tuple[Any, ...]:
    return (f"key-{i}", ODD_TEXT[i % len(ODD_TEXT)], WHEN[i % len(WHEN)],
            {"i": i, "text": ODD_TEXT[i % 5]} if i % 3 else None, i * 7)


COLUMNS = ("key", "note", "at", "data", "n")


def row(i: int) -> dict[str, Any]:
    return dict(zip(COLUMNS, values(i), strict=True))


@pytest.fixture
def tables(database: Database) -> Iterator[tuple[Table, Table]]:
    meta = MetaData()

    def table(name: str) -> Table:
        return Table(name, meta, Column("id", Integer, primary_key=True),
                     Column("key", String(50), unique=True), Column("note", String(200)),
                     Column("at", UTCDateTime()), Column("data", JSONType),
                     Column("n", Integer))

    pair = (table("t_bulk"), table("t_core"))
    with database.engine.begin() as conn:
        meta.create_all(conn)
    try:
        yield pair
    finally:
        with database.engine.begin() as conn:
            meta.drop_all(conn)


def read(database: Database, table: Table) -> list[tuple[Any, ...]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(*(table.c[c] for c in ("id", *COLUMNS))).order_by(table.c.id))]


def test_inserts_and_updates_read_back_like_core(database: Database,
                                                 tables: tuple[Table, Table]) -> None:
    bulk, core = tables
    rows = [values(i) for i in range(40)]
    with database.engine.begin() as conn:
        insert_rows(conn, bulk, COLUMNS, rows)
        conn.execute(core.insert(), [row(i) for i in range(40)])
        # update two columns of every third row, by id
        changed = [(f"new {i} '%s'", WHEN[(i + 1) % 3], i + 1) for i in range(0, 40, 3)]
        update_rows(conn, bulk, ("note", "at"), changed)
        for note, at, row_id in changed:
            conn.execute(core.update().where(core.c.id == row_id).values(note=note, at=at))
    assert read(database, bulk) == read(database, core)
    assert read(database, bulk)[0][3] == WHEN[1]  # aware UTC back, whatever went in


def test_insert_returning_skips_conflicts(database: Database,
                                          tables: tuple[Table, Table]) -> None:
    bulk, _ = tables
    with database.engine.begin() as conn:
        first = insert_returning(conn, bulk, [row(i) for i in range(7)],
                                 conflict="key", returning=("id", "key"), batch=3)
        again = insert_returning(conn, bulk, [row(i) for i in range(5, 9)],
                                 conflict="key", returning=("id", "key"), batch=3)
        assert insert_returning(conn, bulk, [], conflict="key", returning=("id",)) == []
    assert sorted(k for _, k in first) == [f"key-{i}" for i in range(7)]
    assert sorted(k for _, k in again) == ["key-7", "key-8"]  # 5 and 6 existed
    stored = {r[1]: r[0] for r in read(database, bulk)}
    assert stored == dict((k, i) for i, k in first + again)


def test_naive_datetimes_are_refused_here_too(database: Database,
                                              tables: tuple[Table, Table]) -> None:
    bulk, _ = tables
    with database.engine.begin() as conn, pytest.raises(Exception, match="naive datetime"):
        insert_rows(conn, bulk, COLUMNS, [("k", None, datetime(2026, 1, 1), None, 1)])

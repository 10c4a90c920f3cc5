"""syncd.store.types: aware UTC in, aware UTC out, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite.base import DATETIME

from syncd.store.database import Database
from syncd.store.types import UTCDateTime

zones = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)),
                  st.integers(min_value=-23 * 60, max_value=23 * 60))
aware = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                     timezones=zones)


@given(aware)
def test_sqlite_text_is_what_sqlalchemys_datetime_writes(value: datetime) -> None:
    # stored values are compared as text: our fast path must write the same text
    ours = UTCDateTime().bind_processor(sqlite.dialect())
    theirs = DATETIME().bind_processor(sqlite.dialect())  # type: ignore[no-untyped-call]
    assert ours is not None and theirs is not None
    assert ours(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))


def test_naive_datetimes_are_refused() -> None:
    process = UTCDateTime().bind_processor(sqlite.dialect())
    assert process is not None
    assert process(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2026, 1, 1))


def test_round_trip_and_comparison(database: Database) -> None:
    table = Table("t_types", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()))
    cet = timezone(timedelta(hours=1))
    values = [datetime(2026, 3, 1, 12, 0, tzinfo=cet), datetime(2026, 3, 1, 11, 30, 0, 5, UTC)]
    with database.engine.begin() as conn:
        table.create(conn)
        try:
            conn.execute(table.insert(), [{"id": i, "at": v} for i, v in enumerate(values)])
            got = [r.at for r in conn.execute(select(table).order_by(table.c.at))]
            assert got == [values[0].astimezone(UTC), values[1]]  # 11:00 UTC first
            assert all(v.tzinfo is UTC for v in got)
            same = conn.scalar(select(table.c.id).where(table.c.at == values[0]))
            assert same == 0  # 12:00+01:00 is the stored 11:00 UTC
        finally:
            table.drop(conn)

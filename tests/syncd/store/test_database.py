"""Database: migrations, pragmas, error translation, UTC round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from syncd.errors import StoreError
from syncd.store.database import Database, alembic_config, normalize_url
from syncd.store.schema import Account, Base, SyncCursor


def test_migrate_fresh_database_matches_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        db.migrate()  # idempotent
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None and db.current_revision() == head
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata
            )
        assert diff == []
    finally:
        db.dispose()


def test_datetimes_round_trip_as_aware_utc(database: Database) -> None:
    berlin = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 2, 10, 30, 15, 123456, tzinfo=berlin)
    with database.session() as s:
        s.add(Account(id="a1", provider="local", owner="r@x", last_success_at=when))
        s.add(SyncCursor(account_id="a1", resource="INBOX", cursor={"uid": 5, "v": [1, "x"]}))
    with database.session(write=False) as s:
        acc = s.get(Account, "a1")
        assert acc is not None
        assert acc.last_success_at == when
        assert acc.last_success_at.tzinfo is UTC
        assert acc.last_success_at.hour == 9
        cur = s.scalars(select(SyncCursor)).one()
        assert cur.cursor == {"uid": 5, "v": [1, "x"]}


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.session() as s:
        s.add(Account(id="a1", provider="local", last_success_at=datetime(2026, 1, 1)))
        s.flush()


def test_sqlite_pragmas(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/deep/er/syncd.db")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        db.dispose()


def test_plain_postgresql_url_uses_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_unreachable_database_is_a_transient_store_error() -> None:
    db = Database("postgresql://nobody:secret-pw@127.0.0.1:1/none?connect_timeout=2")
    try:
        with pytest.raises(StoreError) as info, db.session() as s:
            s.execute(text("SELECT 1"))
        assert not info.value.permanent
        assert "secret-pw" not in str(info.value)
        assert "127.0.0.1:1" in str(info.value)
        assert "secret-pw" not in repr(db)
    finally:
        db.dispose()


def test_rollback_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as s:
        s.add(Account(id="a1", provider="local"))
        s.flush()
        raise RuntimeError("boom")
    with database.session(write=False) as s:
        assert s.get(Account, "a1") is None


def test_in_memory_sqlite_is_one_database() -> None:
    db = Database("sqlite://")
    try:
        db.migrate()
        with db.session() as s:
            s.add(Account(id="a1", provider="local"))
        with db.session(write=False) as s:
            assert s.get(Account, "a1") is not None
    finally:
        db.dispose()


def test_planner_statistics_refresh_after_enough_rows(database: Database) -> None:
    def analyses() -> int:
        if database.dialect != "postgresql":
            return 0
        with database.engine.connect() as conn:
            return int(conn.exec_driver_sql(
                "SELECT analyze_count FROM pg_stat_user_tables "
                "WHERE relname = 'participants'").scalar() or 0)

    before = analyses()
    database.note_rows_written(999)
    assert analyses() == before
    database.note_rows_written(1)  # 1,000 rows written: ANALYZE on PostgreSQL
    assert analyses() == before + (database.dialect == "postgresql")

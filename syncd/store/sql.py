"""Small portable SQL helpers: dialect-specific INSERT and bounded IN lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from syncd.errors import StoreError

T = TypeVar("T")

#: IN-list and multi-row INSERT batch size: far below SQLite's 32,766 and
#: PostgreSQL's 65,535 bind parameters even for wide rows
BATCH = 500


def chunks(values: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def table_of(model: type[Any]) -> Table:
    """The Core table of a mapped class (typed, for mypy)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def dialect_insert(session: Session, table: Table) -> Any:
    """``INSERT`` with ``on_conflict_do_nothing/do_update`` for our two databases."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise StoreError(f"unsupported database dialect {name!r}", permanent=True)


def insert_ignoring_conflicts(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows; rows whose ``keys`` already exist (even concurrently) are skipped."""
    for batch in chunks(rows, 200):
        stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=list(keys))
        session.execute(stmt, batch)


def aware_utc(value: Any) -> datetime | None:
    """Aggregates bypass the column type on SQLite: re-tag naive values as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def names_by_id(s: Session, model: Any, ids: Iterable[int | None]
                ) -> dict[int | None, str | None]:
    """``model.id -> model.name`` for these ids (None skipped), in batched reads."""
    wanted = sorted({i for i in ids if i is not None})
    out: dict[int | None, str | None] = {}
    for batch in chunks(wanted):
        out.update({i: name for i, name in s.execute(
            select(model.id, model.name).where(model.id.in_(batch)))})
    return out

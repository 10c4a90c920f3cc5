"""Rows the page writer holds as plain attributes, and the UPDATE of those that changed.

The page writer (:mod:`syncd.store.page_writer`) works on these instead of
ORM objects: the ORM's per-object bookkeeping and per-row flushes cost
several times the SQL itself on big pages. Each row remembers the values
it was read with (``loaded``); :func:`write_changed` writes back only rows
whose values moved, so an unchanged row is never written (idempotence).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Connection, Table

from syncd.store.bulk import update_rows
from syncd.store.records import InteractionRecord

#: ``interactions`` columns the page writer may change
ROW_MUTABLE = ("occurred_at", "ends_at", "all_day", "timezone", "subject", "snippet", "body",
               "location", "in_reply_to", "thread_hint", "thread_id", "status", "sequence",
               "provider_updated_at", "direction", "deleted", "deleted_at", "updated_at")
#: ``sources`` columns the page writer may change
SOURCE_MUTABLE = ("interaction_id", "resource", "folder", "deleted_at")
ROW_COLUMNS = ("id", "kind", "dedupe_key", *ROW_MUTABLE)
SOURCE_COLUMNS = ("id", "interaction_id", "provider_id", "resource", "folder",
                  "first_seen_at", "deleted_at")


class PlainRow:
    """A row as plain attributes plus the values it was read with."""

    MUTABLE: ClassVar[tuple[str, ...]] = ()
    loaded: tuple[object, ...]

    @property
    def key_id(self) -> int | None:
        value = getattr(self, "id", None)
        return value if isinstance(value, int) else None

    def values(self) -> tuple[object, ...]:
        return tuple(_getters[type(self)](self))


@dataclass(eq=False)
class InteractionRow(PlainRow):
    """An ``interactions`` row."""

    MUTABLE: ClassVar[tuple[str, ...]] = ROW_MUTABLE
    id: int
    kind: str
    dedupe_key: str
    occurred_at: datetime
    ends_at: datetime | None
    all_day: bool
    timezone: str | None
    subject: str | None
    snippet: str | None
    body: str | None
    location: str | None
    in_reply_to: str | None
    thread_hint: str | None
    thread_id: int | None
    status: str | None
    sequence: int | None
    provider_updated_at: datetime | None
    direction: str
    deleted: bool
    deleted_at: datetime | None
    updated_at: datetime
    loaded: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        self.loaded = self.values()

    @classmethod
    def from_record(cls, rec: InteractionRecord, *, now: datetime) -> InteractionRow:
        """A new row (``id`` 0 until inserted): the first copy seen of it, as it came."""
        return cls(
            id=0, kind=rec.kind, dedupe_key=rec.dedupe_key, occurred_at=rec.occurred_at,
            ends_at=rec.ends_at, all_day=rec.all_day, timezone=rec.timezone,
            subject=rec.subject, snippet=rec.snippet, body=rec.body, location=rec.location,
            in_reply_to=rec.in_reply_to, thread_hint=rec.thread_hint, thread_id=None,
            status=rec.status, sequence=rec.sequence,
            provider_updated_at=rec.provider_updated_at, direction=rec.direction,
            deleted=False, deleted_at=None, updated_at=now,
        )

    def insert_values(self, *, created_at: datetime) -> dict[str, object]:
        """The INSERT of this new row (every column but ``id``)."""
        values = dict(zip(ROW_COLUMNS[1:], _insert_getter(self), strict=True))
        values["created_at"] = created_at
        return values


@dataclass(eq=False)
class SourceRow(PlainRow):
    """A ``sources`` row of this account; ``id`` None until inserted."""

    MUTABLE: ClassVar[tuple[str, ...]] = SOURCE_MUTABLE
    id: int | None
    interaction_id: int
    provider_id: str
    resource: str | None
    folder: str | None
    first_seen_at: datetime
    deleted_at: datetime | None
    loaded: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        self.loaded = self.values()

    def insert_values(self, account_id: str) -> tuple[object, ...]:
        """``(account_id, *SOURCE_COLUMNS[1:])`` of this new row."""
        return (account_id, *_new_source_values(self))


#: one C-level getter per row class (``values()`` runs for every row, twice)
_getters: dict[type[PlainRow], Callable[[PlainRow], tuple[object, ...]]] = {
    cls: operator.attrgetter(*cls.MUTABLE) for cls in (InteractionRow, SourceRow)}
_insert_getter = operator.attrgetter(*ROW_COLUMNS[1:])
_new_source_values = operator.attrgetter(*SOURCE_COLUMNS[1:])


def write_changed(conn: Connection, table: Table, names: Sequence[str],
                  rows: Iterable[PlainRow]) -> None:
    """``UPDATE ... WHERE id = ?`` (executemany) for rows whose ``values()``
    moved away from ``loaded``, grouped by the columns that changed."""
    groups: dict[tuple[str, ...], list[tuple[object, ...]]] = {}
    for row in rows:
        row_id = row.key_id
        if row_id is None:
            continue
        values = row.values()
        if values == row.loaded:
            continue
        changed = tuple(n for n, new, old in zip(names, values, row.loaded, strict=True)
                        if new != old)
        groups.setdefault(changed, []).append((*(getattr(row, n) for n in changed), row_id))
        row.loaded = values
    for columns, batch in groups.items():
        update_rows(conn, table, columns, batch)

"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`UTCDateTime` stores timezone-aware datetimes as UTC and always
  returns aware UTC values. PostgreSQL keeps ``timestamptz``; SQLite has no
  time zones, so values are stored as naive UTC and re-tagged on load.
  Naive datetimes are refused on the way in: a naive value is a bug (nobody
  knows which zone it meant), and storing it silently would shift history.
* :data:`JSONType` is JSONB on PostgreSQL and JSON (text) elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored and returned as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # One step instead of this type's check, then SQLite DATETIME's own
        # formatter: a page binds ~20 datetimes per message. Same text as
        # that formatter (``YYYY-MM-DD HH:MM:SS.ffffff``, compared as text).
        check = self.process_bind_param

        def to_text(value: Any) -> str | None:
            if value is None:
                return None
            if isinstance(value, datetime) and value.tzinfo is UTC:
                return value.isoformat(" ", "microseconds")[:-6]  # most values: drop "+00:00"
            naive = check(value, dialect)
            assert naive is not None
            return naive.isoformat(" ", "microseconds")

        return to_text

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def utcnow() -> datetime:
    """Now as aware UTC, truncated to microseconds (what both databases keep)."""
    return datetime.now(UTC)

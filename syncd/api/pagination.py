"""Cursor pagination for every list: ``limit``, an opaque ``cursor``, ``next_cursor``.

A cursor is the URL-safe base64 (no padding) of a JSON array: the list's
tag followed by the sort key of the last row returned (times as ISO-8601
UTC). It carries no filters: the client sends the same filters with it.
Lists sort by a unique key ending in the row id, and the store continues
strictly after the key (:mod:`syncd.store.keyset`), so pages neither repeat
nor skip rows while sync inserts others.

A route takes ``page: Paging``, asks the store for ``page.limit + 1`` rows
after ``page.after(TAG, datetime, int)`` (``None`` on the first page; a
cursor that does not decode to that shape is a 400 naming ``cursor``) and
returns ``page.result(rows, TAG, key)``: at most ``limit`` rows and the
next cursor, ``None`` when there are no more.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from syncd.api.problems import ParameterError, Problem

T = TypeVar("T")
M = TypeVar("M")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: ids are 32-bit on PostgreSQL: larger ones cannot exist (and must not reach the driver)
MAX_ID = 2**31 - 1


class PageQuery:
    """The ``limit`` and ``cursor`` query parameters of a list (see :func:`page_query`)."""

    def __init__(self, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> None:
        self.limit = limit
        self.cursor = cursor

    def after(self, tag: str, *types: type) -> tuple[Any, ...] | None:
        """The decoded sort key of the previous page's last row (``None``: first page)."""
        if self.cursor is None:
            return None
        try:
            padded = self.cursor + "=" * (-len(self.cursor) % 4)
            values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            if not isinstance(values, list) or len(values) != len(types) + 1 \
                    or values[0] != tag:
                raise ValueError("not a cursor of this list")
            return tuple(_decode(v, t) for v, t in zip(values[1:], types, strict=True))
        except (ValueError, TypeError, UnicodeError, OverflowError, RecursionError,
                binascii.Error):
            raise Problem.invalid([ParameterError(
                location="query", name="cursor",
                problem="is not a cursor of this list; use the next_cursor of its previous "
                        "page, or omit it for the first page")]) from None

    def result(self, rows: Sequence[T], tag: str,
               key: Callable[[T], Sequence[Any]]) -> tuple[list[T], str | None]:
        """At most ``limit`` rows, and the cursor after the last one if more exist."""
        items = list(rows[: self.limit])
        if len(rows) <= self.limit or not items:
            return items, None
        return items, encode_cursor(tag, key(items[-1]))


async def page_query(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT,
                                description="Items per page (1-200).")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(
        max_length=1000, description="`next_cursor` of the previous page; omit for the "
                                     "first page. Send the same filters with it.")] = None,
) -> PageQuery:
    """The dependency behind :data:`Paging`; ``async`` so that it runs on the event
    loop (a plain ``def`` or a class would take a worker-thread round trip)."""
    return PageQuery(limit, cursor)


Paging = Annotated[PageQuery, Depends(page_query)]


def encode_cursor(tag: str, key: Sequence[Any]) -> str:
    values = [tag, *(_encode(v) for v in key)]
    raw = json.dumps(values, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _decode(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError("not a time")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment.astimezone(UTC)
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**62:
            raise ValueError("not an integer")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return value
    raise TypeError(f"unsupported cursor value type {kind}")


class Page(BaseModel, Generic[M]):
    """One page of a list."""

    items: list[M]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; "
                    "null on the last page.")

"""Keyset ("seek") pagination: the rows strictly after a sort key.

A list sorted by a unique key ``(c1, …, cn)`` (the last column is always a
row id, so the key is unique) continues after the last row it returned
with ``after(columns, values)``: ``c1 > v1 OR (c1 = v1 AND (c2 > v2 OR …))``
(``<`` when sorting descending). Unlike ``OFFSET``, a page boundary stays
put while sync inserts rows elsewhere in the order: a new row sorts before
or after the boundary and is never returned twice, and no row is skipped
unless its key itself changed. Written out instead of a row-value
comparison so both databases use the leading column's index the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import QueryableAttribute

#: a sort column: a mapped attribute or any column expression
Column = ColumnElement[Any] | QueryableAttribute[Any]


def after(columns: Sequence[Column], values: Sequence[Any], *,
          descending: bool) -> ColumnElement[bool]:
    """The condition "the row's key sorts strictly after ``values``"."""
    if len(columns) != len(values) or not columns:
        raise ValueError("a keyset needs one value per sort column")
    column, value = columns[-1], values[-1]
    condition: ColumnElement[bool] = column < value if descending else column > value
    for column, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
        beyond = column < value if descending else column > value
        condition = or_(beyond, and_(column == value, condition))
    return condition


def order(columns: Sequence[Column], *, descending: bool) -> list[Any]:
    """``ORDER BY`` terms matching :func:`after` for the same columns."""
    return [c.desc() if descending else c.asc() for c in columns]

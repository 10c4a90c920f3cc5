"""Bulk row writes handed straight to the DB-API driver.

Why: the page writer inserts and updates thousands of rows per page. Core's
executemany builds a parameter dict per row and runs its generic
per-parameter machinery; measured on an initial IMAP sync that cost more
than SQLite's own work (``bench/imap_ingest.py``). Here rows are plain
tuples in a fixed column order, only the columns whose type has a bind
processor for this dialect (``UTCDateTime`` on SQLite, JSON) are converted,
with that type's own processor, and the statement text goes to the
driver's ``executemany``. Values are always bound parameters, never
formatted into the SQL; identifiers come from our own ``Table`` objects and
are quoted by the dialect's preparer.

Supported paramstyles: ``qmark`` (sqlite3) and ``format``/``pyformat``
(psycopg); anything else is a :class:`~syncd.errors.StoreError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table

from syncd.errors import StoreError
from syncd.store.sql import chunks

Processor = Callable[[Any], Any]
_processors: dict[tuple[str, str, str, tuple[str, ...]], list[tuple[int, Processor]]] = {}


def _mark(conn: Connection) -> str:
    style = conn.dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise StoreError(f"unsupported DB-API paramstyle {style!r}", permanent=True)


def _converters(conn: Connection, table: Table, columns: Sequence[str]
                ) -> list[tuple[int, Processor]]:
    """(position, processor) for the columns whose type converts values for this dialect."""
    dialect = conn.dialect
    cache_key = (dialect.name, dialect.driver, table.name, tuple(columns))
    found = _processors.get(cache_key)
    if found is None:
        found = []
        for i, name in enumerate(columns):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                found.append((i, process))
        _processors[cache_key] = found
    return found


def _converted(rows: Iterable[Sequence[Any]], converters: list[tuple[int, Processor]]
               ) -> list[tuple[Any, ...]]:
    """Tuples (what ``exec_driver_sql`` takes for executemany), converted."""
    if not converters:
        return [row if isinstance(row, tuple) else tuple(row) for row in rows]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i, process in converters:
            values[i] = process(values[i])
        out.append(tuple(values))
    return out


def _names(conn: Connection, columns: Iterable[str]) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    return [quote(c) for c in columns]


def insert_rows(conn: Connection, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """``INSERT INTO table (columns) VALUES (...)`` for every row (one executemany)."""
    params = _converted(rows, _converters(conn, table, columns))
    if not params:
        return
    mark = _mark(conn)
    sql = (f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
           f"({', '.join(_names(conn, columns))}) VALUES ({', '.join([mark] * len(columns))})")
    conn.exec_driver_sql(sql, params)


def update_rows(conn: Connection, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], *, key: str = "id") -> None:
    """``UPDATE table SET columns WHERE key = ?``; each row is (*values, key value)."""
    converters = _converters(conn, table, [*columns, key])
    params = _converted(rows, converters)
    if not params:
        return
    mark = _mark(conn)
    names = _names(conn, [*columns, key])
    sets = ", ".join(f"{n} = {mark}" for n in names[:-1])
    sql = (f"UPDATE {conn.dialect.identifier_preparer.format_table(table)} SET {sets} "
           f"WHERE {names[-1]} = {mark}")
    conn.exec_driver_sql(sql, params)


def insert_returning(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                     conflict: str, returning: Sequence[str],
                     batch: int = 500) -> list[tuple[Any, ...]]:
    """Multi-row ``INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING returning``.

    ``rows`` are dicts with the same keys in the same order (the columns).
    Rows that hit the conflict are skipped and absent from the result
    (PostgreSQL and SQLite ≥ 3.35 both support this form). Result order is
    not the input order: return a key column to match rows up.
    """
    if not rows:
        return []
    columns = tuple(rows[0])
    converters = _converters(conn, table, columns)
    mark = _mark(conn)
    one = f"({', '.join([mark] * len(columns))})"
    head = (f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(_names(conn, columns))}) VALUES ")
    tail = (f" ON CONFLICT ({_names(conn, [conflict])[0]}) DO NOTHING "
            f"RETURNING {', '.join(_names(conn, returning))}")
    out: list[tuple[Any, ...]] = []
    texts: dict[int, str] = {}
    for part in chunks(rows, batch):
        flat: list[Any] = []
        for values in _converted((tuple(row.values()) for row in part), converters):
            flat.extend(values)
        sql = texts.get(len(part))
        if sql is None:
            sql = texts[len(part)] = head + ", ".join([one] * len(part)) + tail
        out.extend(tuple(r) for r in conn.exec_driver_sql(sql, tuple(flat)))
    return out

"""Alembic environment: runs against the connection syncd hands over.

``Database.migrate()`` passes its own open connection in
``config.attributes["connection"]``; otherwise (alembic CLI) an engine is
built from ``sqlalchemy.url``. SQLite uses batch mode so later migrations
can alter tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from syncd.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `syncd migrate`")
run_migrations_online()

"""Connection to the interaction store: SQLite (default) or PostgreSQL.

``Database(url)`` owns one SQLAlchemy engine. ``session()`` is a unit of
work: it commits when the block ends and rolls back if it raises.
Database failures (unreachable, restarted, locked, deadlocked) surface as
:class:`syncd.errors.StoreError` — transient — and are translated in
exactly one place, :meth:`Database.errors`.

SQLite specifics: the parent directory is created; every connection gets
WAL journaling, a busy timeout and foreign keys on. Write sessions start
with ``BEGIN IMMEDIATE`` so the select-then-insert upserts of two
concurrent writers cannot interleave (SQLite would otherwise fail the
second writer with "database is locked" at its first write instead of
waiting). PostgreSQL goes through psycopg 3; a plain ``postgresql://``
URL is rewritten to ``postgresql+psycopg://``.
"""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from syncd.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "syncd_write"
#: pg_advisory_xact_lock key serializing migrations ("syncd" in ASCII)
_MIGRATE_LOCK = 0x73796E6364
_ANALYZED = ("interactions", "participants", "sources", "threads", "unmatched_addresses",
             "contact_emails", "company_domains")


def normalize_url(url: str | URL) -> URL:
    """Pick our drivers: psycopg 3 for PostgreSQL, pysqlite for SQLite."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Database:
    """The store's engine plus sessions; see the module docstring."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            database = self.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            else:  # in-memory: every connection would see its own empty database
                kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self.engine)
        self._writer = self.engine.execution_options(**{_WRITE_OPTION: True})
        #: copied into every new session's ``Session.info`` (e.g. the configured
        #: relationship-strength parameters, :mod:`syncd.store.relationships`)
        self.session_info: dict[str, Any] = {}
        self._write_sessions = sessionmaker(bind=self._writer, expire_on_commit=False,
                                            info=self.session_info)
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False,
                                           info=self.session_info)
        self._stats_lock = threading.Lock()
        self._written_since_analyze = 0
        self._written_total = 0

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    # ------------------------------------------------------------------ errors

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate driver failures into StoreError: the one place it happens."""
        try:
            yield
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise StoreError(f"database {self._where()} failed: {_first_line(exc)}") from exc
        except sa_exc.DisconnectionError as exc:
            raise StoreError(f"lost the connection to database {self._where()}") from exc
        except sa_exc.TimeoutError as exc:
            raise StoreError(f"no free connection to database {self._where()}") from exc
        except sa_exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreError(f"lost the connection to database {self._where()}") from exc
            raise

    def _where(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite:{self.url.database}"
        return f"{self.url.host or 'localhost'}:{self.url.port or 5432}/{self.url.database}"

    # ------------------------------------------------------------------ sessions

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any exception.

        ``write=False`` is for read-only work; on SQLite it does not take
        the write lock up front.
        """
        factory = self._write_sessions if write else self._read_sessions
        with self.errors():
            session = factory()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    # ------------------------------------------------------------------ schema

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic (idempotent)."""
        from alembic import command

        config = alembic_config(self)
        with self.errors(), self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # replicas starting together: one migrates, the others wait
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATE_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.errors(), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    # ------------------------------------------------------------------ planner statistics

    def note_rows_written(self, count: int) -> None:
        """Refresh PostgreSQL planner statistics after enough new rows.

        Autovacuum normally does this, but it may be off (it is on the dev
        machine) or lag behind a big initial sync, and with statistics of an
        empty table PostgreSQL plans the per-page ``IN`` lookups as full
        scans: page cost then grows with the store. Like autovacuum's
        default, ANALYZE again after the tables grew by ~10 % (at least
        1,000 rows). Per process; cheap (ANALYZE samples).
        """
        if self.dialect != "postgresql" or count <= 0:
            return
        with self._stats_lock:
            self._written_since_analyze += count
            self._written_total += count
            if self._written_since_analyze < max(1_000, self._written_total // 10):
                return
            self._written_since_analyze = 0
        self.analyze()

    def analyze(self) -> None:
        """Refresh planner statistics of the history tables (PostgreSQL)."""
        if self.dialect != "postgresql":
            return
        with self.errors(), self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE " + ", ".join(_ANALYZED)
            )

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(database: Database | None = None) -> Any:
    """An Alembic Config pointing at the installed ``migrations`` package.

    Found through importlib, so it works from any working directory and
    from an installed wheel.
    """
    from alembic.config import Config

    root = importlib.resources.files("migrations")
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root))
    if database is not None:
        # '%' is the ConfigParser interpolation character
        config.set_main_option(
            "sqlalchemy.url",
            database.url.render_as_string(hide_password=False).replace("%", "%%"),
        )
    return config


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy (our "begin" hook) issue BEGIN, not pysqlite
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__

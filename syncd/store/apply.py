"""Write one provider page into the store, inside the caller's transaction.

:func:`apply_page` upserts everything the page carries — interactions (by
``dedupe_key``), their participants, sources, threads, quarantine rows,
unmatched addresses, deletions — and writes the page's cursor. The caller
(the sync engine) runs it in one transaction, so a page is saved entirely
or not at all, together with its cursor.

Invariants:

* **Idempotent.** Applying the same page twice writes nothing the second
  time: every update compares before it writes; aggregates (threads,
  unmatched addresses) are recomputed from rows, never incremented.
  (Only ``quarantine.last_seen`` moves: it says the item is still bad.)
* **Copies merge, order does not matter.** One email seen in several
  mailboxes: fields merge as "new value unless it is None" (so an account
  at privacy level ``metadata`` never blanks a subject another account
  stored), ``occurred_at`` is the earliest copy's, participants are the
  union (only the sender's copy knows Bcc).
* **Meetings obey SEQUENCE.** A copy replaces a meeting's fields and
  participants only if its (sequence, last-modified) is not lower than
  the stored one. ``METHOD:CANCEL`` sets status cancelled; a ``REPLY``
  only updates the replying attendee's response status.
* **Deletions mark, never erase.** A deletion stamps the account's source;
  when every source is deleted the interaction is flagged ``deleted``.
  Seeing the item again revives it.
* **Concurrency.** New interactions and threads are inserted with
  ``ON CONFLICT DO NOTHING`` and then locked (``FOR UPDATE`` on
  PostgreSQL; SQLite write sessions hold the database write lock), so two
  accounts applying the same message at once neither fail nor duplicate.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import Connection, Table, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from matching.types import Decision
from providers.base import Deletion, Event, Message, Page, Quarantined
from syncd.store.bulk import insert_returning, insert_rows, update_rows
from syncd.store.records import (
    ROLE_ORDER,
    InteractionRecord,
    ParticipantRow,
    event_record,
    invite_provider_id,
    key,
    message_record,
    text,
)
from syncd.store.schema import (
    Interaction,
    Participant,
    QuarantineEntry,
    Source,
    SyncCursor,
    Thread,
    UnmatchedAddress,
)
from syncd.store.sql import aware_utc, chunks, dialect_insert, table_of
from syncd.store.types import utcnow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_PARTICIPANT_FIELDS = [f.name for f in fields(ParticipantRow)]
#: columns the page writer may change (``_Row``/``_ThreadRow``/``_SourceRow``)
_ROW_MUTABLE = ("occurred_at", "ends_at", "all_day", "timezone", "subject", "snippet", "body",
                "location", "in_reply_to", "thread_hint", "thread_id", "status", "sequence",
                "provider_updated_at", "direction", "deleted", "deleted_at", "updated_at")
_THREAD_MUTABLE = ("subject", "first_message_at", "last_message_at", "last_inbound_at",
                   "last_outbound_at", "message_count", "updated_at")
_SOURCE_MUTABLE = ("interaction_id", "resource", "folder", "deleted_at")
#: rows per INSERT ... RETURNING batch (bind parameters stay far below both limits)
_INSERT_BATCH = 500
_COUNTED = ("unmatched", "company")


@dataclass(slots=True)
class ApplyResult:
    """What one page changed. ``touched_*`` feed reminder derivation."""

    items: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    sources_added: int = 0
    deletions: int = 0
    quarantined: int = 0
    touched_threads: set[int] = field(default_factory=set)
    touched_meetings: set[int] = field(default_factory=set)


def apply_page(
    session: Session,
    account_id: str,
    page: Page,
    decisions: Mapping[str, Decision],
    skip: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> ApplyResult:
    """Upsert ``page`` for ``account_id`` (see module docstring).

    ``decisions`` maps every address string on the page (as found) to its
    matching decision; ``skip`` maps provider ids of items that must not be
    logged (internal-only, automated, …) to the reason. Invites inside a
    message are keyed ``<message provider id>#invite#<uid#instance>``.
    The account row must exist.
    """
    now = now or utcnow()
    skip = skip or {}
    result = ApplyResult(items=len(page.items))
    records, deletions = _collect(page, decisions, skip, result)
    # pending ORM changes of the caller first: the writer below speaks Core
    session.flush()
    writer = _PageWriter(session, account_id, page.resource, now, result)
    # flushes are explicit: autoflush before each of the page's queries costs
    # more than the writes themselves on big pages
    with session.no_autoflush:
        writer.write_records(records)
        writer.mark_deletions(deletions)
        writer.write_quarantine(page.quarantined)
        if page.cursor is not None:
            save_cursor(session, account_id, page.resource, page.cursor, now=now)
    session.flush()
    _expire_history(session)
    return result


def save_cursor(
    session: Session, account_id: str, resource: str, cursor: dict[str, Any], *, now: datetime
) -> None:
    """Store ``cursor`` for (account, resource); untouched if it did not move."""
    row = session.scalars(
        select(SyncCursor).where(
            SyncCursor.account_id == account_id, SyncCursor.resource == resource
        )
    ).one_or_none()
    if row is None:
        session.add(SyncCursor(account_id=account_id, resource=resource, cursor=cursor,
                               updated_at=now))
    elif row.cursor != cursor:
        row.cursor = dict(cursor)
        row.updated_at = now


def _collect(
    page: Page, decisions: Mapping[str, Decision], skip: Mapping[str, str], result: ApplyResult
) -> tuple[list[InteractionRecord], list[Deletion]]:
    records: list[InteractionRecord] = []
    deletions: list[Deletion] = []
    last_seen: dict[str, int] = {}  # provider id -> index of its last record
    for item in page.items:
        if isinstance(item, Deletion):
            deletions.append(item)
            last_seen.pop(item.provider_id, None)
            continue
        if isinstance(item, Message):
            if item.provider_id in skip:
                result.skipped += 1
            else:
                records.append(message_record(item, decisions))
                last_seen[item.provider_id] = len(records)
            for invite in item.invites:
                pid = invite_provider_id(item, invite)
                if pid in skip:
                    continue
                records.append(event_record(invite, decisions, provider_id=pid,
                                            folder=item.folder))
        elif isinstance(item, Event):
            if item.provider_id in skip:
                result.skipped += 1
                continue
            records.append(event_record(item, decisions))
            last_seen[item.provider_id] = len(records)
    # a deletion followed by the item again (in the same page) is void
    deletions = [d for d in deletions if d.provider_id not in last_seen]
    return records, deletions


class _Plain:
    """A row as plain attributes plus the values it was read with.

    The page writer works on these instead of ORM objects: the ORM's
    per-object bookkeeping and per-row flushes cost several times the SQL
    itself on big pages. Only rows whose ``values()`` differ from ``loaded``
    are written back (:func:`_write_changed`).
    """

    MUTABLE: ClassVar[tuple[str, ...]] = ()
    loaded: tuple[Any, ...]

    @property
    def key_id(self) -> int | None:
        value = getattr(self, "id", None)
        return value if isinstance(value, int) else None

    def values(self) -> tuple[Any, ...]:
        return tuple(_getters[type(self)](self))


@dataclass(eq=False)
class _Row(_Plain):
    """An ``interactions`` row."""

    MUTABLE: ClassVar[tuple[str, ...]] = _ROW_MUTABLE
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
    loaded: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.loaded = self.values()


@dataclass(eq=False)
class _SourceRow(_Plain):
    """A ``sources`` row of this account; ``id`` None until inserted."""

    MUTABLE: ClassVar[tuple[str, ...]] = _SOURCE_MUTABLE
    id: int | None
    interaction_id: int
    provider_id: str
    resource: str | None
    folder: str | None
    first_seen_at: datetime
    deleted_at: datetime | None
    loaded: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.loaded = self.values()


@dataclass(eq=False)
class _ThreadRow(_Plain):
    """A ``threads`` row with its aggregates."""

    MUTABLE: ClassVar[tuple[str, ...]] = _THREAD_MUTABLE
    id: int
    key: str
    subject: str | None
    first_message_at: datetime | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    message_count: int
    updated_at: datetime
    loaded: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.loaded = self.values()


#: one C-level getter per row class (``values()`` runs for every row, twice)
_getters: dict[type[_Plain], Callable[[Any], Any]] = {
    cls: operator.attrgetter(*cls.MUTABLE) for cls in (_Row, _SourceRow, _ThreadRow)}
_ROW_COLUMNS = ("id", "kind", "dedupe_key", *_ROW_MUTABLE)
_SOURCE_COLUMNS = ("id", "interaction_id", "provider_id", "resource", "folder", "first_seen_at",
                   "deleted_at")
_THREAD_COLUMNS = ("id", "key", *_THREAD_MUTABLE)
_PARTICIPANT_COLUMNS = ("interaction_id", "position", *_PARTICIPANT_FIELDS)
_participant_values = operator.attrgetter(*_PARTICIPANT_FIELDS)
_new_source_values = operator.attrgetter(*_SOURCE_COLUMNS[1:])


class _PageWriter:
    """Core-statement page writer: one SELECT per key set, bulk INSERTs,
    executemany UPDATEs of changed rows only (see the module docstring)."""

    def __init__(self, session: Session, account_id: str, resource: str, now: datetime,
                 result: ApplyResult) -> None:
        self.s = session
        self.conn = session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"
        self.account_id = account_id
        self.resource = resource
        self.now = now
        self.result = result
        self.created_ids: set[int] = set()
        self.threads: dict[int, _ThreadRow] = {}
        self.occurred_at: dict[int, datetime] = {}

    # ------------------------------------------------------------------ interactions

    def write_records(self, records: Sequence[InteractionRecord]) -> None:
        if not records:
            return
        replies_only = {r.dedupe_key for r in records if r.method == "REPLY"} - {
            r.dedupe_key for r in records if r.method != "REPLY"
        }
        creatable = [r for r in records if r.dedupe_key not in replies_only]
        rows = self._lock_interactions(records, creatable)
        original = self._load_participants(
            [r.id for r in rows.values() if r.id not in self.created_ids])
        current = {k: list(v) for k, v in original.items()}
        occurred_before = {r.id: r.occurred_at for r in rows.values()}
        thread_keys = self._thread_keys(records, rows)
        threads = self._lock_threads(records, thread_keys)
        sources = self._load_sources([r.provider_id for r in records])
        old_threads: set[int] = set()
        changed: set[int] = set()

        for rec in records:
            row = rows.get(rec.dedupe_key)
            if row is None:  # a REPLY for a meeting we never saw
                self.result.skipped += 1
                continue
            if self._merge(row, rec, current):
                changed.add(row.id)
            if rec.kind == "email" and rec.dedupe_key not in thread_keys:
                if row.thread_id is not None:
                    self.result.touched_threads.add(row.thread_id)
            elif rec.kind == "email":
                thread = threads[thread_keys[rec.dedupe_key]]
                if row.thread_id != thread.id:
                    if row.thread_id is not None:
                        old_threads.add(row.thread_id)
                    row.thread_id = thread.id
                    changed.add(row.id)
                self.result.touched_threads.add(thread.id)
            self._upsert_source(row, rec, sources)

        replaced = {i: rows_now for i, rows_now in current.items()
                    if rows_now != original.get(i, [])}
        changed.update(replaced)
        for row in rows.values():
            if row.id in changed:
                row.updated_at = self.now
                if row.kind == "meeting":
                    self.result.touched_meetings.add(row.id)
        self.result.updated += len(changed - self.created_ids)
        self._write_rows(rows.values())
        self._replace_participants(replaced, had_rows=set(original))
        self._write_sources(sources.values())
        self._resolve_quarantine([r.provider_id for r in records])
        self._refresh_threads(self.result.touched_threads | old_threads)
        moved = {row.id for row in rows.values() if row.occurred_at != occurred_before[row.id]}
        self.occurred_at = {row.id: row.occurred_at for row in rows.values()}
        self._refresh_unmatched(original, replaced, moved)

    def _lock_interactions(
        self, records: Sequence[InteractionRecord], creatable: Sequence[InteractionRecord]
    ) -> dict[str, _Row]:
        """Rows for every record's key: new ones inserted, existing ones locked.

        Lock order is the old one: new rows (sorted keys) by INSERT ... ON
        CONFLICT DO NOTHING, then existing ones by id (``FOR UPDATE`` on
        PostgreSQL). SQLite write sessions already hold the write lock, so
        the first read is final there; a key someone else inserted between
        read and insert (PostgreSQL) is re-read under the lock.
        """
        keys = sorted({r.dedupe_key for r in records})
        rows = self._select_rows(keys, lock=False)
        first: dict[str, InteractionRecord] = {}
        for rec in creatable:
            if rec.dedupe_key not in rows:
                first.setdefault(rec.dedupe_key, rec)
        created: dict[str, _Row] = {}
        if first:
            new_rows = {k: self._new_row(first[k]) for k in sorted(first)}
            inserted = insert_returning(
                self.conn, table_of(Interaction), list(new_rows.values()),
                conflict="dedupe_key", returning=("id", "dedupe_key"), batch=_INSERT_BATCH)
            for new_id, dedupe_key in inserted:
                values = new_rows[dedupe_key]
                created[dedupe_key] = _Row(new_id, *(values[n] for n in _ROW_COLUMNS[1:]))
        lost = [k for k in first if k not in created]
        relock = sorted(lost + (list(rows) if self.postgres else []))
        if relock:
            rows.update(self._select_rows(relock, lock=True))
        rows.update(created)
        self.created_ids = {row.id for row in created.values()}
        self.result.created += len(self.created_ids)
        return rows

    def _select_rows(self, keys: Sequence[str], *, lock: bool) -> dict[str, _Row]:
        table = table_of(Interaction)
        columns = [table.c[name] for name in _ROW_COLUMNS]
        out: dict[str, _Row] = {}
        for batch in chunks(keys):
            stmt = select(*columns).where(table.c.dedupe_key.in_(batch))
            if lock:
                stmt = stmt.order_by(table.c.id).with_for_update()
            for values in self.conn.execute(stmt):
                row = _Row(*values)
                out[row.dedupe_key] = row
        return out

    def _write_rows(self, rows: Iterable[_Row]) -> None:
        _write_changed(self.conn, table_of(Interaction), _ROW_MUTABLE, rows)

    def _new_row(self, rec: InteractionRecord) -> dict[str, Any]:
        return {
            "kind": rec.kind,
            "dedupe_key": rec.dedupe_key,
            "occurred_at": rec.occurred_at,
            "ends_at": rec.ends_at,
            "all_day": rec.all_day,
            "timezone": rec.timezone,
            "subject": rec.subject,
            "snippet": rec.snippet,
            "body": rec.body,
            "location": rec.location,
            "in_reply_to": rec.in_reply_to,
            "thread_hint": rec.thread_hint,
            "thread_id": None,
            "status": rec.status,
            "sequence": rec.sequence,
            "provider_updated_at": rec.provider_updated_at,
            "direction": rec.direction,
            "deleted": False,
            "deleted_at": None,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def _merge(self, row: _Row, rec: InteractionRecord,
               current: dict[int, list[ParticipantRow]]) -> bool:
        """Fold one record into its row and participant list; True if fields changed."""
        people = current.setdefault(row.id, [])
        if rec.kind == "email":
            current[row.id] = _union(people, rec.participants)
            return _assign(
                row,
                occurred_at=min(row.occurred_at, rec.occurred_at),
                subject=_keep(rec.subject, row.subject),
                snippet=_keep(rec.snippet, row.snippet),
                body=_keep(rec.body, row.body),
                in_reply_to=_keep(rec.in_reply_to, row.in_reply_to),
                thread_hint=_keep(rec.thread_hint, row.thread_hint),
                direction=rec.direction,
            )
        if rec.method == "REPLY":
            current[row.id] = _with_replies(people, rec.participants)
            return False
        if _version(rec.sequence, rec.provider_updated_at) < _version(
            row.sequence, row.provider_updated_at
        ):
            return False  # an older copy of the meeting: keep what we have
        if rec.method != "CANCEL" or not people:
            current[row.id] = list(rec.participants)
        return _assign(
            row,
            occurred_at=rec.occurred_at,
            ends_at=rec.ends_at,
            all_day=rec.all_day,
            timezone=_keep(rec.timezone, row.timezone),
            subject=_keep(rec.subject, row.subject),
            location=_keep(rec.location, row.location),
            status=rec.status,
            sequence=rec.sequence,
            provider_updated_at=_keep(rec.provider_updated_at, row.provider_updated_at),
            direction=rec.direction,
        )

    # ------------------------------------------------------------------ participants

    def _load_participants(self, ids: Sequence[int]) -> dict[int, list[ParticipantRow]]:
        out: dict[int, list[ParticipantRow]] = {}
        table = table_of(Participant)
        cols = [table.c[name] for name in _PARTICIPANT_FIELDS]
        for batch in chunks(sorted(ids)):
            stmt = (
                select(table.c.interaction_id, *cols)
                .where(table.c.interaction_id.in_(batch))
                .order_by(table.c.interaction_id, table.c.position)
            )
            for interaction_id, *values in self.conn.execute(stmt):
                out.setdefault(interaction_id, []).append(ParticipantRow(*values))
        return out

    def _replace_participants(self, replaced: Mapping[int, Sequence[ParticipantRow]], *,
                              had_rows: set[int]) -> None:
        """Delete and re-insert the participants of these interactions (batched);
        interactions that had none (new ones) skip the DELETE."""
        ids = sorted(replaced)
        table = table_of(Participant)
        for batch in chunks([i for i in ids if i in had_rows]):
            self.conn.execute(delete(table).where(table.c.interaction_id.in_(batch)))
        insert_rows(self.conn, table, _PARTICIPANT_COLUMNS, [
            (interaction_id, i, *_participant_values(p))
            for interaction_id in ids
            for i, p in enumerate(replaced[interaction_id])
        ])

    # ------------------------------------------------------------------ sources

    def _load_sources(self, provider_ids: Sequence[str]) -> dict[str, _SourceRow]:
        table = table_of(Source)
        columns = [table.c[name] for name in _SOURCE_COLUMNS]
        out: dict[str, _SourceRow] = {}
        for batch in chunks(sorted(set(provider_ids))):
            stmt = select(*columns).where(table.c.account_id == self.account_id,
                                          table.c.provider_id.in_(batch))
            for values in self.conn.execute(stmt):
                src = _SourceRow(*values)
                out[src.provider_id] = src
        return out

    def _upsert_source(self, row: _Row, rec: InteractionRecord,
                       sources: dict[str, _SourceRow]) -> None:
        src = sources.get(rec.provider_id)
        if src is None:
            sources[rec.provider_id] = _SourceRow(
                id=None, interaction_id=row.id, provider_id=rec.provider_id,
                resource=self.resource, folder=rec.folder, first_seen_at=self.now,
                deleted_at=None)
            self.result.sources_added += 1
        else:
            _assign(src, interaction_id=row.id, folder=rec.folder, resource=self.resource,
                    deleted_at=None)
        if row.deleted:
            row.deleted = False
            row.deleted_at = None

    def _write_sources(self, sources: Iterable[_SourceRow]) -> None:
        table = table_of(Source)
        new: list[tuple[Any, ...]] = []
        old: list[_SourceRow] = []
        for src in sources:
            if src.id is None:
                new.append((self.account_id, *_new_source_values(src)))
            else:
                old.append(src)
        insert_rows(self.conn, table, ("account_id", *_SOURCE_COLUMNS[1:]), new)
        _write_changed(self.conn, table, _SOURCE_MUTABLE, old)

    def _resolve_quarantine(self, provider_ids: Sequence[str]) -> None:
        table = table_of(QuarantineEntry)
        for batch in chunks(sorted(set(provider_ids))):
            self.conn.execute(
                update(table)
                .where(table.c.account_id == self.account_id,
                       table.c.provider_id.in_(batch),
                       table.c.resolved_at.is_(None))
                .values(resolved_at=self.now)
            )

    # ------------------------------------------------------------------ threads

    def _thread_keys(self, records: Sequence[InteractionRecord],
                     rows: Mapping[str, _Row]) -> dict[str, str]:
        """dedupe_key -> thread key for every email record (see records.py)."""
        parents = {r.in_reply_to for r in records
                   if r.kind == "email" and r.thread_root is None and r.in_reply_to}
        parent_keys: dict[str, str] = {}
        interactions, threads = table_of(Interaction), table_of(Thread)
        for batch in chunks(sorted(parents)):
            stmt = (
                select(interactions.c.dedupe_key, threads.c.key)
                .join(threads, interactions.c.thread_id == threads.c.id)
                .where(interactions.c.dedupe_key.in_(batch))
            )
            parent_keys.update({k: t for k, t in self.conn.execute(stmt)})
        # per message, the copy with the strongest evidence decides: References
        # root > In-Reply-To > nothing; a copy without threading headers never
        # moves a message that already has a thread
        best: dict[str, tuple[int, InteractionRecord]] = {}
        for rec in records:
            if rec.kind != "email":
                continue
            strength = 2 if rec.thread_root else 1 if rec.in_reply_to else 0
            row = rows.get(rec.dedupe_key)
            if strength == 0 and row is not None and row.thread_id is not None:
                continue
            if rec.dedupe_key not in best or strength > best[rec.dedupe_key][0]:
                best[rec.dedupe_key] = (strength, rec)
        out: dict[str, str] = {}
        for dedupe_key, (_, rec) in best.items():
            if rec.thread_root:
                key = rec.thread_root
            elif rec.in_reply_to:
                parent = rec.in_reply_to
                key = out.get(parent) or parent_keys.get(parent, parent)
            else:
                key = dedupe_key
            out[dedupe_key] = key
        return out

    def _lock_threads(self, records: Sequence[InteractionRecord],
                      thread_keys: Mapping[str, str]) -> dict[str, _ThreadRow]:
        """Threads by key: missing ones inserted (sorted keys), existing ones locked by id."""
        if not thread_keys:
            return {}
        subjects: dict[str, str | None] = {}
        for rec in sorted(records, key=lambda r: r.occurred_at):
            if rec.kind == "email" and rec.dedupe_key in thread_keys:
                key = thread_keys[rec.dedupe_key]
                if subjects.get(key) is None:
                    subjects[key] = _thread_subject(rec.subject)
        keys = sorted(subjects)
        table = table_of(Thread)
        new_rows: dict[str, dict[str, Any]] = {
            k: {"key": k, "subject": subjects[k], "first_message_at": None,
                "last_message_at": None, "last_inbound_at": None, "last_outbound_at": None,
                "message_count": 0, "updated_at": self.now}
            for k in keys
        }
        out: dict[str, _ThreadRow] = {}
        inserted = insert_returning(self.conn, table, list(new_rows.values()), conflict="key",
                                    returning=("id", "key"), batch=_INSERT_BATCH)
        for thread_id, key in inserted:
            fresh = new_rows[key]
            out[key] = _ThreadRow(thread_id, *(fresh[n] for n in _THREAD_COLUMNS[1:]))
        rest = [k for k in keys if k not in out]
        columns = [table.c[name] for name in _THREAD_COLUMNS]
        for key_batch in chunks(rest):
            locked = (select(*columns).where(table.c.key.in_(key_batch))
                      .order_by(table.c.id).with_for_update())
            for found in self.conn.execute(locked):
                thread = _ThreadRow(*found)
                out[thread.key] = thread
                if thread.subject is None and subjects[thread.key] is not None:
                    thread.subject = subjects[thread.key]
        self.threads.update({t.id: t for t in out.values()})
        return out

    def _refresh_threads(self, thread_ids: set[int]) -> None:
        """Recompute thread aggregates from their interactions (idempotent)."""
        table = table_of(Thread)
        missing = sorted(thread_ids - set(self.threads))
        columns = [table.c[name] for name in _THREAD_COLUMNS]
        for batch in chunks(missing):
            for values in self.conn.execute(select(*columns).where(table.c.id.in_(batch))):
                thread = _ThreadRow(*values)
                self.threads[thread.id] = thread
        for batch in chunks(sorted(thread_ids)):
            stats = thread_stats(self.conn, batch)
            for thread_id in batch:
                known = self.threads.get(thread_id)
                if known is None:
                    continue
                first, last, last_in, last_out, count = stats.get(thread_id, EMPTY_THREAD)
                if _assign(known, first_message_at=first, last_message_at=last,
                           last_inbound_at=last_in, last_outbound_at=last_out,
                           message_count=count):
                    known.updated_at = self.now
        _write_changed(self.conn, table, _THREAD_MUTABLE, self.threads.values())

    # ------------------------------------------------------------------ unmatched

    def _refresh_unmatched(self, original: Mapping[int, Sequence[ParticipantRow]],
                           replaced: Mapping[int, Sequence[ParticipantRow]],
                           moved: set[int]) -> None:
        """Keep ``unmatched_addresses`` equal to its definition over participants.

        The definition (see :func:`refresh_unmatched`) is an aggregate over
        every interaction of an address; recomputing it per page costs the
        address's whole history, page after page. So: an address this page
        only ADDED interactions to (new participant rows, dates unchanged) is
        updated in place (count + n, earliest/latest widened) — exact, and
        atomic under concurrent writers; an address that lost an interaction,
        changed domain, or sits on an interaction whose date moved is
        recomputed from the rows. Re-applying a page adds nothing.
        """
        recompute: set[str] = set()
        added: dict[str, list[tuple[datetime, str | None]]] = {}
        for iid, people in replaced.items():
            before, after = _counted(original.get(iid, ())), _counted(people)
            if iid in moved:
                recompute.update(before, after)
                continue
            recompute.update(a for a in before if a not in after)
            for address, domain in after.items():
                if address not in before:
                    added.setdefault(address, []).append((self.occurred_at[iid], domain))
                elif before[address] != domain:
                    recompute.add(address)
        for iid in moved - set(replaced):
            recompute.update(_counted(original.get(iid, ())))
        increments: list[dict[str, Any]] = [
            {"address": address, "domain": _min_present(d for _, d in seen),
             "first_seen": min(w for w, _ in seen), "last_seen": max(w for w, _ in seen),
             "interaction_count": len(seen)}
            for address, seen in sorted(added.items()) if address not in recompute
        ]
        if self.postgres and increments and recompute:
            # two statements below: take the existing rows' locks in one order first
            table = table_of(UnmatchedAddress)
            wanted = sorted(recompute | {r["address"] for r in increments})
            for batch in chunks(wanted):
                self.conn.execute(select(table.c.id).where(table.c.address.in_(batch))
                                  .order_by(table.c.address).with_for_update())
        for batch in chunks(sorted(recompute)):
            refresh_unmatched(self.s, batch)
        if increments:
            _add_unmatched(self.s, increments)

    # ------------------------------------------------------------------ deletions

    def mark_deletions(self, deletions: Sequence[Deletion]) -> None:
        if not deletions:
            return
        pids = sorted({key(d.provider_id) for d in deletions})
        touched: set[int] = set()
        for batch in chunks(pids):
            for src in self.s.scalars(
                select(Source).where(Source.account_id == self.account_id,
                                     Source.provider_id.in_(batch))
            ):
                if src.deleted_at is None:
                    src.deleted_at = self.now
                    touched.add(src.interaction_id)
                    self.result.deletions += 1
        self.s.flush()
        for id_batch in chunks(sorted(touched)):
            stmt = (
                select(Source.interaction_id)
                .where(Source.interaction_id.in_(id_batch))
                .group_by(Source.interaction_id)
                .having(func.count() == func.count(Source.deleted_at))
            )
            gone_ids = list(self.s.scalars(stmt))
            for row in self.s.scalars(select(Interaction).where(Interaction.id.in_(gone_ids))):
                if not row.deleted:
                    row.deleted = True
                    row.deleted_at = self.now
                    row.updated_at = self.now
                    if row.thread_id is not None:
                        self.result.touched_threads.add(row.thread_id)
                    if row.kind == "meeting":
                        self.result.touched_meetings.add(row.id)

    # ------------------------------------------------------------------ quarantine

    def write_quarantine(self, entries: Sequence[Quarantined]) -> None:
        if not entries:
            return
        entries = [Quarantined(key(q.provider_id), q.kind, text(q.reason) or "",
                               text(q.excerpt, 2000) or "") for q in entries]
        existing: dict[str, QuarantineEntry] = {}
        for batch in chunks(sorted({q.provider_id for q in entries})):
            for row in self.s.scalars(
                select(QuarantineEntry).where(QuarantineEntry.account_id == self.account_id,
                                              QuarantineEntry.provider_id.in_(batch))
            ):
                existing[row.provider_id] = row
        for q in entries:
            found = existing.get(q.provider_id)
            if found is None:
                row = QuarantineEntry(account_id=self.account_id, resource=self.resource,
                                      provider_id=q.provider_id, kind=q.kind, reason=q.reason,
                                      excerpt=q.excerpt or None, first_seen=self.now,
                                      last_seen=self.now, count=1)
                self.s.add(row)
                existing[q.provider_id] = row
            else:
                if found.resolved_at is not None:  # it went bad again
                    found.count += 1
                found.last_seen = self.now
                _assign(found, reason=q.reason, excerpt=q.excerpt or None, kind=q.kind,
                        resource=self.resource, resolved_at=None)
            self.result.quarantined += 1


def refresh_unmatched(session: Session, addresses: Sequence[str]) -> None:
    """Recompute ``unmatched_addresses`` rows for ``addresses`` from participants.

    An address no contact owns, seen on at least one interaction, has a row
    with first/last seen and the number of interactions; otherwise none.
    """
    if not addresses:
        return
    # only the address predicate is in WHERE (its index is then the only
    # plan, even with stale statistics); "not a contact" goes in the aggregates
    counted = and_(Participant.contact_id.is_(None),
                   Participant.match.in_(("unmatched", "company")))
    stmt = (
        select(Participant.address,
               func.min(_when(counted, Participant.domain)),
               func.min(_when(counted, Interaction.occurred_at)),
               func.max(_when(counted, Interaction.occurred_at)),
               func.count(func.distinct(_when(counted, Participant.interaction_id))))
        .join(Interaction, Interaction.id == Participant.interaction_id)
        .where(Participant.address.in_(addresses))
        .group_by(Participant.address)
    )
    rows = [
        {"address": a, "domain": d, "first_seen": aware_utc(first), "last_seen": aware_utc(last),
         "interaction_count": n}
        for a, d, first, last, n in session.execute(stmt)
        if n
    ]
    rows.sort(key=lambda r: str(r["address"]))  # one lock order for concurrent upserts
    gone = sorted(set(addresses) - {r["address"] for r in rows})
    if gone:
        session.execute(delete(UnmatchedAddress).where(UnmatchedAddress.address.in_(gone)))
    if rows:
        table = table_of(UnmatchedAddress)
        stmt_ins = dialect_insert(session, table)
        stmt_ins = stmt_ins.on_conflict_do_update(
            index_elements=["address"],
            set_={c: stmt_ins.excluded[c]
                  for c in ("domain", "first_seen", "last_seen", "interaction_count")},
        )
        session.execute(stmt_ins, rows)


def _add_unmatched(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add interactions to ``unmatched_addresses`` rows (insert, or count + n and
    widen first/last seen; the smallest known domain wins, as in the aggregate)."""
    table = table_of(UnmatchedAddress)
    stmt = dialect_insert(session, table)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["address"],
        set_={
            "interaction_count": table.c.interaction_count + new.interaction_count,
            "first_seen": case((or_(table.c.first_seen.is_(None),
                                    new.first_seen < table.c.first_seen), new.first_seen),
                               else_=table.c.first_seen),
            "last_seen": case((or_(table.c.last_seen.is_(None),
                                   new.last_seen > table.c.last_seen), new.last_seen),
                              else_=table.c.last_seen),
            "domain": case((table.c.domain.is_(None), new.domain),
                           (and_(new.domain.is_not(None), new.domain < table.c.domain),
                            new.domain),
                           else_=table.c.domain),
        },
    )
    session.connection().execute(stmt, list(rows))


# ---------------------------------------------------------------------- helpers


def _write_changed(conn: Connection, table: Table, names: Sequence[str],
                   rows: Iterable[_Plain]) -> None:
    """``UPDATE ... WHERE id = ?`` (executemany) for rows whose ``values()``
    moved away from ``loaded``, grouped by the columns that changed."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
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


def _expire_history(session: Session) -> None:
    """Expire ORM copies of rows the Core writer may have changed, so later
    ORM reads in this transaction (reminders, linking) see the new values."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Interaction, Participant, Source, Thread, UnmatchedAddress)):
            session.expire(obj)


def _counted(people: Iterable[ParticipantRow]) -> dict[str, str | None]:
    """address -> smallest domain, over the participant rows that count as
    unmatched (the condition of :func:`refresh_unmatched`)."""
    out: dict[str, str | None] = {}
    for p in people:
        if p.contact_id is None and p.match in _COUNTED:
            if p.address not in out:
                out[p.address] = p.domain
            elif p.domain is not None:
                known = out[p.address]
                out[p.address] = p.domain if known is None else min(known, p.domain)
    return out


def _min_present(values: Iterable[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _assign(obj: Any, **values: Any) -> bool:
    """Set attributes that differ; True if any did (so unchanged rows stay untouched)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _keep(new: Any, old: Any) -> Any:
    return new if new is not None else old


def _version(sequence: int | None, updated: datetime | None) -> tuple[int, datetime]:
    return (sequence or 0, updated or _EPOCH)


def _union(old: Sequence[ParticipantRow], new: Sequence[ParticipantRow]) -> list[ParticipantRow]:
    """Participants of every copy of a message; the newest copy's data wins per person."""
    by_key = {p.key: p for p in old}
    by_key.update({p.key: p for p in new})
    order = [p.key for p in new] + [p.key for p in old if p.key not in {q.key for q in new}]
    merged = [by_key[k] for k in order]
    return sorted(merged, key=lambda p: ROLE_ORDER.get(p.role, 9))


def _with_replies(old: Sequence[ParticipantRow],
                  replies: Sequence[ParticipantRow]) -> list[ParticipantRow]:
    status = {p.address: p.response_status for p in replies if p.role == "attendee"}
    out: list[ParticipantRow] = []
    for p in old:
        if p.role == "attendee" and p.address in status and status[p.address]:
            p = ParticipantRow(**{**{n: getattr(p, n) for n in _PARTICIPANT_FIELDS},
                                  "response_status": status[p.address]})
        out.append(p)
    return out


ThreadStats = tuple[datetime | None, datetime | None, datetime | None, datetime | None, int]
#: the aggregates of a thread with no interactions left
EMPTY_THREAD: ThreadStats = (None, None, None, None, 0)


def thread_stats(conn: Connection | Session, thread_ids: Sequence[int]) -> dict[int, ThreadStats]:
    """First/last message, last inbound/outbound and count per thread (aware UTC).

    Threads without interactions are absent; use :data:`EMPTY_THREAD` for them.
    """
    c = table_of(Interaction).c
    stmt = (
        select(c.thread_id, func.min(c.occurred_at), func.max(c.occurred_at),
               func.max(_when(c.direction == "inbound", c.occurred_at)),
               func.max(_when(c.direction == "outbound", c.occurred_at)), func.count())
        .where(c.thread_id.in_(list(thread_ids)))
        .group_by(c.thread_id)
    )
    return {
        row[0]: (aware_utc(row[1]), aware_utc(row[2]), aware_utc(row[3]), aware_utc(row[4]),
                 int(row[5]))
        for row in conn.execute(stmt)
    }


def _when(condition: Any, value: Any) -> Any:
    return case((condition, value), else_=None)


def _thread_subject(subject: str | None) -> str | None:
    if subject is None:
        return None
    return _SUBJECT_PREFIX.sub("", subject).strip() or subject.strip()


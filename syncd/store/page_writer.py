"""Write one page into the store, inside the caller's transaction.

:func:`write_page` takes a :class:`~syncd.store.records.PageWrite` (the
engine's triage decided what is logged, what is deleted, what is
quarantined) and upserts it: interactions (by ``dedupe_key``), their
participants, sources, threads, unmatched addresses, deletion marks,
quarantine rows, and the page's cursor. The caller runs it in one
transaction, so a page is saved entirely or not at all, together with its
cursor. Each kind of row has one home this module calls: thread keys and
rows (:mod:`syncd.store.thread_keys`), thread totals
(:mod:`syncd.store.thread_totals`), unmatched addresses
(:mod:`syncd.store.unmatched`), quarantine (:mod:`syncd.store.quarantine`),
skip records (:mod:`syncd.store.skip_records`), cursors (:mod:`syncd.store.cursors`).

Invariants:

* **Idempotent.** Writing the same page twice writes nothing the second
  time: every update compares before it writes; aggregates (threads,
  unmatched addresses) are recomputed from rows, never incremented.
  (Only ``quarantine.last_seen`` moves: it says the item is still bad.)
* **Copies merge, order does not matter; a calendar's current state wins,
  SEQUENCE guards iTIP messages.** The rules are :mod:`syncd.store.merge`;
  this module only reads and writes (and asks
  :mod:`syncd.store.calendar_copies` whether other calendars compete).
* **Deletions mark, never erase.** A deletion stamps the account's source;
  when every source is deleted the interaction is flagged ``deleted`` (an
  email only under ``deletions: mirror``; ``retain`` keeps it).
  Seeing the item again revives it. ``deletions`` and ``restored`` count
  this account's sources newly marked gone and seen again. (Erasing is
  :mod:`syncd.store.removal`.)
* **People's overrides hold.** Merged participants pass through
  :func:`syncd.store.override_rules.respect_overrides` before they are
  compared with the stored rows: a corrected interaction re-synced keeps
  its correction (and, unchanged otherwise, writes nothing).
* **Concurrency.** New interactions and threads are inserted with
  ``ON CONFLICT DO NOTHING`` and then locked (``FOR UPDATE`` on
  PostgreSQL; SQLite write sessions hold the database write lock), so two
  accounts writing the same message at once neither fail nor duplicate.

Reads are Core statements (one per key set), writes go through
:mod:`syncd.store.bulk` on plain rows (:mod:`syncd.store.plain_rows`), not
the ORM unit of work; see docs/store.md for why.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from providers.base import Deletion
from syncd.store import cursors, quarantine, skip_records, unmatched
from syncd.store.bulk import insert_returning, insert_rows, update_rows
from syncd.store.calendar_copies import shared_meetings
from syncd.store.change_events import interaction_changes, interaction_deleted
from syncd.store.changes import record_changes
from syncd.store.merge import assign, merge_copy
from syncd.store.override_rules import respect_overrides
from syncd.store.plain_rows import (
    ROW_COLUMNS,
    ROW_MUTABLE,
    SOURCE_COLUMNS,
    SOURCE_MUTABLE,
    InteractionRow,
    SourceRow,
    write_changed,
)
from syncd.store.records import InteractionRecord, PageWrite, ParticipantRow, Skip, key
from syncd.store.rollups import parties_of
from syncd.store.schema import Interaction, Participant, Source, Thread, UnmatchedAddress
from syncd.store.sql import chunks, table_of
from syncd.store.thread_keys import choose_thread_keys, lock_threads
from syncd.store.thread_totals import refresh_thread_totals
from syncd.store.types import utcnow

_PARTICIPANT_FIELDS = [f.name for f in fields(ParticipantRow)]
_PARTICIPANT_COLUMNS = ("interaction_id", "position", *_PARTICIPANT_FIELDS, "occurred_at")
_participant_values = operator.attrgetter(*_PARTICIPANT_FIELDS)
#: rows per INSERT ... RETURNING batch (bind parameters stay far below both limits)
_INSERT_BATCH = 500


@dataclass(slots=True)
class ApplyResult:
    """What one page changed. ``touched_threads``/``touched_meetings`` feed reminder
    derivation; ``touched_contacts``/``touched_companies`` are the parties whose
    rollups the page may have changed (:func:`syncd.store.rollups.refresh_rollups`)."""

    items: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    sources_added: int = 0
    deletions: int = 0
    restored: int = 0
    quarantined: int = 0
    touched_threads: set[int] = field(default_factory=set)
    touched_meetings: set[int] = field(default_factory=set)
    touched_contacts: set[int] = field(default_factory=set)
    touched_companies: set[int] = field(default_factory=set)


def write_page(session: Session, account_id: str, write: PageWrite, *,
               now: datetime | None = None, mirror_mail_deletions: bool = True
               ) -> ApplyResult:
    """Upsert ``write`` for ``account_id`` (see module docstring).

    ``write.items``/``write.skipped`` are copied to the result; a REPLY for
    a meeting never seen adds one to ``skipped``. The account row must exist.
    """
    now = now or utcnow()
    result = ApplyResult(items=write.items, skipped=write.skipped)
    # pending ORM changes of the caller first: the writer below speaks Core
    session.flush()
    writer = _PageWriter(session, account_id, write.resource, now, result)
    # flushes are explicit: autoflush before each of the page's queries costs
    # more than the writes themselves on big pages
    with session.no_autoflush:
        writer.write_records(write.records)
        writer.mark_deletions(write.deletions, mirror_mail=mirror_mail_deletions)
        result.quarantined += quarantine.write_quarantine(
            session, account_id, write.resource, write.quarantined, now=now)
        skip_records.write_skips(session.connection(), account_id, write.resource,
                                 [*write.skips, *writer.unknown_replies], now=now)
        if write.cursor is not None:
            cursors.save_cursor(session, account_id, write.resource, write.cursor, now=now)
    session.flush()
    _expire_history(session)
    return result


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
        #: REPLYs for meetings never seen: skipped here, so recorded here
        self.unknown_replies: list[Skip] = []

    # ------------------------------------------------------------------ interactions

    def write_records(self, records: Sequence[InteractionRecord]) -> None:
        if not records:
            return
        replies_only = {r.dedupe_key for r in records if r.method == "REPLY"} - {
            r.dedupe_key for r in records if r.method != "REPLY"
        }
        creatable = [r for r in records if r.dedupe_key not in replies_only]
        rows = self._lock_interactions(records, creatable)
        # calendar copies compete only with other accounts' calendars (merge.py)
        shared = shared_meetings(self.conn, self.account_id, {
            rows[r.dedupe_key].id for r in records
            if r.kind == "meeting" and r.origin == "calendar" and r.dedupe_key in rows
        } - self.created_ids)
        original = self._load_participants(
            [r.id for r in rows.values() if r.id not in self.created_ids])
        current = {k: list(v) for k, v in original.items()}
        occurred_before = {r.id: r.occurred_at for r in rows.values()}
        thread_keys = choose_thread_keys(self.conn, records, rows)
        threads = lock_threads(self.conn, records, thread_keys, now=self.now)
        sources = self._load_sources([r.provider_id for r in records])
        old_threads: set[int] = set()
        changed: set[int] = set()

        for rec in records:
            row = rows.get(rec.dedupe_key)
            if row is None:  # a REPLY for a meeting we never saw
                self.result.skipped += 1
                self.unknown_replies.append(Skip(
                    rec.provider_id, rec.kind, "unknown_meeting",
                    "a reply to a meeting invitation this store never saw",
                    dedupe_key=rec.dedupe_key))
                continue
            merged = merge_copy(row, current.setdefault(row.id, []), rec,
                                shared=row.id in shared)
            if merged.participants is not None:
                current[row.id] = merged.participants
            if assign(row, merged.fields):
                changed.add(row.id)
            if rec.kind == "email" and rec.dedupe_key not in thread_keys:
                if row.thread_id is not None:
                    self.result.touched_threads.add(row.thread_id)
            elif rec.kind == "email":
                thread_id = threads[thread_keys[rec.dedupe_key]]
                if row.thread_id != thread_id:
                    if row.thread_id is not None:
                        old_threads.add(row.thread_id)
                    row.thread_id = thread_id
                    changed.add(row.id)
                self.result.touched_threads.add(thread_id)
            self._upsert_source(row, rec, sources)

        current = respect_overrides(self.conn, current, skip=self.created_ids)
        replaced = {i: rows_now for i, rows_now in current.items()
                    if rows_now != original.get(i, [])}
        changed.update(replaced)
        for row in rows.values():
            if row.id in changed:
                row.updated_at = self.now
                if row.kind == "meeting":
                    self.result.touched_meetings.add(row.id)
        self.result.updated += len(changed - self.created_ids)
        self._touch_parties(rows.values(), sources.values(), original, current)
        record_changes(self.s, interaction_changes(  # the feed, before ``loaded`` moves
            rows.values(), created=self.created_ids, participants_replaced=replaced))
        write_changed(self.conn, table_of(Interaction), ROW_MUTABLE, rows.values())
        moved = {row.id for row in rows.values() if row.occurred_at != occurred_before[row.id]}
        occurred = {row.id: row.occurred_at for row in rows.values()}
        self._replace_participants(replaced, had_rows=set(original), occurred=occurred)
        # participants copy their interaction's time (the timelines' index)
        update_rows(self.conn, table_of(Participant), ("occurred_at",),
                    [(occurred[i], i) for i in sorted(moved - set(replaced))],
                    key="interaction_id")
        self._write_sources(sources.values())
        quarantine.resolve_quarantine(self.conn, self.account_id,
                                      [r.provider_id for r in records], now=self.now)
        skip_records.clear_skips(self.conn, self.account_id, [r.provider_id for r in records])
        refresh_thread_totals(self.s, self.result.touched_threads | old_threads, now=self.now)
        unmatched.update_for_page(self.s, original, replaced, moved, occurred)

    def _lock_interactions(
        self, records: Sequence[InteractionRecord], creatable: Sequence[InteractionRecord]
    ) -> dict[str, InteractionRow]:
        """Rows for every record's key: new ones inserted, existing ones locked.

        Lock order: new rows (sorted keys) by INSERT ... ON CONFLICT DO
        NOTHING, then existing ones by id (``FOR UPDATE`` on PostgreSQL).
        SQLite write sessions already hold the write lock, so the first read
        is final there; a key someone else inserted between read and insert
        (PostgreSQL) is re-read under the lock.
        """
        keys = sorted({r.dedupe_key for r in records})
        rows = self._select_rows(keys, lock=False)
        first: dict[str, InteractionRecord] = {}
        for rec in creatable:
            if rec.dedupe_key not in rows:
                first.setdefault(rec.dedupe_key, rec)
        created: dict[str, InteractionRow] = {}
        if first:
            new_rows = {k: InteractionRow.from_record(first[k], now=self.now)
                        for k in sorted(first)}
            inserted = insert_returning(
                self.conn, table_of(Interaction),
                [row.insert_values(created_at=self.now) for row in new_rows.values()],
                conflict="dedupe_key", returning=("id", "dedupe_key"), batch=_INSERT_BATCH)
            for new_id, dedupe_key in inserted:
                row = new_rows[dedupe_key]
                row.id = new_id
                created[dedupe_key] = row
        lost = [k for k in first if k not in created]
        relock = sorted(lost + (list(rows) if self.postgres else []))
        if relock:
            rows.update(self._select_rows(relock, lock=True))
        rows.update(created)
        self.created_ids = {row.id for row in created.values()}
        self.result.created += len(self.created_ids)
        return rows

    def _select_rows(self, keys: Sequence[str], *, lock: bool) -> dict[str, InteractionRow]:
        table = table_of(Interaction)
        columns = [table.c[name] for name in ROW_COLUMNS]
        out: dict[str, InteractionRow] = {}
        for batch in chunks(keys):
            stmt = select(*columns).where(table.c.dedupe_key.in_(batch))
            if lock:
                stmt = stmt.order_by(table.c.id).with_for_update()
            for values in self.conn.execute(stmt):
                row = InteractionRow(*values)
                out[row.dedupe_key] = row
        return out

    def _touch_parties(self, rows: Iterable[InteractionRow], sources: Iterable[SourceRow],
                       before: Mapping[int, Sequence[ParticipantRow]],
                       after: Mapping[int, Sequence[ParticipantRow]]) -> None:
        """Note the parties (before and after) of the interactions whose row,
        participants or sources this page changed: their rollups may move."""
        ids = self.created_ids | {r.id for r in rows if r.values() != r.loaded}
        ids.update(src.interaction_id for src in sources
                   if src.id is None or src.values() != src.loaded)
        for interaction_id in ids:
            for p in (*before.get(interaction_id, ()), *after.get(interaction_id, ())):
                if p.contact_id is not None:
                    self.result.touched_contacts.add(p.contact_id)
                if p.company_id is not None:
                    self.result.touched_companies.add(p.company_id)

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
                              had_rows: set[int], occurred: Mapping[int, datetime]) -> None:
        """Delete and re-insert the participants of these interactions (batched),
        each with its interaction's ``occurred_at``; interactions that had none
        (new ones) skip the DELETE."""
        ids = sorted(replaced)
        table = table_of(Participant)
        for batch in chunks([i for i in ids if i in had_rows]):
            self.conn.execute(delete(table).where(table.c.interaction_id.in_(batch)))
        insert_rows(self.conn, table, _PARTICIPANT_COLUMNS, [
            (interaction_id, i, *_participant_values(p), occurred[interaction_id])
            for interaction_id in ids
            for i, p in enumerate(replaced[interaction_id])
        ])

    # ------------------------------------------------------------------ sources

    def _load_sources(self, provider_ids: Sequence[str]) -> dict[str, SourceRow]:
        table = table_of(Source)
        columns = [table.c[name] for name in SOURCE_COLUMNS]
        out: dict[str, SourceRow] = {}
        for batch in chunks(sorted(set(provider_ids))):
            stmt = select(*columns).where(table.c.account_id == self.account_id,
                                          table.c.provider_id.in_(batch))
            for values in self.conn.execute(stmt):
                src = SourceRow(*values)
                out[src.provider_id] = src
        return out

    def _upsert_source(self, row: InteractionRow, rec: InteractionRecord,
                       sources: dict[str, SourceRow]) -> None:
        src = sources.get(rec.provider_id)
        if src is None:
            sources[rec.provider_id] = SourceRow(
                id=None, interaction_id=row.id, provider_id=rec.provider_id,
                resource=self.resource, folder=rec.folder, first_seen_at=self.now,
                deleted_at=None)
            self.result.sources_added += 1
        else:
            self.result.restored += src.deleted_at is not None
            assign(src, {"interaction_id": row.id, "folder": rec.folder,
                         "resource": self.resource, "deleted_at": None})
        if row.deleted:  # seen again: revived
            row.deleted = False
            row.deleted_at = None

    def _write_sources(self, sources: Collection[SourceRow]) -> None:
        table = table_of(Source)
        new = [src.insert_values(self.account_id) for src in sources if src.id is None]
        insert_rows(self.conn, table, ("account_id", *SOURCE_COLUMNS[1:]), new)
        write_changed(self.conn, table, SOURCE_MUTABLE, [s for s in sources if s.id is not None])

    # ------------------------------------------------------------------ deletions

    def mark_deletions(self, deletions: Sequence[Deletion], *, mirror_mail: bool) -> None:
        """Stamp this account's sources gone; flag interactions every copy left.

        With ``mirror_mail`` False (``deletions: retain``) an email keeps its
        interaction when its last copy goes: the CRM's record outlives the mailbox.
        """
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
        gone_meetings: list[int] = []
        gone_events = []
        for id_batch in chunks(sorted(touched)):
            stmt = (
                select(Source.interaction_id)
                .where(Source.interaction_id.in_(id_batch))
                .group_by(Source.interaction_id)
                .having(func.count() == func.count(Source.deleted_at))
            )
            gone_ids = list(self.s.scalars(stmt))
            rows = select(Interaction).where(Interaction.id.in_(gone_ids))
            if not mirror_mail:
                rows = rows.where(Interaction.kind != "email")
            for row in self.s.scalars(rows):
                if not row.deleted:
                    row.deleted = True
                    row.deleted_at = self.now
                    row.updated_at = self.now
                    gone_events.append(interaction_deleted(row, row.id))
                    if row.thread_id is not None:
                        self.result.touched_threads.add(row.thread_id)
                    if row.kind == "meeting":
                        self.result.touched_meetings.add(row.id)
                        gone_meetings.append(row.id)
        record_changes(self.s, gone_events)
        contacts, companies = parties_of(self.s, gone_meetings)
        self.result.touched_contacts |= contacts
        self.result.touched_companies |= companies


def _expire_history(session: Session) -> None:
    """Expire ORM copies of rows the Core writer may have changed, so later
    ORM reads in this transaction (reminders, linking) see the new values."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Interaction, Participant, Source, Thread, UnmatchedAddress)):
            session.expire(obj)

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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from matching.types import Decision
from providers.base import Deletion, Event, Message, Page, Quarantined
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
from syncd.store.sql import chunks, dialect_insert, insert_ignoring_conflicts, table_of
from syncd.store.types import utcnow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_PARTICIPANT_FIELDS = [f.name for f in fields(ParticipantRow)]


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


class _PageWriter:
    def __init__(self, session: Session, account_id: str, resource: str, now: datetime,
                 result: ApplyResult) -> None:
        self.s = session
        self.account_id = account_id
        self.resource = resource
        self.now = now
        self.result = result
        self.created_ids: set[int] = set()

    # ------------------------------------------------------------------ interactions

    def write_records(self, records: Sequence[InteractionRecord]) -> None:
        if not records:
            return
        replies_only = {r.dedupe_key for r in records if r.method == "REPLY"} - {
            r.dedupe_key for r in records if r.method != "REPLY"
        }
        creatable = [r for r in records if r.dedupe_key not in replies_only]
        rows = self._lock_interactions(records, creatable)
        original = self._load_participants([r.id for r in rows.values()])
        current = {k: list(v) for k, v in original.items()}
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
        self._replace_participants(replaced)
        changed.update(replaced)
        for row in rows.values():
            if row.id in changed:
                row.updated_at = self.now
                if row.kind == "meeting":
                    self.result.touched_meetings.add(row.id)
        self.result.updated += len(changed - self.created_ids)
        self.s.flush()
        self._resolve_quarantine([r.provider_id for r in records])
        self._refresh_threads(self.result.touched_threads | old_threads)
        self._refresh_unmatched(records)

    def _lock_interactions(
        self, records: Sequence[InteractionRecord], creatable: Sequence[InteractionRecord]
    ) -> dict[str, Interaction]:
        keys = sorted({r.dedupe_key for r in records})
        existing = self._select_interactions(keys, lock=False)
        first: dict[str, InteractionRecord] = {}
        for rec in creatable:
            if rec.dedupe_key not in existing:
                first.setdefault(rec.dedupe_key, rec)
        if first:
            new_rows = [self._new_row(first[k]) for k in sorted(first)]
            insert_ignoring_conflicts(self.s, table_of(Interaction), new_rows, ["dedupe_key"])
        rows = self._select_interactions(keys, lock=True)
        self.created_ids = {row.id for k, row in rows.items() if k not in existing}
        self.result.created += len(self.created_ids)
        return rows

    def _select_interactions(self, keys: Sequence[str], *, lock: bool) -> dict[str, Interaction]:
        out: dict[str, Interaction] = {}
        for batch in chunks(keys):
            stmt = select(Interaction).where(Interaction.dedupe_key.in_(batch))
            if lock:
                # refresh rows the unlocked read loaded: a concurrent writer we
                # waited for may have changed them
                stmt = (stmt.order_by(Interaction.id).with_for_update()
                        .execution_options(populate_existing=True))
            for row in self.s.scalars(stmt):
                out[row.dedupe_key] = row
        return out

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
            "status": rec.status,
            "sequence": rec.sequence,
            "provider_updated_at": rec.provider_updated_at,
            "direction": rec.direction,
            "deleted": False,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def _merge(self, row: Interaction, rec: InteractionRecord,
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
        cols = [getattr(Participant, name) for name in _PARTICIPANT_FIELDS]
        for batch in chunks(ids):
            stmt = (
                select(Participant.interaction_id, *cols)
                .where(Participant.interaction_id.in_(batch))
                .order_by(Participant.interaction_id, Participant.position)
            )
            for interaction_id, *values in self.s.execute(stmt):
                out.setdefault(interaction_id, []).append(ParticipantRow(*values))
        return out

    def _replace_participants(self, replaced: Mapping[int, Sequence[ParticipantRow]]) -> None:
        """Delete and re-insert the participants of these interactions (batched)."""
        ids = sorted(replaced)
        for batch in chunks(ids):
            self.s.execute(delete(Participant).where(Participant.interaction_id.in_(batch)))
        rows = [
            {"interaction_id": interaction_id, "position": i,
             **{name: getattr(p, name) for name in _PARTICIPANT_FIELDS}}
            for interaction_id in ids
            for i, p in enumerate(replaced[interaction_id])
        ]
        for row_batch in chunks(rows, 200):
            self.s.execute(table_of(Participant).insert(), row_batch)

    # ------------------------------------------------------------------ sources

    def _load_sources(self, provider_ids: Sequence[str]) -> dict[str, Source]:
        out: dict[str, Source] = {}
        for batch in chunks(sorted(set(provider_ids))):
            stmt = select(Source).where(Source.account_id == self.account_id,
                                        Source.provider_id.in_(batch))
            out.update({src.provider_id: src for src in self.s.scalars(stmt)})
        return out

    def _upsert_source(self, row: Interaction, rec: InteractionRecord,
                       sources: dict[str, Source]) -> None:
        src = sources.get(rec.provider_id)
        if src is None:
            src = Source(interaction_id=row.id, account_id=self.account_id,
                         provider_id=rec.provider_id, resource=self.resource,
                         folder=rec.folder, first_seen_at=self.now)
            self.s.add(src)
            sources[rec.provider_id] = src
            self.result.sources_added += 1
        else:
            _assign(src, interaction_id=row.id, folder=rec.folder, resource=self.resource,
                    deleted_at=None)
        if row.deleted:
            row.deleted = False
            row.deleted_at = None

    def _resolve_quarantine(self, provider_ids: Sequence[str]) -> None:
        for batch in chunks(sorted(set(provider_ids))):
            self.s.execute(
                update(QuarantineEntry)
                .where(QuarantineEntry.account_id == self.account_id,
                       QuarantineEntry.provider_id.in_(batch),
                       QuarantineEntry.resolved_at.is_(None))
                .values(resolved_at=self.now)
            )

    # ------------------------------------------------------------------ threads

    def _thread_keys(self, records: Sequence[InteractionRecord],
                     rows: Mapping[str, Interaction]) -> dict[str, str]:
        """dedupe_key -> thread key for every email record (see records.py)."""
        parents = {r.in_reply_to for r in records
                   if r.kind == "email" and r.thread_root is None and r.in_reply_to}
        parent_keys: dict[str, str] = {}
        for batch in chunks(sorted(parents)):
            stmt = (
                select(Interaction.dedupe_key, Thread.key)
                .join(Thread, Interaction.thread_id == Thread.id)
                .where(Interaction.dedupe_key.in_(batch))
            )
            parent_keys.update({k: t for k, t in self.s.execute(stmt)})
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
                      thread_keys: Mapping[str, str]) -> dict[str, Thread]:
        if not thread_keys:
            return {}
        subjects: dict[str, str | None] = {}
        for rec in sorted(records, key=lambda r: r.occurred_at):
            if rec.kind == "email" and rec.dedupe_key in thread_keys:
                key = thread_keys[rec.dedupe_key]
                if subjects.get(key) is None:
                    subjects[key] = _thread_subject(rec.subject)
        keys = sorted(subjects)
        insert_ignoring_conflicts(
            self.s, table_of(Thread),
            [{"key": k, "subject": subjects[k], "message_count": 0, "updated_at": self.now}
             for k in keys],
            ["key"],
        )
        out: dict[str, Thread] = {}
        for batch in chunks(keys):
            stmt = select(Thread).where(Thread.key.in_(batch)).order_by(Thread.id)
            for thread in self.s.scalars(stmt.with_for_update()):
                out[thread.key] = thread
                if thread.subject is None and subjects[thread.key] is not None:
                    thread.subject = subjects[thread.key]
        return out

    def _refresh_threads(self, thread_ids: set[int]) -> None:
        """Recompute thread aggregates from their interactions (idempotent)."""
        inbound = func.max(_when(Interaction.direction == "inbound", Interaction.occurred_at))
        outbound = func.max(_when(Interaction.direction == "outbound", Interaction.occurred_at))
        for batch in chunks(sorted(thread_ids)):
            stmt = (
                select(Interaction.thread_id, func.min(Interaction.occurred_at),
                       func.max(Interaction.occurred_at), inbound, outbound, func.count())
                .where(Interaction.thread_id.in_(batch))
                .group_by(Interaction.thread_id)
            )
            stats = {row[0]: row[1:] for row in self.s.execute(stmt)}
            for thread in self.s.scalars(select(Thread).where(Thread.id.in_(batch))):
                first, last, last_in, last_out, count = stats.get(
                    thread.id, (None, None, None, None, 0)
                )
                if _assign(thread, first_message_at=_aware(first), last_message_at=_aware(last),
                           last_inbound_at=_aware(last_in), last_outbound_at=_aware(last_out),
                           message_count=count):
                    thread.updated_at = self.now

    # ------------------------------------------------------------------ unmatched

    def _refresh_unmatched(self, records: Sequence[InteractionRecord]) -> None:
        addresses = sorted({p.address for r in records for p in r.participants
                            if p.contact_id is None and p.match in ("unmatched", "company")})
        for batch in chunks(addresses):
            refresh_unmatched(self.s, batch)

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
        {"address": a, "domain": d, "first_seen": _aware(first), "last_seen": _aware(last),
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


# ---------------------------------------------------------------------- helpers


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


def _when(condition: Any, value: Any) -> Any:
    from sqlalchemy import case

    return case((condition, value), else_=None)


def _thread_subject(subject: str | None) -> str | None:
    if subject is None:
        return None
    return _SUBJECT_PREFIX.sub("", subject).strip() or subject.strip()


def _aware(value: Any) -> datetime | None:
    """Aggregates bypass the column type on SQLite: re-tag naive values as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

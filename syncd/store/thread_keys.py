"""Which thread each email of a page belongs to, and the thread rows it needs.

Used by the page writer (:mod:`syncd.store.page_writer`) inside the page's
transaction; the totals of the threads are :mod:`syncd.store.thread_totals`.

Invariants:

* **The key is global**, so copies in different mailboxes agree: the root
  of References; else the thread of the In-Reply-To parent (stored, or
  earlier in the same page); else the message's own Message-ID
  (:mod:`syncd.store.records` explains why the provider's thread hint is
  not the key).
* **The strongest evidence decides**, whatever the order copies arrive in:
  per message, References root > In-Reply-To > nothing; a copy without
  threading headers never moves a message that already has a thread.
* **Subject once.** A new thread takes the normalized subject of the page's
  earliest email in it that has one; a thread stored without a subject
  takes it the same way; a thread's subject never changes afterwards.
* **Concurrency.** Missing threads are inserted with ``ON CONFLICT DO
  NOTHING`` (sorted keys), existing ones locked ``FOR UPDATE`` by id on
  PostgreSQL, so two pages creating one thread neither fail nor duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from syncd.store.bulk import insert_returning, update_rows
from syncd.store.merge import normalized_subject
from syncd.store.plain_rows import InteractionRow
from syncd.store.records import InteractionRecord
from syncd.store.schema import Interaction, Thread
from syncd.store.sql import chunks, table_of

#: rows per INSERT ... RETURNING batch (bind parameters stay far below both limits)
_INSERT_BATCH = 500


def choose_thread_keys(conn: Connection, records: Sequence[InteractionRecord],
                       rows: Mapping[str, InteractionRow]) -> dict[str, str]:
    """dedupe_key -> thread key for the page's emails (``rows``: their stored rows
    by dedupe key). A message whose copies carry no evidence and that already
    has a thread is absent: it stays where it is."""
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
        parent_keys.update({k: t for k, t in conn.execute(stmt)})
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
            thread_key = rec.thread_root
        elif rec.in_reply_to:
            parent = rec.in_reply_to
            thread_key = out.get(parent) or parent_keys.get(parent, parent)
        else:
            thread_key = dedupe_key
        out[dedupe_key] = thread_key
    return out


def lock_threads(conn: Connection, records: Sequence[InteractionRecord],
                 thread_keys: Mapping[str, str], *, now: datetime) -> dict[str, int]:
    """Thread ids by key: missing ones inserted (sorted keys, totals empty until
    :func:`~syncd.store.thread_totals.refresh_thread_totals`), existing ones
    locked by id; a thread without a subject takes the page's earliest one."""
    if not thread_keys:
        return {}
    subjects: dict[str, str | None] = {}
    for rec in sorted(records, key=lambda r: r.occurred_at):
        if rec.kind == "email" and rec.dedupe_key in thread_keys:
            thread_key = thread_keys[rec.dedupe_key]
            if subjects.get(thread_key) is None:
                subjects[thread_key] = normalized_subject(rec.subject)
    keys = sorted(subjects)
    table = table_of(Thread)
    new_rows = [{"key": k, "subject": subjects[k], "first_message_at": None,
                 "last_message_at": None, "last_inbound_at": None, "last_outbound_at": None,
                 "message_count": 0, "updated_at": now}
                for k in keys]
    out: dict[str, int] = {}
    inserted = insert_returning(conn, table, new_rows, conflict="key",
                                returning=("id", "key"), batch=_INSERT_BATCH)
    out.update({thread_key: thread_id for thread_id, thread_key in inserted})
    rest = [k for k in keys if k not in out]
    subject_fills: list[tuple[object, ...]] = []
    for key_batch in chunks(rest):
        locked = (select(table.c.id, table.c.key, table.c.subject)
                  .where(table.c.key.in_(key_batch))
                  .order_by(table.c.id).with_for_update())
        for thread_id, thread_key, subject in conn.execute(locked):
            out[thread_key] = thread_id
            if subject is None and subjects[thread_key] is not None:
                subject_fills.append((subjects[thread_key], thread_id))
    update_rows(conn, table, ("subject",), subject_fills)
    return out

"""Conservative thread regrouping for mail that carries no threading headers.

:mod:`syncd.store.page_writer` keys a thread by the References root, else the
In-Reply-To parent's thread, else the message's own Message-ID. Mail with
neither header (Graph messages without transport headers, some IMAP
clients, forwards) would each open a thread of its own, and reminders would
then see an "unanswered" message that was in fact answered. After a page is
applied, :func:`regroup` moves such a message — only when it is ALONE in
its thread and has no threading evidence (no In-Reply-To, its thread key
is its own Message-ID) — into an existing thread, in this order:

1. **Provider thread hint** (Gmail threadId, Graph conversationId): another
   message with the same hint seen by the same account (hints are per
   mailbox). Target: that message's thread; if both messages are lone and
   header-less, the later one joins the earlier one's thread. A lone
   message older than every message of a multi-message thread stays.
2. **Subject fallback** (IMAP and the rest): the message's subject has a
   reply/forward prefix (``Re:``, ``AW:``, ``Fwd:`` …), its normalized
   subject equals a thread's subject, that thread's last message is at most
   ``window`` older (and not newer), and they share at least one EXTERNAL
   participant address. Target: the most recent such thread.

Each moved interaction appends ``interaction.updated`` with ``changed:
["thread_id"]`` and its stored state to the change feed, in the page's
transaction (:func:`syncd.store.change_events.thread_moved`); thread totals
are bookkeeping and append nothing.

The emptied thread row stays (totals zeroed, by
:func:`syncd.store.thread_totals.refresh_thread_totals`, as after every
move) so reminders that pointed at it can still be found and closed. Runs
inside the page's transaction; returns the ids of every thread it changed
(both sides of each move), which the caller adds to the page's touched
threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from syncd.store.change_events import STATE_FIELDS, thread_moved
from syncd.store.changes import record_changes
from syncd.store.merge import REPLY_PREFIX, normalized_subject
from syncd.store.schema import Interaction, Participant, Source, Thread
from syncd.store.sql import aware_utc, chunks, table_of
from syncd.store.thread_totals import refresh_thread_totals
from syncd.store.types import utcnow

_EXTERNAL = ("contact", "company", "unmatched")
DEFAULT_WINDOW = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class _Lone:
    id: int
    thread_id: int
    dedupe_key: str
    occurred_at: datetime
    subject: str | None
    thread_hint: str | None


def regroup(s: Session, thread_ids: Iterable[int], *,
            window: timedelta = DEFAULT_WINDOW, now: datetime | None = None) -> set[int]:
    """Move lone header-less messages of these threads into their real thread.

    ``now`` stamps ``updated_at`` of the threads whose totals a move changed.
    """
    lone = sorted(_lone_messages(s, sorted(set(thread_ids))), key=lambda m: (m.occurred_at, m.id))
    if not lone:
        return set()
    moves: dict[int, int] = {}  # interaction id -> new thread id, not yet written
    origins: dict[int, int] = {}  # interaction id -> its thread before this call
    by_subject = _SubjectCandidates(s, lone, window, moves)
    changed: set[int] = set()
    for msg in lone:
        move = None
        if msg.thread_hint:
            _write_moves(s, moves)  # the hint query reads thread ids from the database
            move = _by_hint(s, msg)
        if move is None:
            target = by_subject.find(msg)
            move = (msg.id, msg.thread_id, target) if target is not None else None
        if move is None:
            continue
        mover, source, target = move
        moves[mover] = target
        origins.setdefault(mover, source)
        by_subject.moved(mover, source, target)
        changed |= {target, source}
    _write_moves(s, moves)
    _record_moves(s, origins)
    refresh_thread_totals(s, changed, now=now or utcnow())
    return changed


def _record_moves(s: Session, origins: dict[int, int]) -> None:
    """The feed: ``interaction.updated`` for each interaction whose thread moved
    (read back as stored, after the moves were written and row-locked)."""
    columns = [getattr(Interaction, name) for name in STATE_FIELDS]
    events = []
    for batch in chunks(sorted(origins)):
        for row in s.execute(select(Interaction.id, *columns)
                             .where(Interaction.id.in_(batch)).order_by(Interaction.id)):
            if row.thread_id != origins[row.id]:
                events.append(thread_moved(row, row.id))
    record_changes(s, events)


def _write_moves(s: Session, moves: dict[int, int]) -> None:
    """Write pending thread moves (one executemany) and forget ORM copies of them."""
    if not moves:
        return
    table = table_of(Interaction)
    stmt = (update(table).where(table.c.id == bindparam("mover"))
            .values(thread_id=bindparam("target")))
    s.connection().execute(stmt, [{"mover": m, "target": t} for m, t in sorted(moves.items())])
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Interaction) and obj.id in moves:
            s.expire(obj)
    moves.clear()


class _SubjectCandidates:
    """The subject fallback's lookups for a whole regroup call, in memory.

    Same rule as one query per message would give (thread with the same
    normalized subject, not the message's own, last message within
    ``window`` before it, sharing an address with the message's external
    participants; the most recent such thread), but the candidate threads,
    the distinct addresses on each and the messages' own addresses are read
    once per call, and moves made during the call are applied in memory (a
    thread a message left is empty if that was its only message, else it is
    re-read). Thread aggregates are not recomputed until the end of the
    call, as before.
    """

    def __init__(self, s: Session, lone: list[_Lone], window: timedelta,
                 moves: dict[int, int]) -> None:
        self.s = s
        self.window = window
        self.moves = moves
        self.wanted = {m.id: subject for m in lone
                       if m.subject is not None and REPLY_PREFIX.match(m.subject)
                       and (subject := normalized_subject(m.subject)) is not None}
        #: thread id -> (subject, last_message_at), for candidate threads
        self.threads: dict[int, tuple[str | None, datetime | None]] = {}
        self.by_subject: dict[str, list[int]] = {}
        #: candidate thread id -> every address on its interactions / how many it has
        self.people: dict[int, set[str]] = {}
        self.count: dict[int, int] = {}
        self.stale: set[int] = set()
        #: interaction id -> its thread now (the lone messages and what moved)
        self.where = {m.id: m.thread_id for m in lone}
        self.mine: dict[int, frozenset[str]] = {}
        self.addresses: dict[int, frozenset[str]] = {}
        if self.wanted:
            self._load([m for m in lone if m.id in self.wanted])

    def _load(self, msgs: list[_Lone]) -> None:
        s = self.s
        everyone: dict[int, set[str]] = {}
        external: dict[int, set[str]] = {}
        for batch in chunks(sorted(m.id for m in msgs)):
            for iid, address, match in s.execute(
                    select(Participant.interaction_id, Participant.address, Participant.match)
                    .where(Participant.interaction_id.in_(batch))):
                everyone.setdefault(iid, set()).add(address)
                if match in _EXTERNAL:
                    external.setdefault(iid, set()).add(address)
        self.addresses = {i: frozenset(a) for i, a in everyone.items()}
        self.mine = {i: frozenset(a) for i, a in external.items()}
        subjects = sorted(set(self.wanted.values()))
        # one indexed last_message_at range per cluster of messages
        for low, high in _spans(sorted(m.occurred_at for m in msgs), self.window):
            for subject_batch in chunks(subjects):
                for tid, subject, last in s.execute(
                        select(Thread.id, Thread.subject, Thread.last_message_at)
                        .where(Thread.last_message_at >= low, Thread.last_message_at <= high,
                               Thread.subject.in_(subject_batch))):
                    self.threads[tid] = (subject, aware_utc(last))
        for tid, (subject, _) in self.threads.items():
            if subject is not None:
                self.by_subject.setdefault(subject, []).append(tid)
        self._read(sorted(self.threads))

    def _read(self, thread_ids: list[int]) -> None:
        """(Re)load the addresses and sizes of these threads from the database."""
        for tid in thread_ids:
            self.people[tid] = set()
            self.count[tid] = 0
        for batch in chunks(thread_ids):
            for owner, address in self.s.execute(
                    select(Interaction.thread_id, Participant.address).distinct()
                    .join(Participant, Participant.interaction_id == Interaction.id)
                    .where(Interaction.thread_id.in_(batch))):
                if owner is not None:
                    self.people[owner].add(address)
            for owner, size in self.s.execute(
                    select(Interaction.thread_id, func.count())
                    .where(Interaction.thread_id.in_(batch))
                    .group_by(Interaction.thread_id)):
                if owner is not None:
                    self.count[owner] = int(size)

    def find(self, msg: _Lone) -> int | None:
        subject = self.wanted.get(msg.id)
        mine = self.mine.get(msg.id)
        if subject is None or not mine:
            return None
        best: tuple[datetime, int] | None = None
        earliest = msg.occurred_at - self.window
        for tid in self.by_subject.get(subject, ()):
            last = self.threads[tid][1]
            if tid == msg.thread_id or last is None or not earliest <= last <= msg.occurred_at:
                continue
            if best is not None and (last, tid) <= best:
                continue
            if tid in self.stale:
                _write_moves(self.s, self.moves)
                self._read([tid])
                self.stale.discard(tid)
            if not mine.isdisjoint(self.people[tid]):
                best = (last, tid)
        return best[1] if best is not None else None

    def moved(self, mover: int, source: int, target: int) -> None:
        source = self.where.get(mover, source)
        self.where[mover] = target
        if not self.threads or source == target:
            return
        if source in self.threads:
            self.count[source] -= 1
            if self.count[source] <= 0:
                self.people[source] = set()
            else:  # someone else is still there: read it again when it matters
                self.stale.add(source)
        if target in self.threads:
            if mover not in self.addresses:
                self.addresses[mover] = frozenset(self.s.scalars(
                    select(Participant.address).where(Participant.interaction_id == mover)))
            self.count[target] += 1
            self.people[target] |= self.addresses[mover]


def _spans(moments: list[datetime], window: timedelta) -> list[tuple[datetime, datetime]]:
    """Merged ``[t - window, t]`` intervals of sorted moments."""
    out: list[tuple[datetime, datetime]] = []
    for t in moments:
        if out and t - window <= out[-1][1]:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t - window, t))
    return out


def _lone_messages(s: Session, thread_ids: list[int]) -> list[_Lone]:
    out: list[_Lone] = []
    for batch in chunks(thread_ids):
        lone = {tid: key for tid, key in s.execute(
            select(Thread.id, Thread.key).where(Thread.id.in_(batch), Thread.message_count == 1))}
        if not lone:
            continue
        # by thread_id only: other predicates could steer a planner to a scan
        stmt = select(Interaction.id, Interaction.thread_id, Interaction.dedupe_key,
                      Interaction.occurred_at, Interaction.subject, Interaction.thread_hint,
                      Interaction.kind, Interaction.in_reply_to, Interaction.deleted
                      ).where(Interaction.thread_id.in_(sorted(lone)))
        for iid, tid, key, when, subject, hint, kind, parent, deleted in s.execute(stmt):
            if (tid is not None and kind == "email" and parent is None and not deleted
                    and lone.get(tid) == key):
                out.append(_Lone(iid, tid, key, when, subject, hint))
    return out


def _by_hint(s: Session, msg: _Lone) -> tuple[int, int, int] | None:
    """(message to move, from thread, to thread) for a hint match, or None."""
    accounts = select(Source.account_id).where(Source.interaction_id == msg.id)
    stmt = (
        select(Interaction.id, Interaction.thread_id, Interaction.dedupe_key,
               Interaction.in_reply_to, Thread.key, Thread.message_count,
               Thread.first_message_at)
        .join(Source, Source.interaction_id == Interaction.id)
        .join(Thread, Thread.id == Interaction.thread_id)
        # only mail carries thread hints; no kind predicate (the hint index must win)
        .where(Interaction.thread_hint == msg.thread_hint, Interaction.id != msg.id,
               Source.account_id.in_(accounts),
               Interaction.thread_id != msg.thread_id)
        .order_by(Interaction.occurred_at, Interaction.id)
        .limit(1)
    )
    found = s.execute(stmt).first()
    if found is None:
        return None
    other, thread_id, other_key, other_parent, key, count, first = found
    assert thread_id is not None  # joined on it
    first_at = aware_utc(first)
    if first_at is None or msg.occurred_at >= first_at:
        return (msg.id, msg.thread_id, thread_id)
    if count == 1 and key == other_key and other_parent is None:
        return (other, thread_id, msg.thread_id)  # both lone: the later joins the earlier
    return None  # older than a whole real thread: leave it (conservative)

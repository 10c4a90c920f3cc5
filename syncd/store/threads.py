"""Conservative thread regrouping for mail that carries no threading headers.

:mod:`syncd.store.apply` keys a thread by the References root, else the
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

The emptied thread row stays (aggregates zeroed) so reminders that pointed
at it can still be found and closed. Runs inside the page's transaction;
returns the ids of every thread it changed (both sides of each move), which
the caller adds to the page's touched threads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from syncd.store.schema import Interaction, Participant, Source, Thread
from syncd.store.sql import chunks

REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_EXTERNAL = ("contact", "company", "unmatched")
DEFAULT_WINDOW = timedelta(days=14)


def normalized_subject(subject: str | None) -> str | None:
    if subject is None:
        return None
    return REPLY_PREFIX.sub("", subject).strip() or subject.strip()


@dataclass(frozen=True, slots=True)
class _Lone:
    id: int
    thread_id: int
    dedupe_key: str
    occurred_at: datetime
    subject: str | None
    thread_hint: str | None


def regroup(s: Session, thread_ids: Iterable[int], *,
            window: timedelta = DEFAULT_WINDOW) -> set[int]:
    """Move lone header-less messages of these threads into their real thread."""
    lone = _lone_messages(s, sorted(set(thread_ids)))
    changed: set[int] = set()
    for msg in sorted(lone, key=lambda m: (m.occurred_at, m.id)):
        move = _by_hint(s, msg) if msg.thread_hint else None
        if move is None:
            target = _by_subject(s, msg, window)
            move = (msg.id, msg.thread_id, target) if target is not None else None
        if move is None:
            continue
        mover, source, target = move
        row = s.get(Interaction, mover)
        assert row is not None
        row.thread_id = target
        changed |= {target, source}
        s.flush()
    if changed:
        _refresh(s, changed)
    return changed


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
    first_at = _aware(first)
    if first_at is None or msg.occurred_at >= first_at:
        return (msg.id, msg.thread_id, thread_id)
    if count == 1 and key == other_key and other_parent is None:
        return (other, thread_id, msg.thread_id)  # both lone: the later joins the earlier
    return None  # older than a whole real thread: leave it (conservative)


def _by_subject(s: Session, msg: _Lone, window: timedelta) -> int | None:
    if msg.subject is None or not REPLY_PREFIX.match(msg.subject):
        return None
    subject = normalized_subject(msg.subject)
    mine = select(Participant.address).where(Participant.interaction_id == msg.id,
                                             Participant.match.in_(_EXTERNAL))
    stmt = (
        select(Thread.id)
        .join(Interaction, Interaction.thread_id == Thread.id)
        .join(Participant, Participant.interaction_id == Interaction.id)
        .where(Thread.subject == subject, Thread.id != msg.thread_id,
               Thread.last_message_at >= msg.occurred_at - window,
               Thread.last_message_at <= msg.occurred_at,
               Participant.address.in_(mine))
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
        .limit(1)
    )
    found = s.scalar(stmt)
    return int(found) if found is not None else None


def _refresh(s: Session, thread_ids: set[int]) -> None:
    """Recompute the aggregates of these threads from their interactions."""
    inbound = func.max(case((Interaction.direction == "inbound", Interaction.occurred_at)))
    outbound = func.max(case((Interaction.direction == "outbound", Interaction.occurred_at)))
    stmt = (select(Interaction.thread_id, func.min(Interaction.occurred_at),
                   func.max(Interaction.occurred_at), inbound, outbound, func.count())
            .where(Interaction.thread_id.in_(sorted(thread_ids)))
            .group_by(Interaction.thread_id))
    stats = {row[0]: row[1:] for row in s.execute(stmt)}
    for thread in s.scalars(select(Thread).where(Thread.id.in_(sorted(thread_ids)))):
        first, last, last_in, last_out, count = stats.get(thread.id, (None,) * 4 + (0,))
        thread.first_message_at = _aware(first)
        thread.last_message_at = _aware(last)
        thread.last_inbound_at = _aware(last_in)
        thread.last_outbound_at = _aware(last_out)
        thread.message_count = int(count)
    s.flush()


def _aware(value: Any) -> datetime | None:
    """Aggregates bypass the column type on SQLite: re-tag naive values as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

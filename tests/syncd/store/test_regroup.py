"""Batched thread regrouping (syncd.store.regroup.regroup) against the rule
applied one message at a time with one query each (the reference below, the
original implementation): same moves, same thread aggregates, same changed
set, on mixed pages of header-less mail (reply prefixes, shared and unshared
participants, the 14-day window, provider thread hints, two mailboxes)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from providers.base import Address, Message, Page
from syncd.store import regroup as regrouping
from syncd.store.changes import assign_positions, read_changes
from syncd.store.database import Database
from syncd.store.merge import REPLY_PREFIX, normalized_subject
from syncd.store.schema import Interaction, Participant, Thread
from syncd.store.thread_totals import refresh_thread_totals
from syncd.store.types import utcnow
from tests.generate import BASE_TIME
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, World
from tests.syncd.store.builders import REP, apply

PEOPLE = [Address(f"p{i}@acme.example") for i in range(4)] + [Address("x@gmail.com")]
SUBJECTS = ["Re: Renewal", "Renewal", "AW: Renewal", "Re: Pricing", "Pricing", "Fwd: Pricing",
            "RE: Pricing"]


def _reference_by_subject(s: Session, msg: Any, window: timedelta) -> int | None:
    if msg.subject is None or not REPLY_PREFIX.match(msg.subject):
        return None
    subject = normalized_subject(msg.subject)
    mine = select(Participant.address).where(Participant.interaction_id == msg.id,
                                             Participant.match.in_(regrouping._EXTERNAL))
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


def reference_regroup(s: Session, thread_ids: set[int],
                      window: timedelta = regrouping.DEFAULT_WINDOW) -> set[int]:
    """One message at a time, one query each, moves flushed as they happen."""
    lone = regrouping._lone_messages(s, sorted(thread_ids))
    changed: set[int] = set()
    for msg in sorted(lone, key=lambda m: (m.occurred_at, m.id)):
        move = regrouping._by_hint(s, msg) if msg.thread_hint else None
        if move is None:
            target = _reference_by_subject(s, msg, window)
            move = (msg.id, msg.thread_id, target) if target is not None else None
        if move is None:
            continue
        mover, source, target = move
        row = s.get(Interaction, mover)
        assert row is not None
        row.thread_id = target
        changed |= {target, source}
        s.flush()
    refresh_thread_totals(s, changed, now=utcnow())
    return changed


def state(s: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    s.flush()
    members = sorted(s.execute(select(Interaction.dedupe_key, Interaction.thread_id)).all())
    aggregates = sorted(s.execute(select(
        Thread.id, Thread.message_count, Thread.first_message_at, Thread.last_message_at,
        Thread.last_inbound_at, Thread.last_outbound_at)).all())
    return [tuple(r) for r in members], [tuple(r) for r in aggregates]


def random_page(rnd: random.Random, start: int, size: int) -> list[Message]:
    items = []
    for n in range(start, start + size):
        sender = rnd.choice(PEOPLE)
        cc = (rnd.choice(PEOPLE),) if rnd.random() < 0.3 else ()
        outbound = rnd.random() < 0.3
        items.append(Message(
            provider_id=f"INBOX/{n}", message_id=f"m{n}@mail.example",
            sent_at=BASE_TIME + timedelta(hours=rnd.randrange(0, 24 * 40)),
            sender=REP if outbound else sender, to=(sender,) if outbound else (REP,), cc=cc,
            subject=rnd.choice(SUBJECTS), folder="INBOX",
            thread_hint=rnd.choice(["h1", "h2"]) if rnd.random() < 0.2 else None,
        ))
    return items


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batched_regroup_equals_the_per_message_rule(database: Database, seed: int) -> None:
    rnd = random.Random(seed)
    moved = 0
    for page_no in range(6):
        items = random_page(rnd, page_no * 25, 25)
        account = "acc1" if page_no % 3 else "acc2"
        applied = apply(database, Page("INBOX", list(items)), account_id=account)
        with database.session() as s:
            nested = s.begin_nested()
            expected_changed = reference_regroup(s, set(applied.touched_threads))
            expected = state(s)
            nested.rollback()
            s.expire_all()
            changed = regrouping.regroup(s, set(applied.touched_threads))
            assert changed == expected_changed
            assert state(s) == expected
        moved += len(changed)
    assert moved > 0  # the scenario does exercise moves


# ---------------------------------------------------------------------- the change feed


def test_regrouped_mail_appends_thread_id_updates(database: Database) -> None:
    """Through the real engine: a moved interaction appends ``interaction.updated``
    with ``changed: ["thread_id"]`` and its stored state, in the page's transaction;
    also when the mail that moves was stored by an earlier page."""
    def interaction_events(after: int) -> list[tuple[str, int, dict[str, Any]]]:
        return [(e.type, e.entity_id, e.state)
                for e in read_changes(database, after=after, limit=1000).events
                if e.entity == "interaction"]

    w = World(database)
    # the reply arrives first, header-less, with a Graph-style conversation hint
    w.at(MONDAY + timedelta(hours=2)).mail(RITA, (ANN,), "RE: Pricing", thread_hint="conv-1",
                                           references=())
    [(_, reply_id, reply)] = interaction_events(0)
    mark = assign_positions(database)  # the feed's end, everything numbered
    # the original: both are lone, so the later (the stored reply) joins its thread
    w.at(MONDAY).mail(ANN, (RITA,), "Pricing", thread_hint="conv-1", references=())
    [(created, original_id, original), (updated, moved_id, moved)] = interaction_events(mark)
    assert (created, updated, moved_id) == ("interaction.created", "interaction.updated",
                                            reply_id)
    assert moved["changed"] == ["thread_id"]
    assert moved["thread_id"] == original["thread_id"] != reply["thread_id"]
    assert moved["subject"] == "RE: Pricing" and original_id != reply_id
    with database.session(write=False) as s:
        assert s.scalar(select(Interaction.thread_id).where(Interaction.id == reply_id)) == \
            moved["thread_id"]
    mark = assign_positions(database)  # the feed's end, everything numbered
    w.at(MONDAY + timedelta(hours=3)).sweep()  # nothing moves again: nothing appended
    assert interaction_events(mark) == []

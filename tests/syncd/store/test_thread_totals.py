"""Thread totals (syncd.store.thread_totals) equal a from-scratch recompute after
every kind of change: page writes (new mail, copies, a message moving to a
better-evidenced thread), deletion marks, removals (purge, per-account
removal, marked private) and regroup moves, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from providers.base import Address, Deletion, Message, Page
from syncd.store.database import Database
from syncd.store.regroup import regroup
from syncd.store.removal import delete_interactions, forget_sources, remove_account_sources
from syncd.store.schema import Interaction, Source, Thread
from syncd.store.thread_totals import EMPTY_TOTALS, ThreadTotals, refresh_thread_totals
from syncd.store.types import utcnow
from tests.generate import BASE_TIME
from tests.syncd.store.builders import REP, apply, message

PEOPLE = [Address(f"p{i}@acme.example") for i in range(3)]
SUBJECTS = ["Renewal", "Re: Renewal", "Pricing", "AW: Pricing"]


def from_scratch(s: Session) -> dict[int, ThreadTotals]:
    """Every thread's totals computed in Python from all interaction rows."""
    members: dict[int, list[tuple[datetime, str]]] = {}
    for thread_id, when, direction in s.execute(
            select(Interaction.thread_id, Interaction.occurred_at, Interaction.direction)):
        if thread_id is not None:
            members.setdefault(thread_id, []).append((when, direction))
    out: dict[int, ThreadTotals] = {}
    for thread_id in s.scalars(select(Thread.id)):
        rows = members.get(thread_id, [])
        if not rows:
            out[thread_id] = EMPTY_TOTALS
            continue
        times = [w for w, _ in rows]
        inbound = [w for w, d in rows if d == "inbound"]
        outbound = [w for w, d in rows if d == "outbound"]
        out[thread_id] = ThreadTotals(min(times), max(times), max(inbound, default=None),
                                      max(outbound, default=None), len(rows))
    return out


def stored(s: Session) -> dict[int, ThreadTotals]:
    return {row[0]: ThreadTotals(*row[1:]) for row in s.execute(select(
        Thread.id, Thread.first_message_at, Thread.last_message_at, Thread.last_inbound_at,
        Thread.last_outbound_at, Thread.message_count))}


def random_mail(rnd: random.Random, n: int, known: list[int]) -> Message:
    outbound = rnd.random() < 0.4
    other = rnd.choice(PEOPLE)
    parent = rnd.choice(known) if known and rnd.random() < 0.4 else None
    return message(
        n, sender=REP if outbound else other, to=(other,) if outbound else (REP,),
        pid=f"INBOX/{n}", subject=rnd.choice(SUBJECTS),
        when=BASE_TIME + timedelta(hours=rnd.randrange(0, 24 * 10)),
        in_reply_to=f"msg-{parent}@mail.example" if parent is not None else None,
        thread_hint=rnd.choice(["h1", "h2"]) if rnd.random() < 0.3 else None)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_refresh_equals_a_from_scratch_recompute(database: Database, seed: int) -> None:
    rnd = random.Random(seed)
    sent: dict[int, Message] = {}
    operations = ["page"] * 4 + ["copy", "mark", "purge", "remove", "forget", "regroup"]
    for step in range(14):
        op = "page" if step < 2 else rnd.choice(operations)
        account = rnd.choice(["acc1", "acc2"])
        if op == "page":
            items = [random_mail(rnd, len(sent) + i, list(sent)) for i in range(8)]
            sent.update({len(sent) + i: m for i, m in enumerate(items)})
            apply(database, Page("INBOX", list(items)), account_id=account)
        elif op == "copy":
            # another mailbox's copy, now with In-Reply-To: may move it to its parent's thread
            n = rnd.choice(list(sent))
            parent = rnd.randrange(0, len(sent))
            copy = message(n, sender=sent[n].sender, to=sent[n].to, pid=f"other/{n}",
                           subject=sent[n].subject, when=sent[n].sent_at,
                           in_reply_to=f"msg-{parent}@mail.example" if parent != n else None)
            apply(database, Page("INBOX", [copy]), account_id=account)
        elif op == "mark":
            n = rnd.choice(list(sent))
            apply(database, Page("INBOX", [Deletion(f"INBOX/{n}", "message")]),
                  account_id=account)
        else:
            with database.session() as s:
                ids = sorted(s.scalars(select(Interaction.id)))
                picked = rnd.sample(ids, min(len(ids), 3))
                if op == "purge":
                    delete_interactions(s, picked)
                elif op == "remove":
                    remove_account_sources(s, account, picked)
                elif op == "forget":
                    pids = list(s.scalars(select(Source.provider_id)
                                          .where(Source.interaction_id.in_(picked))))
                    forget_sources(s, account, pids)
                else:
                    regroup(s, list(s.scalars(select(Thread.id))))
        with database.session(write=False) as s:
            assert stored(s) == from_scratch(s), f"after step {step} ({op})"


def test_refresh_writes_only_changed_threads_and_returns_the_emptied(
        database: Database) -> None:
    root = message(1, subject="Offer")
    reply = message(2, in_reply_to="msg-1@mail.example", sender=REP,
                    to=(Address("person1@acme.example"),))
    lone = message(3, subject="Other")
    apply(database, Page("INBOX", [root, reply, lone]))
    with database.session() as s:
        threads = {t.key: t.id for t in s.scalars(select(Thread))}
        before = {t.id: t.updated_at for t in s.scalars(select(Thread))}
        later = utcnow() + timedelta(seconds=5)
        assert refresh_thread_totals(s, threads.values(), now=later) == set()
        assert {t.id: t.updated_at for t in s.scalars(select(Thread))} == before
        delete_interactions(s, list(s.scalars(
            select(Interaction.id).where(Interaction.dedupe_key == "msg-3@mail.example"))))
    with database.session() as s:
        emptied = s.get(Thread, threads["msg-3@mail.example"])
        assert emptied is not None and emptied.message_count == 0
        assert emptied.last_message_at is None and emptied.updated_at > before[emptied.id]
        kept = s.get(Thread, threads["msg-1@mail.example"])
        assert kept is not None and kept.updated_at == before[kept.id]
        assert refresh_thread_totals(s, threads.values(), now=utcnow()) == {emptied.id}
        assert refresh_thread_totals(s, [], now=utcnow()) == set()

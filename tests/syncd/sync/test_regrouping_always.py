"""Regrouping header-less mail is part of storing a page, not of reminders:
the same mailbox gives the same threads with reminders on or off (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from providers.base import Address
from syncd.store.database import Database
from syncd.store.schema import Interaction, Reminder, Thread
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, World, settings

H = timedelta(hours=1)
CAROL = Address("carol@acme.example", "Carol Acme")


def deliver_mailbox(w: World) -> None:
    """Replies without threading headers: by Graph-style hint and by subject."""
    w.at(MONDAY + 2 * H).mail(RITA, (ANN,), "RE: Pricing", thread_hint="conv-1", references=())
    w.at(MONDAY).mail(ANN, (RITA,), "Pricing", thread_hint="conv-1", references=())
    w.at(MONDAY + 3 * H).mail(RITA, (CAROL,), "Renewal", references=())
    w.at(MONDAY + 5 * H).mail(CAROL, (RITA,), "AW: Renewal", references=())
    w.at(MONDAY + 6 * H).mail(BOB, (RITA,), "Re: Renewal", references=())  # no shared external


def layout(db: Database) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """(message id, thread key) per message, and (thread key, count) per non-empty thread."""
    with db.session(write=False) as s:
        messages = sorted((k, t) for k, t in s.execute(
            select(Interaction.dedupe_key, Thread.key)
            .join(Thread, Thread.id == Interaction.thread_id)))
        totals = sorted((k, n) for k, n in s.execute(
            select(Thread.key, Thread.message_count).where(Thread.message_count > 0)))
    return messages, totals


def test_threads_are_the_same_with_reminders_on_and_off(database: Database,
                                                         db_url: str) -> None:
    on = World(database, settings(reminders={"enabled": True}))
    deliver_mailbox(on)
    with_reminders = layout(database)
    with database.session(write=False) as s:
        assert s.scalar(select(Reminder.id).limit(1)) is not None  # reminders did run

    other = Database(db_url)
    other.migrate()
    off = World(other, settings(reminders={"enabled": False}))
    deliver_mailbox(off)
    without = layout(other)
    with other.session(write=False) as s:
        assert s.scalar(select(Reminder.id).limit(1)) is None

    other.dispose()
    assert without == with_reminders
    messages, totals = without
    by_id = dict(messages)
    assert by_id["m1@test.example"] == by_id["m2@test.example"]  # the hint
    assert by_id["m3@test.example"] == by_id["m4@test.example"]  # "AW:" + shared Carol
    assert by_id["m5@test.example"] != by_id["m3@test.example"]  # Bob shares nobody
    assert sorted(n for _, n in totals) == [1, 2, 2]

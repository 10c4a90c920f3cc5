"""Thread grouping for mail without threading headers (syncd.store.regroup),
through the real engine: provider thread hints, the subject fallback, and
the cases where it must NOT merge."""

from __future__ import annotations

from datetime import timedelta

from providers.base import Address
from syncd.store.database import Database
from syncd.store.schema import Interaction, Thread
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, World

H = timedelta(hours=1)


def threads(db: Database) -> dict[str, int | None]:
    """message id -> thread id."""
    with db.session(write=False) as s:
        return {k: t for k, t in s.query(Interaction.dedupe_key, Interaction.thread_id)}


def counts(db: Database) -> dict[int, int]:
    with db.session(write=False) as s:
        return {t.id: t.message_count for t in s.query(Thread)}


def test_provider_thread_hint_groups_headerless_replies(database: Database) -> None:
    w = World(database)
    # the reply arrives first (e.g. a Graph delta page order), both without headers
    reply = w.at(MONDAY + 2 * H).mail(RITA, (ANN,), "RE: Pricing", thread_hint="conv-1",
                                     references=())
    first = w.at(MONDAY).mail(ANN, (RITA,), "Pricing", thread_hint="conv-1", references=())
    t = threads(database)
    thread = t[first]
    assert thread is not None and t[reply] == thread
    assert counts(database)[thread] == 2
    # answered: a follow_up for Ann, no reply_needed left open
    assert [r.kind for r in w.open()] == ["follow_up"]


def test_same_hint_in_another_mailbox_is_not_evidence(database: Database) -> None:
    w = World(database)
    a = w.at(MONDAY).mail(ANN, (RITA,), "Pricing", thread_hint="t-1", references=())
    b = w.at(MONDAY + H).mail(BOB, (Address("sam@ourco.example"),), "Other", thread_hint="t-1",
                              references=(), account="sam-mail")
    t = threads(database)
    assert t[a] != t[b]


def test_subject_fallback_needs_a_reply_prefix_a_shared_external_and_the_window(
        database: Database) -> None:
    w = World(database)
    first = w.at(MONDAY).mail(RITA, (ANN,), "Renewal", references=())
    answer = w.at(MONDAY + 3 * H).mail(ANN, (RITA,), "AW: Renewal", references=())
    stranger = w.at(MONDAY + 4 * H).mail(BOB, (RITA,), "Re: Renewal", references=())
    fresh = w.at(MONDAY + 5 * H).mail(ANN, (RITA,), "Renewal", references=())  # no prefix
    late = w.at(MONDAY + timedelta(days=30)).mail(ANN, (RITA,), "Re: Renewal", references=())
    t = threads(database)
    assert t[answer] == t[first]
    assert len({t[first], t[stranger], t[fresh], t[late]}) == 4
    # Ann answered Rita: the follow_up on the first thread is done
    assert "reply received" in (w.one("follow_up", "done").reason or "")

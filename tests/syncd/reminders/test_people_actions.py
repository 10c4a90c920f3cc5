"""What people do to reminders: a logged note or call answers a follow_up; snooze,
reassign and manual reminders survive derivation. Real engine, real store (SQLite
and PostgreSQL), the clock moved by time-machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from matching import build_policy
from syncd.reminders.actions import (
    MANUAL,
    ReminderError,
    after_logged,
    close,
    create_manual,
    reassign,
    snooze,
)
from syncd.reminders.service import set_status
from syncd.store.audit import Actor, entries
from syncd.store.database import Database
from syncd.store.notes import log
from syncd.store.schema import Reminder
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, SAM, World

H = timedelta(hours=1)
D = timedelta(days=1)
POLICY = build_policy(internal_domains=["ourco.example"])
ACTOR = Actor(name="rita-crm", viewer=RITA.email)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def log_call(w: World, contact_id: int, when: datetime, *, outcome: str | None = "connected",
             kind: str = "call", derive_now: bool = True) -> int:
    with w.db.session() as s:
        logged, _ = log(s, POLICY, actor=ACTOR, kind=kind, author=RITA.email, occurred_at=when,
                        text="Talked it through" if kind == "note" else None,
                        contact_id=contact_id, outcome=outcome if kind == "call" else None)
        if derive_now:
            after_logged(s, w.settings, [contact_id], now=w.now)
        return logged.interaction_id


def test_a_logged_call_answers_the_follow_up_like_a_reply(database: Database) -> None:
    w = World(database)
    ann = w.contact(ANN)
    w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    assert r.contact_id == ann
    w.at(MONDAY + D)
    log_call(w, ann, MONDAY + D)
    done = w.one("follow_up", "done")
    assert done.id == r.id
    assert done.reason == ("answered by a call 2026-11-03 09:00 UTC "
                           f"(logged by {RITA.email}; connected)")
    # a later sweep agrees (derivation is a function of the store)
    before = w.rows()
    w.at(MONDAY + 2 * D).sweep()
    assert w.rows() == before


def test_a_call_that_reached_nobody_answers_nothing(database: Database) -> None:
    w = World(database)
    ann = w.contact(ANN)
    w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    w.at(MONDAY + D)
    log_call(w, ann, MONDAY + D, outcome="No answer")
    assert w.one("follow_up").reason is not None
    assert w.reminders("done") == []


def test_a_note_found_by_the_sweep_and_the_wait_restarts_at_the_next_mail(
        database: Database) -> None:
    w = World(database)
    ann = w.contact(ANN)
    first = w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    log_call(w, ann, MONDAY + D, kind="note", derive_now=False)
    assert w.one("follow_up").id == r.id  # nothing re-derived yet
    w.at(MONDAY + D + H).sweep()
    assert w.one("follow_up", "done").reason == (
        f"answered by a note 2026-11-03 09:00 UTC (logged by {RITA.email})")
    # Rita writes again on Wednesday: a new wait, anchored on that mail
    w.at(MONDAY + 2 * D).mail(RITA, (ANN,), "Re: Proposal", reply_to=first)
    again = w.one("follow_up")
    assert again.id != r.id and again.due_at == utc(2026, 11, 9, 9)  # Wed + 3 business days
    assert w.one("follow_up", "done").id == r.id


def test_snoozed_and_reassigned_reminders_keep_what_people_set(database: Database) -> None:
    w = World(database)
    w.contact(ANN)
    first = w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    assert r.due_at == utc(2026, 11, 5, 9)
    later = utc(2026, 11, 10, 9)
    with database.session() as s:
        snooze(s, r.id, later, actor=ACTOR, now=MONDAY + H)
        reassign(s, r.id, "Sam@OurCo.example", actor=ACTOR, now=MONDAY + H)
    w.at(MONDAY + 2 * H).sweep()
    kept = w.one("follow_up")
    assert (kept.due_at, kept.owner) == (later, SAM.email)
    # a nudge after the snooze moves it later (never earlier than the snooze)
    w.at(utc(2026, 11, 9, 10)).mail(RITA, (ANN,), "Re: Proposal", reply_to=first)
    moved = w.one("follow_up")
    assert (moved.due_at, moved.owner) == (utc(2026, 11, 12, 10), SAM.email)
    with database.session(write=False) as s:
        row = s.get(Reminder, r.id)
        assert row is not None and row.assigned_by == RITA.email
        assert [e.action for e in entries(s, entity="reminder", entity_id=r.id)] == [
            "reminder.reassigned", "reminder.snoozed"]
    with database.session() as s, pytest.raises(ReminderError, match="in the future"):
        snooze(s, r.id, MONDAY, actor=ACTOR, now=MONDAY + H)


def test_manual_reminders_are_never_touched_by_derivation(database: Database) -> None:
    w = World(database)
    ann = w.contact(ANN)
    with database.session() as s:
        row, created = create_manual(s, actor=ACTOR, kind="call", due_at=MONDAY + 3 * D,
                                     subject="Call Ann about the renewal", priority="high",
                                     contact_id=ann, key="k1", now=MONDAY)
        assert created and (row.rule, row.owner, row.created_by) == (MANUAL, RITA.email,
                                                                     RITA.email)
        same, created_again = create_manual(s, actor=ACTOR, kind="call", due_at=MONDAY,
                                            subject="x", key="k1", now=MONDAY)
        assert not created_again and same.id == row.id
        manual_id = row.id
    w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    w.at(MONDAY + 5 * D).sweep()
    w.at(MONDAY + 5 * D)
    log_call(w, ann, MONDAY + 5 * D)
    manual = next(r for r in w.reminders("open") if r.id == manual_id)
    assert (manual.kind, manual.due_at, manual.priority) == ("call", MONDAY + 3 * D, "high")
    with database.session() as s:
        close(s, manual_id, "done", actor=ACTOR, now=MONDAY + 5 * D)
        with pytest.raises(ReminderError, match="only an open one"):
            reassign(s, manual_id, SAM.email, actor=ACTOR)
    assert next(r for r in w.reminders("done") if r.id == manual_id).reason == (
        f"marked done by {RITA.email}")


@pytest.mark.parametrize(("kw", "message_part"), [
    ({"kind": "Call!"}, "type:"),
    ({"priority": "asap"}, "priority: 'asap'"),
    ({"subject": " "}, "subject: must not be empty"),
    ({"owner": "nobody"}, "owner: 'nobody'"),
    ({"contact_id": 999}, "contact: no contact 999"),
])
def test_bad_manual_reminders_name_the_field(database: Database, kw: dict[str, object],
                                             message_part: str) -> None:
    values: dict[str, object] = {"kind": "call", "due_at": MONDAY, "subject": "Call"}
    values.update(kw)
    with database.session() as s, pytest.raises(ReminderError, match=message_part):
        create_manual(s, actor=ACTOR, **values)  # type: ignore[arg-type]


def test_the_cli_status_change_is_audited(database: Database) -> None:
    w = World(database)
    w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    set_status(database, r.id, "dismissed")
    assert w.one("follow_up", "dismissed").reason == "marked dismissed by a person"
    with database.session(write=False) as s:
        (entry,) = entries(s, entity="reminder", entity_id=r.id)
        assert (entry.action, entry.actor, entry.viewer) == ("reminder.dismissed", "cli",
                                                             "admin")
        assert entry.before is not None and entry.before["status"] == "open"
    with pytest.raises(KeyError):
        set_status(database, 999, "done")

"""Reminder events of the change feed (both databases): opened by derivation,
resolved with its reason when the customer's mail is answered, status changed
by a person, snoozed/reassigned as updates; a re-derivation writes no event."""

from __future__ import annotations

from datetime import timedelta

from syncd.reminders.actions import create_manual, reassign
from syncd.reminders.service import set_status
from syncd.store.audit import Actor
from syncd.store.changes import FeedEvent, read_changes
from syncd.store.database import Database
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, SAM, World

D = timedelta(days=1)
ACTOR = Actor(name="rita-crm", viewer=RITA.email)


def reminder_events(db: Database) -> list[FeedEvent]:
    return [e for e in read_changes(db, after=0, limit=1000).events if e.entity == "reminder"]


def test_derived_reminders_open_and_resolve_with_reason(database: Database) -> None:
    w = World(database)
    w.contact(ANN)
    question = w.at(MONDAY).mail(ANN, (RITA,), "Question")
    r = w.one("reply_needed")
    [opened] = reminder_events(database)
    assert (opened.type, opened.entity_id) == ("reminder.opened", r.id)
    assert opened.state["status"] == "open" and opened.state["kind"] == "reply_needed"
    w.at(MONDAY + 4 * D).sweep()  # nothing changes: no event
    assert len(reminder_events(database)) == 1
    w.at(MONDAY + D).mail(RITA, (ANN,), "Re: Question", reply_to=question)
    resolved = [e for e in reminder_events(database) if e.type == "reminder.resolved"]
    assert [e.entity_id for e in resolved] == [r.id]
    assert resolved[0].state["status"] == "done" and resolved[0].state["reason"]


def test_people_change_status_and_fields(database: Database) -> None:
    with database.session() as s:
        row, _ = create_manual(s, actor=ACTOR, kind="call", due_at=MONDAY + 2 * D,
                               subject="Call Ann", now=MONDAY)
        reminder_id = row.id
    with database.session() as s:
        reassign(s, reminder_id, SAM.email, actor=ACTOR, now=MONDAY)
    set_status(database, reminder_id, "dismissed", now=MONDAY, note="not needed")
    set_status(database, reminder_id, "dismissed", now=MONDAY)  # again: no change, no event
    types = [(e.type, e.entity_id) for e in reminder_events(database)]
    assert types == [("reminder.opened", reminder_id), ("reminder.updated", reminder_id),
                     ("reminder.status_changed", reminder_id)]
    changed = reminder_events(database)[-1].state
    assert changed["status"] == "dismissed" and changed["previous_status"] == "open"
    assert changed["reason"] == "not needed"
    assert reminder_events(database)[1].state["changed"] == ["owner"]

"""Scenarios: every kind created, moved, resolved and superseded, through the
real engine on SQLite and PostgreSQL, with the clock moved by time-machine.

BASE_TIME (MONDAY) is Monday 2026-11-02 09:00 UTC; default business hours
are Mon-Fri 09:00-17:00 UTC; default rules: follow_up 3 business days,
reply_needed 8 business hours, meeting_prep 4 business hours before,
meeting_follow_up 8 business hours after.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from providers.base import Address, Deletion, Message
from syncd.reminders.service import set_status
from syncd.store.database import Database
from syncd.store.schema import Reminder
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, SAM, World, settings

H = timedelta(hours=1)
D = timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_reply_needed_created_then_done_when_the_rep_replies(database: Database) -> None:
    w = World(database)
    w.contact(ANN)
    asked = w.at(MONDAY + 2 * H).mail(ANN, (RITA,), "Pricing?")
    r = w.one("reply_needed")
    assert r.due_at == utc(2026, 11, 3, 11)  # 11:00 Mon + 8 business hours = Tue 11:00
    assert (r.owner, r.contact_name, r.rule, r.priority) == (RITA.email, "Ann Acme",
                                                             "reply_needed", "normal")
    assert r.thread is not None and r.interaction_id is not None
    assert "Ann Acme wrote" in (r.reason or "")

    w.at(MONDAY + 5 * H).mail(RITA, (ANN,), "Re: Pricing?", reply_to=asked)
    done = w.one("reply_needed", "done")
    assert done.id == r.id and done.reason == "replied 2026-11-02 14:00 UTC"
    assert done.resolved_at == MONDAY + 5 * H
    # now Ann owes the answer
    assert w.one("follow_up").due_at == utc(2026, 11, 5, 14)


def test_follow_up_moves_on_a_nudge_and_is_done_when_the_contact_answers(
        database: Database) -> None:
    w = World(database)
    first = w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    assert r.due_at == utc(2026, 11, 5, 9)  # Mon 09:00 + 3 business days
    assert r.contact_id is None and r.subject == "Follow up with Ann Acme: Proposal"
    # a nudge on Friday moves the reminder (same row) to 3 business days after it
    nudge = w.at(utc(2026, 11, 6, 10)).mail(RITA, (ANN,), "Re: Proposal", reply_to=first)
    moved = w.one("follow_up")
    assert moved.id == r.id and moved.due_at == utc(2026, 11, 11, 10)
    assert (moved.reason or "").startswith("due moved from 2026-11-05 09:00 UTC to 2026-11-11")
    # the contact answers: done, and the rep now owes a reply (a new reminder)
    w.at(utc(2026, 11, 9, 16)).mail(ANN, (RITA,), "Re: Proposal", reply_to=nudge)
    assert w.one("follow_up", "done").reason == "reply received 2026-11-09 16:00 UTC"
    assert w.one("reply_needed").due_at == utc(2026, 11, 10, 16)


def test_follow_up_superseded_when_the_mail_is_deleted(database: Database) -> None:
    w = World(database, settings(deletions="mirror"))
    sent = w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    w.at(MONDAY + H).deliver(Deletion(w.pids[sent], "message"))
    gone = w.one("follow_up", "superseded")
    assert gone.id == r.id
    assert gone.reason == "the thread has no live messages any more (deleted or merged)"


def test_follow_up_stays_when_deleted_mail_is_retained(database: Database) -> None:
    """``deletions: retain`` (the default): the CRM's record outlives the mailbox copy."""
    w = World(database)
    sent = w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    r = w.one("follow_up")
    w.at(MONDAY + H).deliver(Deletion(w.pids[sent], "message"))
    assert w.one("follow_up").id == r.id


def test_rederiving_changes_nothing(database: Database) -> None:
    w = World(database)
    w.contact(ANN)
    w.at(MONDAY).mail(ANN, (RITA,), "Question")
    w.at(MONDAY).mail(RITA, (BOB,), "Offer")
    w.at(MONDAY + 3 * D).meeting("m1", MONDAY + 5 * D)
    before = w.rows()
    assert len(before) == 3
    report = w.at(MONDAY + 3 * D).sweep()
    assert (report.created, report.moved, report.updated, report.done, report.superseded,
            report.reopened) == (0, 0, 0, 0, 0, 0)
    assert w.rows() == before
    # the same page again (a redo after a crash) changes nothing either
    w.at(MONDAY).mail(ANN, (RITA,), "Question")
    assert len(w.rows()) == len(before) + 1  # a new message id is a new thread
    key_at = [c.name for c in Reminder.__table__.columns].index("idempotency_key")
    keys = [row[key_at] for row in w.rows()]
    assert len(keys) == len(set(keys))


def test_meeting_prep_created_in_horizon_moved_then_superseded_by_cancel(
        database: Database) -> None:
    w = World(database)
    start = utc(2026, 11, 25, 15)  # Wednesday
    # 23 days ahead: beyond the 14-day horizon, nothing yet
    w.at(MONDAY).meeting("m1", start)
    assert w.open() == []
    # the clock job creates it once the meeting is within the horizon
    w.at(utc(2026, 11, 12, 9)).sweep()
    prep = w.one("meeting_prep")
    assert prep.due_at == utc(2026, 11, 25, 11)  # 4 business hours before 15:00
    assert prep.subject == "Prepare for Review with Ann Acme"
    # moved to Thursday 10:00: same reminder, due moves to Wed 14:00 (hours wrap to the day before)
    w.at(utc(2026, 11, 13, 9)).meeting("m1", utc(2026, 11, 26, 10), sequence=1)
    moved = w.one("meeting_prep")
    assert moved.id == prep.id and moved.due_at == utc(2026, 11, 25, 14)
    assert "meeting moved to 2026-11-26 10:00 UTC" in (moved.reason or "")
    # cancelled: superseded with the reason
    w.at(utc(2026, 11, 14, 9)).meeting("m1", utc(2026, 11, 26, 10), sequence=2,
                                      status="cancelled")
    gone = w.one("meeting_prep", "superseded")
    assert gone.reason == "meeting cancelled" and gone.resolved_at is not None
    # un-cancelled (a later sequence): the same reminder reopens
    w.at(utc(2026, 11, 15, 9)).meeting("m1", utc(2026, 11, 26, 10), sequence=3)
    back = w.one("meeting_prep")
    assert back.id == prep.id and (back.reason or "").startswith("reopened")


def test_meeting_prep_superseded_once_the_meeting_started(database: Database) -> None:
    w = World(database)
    w.at(MONDAY).meeting("m1", MONDAY + 2 * D)
    assert w.one("meeting_prep").due_at == MONDAY + D + 4 * H  # Tue 13:00
    w.at(MONDAY + 2 * D + H).sweep()
    assert w.one("meeting_prep", "superseded").reason == "meeting started 2026-11-04 09:00 UTC"
    # ...and the follow-up appears once it has ended
    assert w.one("meeting_follow_up").due_at == utc(2026, 11, 5, 10)  # 10:00 + 8 business hours


def test_meeting_follow_up_done_when_the_rep_writes_to_an_attendee(database: Database) -> None:
    w = World(database)
    w.at(MONDAY - 3 * D).meeting("m1", MONDAY + 2 * H, attendees=(ANN, BOB))
    assert w.open("meeting_follow_up") == []  # not ended yet
    w.at(MONDAY + H).mail(RITA, (BOB,), "Agenda")  # before it ended: not a follow-up
    w.at(MONDAY + 4 * H).sweep()
    r = w.one("meeting_follow_up")
    assert r.due_at == utc(2026, 11, 3, 12)  # ended 12:00 Mon + 8 business hours
    # mail to someone else does not count; mail to Bob (an attendee) does
    w.at(MONDAY + 5 * H).mail(RITA, (Address("zed@initech.example"),), "Hi")
    assert w.one("meeting_follow_up").id == r.id
    w.at(MONDAY + 6 * H).mail(RITA, (BOB,), "Thanks for today")
    assert w.one("meeting_follow_up", "done").reason == (
        "wrote to bob@globex.example 2026-11-02 15:00 UTC")


def test_meeting_moved_later_supersedes_its_follow_up(database: Database) -> None:
    w = World(database)
    w.at(MONDAY - D).meeting("m1", MONDAY + H)
    w.at(MONDAY + 3 * H).sweep()
    r = w.one("meeting_follow_up")
    w.at(MONDAY + 4 * H).meeting("m1", MONDAY + 3 * D, sequence=1)
    gone = w.one("meeting_follow_up", "superseded")
    assert gone.id == r.id and gone.reason == "meeting moved to 2026-11-05 09:00 UTC"


def test_blocklisting_a_contact_supersedes_their_reminders(database: Database) -> None:
    w = World(database)
    w.at(MONDAY).mail(ANN, (RITA,), "Question")
    w.at(MONDAY).meeting("m1", MONDAY + 2 * D)
    assert len(w.open()) == 2
    w.reconfigure(settings(matching={"blocklist": ["acme.example"]}))
    w.at(MONDAY + H).sweep()
    assert {(r.kind, r.reason) for r in w.reminders("superseded")} == {
        ("reply_needed", "contact blocklisted (domain acme.example is blocklisted)"),
        ("meeting_prep", "contact blocklisted (domain acme.example is blocklisted)"),
    }
    assert w.open() == []


def test_done_and_dismissed_are_never_reopened(database: Database) -> None:
    w = World(database)
    first = w.at(MONDAY).mail(ANN, (RITA,), "Question")
    r = w.one("reply_needed")
    set_status(database, r.id, "dismissed", now=MONDAY + H)
    w.at(MONDAY + 2 * H).mail(ANN, (RITA,), "Re: Question", reply_to=first)  # a nudge
    w.at(MONDAY + 3 * H).sweep()
    assert w.open() == [] and w.one("reply_needed", "dismissed").id == r.id


def test_rule_change_supersedes_and_replaces(database: Database) -> None:
    w = World(database)
    acme = w.company("Acme", "acme.example", tier="strategic")
    w.contact(ANN, acme)
    w.at(MONDAY).mail(ANN, (RITA,), "Question")
    old = w.one("reply_needed")
    w.reconfigure(settings({"rules": {
        "vip_reply": {"kind": "reply_needed", "match": {"company_tier": ["strategic"]},
                      "business_hours": 2, "priority": "urgent"},
        "reply": {"kind": "reply_needed", "business_hours": 8},
    }}))
    w.at(MONDAY + H).sweep()
    gone = w.one("reply_needed", "superseded")
    assert gone.id == old.id and gone.reason == "rule vip_reply applies now"
    new = w.one("reply_needed")
    assert (new.rule, new.priority, new.due_at) == ("vip_reply", "urgent", MONDAY + 2 * H)


def test_second_rep_mailbox_sees_the_same_thread_once(database: Database) -> None:
    w = World(database)
    msg = w.at(MONDAY).mail(ANN, (RITA, SAM), "Question", account="rita-mail")
    copy = Message(provider_id="sam-mail/x", message_id=msg, sent_at=MONDAY, sender=ANN,
                   to=(RITA, SAM), subject="Question", folder="INBOX")
    w.deliver(copy, account="sam-mail")
    r = w.one("reply_needed")
    assert r.owner == RITA.email  # the first rep addressed


def test_a_reminders_failure_never_costs_the_page(db_url: str) -> None:
    # a fresh database of its own: the shared PostgreSQL fixture store must keep its tables
    from sqlalchemy import func, select, text
    from structlog.testing import capture_logs

    from syncd.store.schema import Interaction

    database = Database(db_url)
    database.migrate()
    try:
        w = World(database)
        with database.session() as s:
            s.execute(text("ALTER TABLE reminders RENAME TO reminders_away"))
        with capture_logs() as logs:
            w.at(MONDAY).mail(ANN, (RITA,), "Question")  # asserts the pass is ok
        with database.session(write=False) as s:
            assert s.scalar(select(func.count()).select_from(Interaction)) == 1
        assert any(e["event"] == "reminder derivation crashed for this page" for e in logs)
        with database.session() as s:
            s.execute(text("ALTER TABLE reminders_away RENAME TO reminders"))
        w.at(MONDAY + H).sweep()  # the clock job repairs what the page could not derive
        assert w.one("reply_needed").due_at == utc(2026, 11, 2, 17)
    finally:
        database.dispose()


def test_two_mailboxes_applying_one_thread_at_once_make_one_reminder(
        database: Database) -> None:
    """Both reps receive the same mail and their passes run concurrently: the
    page's thread lock serializes derivation, the unique key does the rest."""
    import threading
    from datetime import datetime

    from providers.base import Page

    w = World(database)
    sent = datetime.now(UTC) - timedelta(hours=1)
    for account in ("rita-mail", "sam-mail"):
        copy = Message(provider_id=f"{account}/1", message_id="same@acme.example",
                       sent_at=sent, sender=ANN, to=(RITA, SAM), subject="Both of you",
                       folder="INBOX")
        w.pending[account] = [Page(resource="INBOX", items=[copy], cursor={"n": 1})]
    w.engine.register_accounts()
    start = threading.Barrier(2)
    results = []

    def run(account: str) -> None:
        start.wait()
        results.append(w.engine.sync_account(w.settings.account(account)))

    workers = [threading.Thread(target=run, args=(a,)) for a in ("rita-mail", "sam-mail")]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert all(r.ok for r in results), [r.error_message for r in results]
    assert [(r.kind, r.owner) for r in w.reminders()] == [("reply_needed", RITA.email)]

"""The page writer (write_page) on SQLite and PostgreSQL: upserts, copies, meetings, deletions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from providers.base import Address, Deletion, Page, Quarantined
from syncd.store.database import Database
from syncd.store.schema import (
    Interaction,
    Participant,
    QuarantineEntry,
    Source,
    SyncCursor,
    Thread,
    UnmatchedAddress,
)
from tests.generate import BASE_TIME
from tests.syncd.store.builders import (
    REP,
    apply,
    automated,
    dump,
    ensure_account,
    meeting,
    message,
)


def count(db: Database, model: object) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_same_page_twice_changes_nothing(database: Database) -> None:
    page = Page(
        resource="INBOX",
        items=[message(1), message(2, cc=(Address("Bob@Globex.example", "Bob"),)),
               message(3, in_reply_to="msg-1@mail.example",
                       references=("msg-1@mail.example",)),
               meeting("m1@x", attendees=("ann@acme.example", "rita@ourco.example"))],
        cursor={"uid": 3},
    )
    first = apply(database, page)
    assert first.created == 4
    before = dump(database)
    second = apply(database, page)
    assert second.created == 0 and second.updated == 0 and second.sources_added == 0
    assert dump(database) == before
    assert count(database, Interaction) == 4
    assert count(database, Source) == 4


def test_same_message_in_two_accounts_is_one_interaction_with_two_sources(
    database: Database,
) -> None:
    apply(database, Page("INBOX", [message(1, pid="a/1")]), account_id="acc1")
    apply(database, Page("INBOX", [message(1, pid="b/77")]), account_id="acc2")
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Interaction)) == 1
        sources = s.execute(select(Source.account_id, Source.provider_id)
                            .order_by(Source.account_id)).all()
    assert [tuple(r) for r in sources] == [("acc1", "a/1"), ("acc2", "b/77")]


def test_copies_merge_bcc_and_never_blank_a_subject(database: Database) -> None:
    sent_copy = message(1, sender=REP, to=(Address("ann@acme.example"),),
                        bcc=(Address("boss@acme.example"),), pid="sent/1", subject="Offer")
    inbox_copy = message(1, sender=REP, to=(Address("ann@acme.example"),), pid="in/1",
                         subject=None)
    apply(database, Page("Sent", [sent_copy]), account_id="rep")
    apply(database, Page("INBOX", [inbox_copy]), account_id="ann")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert row.subject == "Offer"
        assert row.direction == "outbound"
        people = s.execute(select(Participant.role, Participant.address)
                           .order_by(Participant.position)).all()
    assert [tuple(p) for p in people] == [("from", "rita@ourco.example"),
                                          ("to", "ann@acme.example"),
                                          ("bcc", "boss@acme.example")]


def test_between_accounts_calendars_the_last_modified_copy_wins(database: Database) -> None:
    """Two accounts' calendars hold the meeting: the newer LAST-MODIFIED wins,
    whatever the SEQUENCE (organizers edit without raising it)."""
    hour = timedelta(hours=1)
    apply(database, Page("cal", [meeting("m@x", sequence=2, title="Moved",
                                         updated=BASE_TIME + 2 * hour,
                                         attendees=("ann@acme.example", "bob@acme.example"))]))
    apply(database, Page("cal", [meeting("m@x", sequence=1, title="Original",
                                         updated=BASE_TIME + hour, pid="cal2/m")]),
          account_id="acc2")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert (row.subject, row.sequence) == ("Moved", 2)
        assert s.scalar(select(func.count()).select_from(Participant)) == 3
        assert s.scalar(select(func.count()).select_from(Source)) == 2
    apply(database, Page("cal", [meeting("m@x", sequence=0, title="Renamed",
                                         updated=BASE_TIME + 3 * hour, pid="cal2/m")]),
          account_id="acc2")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert (row.subject, row.sequence) == ("Renamed", 0)
    apply(database, Page("cal", [meeting("m@x", sequence=3, title="Cancelled",
                                         updated=BASE_TIME + 4 * hour,
                                         status="cancelled")]))
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert (row.subject, row.sequence, row.status) == ("Cancelled", 3, "cancelled")
        assert s.scalar(select(func.count()).select_from(Participant)) == 2


def test_one_calendar_s_edit_wins_and_an_older_invite_in_mail_does_not(
        database: Database) -> None:
    """Only the account's own calendar holds the meeting: its current state wins
    even with a lower SEQUENCE and older stamps; an iTIP message found in mail
    still needs a SEQUENCE (then DTSTAMP) at least the stored one."""
    hour = timedelta(hours=1)
    start = meeting("e@x").start
    apply(database, Page("cal", [meeting("e@x", sequence=1, start=start + hour,
                                         updated=BASE_TIME + 2 * hour)]))
    result = apply(database, Page("cal", [meeting("e@x", sequence=0, start=start,
                                                  updated=BASE_TIME + hour)]))
    assert result.updated == 1
    old_invite = meeting("e@x", sequence=0, start=start + 5 * hour, method="REQUEST",
                         updated=BASE_TIME)
    apply(database, Page("INBOX", [message(1, sender=REP, to=(Address("ann@acme.example"),),
                                           invites=(old_invite,))]), account_id="acc2")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction).where(Interaction.kind == "meeting")).one()
        assert (row.occurred_at.replace(tzinfo=None), row.sequence) == (
            start.replace(tzinfo=None), 0)
    update = meeting("e@x", sequence=1, start=start + 5 * hour, method="REQUEST",
                     updated=BASE_TIME + 3 * hour)
    apply(database, Page("INBOX", [message(2, sender=REP, to=(Address("ann@acme.example"),),
                                           invites=(update,))]), account_id="acc2")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction).where(Interaction.kind == "meeting")).one()
        assert row.occurred_at.replace(tzinfo=None) == (start + 5 * hour).replace(tzinfo=None)
    # the calendar, read again, shows it did not take that update: an invite in
    # another rep's mail is no competing calendar, so the calendar's state wins
    apply(database, Page("cal", [meeting("e@x", sequence=0, start=start, updated=BASE_TIME)]))
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction).where(Interaction.kind == "meeting")).one()
        assert row.occurred_at.replace(tzinfo=None) == start.replace(tzinfo=None)


def test_participants_carry_their_interactions_time_when_it_moves(database: Database) -> None:
    """The timelines' index reads ``participants.occurred_at``: it follows a moved
    meeting, with its participants replaced or not."""
    start = meeting("mv@x").start

    def times() -> set[tuple[datetime, datetime]]:
        with database.session(write=False) as s:
            return {(r[0], r[1]) for r in s.execute(
                select(Interaction.occurred_at, Participant.occurred_at)
                .join(Participant, Participant.interaction_id == Interaction.id))}

    apply(database, Page("cal", [meeting("mv@x", attendees=("ann@acme.example",))]))
    assert times() == {(start, start)}
    later = start + timedelta(days=2)  # same people: participants kept, time updated
    apply(database, Page("cal", [meeting("mv@x", sequence=1, start=later,
                                         attendees=("ann@acme.example",))]))
    assert times() == {(later, later)}
    again = later + timedelta(hours=3)  # moved and someone added: participants replaced
    apply(database, Page("cal", [meeting("mv@x", sequence=2, start=again,
                                         attendees=("ann@acme.example", "bob@acme.example"))]))
    assert times() == {(again, again)}
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 3


def test_invite_inside_a_message_becomes_a_meeting_and_reply_updates_status(
    database: Database,
) -> None:
    invite = meeting("inv@x", attendees=("ann@acme.example",), method="REQUEST")
    apply(database, Page("INBOX", [message(1, sender=REP, to=(Address("ann@acme.example"),),
                                           invites=(invite,))]))
    reply = meeting("inv@x", attendees=("ann@acme.example",), method="REPLY",
                    partstat="accepted", title="ignored")
    unknown_reply = meeting("never@x", method="REPLY", partstat="accepted")
    apply(database, Page("INBOX", [message(2, invites=(reply, unknown_reply))]))
    with database.session(write=False) as s:
        meetings = s.scalars(select(Interaction).where(Interaction.kind == "meeting")).all()
        assert [m.dedupe_key for m in meetings] == ["inv@x#"]
        assert meetings[0].subject == "Sync"
        status = s.scalar(select(Participant.response_status).where(
            Participant.interaction_id == meetings[0].id, Participant.role == "attendee"))
        assert status == "accepted"


def test_deletions_mark_and_never_remove(database: Database) -> None:
    apply(database, Page("INBOX", [message(1, pid="a/1")]), account_id="acc1")
    apply(database, Page("INBOX", [message(1, pid="b/1")]), account_id="acc2")
    apply(database, Page("INBOX", [Deletion("a/1", "message")]), account_id="acc1")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert not row.deleted  # acc2 still has it
    before = dump(database)
    apply(database, Page("INBOX", [Deletion("b/1", "message")]), account_id="acc2")
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert row.deleted and row.deleted_at is not None
        assert s.scalar(select(func.count()).select_from(Participant)) == 2
    after = dump(database)
    apply(database, Page("INBOX", [Deletion("b/1", "message")]), account_id="acc2")
    assert dump(database) == after != before
    apply(database, Page("INBOX", [message(1, pid="b/1")]), account_id="acc2")  # seen again
    with database.session(write=False) as s:
        assert not s.scalars(select(Interaction)).one().deleted


def test_quarantine_rows_and_resolution(database: Database) -> None:
    bad = Quarantined("INBOX/1/9", "message", "no usable Date or sender", "From: ???")
    result = apply(database, Page("INBOX", [message(1)], quarantined=[bad]))
    assert result.quarantined == 1
    apply(database, Page("INBOX", [], quarantined=[bad]))
    with database.session(write=False) as s:
        row = s.scalars(select(QuarantineEntry)).one()
        assert (row.provider_id, row.reason, row.count) == ("INBOX/1/9", bad.reason, 1)
        assert row.resolved_at is None
    apply(database, Page("INBOX", [message(9, pid="INBOX/1/9")]))
    with database.session(write=False) as s:
        assert s.scalars(select(QuarantineEntry)).one().resolved_at is not None
    apply(database, Page("INBOX", [], quarantined=[bad]))  # bad again
    with database.session(write=False) as s:
        row = s.scalars(select(QuarantineEntry)).one()
        assert (row.count, row.resolved_at) == (2, None)


def test_internal_and_automated_items_are_skipped_but_cursor_moves(database: Database) -> None:
    internal = message(1, sender=REP, to=(Address("colleague@ourco.example"),))
    result = apply(database, Page("INBOX", [internal, automated(2)], cursor={"uid": 2}))
    assert result.skipped == 2
    assert count(database, Interaction) == 0
    with database.session(write=False) as s:
        assert s.scalars(select(SyncCursor)).one().cursor == {"uid": 2}


def test_threads_from_references_and_in_reply_to(database: Database) -> None:
    root = message(1, sender=REP, to=(Address("ann@acme.example"),), subject="Proposal")
    reply = message(2, in_reply_to="msg-1@mail.example", subject="Re: Proposal",
                    sender=Address("ann@acme.example"))
    apply(database, Page("INBOX", [root]))
    apply(database, Page("INBOX", [reply]))
    later = message(3, sender=REP, to=(Address("ann@acme.example"),),
                    in_reply_to="msg-2@mail.example", subject="Re: Re: Proposal")
    apply(database, Page("INBOX", [later]))
    with database.session(write=False) as s:
        thread = s.scalars(select(Thread)).one()
        assert thread.key == "msg-1@mail.example"
        assert thread.subject == "Proposal"
        assert thread.message_count == 3
        assert thread.last_inbound_at == reply.sent_at
        assert thread.last_outbound_at == later.sent_at
        assert thread.last_inbound_at.tzinfo is not None


def test_unmatched_addresses_are_counted_from_history(database: Database) -> None:
    page = Page("INBOX", [message(1, sender=Address("zed@newco.example")),
                          message(2, sender=Address("Zed@NewCo.example")),
                          message(3, sender=Address("someone@gmail.com"))])
    apply(database, page)
    apply(database, page)
    with database.session(write=False) as s:
        rows = {u.address: u for u in s.scalars(select(UnmatchedAddress))}
    assert rows["zed@newco.example"].interaction_count == 2
    assert rows["zed@newco.example"].domain == "newco.example"
    assert rows["someone@gmail.com"].domain is None  # free mail: no company to find
    assert rows["zed@newco.example"].first_seen == page.items[0].sent_at  # type: ignore[union-attr]
    assert "rita@ourco.example" not in rows


def test_cursor_is_saved_with_the_page(database: Database) -> None:
    ensure_account(database)
    apply(database, Page("INBOX", [message(1)], cursor={"uid": 1}))
    apply(database, Page("Sent", [], cursor={"uid": 7}))
    apply(database, Page("INBOX", [message(2)], cursor={"uid": 2}))
    with database.session(write=False) as s:
        cursors = {r: c for r, c in s.execute(select(SyncCursor.resource, SyncCursor.cursor))}
    assert cursors == {"INBOX": {"uid": 2}, "Sent": {"uid": 7}}


def test_big_page_uses_bounded_queries(database: Database) -> None:
    items = [message(n, sender=Address(f"p{n}@acme{n % 7}.example")) for n in range(600)]
    result = apply(database, Page("INBOX", list(items), cursor={"uid": 600}))
    assert result.created == 600
    assert count(database, Participant) == 1200


def test_two_accounts_applying_the_same_mail_concurrently(database: Database) -> None:
    """ON CONFLICT + row locks (PostgreSQL) / BEGIN IMMEDIATE (SQLite): no errors, no dups."""
    import threading

    ensure_account(database, "acc1")
    ensure_account(database, "acc2")
    errors: list[BaseException] = []

    def run(account_id: str) -> None:
        try:
            for start in range(0, 60, 10):
                items = [message(n, pid=f"{account_id}/{n}",
                                 in_reply_to=f"msg-{n - 1}@mail.example" if n else None)
                         for n in range(start, start + 10)]
                apply(database, Page("INBOX", list(items)), account_id=account_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in ("acc1", "acc2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(database, Interaction) == 60
    assert count(database, Source) == 120
    assert count(database, Participant) == 120


def test_hostile_text_never_poisons_a_page(database: Database) -> None:
    """NUL bytes, undecodable bytes and over-long ids are stored, not fatal (PostgreSQL
    refuses NUL and over-long varchar; a page failing forever would stall the account)."""
    long_id = "x" * 3000 + "@mail.example"
    hostile = message(1, msgid=long_id, subject="Pri\x00cing \udcff",
                      sender=Address("ann@acme.example", "A" * 500 + "\x00"),
                      pid="INBOX/" + "9" * 2000, in_reply_to="y" * 1500)
    bad = Quarantined("INBOX/" + "8" * 2000, "message", "bad\x00", "From: \x00\udcfe")
    result = apply(database, Page("INBOX", [hostile], quarantined=[bad]))
    assert result.created == 1
    before = dump(database)
    apply(database, Page("INBOX", [hostile, Deletion("INBOX/" + "9" * 2000, "message")]))
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction)).one()
        assert row.subject == "Pricing ?"
        assert row.dedupe_key.startswith("sha256:")
        assert row.deleted
        assert s.scalars(select(QuarantineEntry)).one().excerpt == "From: ?"
    assert dump(database)["participants"] == before["participants"]

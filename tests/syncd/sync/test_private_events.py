"""Meetings marked private/confidential through the real engine and store, both databases.

``privacy.private_events``: ``busy`` (default) keeps participants and times
only, whatever the account's privacy level; ``skip`` logs nothing, and a
meeting that turns private after it was logged is cut down (busy) or removed
through the store's removal path (skip), which the change feed hears. The
scripted provider (tests/scripted.py) stands at the provider edge; each real
provider's normalization of the mark is covered in tests/providers/.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from providers.base import Attendee, Event, Page
from syncd.store.changes import FeedEvent, read_changes
from syncd.store.database import Database
from syncd.store.schema import Interaction, Participant, Source
from tests.generate import BASE_TIME
from tests.syncd.sync.test_privacy import ANN, REP, SAM, engine_for, mail, settings_for

MEETING = Event(provider_id="cal/1", uid="board@acme", recurrence_id=None, start=BASE_TIME,
                end=BASE_TIME + timedelta(hours=1), title="Acquisition talks",
                location="Ann's office", organizer=REP, attendees=(Attendee(ANN, "accepted"),),
                calendar="cal")


def meetings(db: Database) -> list[tuple[Any, ...]]:
    with db.session(write=False) as s:
        return [tuple(r) for r in s.execute(
            select(Interaction.subject, Interaction.location, Interaction.snippet,
                   Interaction.body, Interaction.occurred_at, Interaction.ends_at)
            .where(Interaction.kind == "meeting").order_by(Interaction.id))]


def people(db: Database) -> list[tuple[str, str]]:
    with db.session(write=False) as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Participant.role, Participant.address).order_by(Participant.id))]


def feed(db: Database, after: int = 0) -> list[FeedEvent]:
    return read_changes(db, after=after, limit=1000).events


def last_position(db: Database) -> int:
    return read_changes(db, after=0, limit=1).last_position


@pytest.mark.parametrize("visibility", ["private", "confidential"])
@pytest.mark.parametrize("level", ["metadata", "full"])
def test_busy_by_default_keeps_participants_and_times_only(
        database: Database, visibility: str, level: str) -> None:
    settings = settings_for({"id": "rita", "privacy": level})
    page = Page("cal", [replace(MEETING, visibility=visibility)])  # type: ignore[arg-type]
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()
    assert result.skipped == 0
    assert meetings(database) == [(None, None, None, None, MEETING.start, MEETING.end)]
    assert people(database) == [("organizer", REP.email), ("attendee", ANN.email)]


def test_a_public_meeting_keeps_its_title(database: Database) -> None:
    settings = settings_for({"id": "rita"})
    assert engine_for(database, settings, {"rita": [Page("cal", [MEETING])]}).sync_account(
        settings.accounts[0]).ok
    assert [m[:2] for m in meetings(database)] == [("Acquisition talks", "Ann's office")]


def test_skip_logs_nothing_and_counts_the_skip(database: Database) -> None:
    settings = settings_for({"id": "rita"}, privacy={"private_events": "skip"})
    page = Page("cal", [replace(MEETING, visibility="private"),
                        replace(MEETING, provider_id="cal/2", uid="open@acme")], cursor={"n": 1})
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok and result.skipped == 1
    assert [m[0] for m in meetings(database)] == ["Acquisition talks"]  # the public one


def test_turning_private_later_cuts_the_logged_meeting_down(database: Database) -> None:
    settings = settings_for({"id": "rita"})
    script = {"rita": [Page("cal", [MEETING])]}
    engine = engine_for(database, settings, script)
    assert engine.sync_account(settings.accounts[0]).ok
    mark = last_position(database)
    script["rita"] = [Page("cal", [replace(MEETING, visibility="private")])]
    assert engine.sync_account(settings.accounts[0]).ok
    assert meetings(database) == [(None, None, None, None, MEETING.start, MEETING.end)]
    updated = [e for e in feed(database, mark) if e.type == "interaction.updated"]
    assert updated and updated[-1].state["subject"] is None
    assert updated[-1].state.get("location") is None
    # idempotent: the same private copy again changes nothing
    mark = last_position(database)
    assert engine.sync_account(settings.accounts[0]).ok
    assert [e for e in feed(database, mark) if e.entity == "interaction"] == []


def test_turning_private_later_under_skip_removes_it_through_the_removal_path(
        database: Database) -> None:
    settings = settings_for({"id": "rita"}, privacy={"private_events": "skip"})
    script = {"rita": [Page("cal", [MEETING])]}
    engine = engine_for(database, settings, script)
    assert engine.sync_account(settings.accounts[0]).ok
    mark = last_position(database)
    script["rita"] = [Page("cal", [replace(MEETING, visibility="confidential")])]
    assert engine.sync_account(settings.accounts[0]).ok
    assert meetings(database) == [] and people(database) == []
    gone = [e for e in feed(database, mark) if e.type == "interaction.deleted"]
    assert len(gone) == 1
    assert gone[0].state["reason"] == "marked private" and gone[0].state["subject"] is None


def test_skip_forgets_only_this_reps_copy(database: Database) -> None:
    settings = settings_for({"id": "rita"}, {"id": "sam", "owner": SAM.email},
                            privacy={"private_events": "skip"})
    shared = replace(MEETING, attendees=(Attendee(ANN, "accepted"), Attendee(SAM, "accepted")))
    script = {"rita": [Page("cal", [shared])],
              "sam": [Page("cal", [replace(shared, provider_id="sam-cal/1")])]}
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    script["rita"] = [Page("cal", [replace(shared, visibility="private")])]
    assert engine.sync_account(settings.accounts[0]).ok
    assert len(meetings(database)) == 1
    with database.session(write=False) as s:
        assert list(s.scalars(select(Source.account_id))) == ["sam"]


def invite_mail(visibility: str) -> Any:
    invite = replace(MEETING, provider_id="x", method="REQUEST",
                     visibility=visibility)  # type: ignore[arg-type]
    return mail(1, subject="Invitation: Acquisition talks", snippet="Acquisition talks",
                body="Join us for the acquisition talks", invites=(invite,))


def test_a_private_invite_in_mail_is_busy_time_and_its_message_loses_content(
        database: Database) -> None:
    settings = settings_for({"id": "rita", "privacy": "full"})
    page = Page("INBOX", [invite_mail("private")])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    assert meetings(database) == [(None, None, None, None, MEETING.start, MEETING.end)]
    with database.session(write=False) as s:
        email = s.scalars(select(Interaction).where(Interaction.kind == "email")).one()
        assert (email.subject, email.snippet, email.body) == (None, None, None)


def test_a_private_invite_in_mail_under_skip_keeps_message_and_meeting_out(
        database: Database) -> None:
    settings = settings_for({"id": "rita"}, privacy={"private_events": "skip"})
    page = Page("INBOX", [invite_mail("confidential"), mail(2)])
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok and result.skipped == 1
    assert meetings(database) == []
    with database.session(write=False) as s:
        assert list(s.scalars(select(Interaction.subject))) == ["Subject 2"]


def test_a_public_invite_leaves_its_message_alone(database: Database) -> None:
    settings = settings_for({"id": "rita", "privacy": "full"})
    assert engine_for(database, settings, {"rita": [Page("INBOX", [invite_mail("public")])]}
                      ).sync_account(settings.accounts[0]).ok
    with database.session(write=False) as s:
        assert s.scalar(select(Interaction.subject).where(Interaction.kind == "email")) == (
            "Invitation: Acquisition talks")


def test_reminders_of_a_meeting_that_turned_private_lose_its_title(database: Database) -> None:
    from syncd.store.schema import Reminder

    settings = settings_for({"id": "rita"})
    ahead = replace(MEETING, start=MEETING.start + timedelta(days=2),
                    end=MEETING.end + timedelta(days=2))
    script = {"rita": [Page("cal", [ahead])]}
    engine = engine_for(database, settings, script)
    assert engine.sync_account(settings.accounts[0]).ok
    with database.session(write=False) as s:
        assert any("Acquisition" in (r or "") for r in s.scalars(select(Reminder.subject)))
    script["rita"] = [Page("cal", [replace(ahead, visibility="private")])]
    assert engine.sync_account(settings.accounts[0]).ok
    with database.session(write=False) as s:
        subjects = list(s.scalars(select(Reminder.subject)))
    assert subjects and not any("Acquisition" in (r or "") for r in subjects)

"""Erasure appends its change-feed events (both databases): an interaction
deleted outright by purge (the ``syncd purge`` command and the function), or
because the only rep who saw it marked it private (through the real engine
and the scripted provider), appends ``interaction.deleted`` with ``erased``
and no content; the reminders it closes append ``reminder.resolved``
(``superseded``, the reason, no subject). A dry run, and a rep's copy dropped
while another rep keeps the interaction, append nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from providers.base import Message
from syncd.lifecycle.purge import purge
from syncd.store.change_events import STATE_FIELDS
from syncd.store.changes import FeedEvent, read_changes
from syncd.store.database import Database
from tests.syncd.lifecycle.test_purge import run, seed
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, SAM, World, settings

SECRET = {"subject": "Secret merger terms", "snippet": "We accept 42 per share",
          "body": "We accept 42 per share. Confidential."}


def feed(db: Database, after: int = 0) -> list[FeedEvent]:
    return read_changes(db, after=after, limit=1000).events


def last_position(db: Database) -> int:
    return read_changes(db, after=0, limit=1).last_position


def private_settings() -> Any:
    base = {"provider": "local", "backfill_days": 0}
    return settings(accounts=[
        {**base, "id": "rita-mail", "owner": RITA.email, "private_label": "Private"},
        {**base, "id": "sam-mail", "owner": SAM.email}], privacy={"level": "full"})


def secret_mail(n: int, *, tags: tuple[str, ...] = (), to: tuple[Any, ...] = (RITA,),
                account: str = "rita-mail") -> Message:
    return Message(provider_id=f"{account}/{n}", message_id=f"secret{n}@acme.example",
                   sent_at=MONDAY + timedelta(minutes=n), sender=ANN, to=to, folder="INBOX",
                   tags=tags, subject=SECRET["subject"], snippet=SECRET["snippet"],
                   body=SECRET["body"])


def test_mail_marked_private_later_is_erased_without_content(database: Database) -> None:
    w = World(database, private_settings())
    w.contact(ANN)
    w.at(MONDAY).deliver(secret_mail(1))
    reminder = w.one("reply_needed")  # Ann waits for an answer
    [created] = [e for e in feed(database) if e.type == "interaction.created"]
    assert created.state["subject"] == SECRET["subject"]  # what the store kept (full)
    mark = last_position(database)

    w.at(MONDAY + timedelta(hours=1)).deliver(secret_mail(1, tags=("Private",)))

    after = feed(database, mark)
    assert [(e.type, e.entity_id) for e in after] == [
        ("reminder.resolved", reminder.id), ("interaction.deleted", created.entity_id)]
    resolved, deleted = after
    assert resolved.state["status"] == "superseded"
    assert resolved.state["reason"] == "marked private"
    assert deleted.state["erased"] is True and deleted.state["deleted"] is True
    assert deleted.state["reason"] == "marked private"
    assert set(deleted.state) == {*STATE_FIELDS, "erased", "reason"}
    assert deleted.state["kind"] == "email" and deleted.state["direction"] == "inbound"
    # nothing of the private mail's content, in any field of any event it caused
    for event in after:
        assert event.state.get("subject") is None
        assert event.state.get("snippet") is None and event.state.get("location") is None
    text = json.dumps([e.as_json() for e in after])
    for leak in ("Secret", "merger", "42", "Confidential"):
        assert leak not in text


def test_a_private_mark_that_leaves_another_reps_copy_appends_nothing(
        database: Database) -> None:
    w = World(database, private_settings())
    w.contact(ANN)
    shared = secret_mail(1, to=(RITA, SAM))
    w.at(MONDAY).deliver(shared)
    w.deliver(replace(shared, provider_id="sam-mail/1"), account="sam-mail")
    mark = last_position(database)
    w.at(MONDAY + timedelta(hours=1)).deliver(secret_mail(1, to=(RITA, SAM), tags=("Private",)))
    assert [e.type for e in feed(database, mark)
            if e.entity == "interaction"] == []  # sam still has it: not deleted


def test_purge_function_erases_and_closes_reminders_dry_run_appends_nothing(
        database: Database) -> None:
    w = World(database, private_settings())
    w.contact(ANN)
    w.at(MONDAY).mail(ANN, (RITA,), "Pricing")
    reminder = w.one("reply_needed")
    [interaction_id] = [e.entity_id for e in feed(database) if e.type == "interaction.created"]
    mark = last_position(database)
    with database.session() as s:
        report = purge(s, domains=["acme.example"], dry_run=True)
    assert report.removed.interactions == 1 and feed(database, mark) == []
    with database.session() as s:
        purge(s, domains=["acme.example"])
    after = feed(database, mark)
    assert [(e.type, e.entity_id) for e in after] == [
        ("reminder.resolved", reminder.id), ("interaction.deleted", interaction_id)]
    assert after[0].state["reason"] == "purged" and after[0].state["subject"] is None
    assert after[1].state["reason"] == "purged" and after[1].state["subject"] is None
    with database.session() as s:  # again: nothing left, nothing appended
        purge(s, domains=["acme.example"])
    assert len(feed(database, mark)) == 2


def test_purge_command_appends_one_deletion_per_erased_interaction(
        database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)  # 1: Ann to rita and sam; 2: rita to bo@eu.mail.acme
    mark = last_position(database)
    # rita's copies only: 1 stays (sam saw it), 2 is erased with its follow-up
    result = run(config, "purge", "--domain", "acme.example", "--account", "rita")
    assert result.exit_code == 0, result.output
    after = feed(database, mark)
    assert [(e.type, e.entity_id, e.state["reason"]) for e in after] == [
        ("reminder.resolved", 2, "purged"), ("interaction.deleted", 2, "purged")]
    assert after[0].state["kind"] == "follow_up" and after[0].state["status"] == "superseded"

    mark = after[-1].position
    result = run(config, "purge", "--domain", "acme.example")
    assert result.exit_code == 0, result.output
    after = feed(database, mark)
    assert [(e.type, e.entity_id) for e in after] == [
        ("reminder.resolved", 1), ("interaction.deleted", 1)]
    deleted = after[1].state
    assert deleted["erased"] is True and deleted["direction"] == "inbound"
    assert (deleted["subject"], deleted["snippet"], deleted["location"]) == (None, None, None)

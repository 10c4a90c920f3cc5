"""The private-meeting scenario every calendar backend runs through the real engine.

A meeting with a customer is logged with its title; the organizer then marks it
private and the next pass cuts it down (``privacy.private_events: busy``) or
removes it (``skip``), the change feed hearing either. Backends supply how to
(re)write the meeting on their server and the account settings; syncing goes
through the real provider built by the real factory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from syncd.config.model import Settings
from syncd.store.changes import read_changes
from syncd.store.database import Database
from syncd.store.schema import Interaction, Participant
from syncd.sync.engine import SyncEngine
from tests.generate import EventSpec

CUSTOMER = ("Ann Acme", "ann@acme.example")


def meeting(start: datetime, **over: Any) -> EventSpec:
    spec = EventSpec(uid="board@acme.example", title="Acquisition talks", start=start,
                     location="Ann's office", attendees=[(*CUSTOMER, "ACCEPTED")], tzid="UTC")
    return replace(spec, **over)


def stored(db: Database) -> list[tuple[str | None, str | None]]:
    with db.session(write=False) as s:
        return [(r.subject, r.location) for r in s.execute(
            select(Interaction.subject, Interaction.location)
            .where(Interaction.kind == "meeting"))]


def run_scenario(db: Database, account: dict[str, Any], rule: str, start: datetime,
                 put: Callable[[EventSpec], None], clock: Callable[[], datetime]) -> None:
    """Log the meeting, mark it private, pass again; assert what ``rule`` says."""
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "privacy": {"level": "full", "private_events": rule},
        "accounts": [account]})
    engine = SyncEngine(db, settings, clock=clock, fetch_process="never")
    put(meeting(start))
    first = engine.sync_account(settings.accounts[0])
    assert first.ok, first.to_dict()
    assert stored(db) == [("Acquisition talks", "Ann's office")]
    mark = read_changes(db, after=0, limit=1).last_position
    put(meeting(start, classification="PRIVATE", sequence=1))
    second = engine.sync_account(settings.accounts[0])
    assert second.ok, second.to_dict()
    feed = [e for e in read_changes(db, after=mark, limit=100).events
            if e.entity == "interaction" and e.state.get("kind") == "meeting"]
    if rule == "busy":
        assert stored(db) == [(None, None)]
        with db.session(write=False) as s:  # participants and times stay
            assert CUSTOMER[1] in set(s.scalars(select(Participant.address)))
        assert [e.type for e in feed] == ["interaction.updated"]
        assert feed[0].state["subject"] is None
    else:
        assert stored(db) == []
        assert [(e.type, e.state["reason"]) for e in feed] == [
            ("interaction.deleted", "marked private")]

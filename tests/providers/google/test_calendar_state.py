"""Edits of a recurring series on the Google Calendar stand-in, through the real engine.

The organizer drops a moved instance's exception (it returns to its series
slot with the series' SEQUENCE, lower than the exception's) and cancels
another instance: the calendar's current state must win in the store.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Interaction
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, EventSpec
from tests.providers.google.conftest import REP, endpoints
from tests.standins.google import GoogleStandIn

BOB = "bob@ourco.example"
ZOE = "zoe@acme.example"
WEEK = timedelta(days=7)
START = BASE_TIME + timedelta(hours=6)


def rid(n: int) -> str:
    return (START + n * WEEK).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meetings(db: Database) -> dict[str, tuple[Any, ...]]:
    """(start, status, sequence, deleted) by recurrence id."""
    with db.session(write=False) as s:
        return {row.dedupe_key.split("#", 1)[1]: (
                    row.occurred_at.replace(tzinfo=UTC), row.status, row.sequence, row.deleted)
                for row in s.scalars(select(Interaction).where(Interaction.kind == "meeting"))}


def test_dropped_exception_and_cancelled_instance_win_in_one_and_two_calendars(
        tmp_path: Path, standin: GoogleStandIn, key_file: Path) -> None:
    spec = EventSpec(uid="review@acme.example", title="Pipeline review", start=START,
                     organizer=("Zoë", ZOE), tzid="UTC", rrule="FREQ=WEEKLY;COUNT=4",
                     attendees=[("Rita", REP, "ACCEPTED"), ("Bob", BOB, "ACCEPTED")],
                     moved_instances={START + WEEK: START + WEEK + timedelta(hours=3)})
    standin.add_event(REP, "primary", spec)

    def account(ident: str, owner: str) -> dict[str, object]:
        return {"id": ident, "provider": "google_calendar", "owner": owner,
                "auth": {"service_account_file": str(key_file)},
                "endpoints": endpoints(standin), "past_days": 30, "future_days": 60,
                "transport": {"max_retries": 2, "base_backoff": 0.02, "max_backoff": 0.1}}

    settings = Settings.model_validate({
        "state_dir": str(tmp_path), "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [account("gcal-rita", REP), account("gcal-bob", BOB)]})
    db = Database(f"sqlite:///{tmp_path / 'syncd.db'}")
    db.migrate()
    engine = SyncEngine(db, settings, clock=lambda: BASE_TIME)
    rita, bob = settings.account("gcal-rita"), settings.account("gcal-bob")
    try:
        assert engine.sync_account(rita).created == 4
        assert meetings(db)[rid(1)][:3] == (START + WEEK + timedelta(hours=3), "confirmed", 1)

        # Rita's calendar alone holds it: the exception is dropped (back to
        # SEQUENCE 0) and week 2 cancelled, the series' SEQUENCE unchanged
        spec.moved_instances = {}
        spec.cancelled_instances = [START + 2 * WEEK]
        standin.add_event(REP, "primary", spec)
        result = engine.sync_account(rita)
        assert result.ok, result.to_dict()
        state = meetings(db)
        assert state[rid(1)] == (START + WEEK, "confirmed", 0, False)
        assert state[rid(2)][:2] == (START + 2 * WEEK, "cancelled")
        assert result.updated == 4  # all four were re-stamped; two of them changed for real

        # Bob's calendar gets the same series later, with week 3 moved: two
        # calendars now compete and the last-modified copy wins, here Bob's
        spec.moved_instances = {START + 3 * WEEK: START + 3 * WEEK + timedelta(hours=1)}
        standin.add_event(BOB, "primary", spec)
        assert engine.sync_account(bob).ok
        assert meetings(db)[rid(3)][:3] == (START + 3 * WEEK + timedelta(hours=1),
                                            "confirmed", 1)
        # Rita's calendar then drops that exception again: newer, so it wins too
        spec.moved_instances = {}
        standin.add_event(REP, "primary", spec)
        assert engine.sync_account(rita).ok
        assert meetings(db)[rid(3)][:3] == (START + 3 * WEEK, "confirmed", 0)

        # the series is cut to two weeks in Rita's calendar: Google sends the
        # dropped instances as bare cancelled entries, so Rita's copies of them
        # are deleted; Bob's calendar still has them, so the meetings stay
        spec.rrule = "FREQ=WEEKLY;COUNT=2"
        standin.add_event(REP, "primary", spec)
        cut = engine.sync_account(rita)
        assert (cut.ok, cut.deleted, cut.restored) == (True, 2, 0), cut.to_dict()
        assert not any(deleted for *_, deleted in meetings(db).values())
        # ... and lengthened again: Rita's copies are back
        spec.rrule = "FREQ=WEEKLY;COUNT=4"
        standin.add_event(REP, "primary", spec)
        back = engine.sync_account(rita)
        assert (back.ok, back.deleted, back.restored) == (True, 0, 2), back.to_dict()
    finally:
        db.dispose()

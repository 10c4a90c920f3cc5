"""Edits of a recurring series on the Graph stand-in, through the real engine.

An exception dropped without touching the series brings its instance back
with the series' lastModifiedDateTime, older than the exception's: the
calendar's current state must still win in the store. A cancelled instance
arrives as an exception with ``isCancelled``.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Interaction
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, EventSpec
from tests.providers.microsoft.conftest import MAILBOX, auth_settings, fast_limits
from tests.standins.graph import GraphStandIn

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"])

WEEK = timedelta(days=7)
START = BASE_TIME + timedelta(hours=6)


def rid(n: int) -> str:
    return (START + n * WEEK).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meetings(db: Database) -> dict[str, tuple[Any, ...]]:
    """(start, status, deleted) by recurrence id."""
    with db.session(write=False) as s:
        return {row.dedupe_key.split("#", 1)[1]: (
                    row.occurred_at.replace(tzinfo=UTC), row.status, row.deleted)
                for row in s.scalars(select(Interaction).where(Interaction.kind == "meeting"))}


def test_dropped_exception_and_cancelled_instance_win(
        database: Database, standin: GraphStandIn) -> None:
    spec = EventSpec(uid="review@test", title="Pipeline review", start=START, tzid="UTC",
                     rrule="FREQ=WEEKLY;COUNT=4",
                     attendees=[("Bob", "bob@acme.example", "ACCEPTED")],
                     moved_instances={START + WEEK: START + WEEK + timedelta(hours=3)})
    standin.add_event(MAILBOX, spec)
    config = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-cal", "provider": "outlook_calendar", "owner": MAILBOX,
                      "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                      "limits": fast_limits(), "past_days": 30, "future_days": 60}]})
    engine = SyncEngine(database, config, clock=lambda: BASE_TIME)
    account = config.accounts[0]
    first = engine.sync_account(account)
    assert first.ok and first.created == 4, first.to_dict()
    assert meetings(database)[rid(1)] == (START + WEEK + timedelta(hours=3), "confirmed", False)

    spec.moved_instances = {}
    spec.cancelled_instances = [START + 2 * WEEK]
    standin.add_event(MAILBOX, spec)
    second = engine.sync_account(account)
    assert second.ok, second.to_dict()
    state = meetings(database)
    assert state[rid(1)] == (START + WEEK, "confirmed", False)
    assert state[rid(2)] == (START + 2 * WEEK, "cancelled", False)
    assert (second.items, second.updated, second.deleted) == (2, 2, 0)

    # the organizer deletes the series' last instance: Graph reports it removed
    spec.rrule = "FREQ=WEEKLY;COUNT=3"
    standin.add_event(MAILBOX, spec)
    third = engine.sync_account(account)
    assert third.ok, third.to_dict()
    assert meetings(database)[rid(3)][2] is True
    assert (third.deleted, third.restored) == (1, 0)

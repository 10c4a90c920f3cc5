"""Edits of a recurring series on Radicale reach the store through the real engine.

The organizer edits the series without raising its SEQUENCE (usual for
events without invitees): the calendar's current state must still win over
what an earlier pass stored, and the pass summary must say what changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from syncd.directory.contacts import import_companies
from syncd.store.database import Database
from syncd.store.schema import Interaction
from syncd.sync.engine import SyncEngine
from syncd.sync.outcome import PassResult
from tests.generate import BASE_TIME
from tests.providers.caldav.backend import RadicaleBackend
from tests.providers.caldav.test_engine import settings_for

WEEK = timedelta(days=7)
UID = "review@test"
START = BASE_TIME + timedelta(hours=6)
#: the series was created at T0 and its second instance moved at T2
T0, T2 = BASE_TIME - timedelta(days=3), BASE_TIME - timedelta(days=1)


@pytest.fixture
def db_backend() -> str:
    return "sqlite"  # the store's own tests cover PostgreSQL


def rid(n: int) -> str:
    return (START + n * WEEK).strftime("%Y-%m-%dT%H:%M:%SZ")


def _vevent(start: datetime, modified: datetime, sequence: int) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", UID)
    ev.add("summary", "Pipeline review")
    ev.add("dtstamp", modified)
    ev.add("last-modified", modified)
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(hours=1))
    ev.add("sequence", sequence)
    ev.add("organizer", icalendar.vCalAddress("mailto:rita@ourco.example"))
    bob = icalendar.vCalAddress("mailto:bob@acme.example")
    bob.params["PARTSTAT"] = "ACCEPTED"
    ev.add("attendee", bob)
    return ev


def series(*, count: int = 4, modified: datetime = T0, moved: bool = False,
           excluded: tuple[int, ...] = ()) -> str:
    """The series resource; ``moved``: week 1 moved 3 h later by an override
    (SEQUENCE:1, LAST-MODIFIED T2); ``excluded``: weeks removed by EXDATE."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//syncd tests//EN")
    cal.add("version", "2.0")
    master = _vevent(START, modified, 0)
    master.add("rrule", icalendar.vRecur.from_ical(f"FREQ=WEEKLY;COUNT={count}"))
    for n in excluded:
        master.add("exdate", START + n * WEEK)
    cal.add_component(master)
    if moved:
        override = _vevent(START + WEEK + timedelta(hours=3), T2, 1)
        override.add("recurrence-id", START + WEEK)
        cal.add_component(override)
    return str(cal.to_ical().decode("utf-8"))


def rows(db: Database) -> dict[str, Interaction]:
    with db.session(write=False) as s:
        found = s.scalars(select(Interaction).where(Interaction.dedupe_key.like(f"{UID}#%")))
        return {row.dedupe_key.split("#", 1)[1]: row for row in found}


def counts(result: PassResult) -> dict[str, int]:
    assert result.ok, result.error_message
    return {"items": result.items, "created": result.created, "updated": result.updated,
            "deleted": result.deleted, "restored": result.restored}


@pytest.mark.parametrize("modified", [T0, T0 + timedelta(hours=12)],
                         ids=["stamps-unchanged", "stamps-older-than-the-override"])
def test_series_edit_without_a_sequence_bump_wins_and_is_counted(
        database: Database, radicale_backend: RadicaleBackend, tmp_path: Path,
        modified: datetime) -> None:
    companies = tmp_path / "companies.csv"
    companies.write_text("name,domains\nAcme,acme.example\n", encoding="utf-8")
    import_companies(database, companies)
    backend = radicale_backend
    settings = settings_for(backend)
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME)
    account = settings.accounts[0]

    backend.put_ics(UID, series(moved=True))
    assert counts(engine.sync_account(account)) == {
        "items": 4, "created": 4, "updated": 0, "deleted": 0, "restored": 0}
    before = rows(database)
    assert before[rid(1)].occurred_at.replace(tzinfo=None) == (
        START + WEEK + timedelta(hours=3)).replace(tzinfo=None)
    assert before[rid(1)].sequence == 1

    # the override is removed and week 2 excluded; SEQUENCE stays 0 and the
    # stamps are the series' own (unchanged, or older than the override's)
    backend.put_ics(UID, series(modified=modified, excluded=(2,)))
    second = counts(engine.sync_account(account))
    after = rows(database)
    assert after[rid(1)].occurred_at.replace(tzinfo=None) == (START + WEEK).replace(tzinfo=None)
    assert after[rid(2)].status == "cancelled"
    assert [after[rid(n)].status for n in (0, 1, 3)] == ["confirmed"] * 3
    assert not any(row.deleted for row in after.values())
    # every instance changed: weeks 1 and 2 as edited, and all of them lost the
    # SEQUENCE:1 the override had lent the whole expansion
    assert second == {"items": 4, "created": 0, "updated": 4, "deleted": 0, "restored": 0}

    # the series is cut short: the instances that left the expansion are deleted
    backend.put_ics(UID, series(count=2, modified=modified, excluded=(2,)))
    third = counts(engine.sync_account(account))
    after = rows(database)
    assert [after[rid(n)].deleted for n in range(4)] == [False, False, True, True]
    assert third == {"items": 4, "created": 0, "updated": 0, "deleted": 2, "restored": 0}

    # ... and lengthened again: they come back, week 2 still cancelled
    backend.put_ics(UID, series(count=4, modified=modified, excluded=(2,)))
    fourth = counts(engine.sync_account(account))
    after = rows(database)
    assert not any(row.deleted for row in after.values())
    assert after[rid(2)].status == "cancelled" and after[rid(3)].status == "confirmed"
    assert fourth == {"items": 4, "created": 0, "updated": 0, "deleted": 0, "restored": 2}

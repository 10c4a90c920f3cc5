"""Relationship facts kept by every write path (pages, late matching, removal), on
SQLite and PostgreSQL: the facts kept along random sequences equal a full
recompute (property test), replays write nothing, strength orders reps and decays
on read, and the configured half-life is what rows are written with."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.config.relationships import RelationshipSettings
from syncd.store.database import Database
from syncd.store.relationships import Relationship, configure, read_relationships
from syncd.store.rollups import rebuild_rollups
from syncd.store.schema import (
    Company,
    CompanyDomain,
    CompanyExchangeDay,
    CompanyReplies,
    CompanyStrength,
    Contact,
    ContactEmail,
    ContactExchangeDay,
    ContactReplies,
    ContactStrength,
)
from syncd.store.sql import table_of
from syncd.store.types import utcnow
from tests.syncd.sync.test_rollups import World, empty_store, settings_for, steps

TABLES = (ContactReplies, CompanyReplies, ContactStrength, CompanyStrength,
          ContactExchangeDay, CompanyExchangeDay)


def rows(s: Session) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in TABLES:
        table = table_of(model)
        out[table.name] = [tuple(r) for r in s.execute(
            select(*table.columns).order_by(*table.primary_key.columns))]
    return out


def company(world: World, domain: str, now: datetime) -> Relationship:
    with world.db.session(write=False) as s:
        company_id = s.scalar(select(CompanyDomain.company_id)
                              .where(CompanyDomain.domain == domain))
        assert company_id is not None
        return read_relationships(s, "company", [company_id], now=now)[company_id]


def test_reply_times_and_strongest_connection(database: Database) -> None:
    world = World(database, settings_for())
    world.add_company("acme.example")
    world.add_contact("ann@acme.example")
    world.mail(1, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-20)
    world.mail(2, "acc-rita", "ann@acme.example", outbound=True, thread=1, days=-19.5)
    world.mail(3, "acc-sam", "ann@acme.example", outbound=True, thread=2, days=-3)
    world.mail(4, "acc-sam", "ann@acme.example", outbound=False, thread=2, days=-2)
    world.mail(5, "acc-sam", "ann@acme.example", outbound=True, thread=2, days=-1)
    world.meeting(6, "acc-sam", "ann@acme.example", uid=1, days=-1)
    now = utcnow()
    acme = company(world, "acme.example", now)
    # ours: 12 h + 1 min (thread 1) and 1 day + 1 min (thread 2); theirs: 1 day + 1 min
    assert acme.our_replies == 2 and acme.their_replies == 1
    assert acme.our_median_reply_s == (0.5 * 86400 + 60 + 86400 + 60) / 2
    assert acme.their_median_reply_s == 86400 + 60
    assert [c.rep for c in acme.connections] == ["sam@ourco.example", "rita@ourco.example"]
    assert acme.strongest is not None and acme.strongest.meetings == 1
    later = company(world, "acme.example", now + timedelta(days=60))
    assert later.connections[0].strength < acme.connections[0].strength / 2
    with database.session(write=False) as s:
        contact_id = s.scalar(select(ContactEmail.contact_id))
        assert contact_id is not None
        ann = read_relationships(s, "contact", [contact_id], now=now)[contact_id]
    assert ann.connections == acme.connections


def test_replays_write_nothing_and_the_half_life_is_configured(database: Database) -> None:
    world = World(database, settings_for())
    world.add_company("acme.example")
    world.mail(1, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-3)
    world.mail(2, "acc-rita", "ann@acme.example", outbound=True, thread=1, days=-2)
    with database.session(write=False) as s:
        before = rows(s)
    world.commit(*world.written[-1])
    with database.session(write=False) as s:
        assert rows(s) == before
        assert set(s.scalars(select(CompanyStrength.half_life_days))) == {30.0}
    configure(database, RelationshipSettings(half_life_days=7))
    with database.session() as s:
        rebuild_rollups(s, now=utcnow())
    with database.session(write=False) as s:
        assert set(s.scalars(select(CompanyStrength.half_life_days))) == {7.0}


def assert_kept_equal_rebuilt(db: Database, step: object) -> None:
    with db.session() as s:
        kept = rows(s)
        savepoint = s.begin_nested()
        rebuild_rollups(s, now=utcnow())
        rebuilt = rows(s)
        savepoint.rollback()
    assert rebuilt == kept, f"after {step}"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(steps, min_size=6, max_size=25))
def test_facts_kept_along_the_way_equal_a_full_recompute(
        database: Database, script: list[tuple[Any, ...]]) -> None:
    empty_store(database)
    world = World(database, settings_for(auto_create=True))
    world.add_company("acme.example")
    world.add_contact("ann@acme.example")
    for n, step in enumerate(script):
        world.play(n, step)
        assert_kept_equal_rebuilt(database, step)
    with database.session(write=False) as s:  # rows belong to existing parties
        assert set(s.scalars(select(CompanyReplies.company_id))) <= set(
            s.scalars(select(Company.id)))
        assert set(s.scalars(select(ContactReplies.contact_id))) <= set(
            s.scalars(select(Contact.id)))

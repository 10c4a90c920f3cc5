"""The rollup backlog: pages of a long pass mark, the last page (or the lag bound)
refreshes, nothing is lost to a crash or to a concurrent page, on SQLite and
PostgreSQL.

Pages go through the real ``commit_page`` and the real engine (the shared
scripted provider at the provider edge); the reference is always
``rebuild_rollups`` (every party recomputed from the rows).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from providers.base import Address, Message, Page
from syncd.config.model import Settings
from syncd.errors import TransientError
from syncd.reminders.service import sweep
from syncd.store import rollup_backlog as backlog
from syncd.store.database import Database
from syncd.store.rollup_facts import Rollup
from syncd.store.rollups import rebuild_rollups
from syncd.store.schema import ContactEmail, RollupBacklog
from syncd.store.types import utcnow
from syncd.sync.commit import settle_rollups
from syncd.sync.engine import SyncEngine
from tests.scripted import Script, ScriptedFactory
from tests.syncd.sync.test_rollups import (
    REPS,
    World,
    all_rollups,
    assert_kept_equal_rebuilt,
    empty_store,
    settings_for,
    steps,
)

ANN = "ann@acme.example"


def marked(db: Database) -> set[tuple[str, int]]:
    with db.session(write=False) as s:
        return {(k, i) for k, i in s.execute(select(RollupBacklog.kind, RollupBacklog.party_id))}


def acme_world(db: Database, config: Settings | None = None) -> World:
    world = World(db, config or settings_for())
    world.add_company("acme.example")
    world.add_contact(ANN)
    return world


def ann_id(db: Database) -> int:
    with db.session(write=False) as s:
        found = s.scalar(select(ContactEmail.contact_id).where(ContactEmail.address == ANN))
    assert found is not None
    return found


# ---------------------------------------------------------------------- commit_page


def test_pages_before_the_last_mark_and_the_last_refreshes_once(database: Database) -> None:
    world = acme_world(database)
    world.final = False
    world.mail(1, "acc-rita", ANN, outbound=False, thread=1, days=-3)
    world.mail(2, "acc-rita", ANN, outbound=True, thread=1, days=-2)
    assert {kind for kind, _ in marked(database)} == {"contact", "company"}
    assert world.contact(ANN, utcnow()).interactions_total == 0  # not refreshed yet
    world.final = True
    world.mail(3, "acc-sam", ANN, outbound=True, thread=1, days=-1)
    assert marked(database) == set()
    ann = world.contact(ANN, utcnow())
    assert ann.interactions_total == 3 and ann.last_exchange_at is not None
    assert_kept_equal_rebuilt(database, "last page")


def test_a_page_after_the_lag_bound_refreshes_without_being_last(database: Database) -> None:
    world = acme_world(database)
    world.final = False
    backlog.pace.last_flush_s = 0.0  # no earlier flush of this process stretches the lag
    start = utcnow().replace(microsecond=0)
    world.clock = start
    world.mail(1, "acc-rita", ANN, outbound=False, thread=1, days=-3)
    world.clock = start + backlog.MAX_LAG - timedelta(seconds=1)
    world.mail(2, "acc-rita", ANN, outbound=True, thread=1, days=-2)
    assert marked(database)  # younger than the bound: still marked
    world.clock = start + backlog.MAX_LAG
    world.mail(3, "acc-rita", ANN, outbound=False, thread=1, days=-1)
    assert marked(database) == set()
    assert world.contact(ANN, utcnow()).interactions_total == 3
    assert_kept_equal_rebuilt(database, "lag bound")


def test_a_crash_leaves_marks_that_a_restart_or_the_clock_job_refreshes(
        database: Database) -> None:
    config = settings_for()
    world = acme_world(database, config)
    world.final = False  # the process dies before its pass's last page
    world.mail(1, "acc-rita", ANN, outbound=False, thread=1, days=-3)
    world.mail(2, "acc-rita", ANN, outbound=True, thread=1, days=-2)
    restarted = Database(str(database.engine.url.render_as_string(hide_password=False)))
    try:
        assert marked(restarted)
        contacts, companies = settle_rollups(restarted, config)
        assert ann_id(restarted) in contacts and companies
        assert marked(restarted) == set()
        assert_kept_equal_rebuilt(restarted, "restart")
        # the clock job flushes too, before the relationship rules read the facts
        world.mail(3, "acc-sam", ANN, outbound=True, thread=1, days=-1)
        assert marked(restarted)
        sweep(restarted, config)
        assert marked(restarted) == set()
        assert_kept_equal_rebuilt(restarted, "sweep")
    finally:
        restarted.dispose()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(steps, st.booleans()), min_size=6, max_size=24), st.booleans())
def test_unmarked_parties_always_equal_a_full_recompute(
        database: Database, script: list[tuple[tuple[Any, ...], bool]],
        auto_create: bool) -> None:
    """Whatever pages mark or refresh, with late matching, purges and private marks
    between them: a party without a mark has exactly the rollups of a full
    recompute, and after a settle every party has."""
    empty_store(database)
    world = acme_world(database, settings_for(auto_create=auto_create))
    for n, (step, final) in enumerate(script):
        world.final = final
        if step[0] != "again":
            world.play(n, step)
        assert_unmarked_equal_rebuilt(database, step)
    settle_rollups(database, world.config)
    assert marked(database) == set()
    assert_kept_equal_rebuilt(database, "settled")


def assert_unmarked_equal_rebuilt(db: Database, step: object) -> None:
    now = utcnow()
    with db.session() as s:
        pending = {(k, i) for k, i in s.execute(select(RollupBacklog.kind,
                                                       RollupBacklog.party_id))}
        kept = _unmarked(all_rollups(s, now), pending)
        savepoint = s.begin_nested()
        rebuild_rollups(s, now=now)
        rebuilt = _unmarked(all_rollups(s, now), pending)
        savepoint.rollback()
    assert kept == rebuilt, f"after {step}"


def _unmarked(rollups: dict[str, dict[int, Rollup]], pending: set[tuple[str, int]]
              ) -> dict[str, dict[int, Rollup]]:
    return {kind: {i: r for i, r in by_id.items() if (kind, i) not in pending}
            for kind, by_id in rollups.items()}


# ---------------------------------------------------------------------- the engine


def mail_page(n: int, *, outbound: bool) -> Page:
    rep, ann = Address(REPS["acc-rita"]), Address(ANN)
    return Page("INBOX", [Message(
        provider_id=f"INBOX/{n}", message_id=f"p{n}@mail.example",
        sent_at=utcnow().replace(microsecond=0) - timedelta(days=10 - n),
        sender=rep if outbound else ann, to=(ann if outbound else rep,),
        subject="Pricing", folder="INBOX", references=("root@mail.example",))],
        cursor={"n": n})


def engine_for(db: Database, script: Script) -> tuple[SyncEngine, Settings]:
    config = settings_for()
    acme_world(db, config)
    factory = ScriptedFactory({"acc-rita": script, "acc-sam": Script()})
    return SyncEngine(db, config, provider_factory=factory), config


def test_a_pass_marks_while_it_runs_and_settles_at_its_last_page(database: Database) -> None:
    seen: list[int] = []

    def count_marks(page: Page) -> None:
        del page  # handed over after the engine committed the page before it
        with database.session(write=False) as s:
            seen.append(backlog.pending(s))

    script = Script([mail_page(n, outbound=n % 2 == 0) for n in range(1, 5)],
                    on_page=count_marks)
    engine, config = engine_for(database, script)
    assert engine.sync_account(config.accounts[0]).ok
    # read one page ahead: pages 1 and 2 were committed, not last (their contact and
    # company marked), when pages 3 and 4 were handed over
    assert seen == [0, 0, 2, 2]
    assert marked(database) == set()
    assert world_contact_total(database) == 4
    assert_kept_equal_rebuilt(database, "pass")


def test_a_pass_that_fails_or_stops_midway_settles_what_it_marked(database: Database) -> None:
    script = Script([mail_page(n, outbound=n % 2 == 0) for n in range(1, 4)])
    script.fail_next(TransientError("imap.example: connection reset"), after=2)
    engine, config = engine_for(database, script)
    result = engine.sync_account(config.accounts[0])
    assert not result.ok and result.pages == 2  # the page before the failure was the last
    assert marked(database) == set()
    assert world_contact_total(database) == 2

    stop = threading.Event()
    script.deliver(mail_page(4, outbound=True), mail_page(5, outbound=False))
    script.on_page = lambda page: stop.set()  # a stop requested while page 3 is written
    result = engine.sync_account(config.accounts[0], stop=stop)
    assert result.pages == 1  # page 3, committed as not last (page 4 was read)
    assert world_contact_total(database) == 3
    assert marked(database) == set()
    assert_kept_equal_rebuilt(database, "stopped")


def world_contact_total(db: Database) -> int:
    with db.session(write=False) as s:
        return all_rollups(s, utcnow())["contact"][ann_id(db)].interactions_total


# ---------------------------------------------------------------------- PostgreSQL races


def _mark_and_hold(db: Database, party: int, marked_event: threading.Event,
                   release: threading.Event) -> None:
    with db.session() as s:
        backlog.mark(s, [party], [], now=utcnow())
        marked_event.set()
        release.wait(10)


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_flush_skips_the_marks_of_a_page_in_flight(database: Database) -> None:
    acme_world(database)
    party = ann_id(database)
    with database.session() as s:  # an earlier page's mark, committed
        backlog.mark(s, [party], [], now=utcnow())
    held, release = threading.Event(), threading.Event()
    page = threading.Thread(target=_mark_and_hold, args=(database, party, held, release))
    page.start()
    try:
        assert held.wait(10)
        with database.session() as s:
            contacts, _ = backlog.flush(s, now=utcnow())
        # the page re-marked it and its rows are not committed: skipped, not dropped
        assert party not in contacts
    finally:
        release.set()
        page.join(10)
    assert ("contact", party) in marked(database)


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_a_page_marking_what_a_flush_holds_marks_it_again(database: Database) -> None:
    acme_world(database)
    party = ann_id(database)
    with database.session() as s:
        backlog.mark(s, [party], [], now=utcnow())
    done = threading.Event()

    def page() -> None:
        with database.session() as s:
            backlog.mark(s, [party], [], now=utcnow())  # waits for the flush's lock
        done.set()

    thread = threading.Thread(target=page)
    with database.session() as s:
        contacts, _ = backlog.flush(s, now=utcnow())
        assert party in contacts
        thread.start()
        assert not done.wait(0.5), "marking did not wait for the flush holding the mark"
    thread.join(10)
    assert done.is_set()
    assert ("contact", party) in marked(database)  # the page's rows get their refresh


def test_marking_keeps_the_first_time(database: Database) -> None:
    acme_world(database)
    party = ann_id(database)
    first = datetime(2026, 12, 1, 9, 0, tzinfo=utcnow().tzinfo)
    with database.session() as s:
        backlog.mark(s, [party, None], [], now=first)
    with database.session() as s:
        backlog.mark(s, [party], [], now=first + timedelta(hours=1))
        assert backlog.due(s, now=first + backlog.MAX_LAG)
        assert not backlog.due(s, now=first + backlog.MAX_LAG - timedelta(seconds=1))
        assert s.scalar(select(RollupBacklog.marked_at)) == first


def test_the_lag_grows_with_the_last_flush_so_flushing_stays_a_small_share() -> None:
    pace = backlog.Pace()
    assert pace.lag() == backlog.MAX_LAG
    pace.last_flush_s = 1.0  # short flushes: the lag bound itself
    assert pace.lag() == backlog.MAX_LAG
    pace.last_flush_s = 8.0  # a flush rereading a big store's histories
    assert pace.lag() == timedelta(seconds=8.0 / backlog.FLUSH_SHARE)


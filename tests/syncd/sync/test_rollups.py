"""Relationship rollups kept by every write path, on SQLite and PostgreSQL.

Pages go through the real ``commit_page`` (triage, matching, page writer,
auto-creation, regrouping, reminders); late matching through ``relink`` as
the directory import does; removal through ``purge`` and ``forget_sources``.
The property test drives random sequences of all of them (replays,
deletions, meetings moved and cancelled, contacts and companies added
late, purges, mail marked private) and checks that the rollups kept along
the way equal a full recompute.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matching import canonical_address
from providers.base import Address, Attendee, Deletion, Event, Message, Page
from syncd.config.model import Settings
from syncd.config.policies import global_policy, policy_for
from syncd.lifecycle.purge import purge
from syncd.store.account_state import ensure_account
from syncd.store.database import Database, alembic_config
from syncd.store.relink import relink
from syncd.store.removal import forget_sources
from syncd.store.rollup_facts import Rollup
from syncd.store.rollups import (
    SCAN_MAX,
    SCAN_MIN_PARTIES,
    SCAN_SLICE,
    read_rollups,
    rebuild_rollups,
    scan_plan,
)
from syncd.store.schema import (
    Base,
    Company,
    CompanyDomain,
    CompanyExchangeDay,
    CompanyReplies,
    CompanyRepRollup,
    CompanyRollup,
    CompanyStrength,
    Contact,
    ContactEmail,
    ContactExchangeDay,
    ContactReplies,
    ContactRepRollup,
    ContactRollup,
    ContactStrength,
    Reminder,
)
from syncd.store.sql import table_of
from syncd.store.types import utcnow
from syncd.sync.commit import commit_page

REPS = {"acc-rita": "rita@ourco.example", "acc-sam": "sam@ourco.example"}
PEOPLE = ("ann@acme.example", "bob@acme.example", "cat@globex.example", "dan@gmail.com")
ROLLUP_TABLES = (ContactRollup, CompanyRollup, ContactRepRollup, CompanyRepRollup)
#: everything a refresh writes: the rollups and the relationship facts
REFRESHED_TABLES = (*ROLLUP_TABLES, ContactReplies, CompanyReplies, ContactStrength,
                    CompanyStrength, ContactExchangeDay, CompanyExchangeDay)


def settings_for(*, auto_create: bool = False) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "matching": {"auto_create": {"contacts": "sent", "companies": True}
                     if auto_create else {}},
        "accounts": [{"id": account, "provider": "local", "owner": owner,
                      "backfill_days": 36500} for account, owner in REPS.items()],
    })


@dataclass
class World:
    """The store plus what the test wrote, to replay, delete and forget items."""

    db: Database
    config: Settings
    now: datetime = field(default_factory=lambda: utcnow().replace(microsecond=0))
    written: list[tuple[str, Page]] = field(default_factory=list)
    #: what commit_page is told: whether no page of the pass follows (rollup_backlog)
    final: bool = True
    #: the page's "now" (None: the wall clock)
    clock: datetime | None = None

    def __post_init__(self) -> None:
        with self.db.session() as s:
            for account in self.config.accounts:
                ensure_account(s, account.id, provider=account.provider, owner=account.owner)

    def commit(self, account_id: str, page: Page) -> None:
        account = next(a for a in self.config.accounts if a.id == account_id)
        commit_page(self.db, self.config, account, policy_for(self.config, account), page,
                    now=self.clock, final=self.final)
        self.written.append((account_id, page))

    def mail(self, n: int, account_id: str, person: str, *, outbound: bool, thread: int,
             days: float, headerless: bool = False) -> None:
        rep = Address(REPS[account_id])
        other = Address(person)
        self.commit(account_id, Page("INBOX", [Message(
            provider_id=f"INBOX/{n}", message_id=f"m{n}@mail.example",
            sent_at=self.now + timedelta(days=days, minutes=n),
            sender=rep if outbound else other, to=(other if outbound else rep,),
            subject=f"{'Re: ' if headerless else ''}Topic {thread}", folder="INBOX",
            references=() if headerless else (f"root{thread}@mail.example",))]))

    def meeting(self, n: int, account_id: str, person: str, *, uid: int, days: float,
                cancelled: bool = False) -> None:
        start = self.now + timedelta(days=days)
        self.commit(account_id, Page("calendar", [Event(
            provider_id=f"cal/{uid}", uid=f"u{uid}", recurrence_id=None, start=start,
            end=start + timedelta(hours=1), title="Sync", organizer=Address(REPS[account_id]),
            attendees=(Attendee(Address(person), "accepted"),),
            status="cancelled" if cancelled else "confirmed", sequence=n)]))

    def delete(self, k: int) -> None:
        account_id, page = self.written[k]
        item = page.items[0]
        if not isinstance(item, (Message, Event)):
            return  # that page was a deletion itself
        kind: Any = "message" if isinstance(item, Message) else "event"
        self.commit(account_id, Page(page.resource, [Deletion(item.provider_id, kind)]))

    def copy(self, k: int, account_id: str) -> None:
        """The k-th item as another mailbox or calendar sees it (same message, new source)."""
        _, page = self.written[k]
        item = page.items[0]
        if isinstance(item, (Message, Event)):
            copy = replace(item, provider_id=f"{account_id}/{item.provider_id}")
            self.commit(account_id, Page(page.resource, [copy]))

    def forget(self, k: int) -> None:
        account_id, page = self.written[k]
        item = page.items[0]
        if not isinstance(item, (Message, Event)):
            return
        with self.db.session() as s:
            forget_sources(s, account_id, [item.provider_id])

    def add_company(self, domain: str) -> None:
        with self.db.session() as s:
            if s.scalar(select(CompanyDomain.id).where(CompanyDomain.domain == domain)):
                return
            company = Company(name=domain.split(".")[0].title(), tags=[])
            s.add(company)
            s.flush()
            s.add(CompanyDomain(company_id=company.id, domain=domain))
            s.flush()
            relink(s, global_policy(self.config), domains=[domain])

    def add_contact(self, person: str) -> int:
        address = canonical_address(person)
        assert address is not None
        with self.db.session() as s:
            found = s.scalar(select(ContactEmail.contact_id)
                             .where(ContactEmail.address == address))
            if found is not None:
                return found
            company = s.scalar(select(CompanyDomain.company_id).where(
                CompanyDomain.domain == address.rpartition("@")[2]))
            contact = Contact(name=person.split("@")[0].title(), tags=[], company_id=company)
            s.add(contact)
            s.flush()
            s.add(ContactEmail(contact_id=contact.id, address=address, original=person))
            s.flush()
            relink(s, global_policy(self.config), addresses=[address],
                   contact_ids=[contact.id])
            return contact.id

    def purge(self, person: str) -> None:
        with self.db.session() as s:
            purge(s, addresses=[person], policy=global_policy(self.config))

    def play(self, n: int, step: tuple[Any, ...]) -> None:
        """Step ``n`` of a generated script (see ``steps``); "again" is the caller's."""
        kind = step[0]
        if kind == "mail":
            _, account, person, outbound, thread, days, headerless = step
            self.mail(n, account, person, outbound=outbound, thread=thread, days=days,
                      headerless=headerless)
        elif kind == "exchange":
            _, account, person, we_start, thread, days = step
            self.mail(1000 + n, account, person, outbound=we_start, thread=thread, days=days)
            self.mail(2000 + n, account, person, outbound=not we_start, thread=thread,
                      days=days + 0.1)
        elif kind == "meeting":
            _, account, person, uid, days, cancelled = step
            self.meeting(n, account, person, uid=uid, days=days, cancelled=cancelled)
        elif kind in ("replay", "delete", "forget", "copy") and self.written:
            k = step[1] % len(self.written)  # counted from the first page written
            if kind == "copy":
                self.copy(k, step[2])
            elif kind == "replay":
                self.commit(*self.written[k])
            elif kind == "delete":
                self.delete(k)
            else:
                self.forget(k)
        elif kind == "contact":
            self.add_contact(step[1])
        elif kind == "company":
            self.add_company(step[1])
        elif kind == "purge":
            self.purge(step[1])

    def rollups(self, now: datetime) -> dict[str, dict[int, Rollup]]:
        with self.db.session(write=False) as s:
            return all_rollups(s, now)

    def contact(self, person: str, now: datetime) -> Rollup:
        with self.db.session(write=False) as s:
            contact_id = s.scalar(select(ContactEmail.contact_id).where(
                ContactEmail.address == person))
            assert contact_id is not None
            return read_rollups(s, "contact", [contact_id], now=now)[contact_id]

    def company(self, domain: str, now: datetime) -> Rollup:
        with self.db.session(write=False) as s:
            company_id = s.scalar(select(CompanyDomain.company_id).where(
                CompanyDomain.domain == domain))
            assert company_id is not None
            return read_rollups(s, "company", [company_id], now=now)[company_id]


def all_rollups(s: Session, now: datetime) -> dict[str, dict[int, Rollup]]:
    contacts = list(s.scalars(select(Contact.id)))
    companies = list(s.scalars(select(Company.id)))
    return {"contact": read_rollups(s, "contact", contacts, now=now),
            "company": read_rollups(s, "company", companies, now=now)}


def rollup_rows(db: Database, tables: tuple[type[Base], ...] = ROLLUP_TABLES
                ) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.session(write=False) as s:
        for model in tables:
            table = table_of(model)
            out[table.name] = [tuple(r) for r in s.execute(
                select(*table.columns).order_by(*table.primary_key.columns))]
    return out


def party_keys(s: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Which parties (and party-rep pairs) have rows."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in ROLLUP_TABLES:
        table = table_of(model)
        out[table.name] = [tuple(r) for r in s.execute(
            select(*table.primary_key.columns).order_by(*table.primary_key.columns))]
    return out


def assert_kept_equal_rebuilt(db: Database, step: object, scans: int | None = None) -> None:
    """The rollups kept so far equal a full recompute (done in a savepoint, undone),
    its histories read by index (``scans`` 0) or in that many scans."""
    now = utcnow()
    with db.session() as s:
        kept, kept_keys = all_rollups(s, now), party_keys(s)
        savepoint = s.begin_nested()
        rebuild_rollups(s, now=now, scans=scans)
        rebuilt, rebuilt_keys = all_rollups(s, now), party_keys(s)
        savepoint.rollback()
    assert rebuilt == kept, f"after {step}"
    assert rebuilt_keys == kept_keys, f"after {step}"


# ---------------------------------------------------------------------- scenario


def test_a_conversation_and_its_meetings_roll_up(database: Database) -> None:
    world = World(database, settings_for())
    world.add_company("acme.example")
    world.add_contact("ann@acme.example")
    world.mail(1, "acc-rita", "ann@acme.example", outbound=True, thread=1, days=-50)
    world.mail(2, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-40)
    world.mail(3, "acc-sam", "ann@acme.example", outbound=True, thread=1, days=-39)
    world.mail(4, "acc-rita", "ann@acme.example", outbound=True, thread=2, days=-10)  # no answer
    world.meeting(5, "acc-rita", "ann@acme.example", uid=1, days=3)
    world.meeting(6, "acc-rita", "ann@acme.example", uid=2, days=1, cancelled=True)
    now = utcnow()
    ann = world.contact("ann@acme.example", now)
    at = world.now
    assert ann.first_interaction_at == at + timedelta(days=-50, minutes=1)
    assert ann.last_interaction_at == at + timedelta(days=-10, minutes=4)
    assert ann.last_inbound_at == at + timedelta(days=-40, minutes=2)
    assert ann.last_outbound_at == at + timedelta(days=-10, minutes=4)
    assert ann.last_exchange_at == at + timedelta(days=-39, minutes=3)
    assert ann.next_meeting_at == at + timedelta(days=3)
    assert (ann.interactions_30d, ann.interactions_90d, ann.interactions_365d) == (1, 4, 4)
    assert (ann.interactions_total, ann.upcoming_meetings) == (4, 1)
    # the exchanges: Ann's reply (Rita's inbox) and Sam's answer to it
    assert [(r.rep, r.exchanges) for r in ann.top_reps] == [
        ("sam@ourco.example", 1), ("rita@ourco.example", 1)]
    assert 0.3 < ann.top_reps[0].strength < 0.45  # 39 days: 2 ** -1.3
    assert replace(world.company("acme.example", now), open_reminders=0) == replace(
        ann, open_reminders=0)


def test_replaying_a_page_writes_no_rollup(database: Database) -> None:
    world = World(database, settings_for())
    world.add_company("acme.example")
    world.mail(1, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-3)
    world.mail(2, "acc-rita", "ann@acme.example", outbound=True, thread=1, days=-2)
    before = rollup_rows(database)
    assert before["company_rollups"] and before["company_rep_rollups"]
    for account_id, page in list(world.written):
        world.commit(account_id, page)
    assert rollup_rows(database) == before


def test_late_matching_purge_and_reminders(database: Database) -> None:
    world = World(database, settings_for())
    world.mail(1, "acc-rita", "bob@acme.example", outbound=False, thread=1, days=-5)
    assert rollup_rows(database)["company_rollups"] == []  # nobody known yet
    world.add_company("acme.example")
    now = utcnow()
    assert world.company("acme.example", now).interactions_total == 1
    bob = world.add_contact("bob@acme.example")
    rollup = world.contact("bob@acme.example", now)
    assert rollup.last_inbound_at is not None
    with database.session() as s:
        s.add(Reminder(kind="follow_up", due_at=now, rule="test", contact_id=bob,
                       idempotency_key="test-1"))
    assert world.contact("bob@acme.example", now).open_reminders == rollup.open_reminders + 1
    world.purge("bob@acme.example")
    rollup = world.contact("bob@acme.example", now)
    assert rollup.interactions_total == 0 and rollup.last_inbound_at is None
    rows = rollup_rows(database)
    assert rows["company_rollups"] == rows["contact_rollups"] == []  # rows equal their definition


def test_mail_regrouping_moves_is_an_exchange_too(database: Database) -> None:
    """A header-less answer stays alone until its thread shows up; when a later pass
    regroups it there (its own row unchanged), the exchange it completes counts."""
    world = World(database, settings_for())
    world.add_company("acme.example")
    world.mail(1, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-10,
               headerless=True)  # "Re: Topic 1", no References
    world.mail(2, "acc-rita", "ann@acme.example", outbound=True, thread=1, days=-12)
    assert world.company("acme.example", utcnow()).last_exchange_at is None
    world.commit(*world.written[0])  # seen again: now regrouped into "Topic 1"
    rollup = world.company("acme.example", utcnow())
    assert rollup.last_exchange_at == world.now + timedelta(days=-10, minutes=1)
    assert_kept_equal_rebuilt(database, "regroup")


def test_auto_created_contacts_get_their_rollups(database: Database) -> None:
    world = World(database, settings_for(auto_create=True))
    world.mail(1, "acc-rita", "cat@globex.example", outbound=True, thread=1, days=-2)
    rollup = world.contact("cat@globex.example", utcnow())
    assert rollup.interactions_total == 1 and rollup.last_outbound_at is not None
    assert world.company("globex.example", utcnow()).interactions_total == 1


def test_the_migration_backfills_an_existing_store(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.migrate()
        world = World(db, settings_for())
        world.add_company("acme.example")
        world.mail(1, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-2)
        world.mail(2, "acc-sam", "ann@acme.example", outbound=True, thread=1, days=-1)
        now = utcnow()
        kept = world.company("acme.example", now)
        assert kept.interactions_total == 2 and kept.top_reps
        downgrade(db, "0004")  # a store from before rollups, with this history
        db.migrate()
        assert world.company("acme.example", now) == kept
    finally:
        db.dispose()


def downgrade(db: Database, revision: str) -> None:
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


# ---------------------------------------------------------------------- property

accounts = st.sampled_from(sorted(REPS))
people = st.sampled_from((*PEOPLE, PEOPLE[0], PEOPLE[1]))  # Acme's people more often
#: clustered around a few moments (threads and regrouping need nearby mail), across the
#: 400-day horizon and the 30/90/365-day windows
days = st.builds(lambda anchor, offset: anchor + offset,
                 st.sampled_from([-410, -380, -100, -45, -20, -3, 0, 4]), st.integers(0, 5))
mails = st.tuples(st.just("mail"), accounts, people, st.booleans(), st.integers(0, 1), days,
                  st.booleans())
copies = st.tuples(st.just("copy"), st.integers(0, 20), accounts)
#: they write, we answer (or the other way round) in one thread: a two-way exchange
exchanges = st.tuples(st.just("exchange"), accounts, people, st.booleans(), st.integers(0, 1),
                      days)
steps = st.one_of(
    mails, mails, exchanges, exchanges, copies, copies,
    st.tuples(st.just("meeting"), accounts, people, st.integers(0, 2), days, st.booleans()),
    st.tuples(st.just("replay"), st.integers(0, 40)),
    st.tuples(st.just("again")),
    st.tuples(st.just("delete"), st.integers(0, 40)),
    st.tuples(st.just("forget"), st.integers(0, 40)),
    st.tuples(st.just("contact"), people),
    st.tuples(st.just("company"), st.sampled_from(["acme.example", "globex.example"])),
    st.tuples(st.just("purge"), people),
)


def empty_store(db: Database) -> None:
    with db.session() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(delete(table))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(steps, min_size=8, max_size=30), st.booleans())
def test_rollups_kept_along_the_way_equal_a_full_recompute(
        database: Database, script: list[tuple[Any, ...]], auto_create: bool) -> None:
    empty_store(database)
    world = World(database, settings_for(auto_create=auto_create))
    world.add_company("acme.example")  # the rest of the directory arrives late (steps)
    world.add_contact("ann@acme.example")
    just_committed = False  # "again" replays the page committed by the step before
    for n, step in enumerate(script):
        kind = step[0]
        committed = len(world.written)
        if kind == "again" and just_committed:
            before = rollup_rows(database)
            world.commit(*world.written[-1])
            assert rollup_rows(database) == before, "an immediate replay wrote rollups"
        else:
            world.play(n, step)
        just_committed = len(world.written) > committed or (kind == "again" and just_committed)
        # the pages' refreshes read by index; the recompute by index or in scans
        assert_kept_equal_rebuilt(database, step, scans=n % 3)


@pytest.mark.parametrize("later_days", [0, 200])
def test_rebuild_is_a_fixed_point(database: Database, later_days: int) -> None:
    world = World(database, settings_for())
    world.add_company("acme.example")
    world.mail(1, "acc-rita", "ann@acme.example", outbound=False, thread=1, days=-30)
    world.mail(2, "acc-sam", "ann@acme.example", outbound=True, thread=1, days=-29)
    world.meeting(3, "acc-rita", "ann@acme.example", uid=1, days=10)
    read_at = utcnow() + timedelta(days=later_days)
    before = world.rollups(read_at)
    with database.session() as s:
        rebuild_rollups(s, now=utcnow())
    assert world.rollups(read_at) == before
    if later_days:
        acme = world.company("acme.example", read_at)
        assert acme.next_meeting_at is None and acme.interactions_30d == 0
        assert acme.interactions_365d == 3


def test_scans_and_the_index_read_the_same_histories(database: Database) -> None:
    """A refresh that reads the store in one scan or several writes exactly the
    rows that one reading by the party indexes writes."""
    world = World(database, settings_for())
    for domain in ("acme.example", "globex.example"):
        world.add_company(domain)
    for person in PEOPLE[:2]:  # cat@globex.example: her company's only
        world.add_contact(person)
    n = 0
    for thread, person in enumerate(PEOPLE * 2, start=1):
        for k, account in enumerate(("acc-rita", "acc-sam", "acc-rita")):
            n += 1
            world.mail(n, account, person, outbound=k != 1, thread=thread, days=-60 + n)
    world.meeting(n + 1, "acc-sam", PEOPLE[0], uid=1, days=-2)
    world.meeting(n + 2, "acc-rita", PEOPLE[2], uid=2, days=5)
    world.delete(3)
    now = utcnow()
    by_scan: dict[int, dict[str, list[tuple[Any, ...]]]] = {}
    for scans in (0, 1, 2, 3):
        with database.session() as s:
            for model in REFRESHED_TABLES:
                s.execute(delete(table_of(model)))
            rebuild_rollups(s, now=now, scans=scans)
        by_scan[scans] = rollup_rows(database, REFRESHED_TABLES)
    assert all(by_scan[0][table_of(m).name] for m in (ContactRollup, CompanyRollup,
                                                      ContactRepRollup, ContactReplies,
                                                      CompanyStrength, ContactExchangeDay))
    assert by_scan[1] == by_scan[0]
    assert by_scan[2] == by_scan[0]
    assert by_scan[3] == by_scan[0]


@pytest.mark.parametrize(("parties", "directory", "interactions", "scans"), [
    (SCAN_MIN_PARTIES - 1, 0, 10, 0),              # a small refresh reads by index
    (SCAN_MIN_PARTIES, SCAN_MIN_PARTIES * 4, 0, 1),  # a quarter of the directory: a scan
    (SCAN_MIN_PARTIES, SCAN_MIN_PARTIES * 4 + 1, 10, 0),
    (5_551, 5_803, 96_853, 1),                     # the 100,000-message initial sync
    (5_551, 5_803, SCAN_SLICE + 1, 2),             # a larger store: a share per scan
    (5_551, 5_803, SCAN_SLICE * SCAN_MAX, SCAN_MAX),
    (5_551, 5_803, SCAN_SLICE * SCAN_MAX + 1, 0),  # too large to hold: by index
])
def test_the_read_plan(parties: int, directory: int, interactions: int, scans: int) -> None:
    assert scan_plan(parties, directory=directory, interactions=interactions) == scans

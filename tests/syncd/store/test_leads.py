"""syncd.store.leads on both databases: one lead per address, the status machine,
conversion only when a contact owns the address, disqualification by address,
domain (subdomains too) and account scope, each change with its feed event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from providers.base import Address
from syncd.store.audit import ADMIN, Actor
from syncd.store.changes import read_changes
from syncd.store.database import Database
from syncd.store.lead_queries import list_leads
from syncd.store.leads import (
    TRANSITIONS,
    LeadError,
    NewLead,
    UnknownLead,
    add_leads,
    convert_leads,
    disqualify_leads,
    set_status,
)
from syncd.store.schema import Interaction
from tests.syncd.reminders.harness import MONDAY, RITA, World, settings

PERSON = Actor(name="t", viewer=ADMIN)


def statuses(db: Database) -> dict[str, str]:
    with db.session(write=False) as s:
        return {x.address: x.status for x in list_leads(s)}


def lead_events(db: Database) -> list[tuple[str, int]]:
    return [(e.type, e.entity_id) for e in read_changes(db, after=0, limit=1000).events
            if e.entity == "lead"]


def world(database: Database) -> World:
    w = World(database, settings(leads={"enabled": True}))
    w.at(MONDAY).mail(Address("ann@newco.example", "Ann"), (RITA,), "One")
    w.mail(Address("bob@eu.bigco.example", "Bob"), (RITA,), "Two")
    w.mail(Address("cy@bigco.example", "Cy"), (RITA,), "Three", account="sam-mail")
    return w


def test_status_machine_has_two_final_states() -> None:
    assert {s for s, moves in TRANSITIONS.items() if not moves} == {"converted",
                                                                    "disqualified"}
    assert "new" not in {m for moves in TRANSITIONS.values() for m in moves}


def test_adding_again_adds_nothing_and_the_earliest_message_wins(database: Database) -> None:
    world(database)
    with database.session() as s:
        first = s.get(Interaction, 1)
        assert first is not None
        again = NewLead(address="ann@newco.example", name="Ann", domain="newco.example",
                        first_interaction_id=first.id, source_account="rita-mail",
                        inbox=RITA.email, owner=RITA.email, received_at=MONDAY,
                        reason="lead: again")
        assert add_leads(s, [again]) == []
        fresh = [NewLead(address="dee@d.example", name=None, domain="d.example",
                         first_interaction_id=first.id, source_account="rita-mail",
                         inbox=None, owner=None, received_at=MONDAY + timedelta(hours=h),
                         reason=f"lead: {h}") for h in (2, 1)]
        [new_id] = add_leads(s, fresh)
    with database.session(write=False) as s:
        [dee] = [x for x in list_leads(s) if x.id == new_id]
        assert dee.reason == "lead: 1" and dee.received_at == MONDAY + timedelta(hours=1)
    assert [t for t, _ in lead_events(database)].count("lead.created") == 4


def test_conversion_needs_a_contact_owning_the_address(database: Database) -> None:
    w = world(database)
    with database.session() as s:
        assert convert_leads(s, ["ann@newco.example", "nobody@x.example"]) == []
    w.contact(Address("ann@newco.example", "Ann"))
    with database.session() as s:
        assert convert_leads(s, ["ann@newco.example"]) == [1]
        assert convert_leads(s, ["ann@newco.example"]) == []  # final
    assert statuses(database)["ann@newco.example"] == "converted"


def test_disqualification_by_domain_and_account_scope(database: Database) -> None:
    world(database)
    with database.session() as s:
        # the per-rep scope: only leads that rep's mailbox saw
        assert disqualify_leads(s, domains=["bigco.example"], account_id="rita-mail",
                                reason="blocked") == [2]
        assert disqualify_leads(s, domains=["eu.bigco.example"], reason="again") == []
        assert disqualify_leads(s, addresses=["cy@bigco.example"], reason="blocked") == [3]
    assert statuses(database) == {"ann@newco.example": "new",
                                  "bob@eu.bigco.example": "disqualified",
                                  "cy@bigco.example": "disqualified"}
    assert lead_events(database)[-2:] == [("lead.status_changed", 2),
                                          ("lead.status_changed", 3)]


def test_people_may_qualify_or_disqualify_only(database: Database) -> None:
    world(database)
    with database.session() as s:
        with pytest.raises(UnknownLead):
            set_status(s, 99, "qualified", actor=PERSON)
        with pytest.raises(LeadError, match="qualified or disqualified"):
            set_status(s, 1, "converted", actor=PERSON)
        assert set_status(s, 1, "qualified", actor=PERSON).reason == "qualified by admin:t"
        with pytest.raises(LeadError, match="is qualified; it cannot become qualified"):
            set_status(s, 1, "qualified", actor=PERSON)

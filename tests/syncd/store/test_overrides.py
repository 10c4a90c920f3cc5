"""Overrides: set, applied at once, respected by re-sync and late matching, undone;
audited. Real matching and page writer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from providers.base import Address, Page
from syncd.directory.corrections import correct, undo
from syncd.directory.opportunities import link_interactions, relink_companies
from syncd.store.audit import Actor, entries
from syncd.store.changes import assign_positions, read_changes
from syncd.store.database import Database
from syncd.store.override_rules import OVERRIDABLE, Rule, apply_rules, shaped
from syncd.store.overrides import OverrideError, UnknownInteraction, remove_override, set_override
from syncd.store.queries import timeline
from syncd.store.records import ParticipantRow
from syncd.store.relink import relink
from syncd.store.schema import (
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Opportunity,
    Override,
    Participant,
    UnmatchedAddress,
)
from tests.generate import BASE_TIME
from tests.syncd.store.builders import POLICY, REP, apply, dump, message

RITA = Actor(name="rita-crm", viewer=REP.email)
ANN = Address("ann@acme.example", "Ann Acme")
BOB = Address("bob@globex.example", "Bob Globex")
ZED = Address("zed@zeta.example", "Zed")


def company(db: Database, name: str, domain: str) -> int:
    with db.session() as s:
        row = Company(name=name, tags=[])
        row.domains.append(CompanyDomain(domain=domain))
        s.add(row)
        s.flush()
        return row.id


def contact(db: Database, address: str, name: str, company_id: int | None) -> int:
    with db.session() as s:
        row = Contact(name=name, company_id=company_id, tags=[])
        row.emails.append(ContactEmail(address=address, original=address))
        s.add(row)
        s.flush()
        return row.id


def people(db: Database, interaction_id: int) -> dict[str, tuple[Any, ...]]:
    with db.session(write=False) as s:
        return {p.address: (p.contact_id, p.company_id, p.match, p.match_reason)
                for p in s.scalars(select(Participant)
                                   .where(Participant.interaction_id == interaction_id))}


def unmatched(db: Database) -> list[str]:
    with db.session(write=False) as s:
        return sorted(s.scalars(select(UnmatchedAddress.address)))


@pytest.fixture
def world(database: Database) -> dict[str, int]:
    acme = company(database, "Acme", "acme.example")
    globex = company(database, "Globex", "globex.example")
    ids = {"acme": acme, "globex": globex,
           "ann": contact(database, ANN.email, "Ann", acme),
           "carl": contact(database, "carl@globex.example", "Carl", globex)}
    apply(database, Page("INBOX", [message(1, sender=ANN, to=(REP,), cc=(BOB, ZED))],
                         cursor={"n": 1}))
    with database.session(write=False) as s:
        ids["mail"] = s.scalars(select(Interaction.id)).one()
    return ids


def first_page() -> Page:
    return Page("INBOX", [message(1, sender=ANN, to=(REP,), cc=(BOB, ZED))], cursor={"n": 1})


def test_participant_assignment_sticks_through_resync_and_relink(
        database: Database, world: dict[str, int]) -> None:
    mail = world["mail"]
    with database.session() as s:
        rule = set_override(s, POLICY, mail, actor=RITA, action="assign",
                            address="Ann@Acme.example", contact_id=world["carl"],
                            note="Ann writes for Carl")
    assert rule.address == ANN.email and rule.company_id == world["globex"]
    assert people(database, mail)[ANN.email] == (world["carl"], world["globex"], "contact",
                                                 f"set by {REP.email}")
    # others untouched
    assert people(database, mail)[BOB.email][2] == "company"
    before = dump(database)

    # the same page again (a redo) writes nothing; a second mailbox's copy keeps it too
    assert apply(database, first_page()).updated == 0
    assert dump(database) == before
    again = apply(database, Page("INBOX", [message(1, sender=ANN, to=(REP,), cc=(BOB, ZED),
                                                   pid="other/1")], cursor={"n": 1}), "acc2")
    assert again.created == 0
    assert people(database, mail)[ANN.email][:3] == (world["carl"], world["globex"], "contact")

    # late matching of Ann's address and of Carl's contact keeps it
    with database.session() as s:
        relink(s, POLICY, addresses=[ANN.email], contact_ids=[world["ann"], world["carl"]],
               domains=["acme.example", "globex.example"])
    assert people(database, mail)[ANN.email][:3] == (world["carl"], world["globex"], "contact")

    # the timeline shows who set it
    entry = next(e for e in timeline(database, contact="carl@globex.example") if e.id == mail)
    assert entry.corrections[0]["set_by"] == REP.email
    assert entry.to_dict()["corrections"][0]["note"] == "Ann writes for Carl"
    assert all(e.id != mail for e in timeline(database, contact=ANN.email))

    # undone: Ann is Ann again
    with database.session() as s:
        remove_override(s, POLICY, mail, actor=RITA, address=ANN.email)
    assert people(database, mail)[ANN.email][:3] == (world["ann"], world["acme"], "contact")
    with database.session(write=False) as s:
        actions = [(e.action, e.viewer, e.actor) for e in entries(s, entity="interaction",
                                                                 entity_id=mail)]
    assert actions == [("override.removed", REP.email, "rita-crm"),
                       ("override.set", REP.email, "rita-crm")]


def test_not_a_customer_interaction_hides_it_and_undo_restores(
        database: Database, world: dict[str, int]) -> None:
    mail = world["mail"]
    assert unmatched(database) == [BOB.email, ZED.email]
    with database.session() as s:
        correct(s, POLICY, mail, actor=RITA, action="not_customer")
    shaped_people = people(database, mail)
    assert {a: v[:3] for a, v in shaped_people.items()} == {
        REP.email: (None, None, "internal"),
        ANN.email: (None, None, "not_customer"), BOB.email: (None, None, "not_customer"),
        ZED.email: (None, None, "not_customer")}
    assert shaped_people[ANN.email][3] == f"not a customer interaction (set by {REP.email})"
    assert unmatched(database) == []  # no longer suggested as contacts
    assert timeline(database, company="acme.example") == []
    assert timeline(database, contact=ANN.email) == []
    # a redo and a relink change nothing
    before = dump(database)
    assert apply(database, first_page()).updated == 0
    with database.session() as s:
        relink(s, POLICY, addresses=[ANN.email, BOB.email, ZED.email])
    assert dump(database) == before

    with database.session() as s:
        undo(s, POLICY, mail, actor=RITA)
    assert people(database, mail)[ANN.email][:3] == (world["ann"], world["acme"], "contact")
    assert unmatched(database) == [BOB.email, ZED.email]
    assert [e.id for e in timeline(database, company="acme.example")] == [mail]


def test_participant_rule_beats_the_whole_interaction_rule(
        database: Database, world: dict[str, int]) -> None:
    mail = world["mail"]
    with database.session() as s:
        set_override(s, POLICY, mail, actor=RITA, action="assign", company_id=world["globex"])
        set_override(s, POLICY, mail, actor=RITA, action="not_customer", address=ZED.email)
    got = people(database, mail)
    assert got[ANN.email][:3] == (world["ann"], world["globex"], "contact")
    assert got[BOB.email][:3] == (None, world["globex"], "company")
    assert got[ZED.email][:3] == (None, None, "not_customer")
    assert got[REP.email][:3] == (None, None, "internal")
    # setting the same again changes no participant, replaces the row
    before = people(database, mail)
    with database.session() as s:
        set_override(s, POLICY, mail, actor=RITA, action="not_customer", address=ZED.email)
        assert len(list(s.scalars(select(Override)))) == 2
    assert people(database, mail) == before


def test_opportunity_pinned_by_a_correction(database: Database, world: dict[str, int]) -> None:
    mail = world["mail"]
    with database.session() as s:
        renewal = Opportunity(company_id=world["acme"], name="Renewal", is_open=True)
        expansion = Opportunity(company_id=world["globex"], name="Expansion", is_open=True)
        s.add_all([renewal, expansion])
        s.flush()
        ids = (renewal.id, expansion.id)
    with database.session() as s:
        link_interactions(s, [mail])
        assert s.get(Interaction, mail).opportunity_id is None  # type: ignore[union-attr]
        correct(s, POLICY, mail, actor=RITA, action="assign", opportunity_id=ids[1])
    with database.session() as s:
        relink_companies(s, [world["acme"], world["globex"]])
        row = s.get(Interaction, mail)
        assert row is not None
        assert (row.opportunity_id, row.opportunity_reason) == (ids[1], f"set by {REP.email}")
        correct(s, POLICY, mail, actor=RITA, action="not_customer")
        relink_companies(s, [world["acme"], world["globex"]])
        assert (row.opportunity_id, row.opportunity_reason) == (
            None, f"not a customer interaction (set by {REP.email})")
        undo(s, POLICY, mail, actor=RITA)
        assert row.opportunity_id is None and row.opportunity_reason is not None
        assert "not a customer" not in row.opportunity_reason


@pytest.mark.parametrize(("kwargs", "message_part"), [
    ({"action": "assign"}, "assign needs"),
    ({"action": "merge", "contact_id": 1}, "action: 'merge'"),
    ({"action": "not_customer", "contact_id": 1}, "takes no contact"),
    ({"action": "assign", "address": REP.email, "contact_id": 1}, "not an external"),
    ({"action": "assign", "address": "nobody@x.example", "contact_id": 1}, "not a participant"),
    ({"action": "assign", "address": ANN.email, "opportunity_id": 1}, "whole interaction"),
    ({"action": "assign", "contact_id": 999}, "no contact 999"),
])
def test_refused_overrides_name_the_problem(database: Database, world: dict[str, int],
                                            kwargs: dict[str, Any], message_part: str) -> None:
    with database.session() as s, pytest.raises(OverrideError, match=message_part):
        set_override(s, POLICY, world["mail"], actor=RITA, **kwargs)
    with database.session() as s, pytest.raises(UnknownInteraction):
        set_override(s, POLICY, 999, actor=RITA, action="not_customer")
    with database.session() as s, pytest.raises(UnknownInteraction):
        remove_override(s, POLICY, world["mail"], actor=RITA)


# ---------------------------------------------------------------------- the pure rules

WHEN = BASE_TIME + timedelta(days=1)


def rule(address: str | None, action: str = "assign", contact: int | None = None,
         company_id: int | None = None) -> Rule:
    return Rule(id=1, interaction_id=1, address=address, action=action, contact_id=contact,
                company_id=company_id, opportunity_id=None, created_by="r@o.example",
                created_at=WHEN, note=None)


def row(address: str, match: str, contact_id: int | None = None,
        company_id: int | None = None) -> ParticipantRow:
    return ParticipantRow(role="to", address=address, domain=None, display_name=None,
                          contact_id=contact_id, company_id=company_id, match=match,
                          match_reason="matched")


def test_rules_change_only_external_people_and_are_idempotent() -> None:
    rows = [row("me@o.example", "internal"), row("a@x.example", "contact", 1, 2),
            row("b@x.example", "unmatched"), row("bad", "invalid")]
    rules = [rule(None, "not_customer"), rule("a@x.example", contact=5, company_id=6)]
    once = apply_rules(rows, rules)
    assert [(p.match, p.contact_id, p.company_id) for p in once] == [
        ("internal", None, None), ("contact", 5, 6), ("not_customer", None, None),
        ("invalid", None, None)]
    assert apply_rules(once, rules) == once
    assert apply_rules(rows, []) == rows
    assert "not_customer" in OVERRIDABLE
    # a company-only rule keeps the contact; an opportunity-only rule changes nobody
    assert shaped("a@x.example", "contact", 1, 2, "m", [rule(None, company_id=9)])[:3] == (
        1, 9, "contact")
    assert shaped("b@x.example", "unmatched", None, None, "m", [rule(None)]) == (
        None, None, "unmatched", "m")


# ---------------------------------------------------------------------- the change feed


def test_corrections_append_their_feed_events(database: Database) -> None:
    """A pinned opportunity appends ``opportunity.linked``; "not a customer
    interaction" appends ``participant.rematched`` and ``opportunity.unlinked``;
    undoing it re-matches the participant and re-links the deal."""
    def events_after(after: int) -> list[tuple[str, str, int, dict[str, Any]]]:
        return [(e.type, e.entity, e.entity_id, e.state)
                for e in read_changes(database, after=after, limit=1000).events]

    acme = company(database, "Acme", "acme.example")
    ann = contact(database, ANN.email, "Ann", acme)
    with database.session() as s:
        renewal = Opportunity(company_id=acme, name="Renewal", is_open=True)
        s.add(renewal)
        s.flush()
        renewal_id = renewal.id
    apply(database, Page("INBOX", [message(1, sender=ANN)]))
    [interaction_id] = [e[2] for e in events_after(0) if e[0] == "interaction.created"]
    with database.session() as s:
        link_interactions(s, [interaction_id])
        upsell = Opportunity(company_id=acme, name="Upsell", is_open=False)
        s.add(upsell)
        s.flush()
        upsell_id = upsell.id
    mark = assign_positions(database)  # the feed's end, everything numbered

    with database.session() as s:
        correct(s, POLICY, interaction_id, actor=RITA, action="assign",
                opportunity_id=upsell_id)
    [(kind, entity, entity_id, state)] = events_after(mark)
    assert (kind, entity, entity_id) == ("opportunity.linked", "interaction", interaction_id)
    assert state["opportunity_id"] == upsell_id
    assert state["previous_opportunity_id"] == renewal_id
    mark = assign_positions(database)  # the feed's end, everything numbered

    with database.session() as s:
        correct(s, POLICY, interaction_id, actor=RITA, action="not_customer")
    found = events_after(mark)
    assert [(k, e) for k, e, _, _ in found] == [("participant.rematched", "participant"),
                                                ("opportunity.unlinked", "interaction")]
    rematched, unlinked = found[0][3], found[1][3]
    assert rematched["address"] == ANN.email and rematched["match"] == "not_customer"
    assert rematched["previous_contact_id"] == ann and rematched["contact_id"] is None
    assert unlinked["opportunity_id"] is None and unlinked["previous_opportunity_id"] == upsell_id
    mark = assign_positions(database)  # the feed's end, everything numbered

    with database.session() as s:
        undo(s, POLICY, interaction_id, actor=RITA)
    found = events_after(mark)
    assert [(k, e) for k, e, _, _ in found] == [("participant.rematched", "participant"),
                                                ("opportunity.linked", "interaction")]
    assert found[0][3]["contact_id"] == ann and found[0][3]["match"] == "contact"
    assert found[1][3]["opportunity_id"] == renewal_id

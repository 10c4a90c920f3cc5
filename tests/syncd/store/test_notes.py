"""Notes and calls: logged as interactions that join timelines, keep what was
logged, link to deals, go with a purge; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from syncd.directory.opportunities import link_interactions, relink_companies
from syncd.lifecycle.purge import purge
from syncd.store.audit import Actor, entries
from syncd.store.database import Database
from syncd.store.notes import NoteError, details_for, latest_logged, log
from syncd.store.queries import timeline
from syncd.store.rollups import read_rollups
from syncd.store.schema import (
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Note,
    Opportunity,
    Participant,
    UnmatchedAddress,
)
from tests.generate import BASE_TIME
from tests.syncd.store.builders import POLICY, REP

RITA = Actor(name="rita-crm", viewer=REP.email)
WHEN = BASE_TIME + timedelta(days=2)


@pytest.fixture
def acme(database: Database) -> dict[str, int]:
    with database.session() as s:
        company = Company(name="Acme", tags=[])
        company.domains.append(CompanyDomain(domain="acme.example"))
        s.add(company)
        s.flush()
        ann = Contact(name="Ann", company_id=company.id, tags=[])
        ann.emails.append(ContactEmail(address="ann@acme.example", original="ann@acme.example"))
        s.add(ann)
        s.flush()
        deal = Opportunity(company_id=company.id, name="Renewal", is_open=True)
        s.add(deal)
        s.flush()
        return {"acme": company.id, "ann": ann.id, "deal": deal.id}


def logged(database: Database, **kw: Any) -> int:
    values: dict[str, Any] = {"kind": "note", "author": REP.email, "occurred_at": WHEN,
                              "text": "Spoke at the fair.\nWants a demo."}
    values.update(kw)
    with database.session() as s:
        note, created = log(s, POLICY, actor=RITA, **values)
        assert created
        link_interactions(s, [note.interaction_id])
        return note.interaction_id


def test_a_note_joins_the_contact_and_company_timelines(
        database: Database, acme: dict[str, int]) -> None:
    note_id = logged(database, contact_id=acme["ann"])
    with database.session(write=False) as s:
        row = s.get(Interaction, note_id)
        assert row is not None
        assert (row.kind, row.direction, row.subject, row.body) == (
            "note", "internal", "Spoke at the fair.", "Spoke at the fair.\nWants a demo.")
        # linked to the company's one open deal by the usual rule
        assert row.opportunity_id == acme["deal"]
        got = [(p.role, p.address, p.contact_id, p.company_id, p.match) for p in s.scalars(
            select(Participant).where(Participant.interaction_id == note_id)
            .order_by(Participant.position))]
        assert got == [("author", REP.email, None, None, "internal"),
                       ("about", "ann@acme.example", acme["ann"], acme["acme"], "logged")]
        assert s.scalar(select(func.count()).select_from(UnmatchedAddress)) == 0
    for entries_ in (timeline(database, contact="ann@acme.example"),
                     timeline(database, company="acme.example")):
        assert [e.id for e in entries_] == [note_id]
    shown = timeline(database, company="acme.example")[0].to_dict()
    assert shown["kind"] == "note" and shown["logged"]["author"] == REP.email
    assert shown["logged"]["created_by"] == REP.email
    # it joins the rollups of the contact and the company
    with database.session(write=False) as s:
        for kind, party in (("contact", acme["ann"]), ("company", acme["acme"])):
            rollup = read_rollups(s, kind, [party], now=WHEN + timedelta(days=1))[party]
            assert (rollup.interactions_total, rollup.last_interaction_at) == (1, WHEN)


def test_a_call_with_a_deal_keeps_it_and_a_key_makes_retries_safe(
        database: Database, acme: dict[str, int]) -> None:
    with database.session() as s:
        other = Opportunity(company_id=acme["acme"], name="Upsell", is_open=True)
        s.add(other)
        s.flush()
        other_id = other.id
    call_id = logged(database, kind="call", text=None, company_id=acme["acme"],
                     opportunity_id=other_id, duration_seconds=300, outcome="Connected",
                     key="call-42", direction="inbound")
    with database.session() as s:
        relink_companies(s, [acme["acme"]])
        row = s.get(Interaction, call_id)
        assert row is not None
        assert (row.kind, row.direction, row.opportunity_id) == ("call", "inbound", other_id)
        assert row.opportunity_reason == f"logged by {REP.email}"
        about = s.scalars(select(Participant).where(Participant.interaction_id == call_id,
                                                    Participant.role == "about")).one()
        assert (about.address, about.domain, about.company_id) == (
            "@acme.example", "acme.example", acme["acme"])
        again, created = log(s, POLICY, actor=RITA, kind="call", author=REP.email,
                             occurred_at=WHEN, text=None, company_id=acme["acme"], key="call-42")
        assert not created and again.interaction_id == call_id
        assert again.duration_seconds == 300 and again.outcome == "Connected"
        assert [e.action for e in entries(s, entity="interaction", entity_id=call_id)] == [
            "call.logged"]
        assert details_for(s, [call_id])[call_id].kind == "call"


def test_latest_logged_skips_calls_that_reached_nobody(
        database: Database, acme: dict[str, int]) -> None:
    first = logged(database, contact_id=acme["ann"])
    logged(database, kind="call", text=None, contact_id=acme["ann"], outcome="no answer",
           occurred_at=WHEN + timedelta(hours=1))
    with database.session(write=False) as s:
        assert latest_logged(s, [acme["ann"]])[acme["ann"]].interaction_id == first
        assert latest_logged(s, [999]) == {}


@pytest.mark.parametrize(("kw", "message_part"), [
    ({"text": " "}, "text: a note needs text"),
    ({"outcome": "done"}, "outcome: only a call"),
    ({"contact_id": None}, "give one"),
    ({"contact_id": 999}, "contact: no contact 999"),
    ({"kind": "sms"}, "kind: 'sms'"),
    ({"author": "nobody"}, "author: 'nobody'"),
    ({"kind": "call", "duration_seconds": -1}, "must not be negative"),
    ({"kind": "call", "direction": "sideways"}, "direction: 'sideways'"),
])
def test_bad_notes_name_the_field(database: Database, acme: dict[str, int],
                                  kw: dict[str, Any], message_part: str) -> None:
    values: dict[str, Any] = {"kind": "note", "author": REP.email, "occurred_at": WHEN,
                              "text": "x", "contact_id": acme["ann"]}
    values.update(kw)
    with database.session() as s, pytest.raises(NoteError, match=message_part):
        log(s, POLICY, actor=RITA, **values)


def test_a_purge_of_the_contact_removes_notes_about_them(
        database: Database, acme: dict[str, int]) -> None:
    logged(database, contact_id=acme["ann"])
    logged(database, kind="call", text=None, company_id=acme["acme"])
    with database.session() as s:
        report = purge(s, domains=["acme.example"], policy=POLICY)
    assert report.removed.interactions == 2
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Note)) == 0
        assert s.scalar(select(func.count()).select_from(Interaction)) == 0

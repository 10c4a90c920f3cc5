"""Contacts and companies created and updated one at a time: the CSV import's
rules, late matching at once, conflicts, audit; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from providers.base import Address, Page
from syncd.directory.editing import (
    Conflict,
    EditError,
    UnknownRecord,
    create_company,
    create_contact,
    update_company,
    update_contact,
)
from syncd.store.audit import Actor, entries
from syncd.store.database import Database
from syncd.store.schema import Participant, UnmatchedAddress
from tests.syncd.store.builders import POLICY, REP, apply, message

ADMIN = Actor(name="crm-sync", viewer="admin")
ANN = Address("ann@acme.example", "Ann")


def matches(db: Database) -> dict[str, tuple[Any, ...]]:
    with db.session(write=False) as s:
        return {p.address: (p.contact_id, p.company_id, p.match)
                for p in s.scalars(select(Participant).where(Participant.role != "to"))}


def test_create_then_update_links_history_at_once(database: Database) -> None:
    apply(database, Page("INBOX", [message(1, sender=ANN, to=(REP,),
                                           cc=(Address("ann.private@gmail.com"),))],
                         cursor={"n": 1}))
    assert matches(database)[ANN.email] == (None, None, "unmatched")
    with database.session() as s:
        acme = create_company(s, POLICY, {"name": "Acme", "domains": ["ACME.example"],
                                          "tier": "strategic", "tags": ["emea"]}, actor=ADMIN)
    assert acme.outcome == "created" and acme.linked == 1
    assert acme.after["domains"] == ["acme.example"]
    assert matches(database)[ANN.email] == (None, acme.id, "company")
    with database.session() as s:
        ann = create_contact(s, POLICY, {"emails": [ANN.email], "name": "Ann",
                                         "company_id": acme.id}, actor=ADMIN)
    assert matches(database)[ANN.email] == (ann.id, acme.id, "contact")
    with database.session() as s:
        more = update_contact(s, POLICY, ann.id, {"emails": ["Ann.Private@gmail.com"],
                                                  "title": "CTO"}, actor=ADMIN)
        assert more.outcome == "updated"
        assert more.after["emails"] == [ANN.email, "annprivate@gmail.com"]
        assert (more.after["title"], more.after["name"]) == ("CTO", "Ann")
    assert matches(database)["annprivate@gmail.com"] == (ann.id, acme.id, "contact")
    with database.session(write=False) as s:
        assert list(s.scalars(select(UnmatchedAddress.address))) == []
        audit = entries(s, entity="contact", entity_id=ann.id)
        assert [e.action for e in audit] == ["contact.updated", "contact.created"]
        assert audit[0].before is not None and audit[0].before["title"] is None
        assert audit[0].after is not None and audit[0].after["title"] == "CTO"
        assert (audit[0].actor, audit[0].viewer) == ("crm-sync", "admin")
    with database.session() as s:
        renamed = update_company(s, POLICY, acme.id, {"tier": None, "domains": ["acme.dev"]},
                                 actor=ADMIN)
        assert renamed.after["name"] == "Acme" and renamed.after["tier"] is None
        assert renamed.after["domains"] == ["acme.dev", "acme.example"]
        same = update_company(s, POLICY, acme.id, {}, actor=ADMIN)
        assert same.outcome == "unchanged"


def test_conflicts_and_refusals(database: Database) -> None:
    with database.session() as s:
        acme = create_company(s, POLICY, {"name": "Acme", "domains": ["acme.example"]},
                              actor=ADMIN)
        globex = create_company(s, POLICY, {"name": "Globex", "domains": ["globex.example"]},
                                actor=ADMIN)
        ann = create_contact(s, POLICY, {"emails": [ANN.email]}, actor=ADMIN)
    cases: list[tuple[Any, type[Exception], str]] = [
        (lambda s: create_company(s, POLICY, {"name": "Acme 2", "domains": ["acme.example"]},
                                  actor=ADMIN), Conflict, f"company {acme.id}"),
        (lambda s: create_contact(s, POLICY, {"emails": [ANN.email]}, actor=ADMIN),
         Conflict, f"contact {ann.id}"),
        (lambda s: update_company(s, POLICY, globex.id, {"domains": ["acme.example"]},
                                  actor=ADMIN), EditError, "different companies"),
        (lambda s: create_company(s, POLICY, {"name": "Mail", "domains": ["gmail.com"]},
                                  actor=ADMIN), EditError, "free-mail"),
        (lambda s: create_contact(s, POLICY, {"emails": ["not an address"]}, actor=ADMIN),
         EditError, "emails:"),
        (lambda s: create_contact(s, POLICY, {"emails": ["a@b.example"], "tags": ["x;y"]},
                                  actor=ADMIN), EditError, "contains ';'"),
        (lambda s: create_contact(s, POLICY, {"emails": ["a@b.example"], "company_id": 999},
                                  actor=ADMIN), EditError, "no company 999"),
        (lambda s: create_contact(s, POLICY, {"emails": ["a@b.example"], "phone": "1"},
                                  actor=ADMIN), EditError, "phone: not a field"),
        (lambda s: update_contact(s, POLICY, 999, {}, actor=ADMIN), UnknownRecord, "999"),
    ]
    for call, error, text in cases:
        with database.session() as s, pytest.raises(error, match=text):
            call(s)
    with database.session(write=False) as s:
        assert len(entries(s)) == 3  # only the three creations were written

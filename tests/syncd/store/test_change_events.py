"""Change-feed events where the store is written (both databases): interactions
created, updated with the changed fields, deleted once every source is gone,
restored when seen again (a replayed page writes no event); a logged note or
call; participants re-matched by late matching; directory writes,
auto-creation and opportunity links."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from providers.base import Address, Deletion, Page
from syncd.config.model import Settings
from syncd.directory.contacts import upsert_company, upsert_contact
from syncd.directory.opportunities import import_opportunities, link_interactions
from syncd.store.audit import Actor
from syncd.store.changes import read_changes
from syncd.store.database import Database
from syncd.store.notes import log
from syncd.store.relink import relink
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail, Opportunity
from tests.generate import BASE_TIME
from tests.syncd.store.builders import POLICY, REP, apply, meeting, message
from tests.syncd.sync.test_privacy import engine_for, mail


def events(db: Database, after: int = 0) -> list[tuple[str, int, dict[str, Any]]]:
    return [(e.type, e.entity_id, e.state)
            for e in read_changes(db, after=after, limit=1000).events]


def test_interaction_lifecycle_events(database: Database) -> None:
    apply(database, Page("INBOX", [message(1, pid="a/1")]), account_id="acc1")
    [(kind, interaction_id, state)] = events(database)
    assert kind == "interaction.created"
    assert state["subject"] == "Hello" and state["kind"] == "email"
    assert isinstance(state["occurred_at"], str) and "body" not in state

    apply(database, Page("INBOX", [message(1, pid="a/1")]), account_id="acc1")  # replay
    apply(database, Page("INBOX", [message(1, pid="b/1")]), account_id="acc2")  # 2nd copy
    assert len(events(database)) == 1

    apply(database, Page("INBOX", [Deletion("a/1", "message")]), account_id="acc1")
    assert len(events(database)) == 1  # acc2 still has it
    apply(database, Page("INBOX", [Deletion("b/1", "message")]), account_id="acc2")
    kind, entity_id, state = events(database)[-1]
    assert (kind, entity_id, state["deleted"]) == ("interaction.deleted", interaction_id, True)
    apply(database, Page("INBOX", [Deletion("b/1", "message")]), account_id="acc2")
    assert len(events(database)) == 2

    apply(database, Page("INBOX", [message(1, pid="b/1")]), account_id="acc2")
    kind, entity_id, state = events(database)[-1]
    assert (kind, entity_id, state["deleted"]) == ("interaction.restored", interaction_id, False)
    assert len(events(database)) == 3


def test_updates_name_the_changed_fields(database: Database) -> None:
    apply(database, Page("cal", [meeting("u1", title="Sync")]))
    apply(database, Page("cal", [meeting("u1", sequence=1, title="Pricing review",
                                         attendees=("ann@acme.example", "bob@acme.example"),
                                         updated=BASE_TIME)]))
    [created, updated] = events(database)
    assert created[0] == "interaction.created"
    assert updated[0] == "interaction.updated"
    assert updated[1] == created[1]
    assert updated[2]["subject"] == "Pricing review"
    assert "subject" in updated[2]["changed"] and "participants" in updated[2]["changed"]
    assert "updated_at" not in updated[2]["changed"]
    # another rep's calendar with an older copy (LAST-MODIFIED): refused, no event
    apply(database, Page("cal", [meeting("u1", sequence=0, title="Old copy", pid="cal2/u1",
                                         updated=BASE_TIME - timedelta(hours=1))]),
          account_id="acc2")
    assert len(events(database)) == 2


def test_a_logged_note_is_an_event(database: Database) -> None:
    with database.session() as s:
        company = Company(name="Acme", tags=[])
        company.domains.append(CompanyDomain(domain="acme.example"))
        s.add(company)
        s.flush()
        note, _ = log(s, POLICY, actor=Actor(name="crm", viewer=REP.email), kind="call",
                      author=REP.email, occurred_at=BASE_TIME, text="Called Ann.",
                      company_id=company.id, duration_seconds=60, outcome="connected")
    [(kind, entity_id, state)] = events(database)
    assert (kind, entity_id) == ("call.logged", note.interaction_id)
    assert state["kind"] == "call" and state["subject"] == "Called Ann."
    assert state["author"] == REP.email and state["duration_seconds"] == 60
    assert state["outcome"] == "connected" and "body" not in state


def test_late_matching_records_rematched_participants(database: Database) -> None:
    apply(database, Page("INBOX", [message(1)]))
    with database.session() as s:
        ann = Contact(name="Person 1", tags=[])
        ann.emails.append(ContactEmail(address="person1@acme.example",
                                       original="person1@acme.example"))
        s.add(ann)
        s.flush()
        contact_id = ann.id
        assert relink(s, POLICY, addresses=["person1@acme.example"]) == 1
    kind, _, state = events(database)[-1]
    assert kind == "participant.rematched"
    assert state["address"] == "person1@acme.example" and state["contact_id"] == contact_id
    assert state["previous_contact_id"] is None and state["match"] == "contact"
    assert state["interaction_id"] == events(database)[0][1]


def test_directory_writes_record_created_and_updated(database: Database) -> None:
    with database.session() as s:
        upsert_company(s, {"name": "Acme", "domains": "acme.example"}, {"name", "domains"},
                       POLICY)
        upsert_company(s, {"name": "Acme", "domains": "acme.example"}, {"name", "domains"},
                       POLICY)  # unchanged: no event
        upsert_contact(s, {"emails": "ann@acme.example", "name": "Ann",
                           "company_domain": "acme.example"},
                       {"emails", "name", "company_domain"}, POLICY)
        upsert_contact(s, {"emails": "ann@acme.example", "title": "CTO"},
                       {"emails", "title"}, POLICY)
    found = [(kind, state) for kind, _, state in events(database)]
    assert [kind for kind, _ in found] == ["company.created", "contact.created",
                                           "contact.updated"]
    assert found[0][1]["domains"] == ["acme.example"] and found[0][1]["name"] == "Acme"
    assert found[1][1]["emails"] == ["ann@acme.example"] and found[1][1]["company_id"]
    assert found[2][1]["title"] == "CTO"


def test_auto_created_contacts_and_companies_name_their_interaction(database: Database) -> None:
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "matching": {"auto_create": {"contacts": "sent", "companies": True}},
        "accounts": [{"provider": "local", "id": "rita", "owner": REP.email}]})
    zed = Address("zed@zeta.example", "Zed Zeta")
    page = Page("INBOX", [mail(1, sender=REP, to=(zed,))])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    found = {kind: (entity_id, state) for kind, entity_id, state in events(database)}
    interaction_id = found["interaction.created"][0]
    company_id, company = found["company.created"]
    assert company["domains"] == ["zeta.example"]
    assert company["created_by_interaction_id"] == interaction_id
    _, contact = found["contact.created"]
    assert contact["emails"] == ["zed@zeta.example"] and contact["company_id"] == company_id
    assert contact["created_by_interaction_id"] == interaction_id
    assert "participant.rematched" in found  # the page's own participant, linked


def test_linking_an_opportunity_is_an_event(database: Database) -> None:
    with database.session() as s:
        upsert_company(s, {"name": "Acme", "domains": "acme.example"}, {"name", "domains"},
                       POLICY)
        company_id = s.scalars(select(Company.id)).one()
        deal = Opportunity(company_id=company_id, name="Renewal", is_open=True)
        s.add(deal)
        s.flush()
        deal_id = deal.id
    apply(database, Page("INBOX", [message(1)]))  # person1@acme.example: the company
    interaction_id = events(database)[-1][1]
    with database.session() as s:
        assert link_interactions(s, [interaction_id]) == 1
        assert link_interactions(s, [interaction_id]) == 0
    kind, entity_id, state = events(database)[-1]
    assert (kind, entity_id) == ("opportunity.linked", interaction_id)
    assert state["opportunity_id"] == deal_id and state["previous_opportunity_id"] is None


def test_importing_opportunities_records_created_and_updated(database: Database,
                                                             tmp_path: Path) -> None:
    with database.session() as s:
        upsert_company(s, {"name": "Acme", "domains": "acme.example"}, {"name", "domains"},
                       POLICY)
    mark = read_changes(database, after=0, limit=1).last_position
    csv = tmp_path / "opportunities.csv"
    csv.write_text("company,name,stage,status\nacme.example,Renewal,proposal,open\n")
    assert import_opportunities(database, csv).created == 1
    assert import_opportunities(database, csv).unchanged == 1  # no change: no event
    csv.write_text("company,name,stage,status\nacme.example,Renewal,won,closed\n")
    assert import_opportunities(database, csv).updated == 1
    found = [(kind, entity_id, state) for kind, entity_id, state in events(database, mark)]
    assert [kind for kind, _, _ in found] == ["opportunity.created", "opportunity.updated"]
    assert found[0][1] == found[1][1]
    assert found[0][2]["name"] == "Renewal" and found[0][2]["stage"] == "proposal"
    assert found[0][2]["is_open"] is True
    assert found[1][2]["stage"] == "won" and found[1][2]["is_open"] is False


def test_directory_updates_carry_every_stored_address_and_domain(database: Database) -> None:
    with database.session() as s:
        upsert_company(s, {"name": "Acme", "domains": "acme.example;acme-corp.example"},
                       {"name", "domains"}, POLICY)
        upsert_company(s, {"name": "Acme Corp", "domains": "acme.example"},
                       {"name", "domains"}, POLICY)  # names one domain: both stay
        upsert_contact(s, {"emails": "ann@acme.example;ann@acme-corp.example"}, {"emails"},
                       POLICY)
        upsert_contact(s, {"emails": "ann@acme-corp.example", "title": "CTO"},
                       {"emails", "title"}, POLICY)
    found = {kind: state for kind, _, state in events(database)}
    assert found["company.updated"]["domains"] == ["acme.example", "acme-corp.example"]
    assert found["company.updated"]["name"] == "Acme Corp"
    assert found["contact.updated"]["emails"] == ["ann@acme.example", "ann@acme-corp.example"]
    assert found["contact.updated"]["title"] == "CTO"

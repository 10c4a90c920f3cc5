"""Leads through the real engine, store and matching (SQLite and PostgreSQL), with
the clock moved by time-machine: a lead's whole life, and what makes none.

BASE_TIME (MONDAY) is Monday 2026-11-02 09:00 UTC; default business hours
Mon-Fri 09:00-17:00 UTC; the default ``lead`` rule is 4 business hours,
priority high.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from providers.base import Address, Automation, Message, Page
from syncd.config.model import Settings
from syncd.config.policies import global_policy
from syncd.directory.editing import create_contact
from syncd.lifecycle.purge import purge_blocklisted
from syncd.store.audit import ADMIN, Actor
from syncd.store.changes import read_changes
from syncd.store.database import Database
from syncd.store.lead_queries import LeadView, list_leads
from syncd.store.leads import set_status
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, SAM, World, settings

H = timedelta(hours=1)
SALES = Address("sales@ourco.example", "Sales")
NINA = Address("nina@newco.example", "Nina New")
PERSON = Actor(name="cli", viewer=ADMIN)
RULES = {
    "target_lead": {"kind": "lead", "match": {"domain": ["target.example"]}, "hours": 1,
                    "priority": "urgent", "owner": "sam@ourco.example"},
    "lead": {"kind": "lead", "business_hours": 4, "priority": "high"},
    "reply_needed": {"kind": "reply_needed", "enabled": False},
}


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def conf(**leads: Any) -> Settings:
    return settings({"rules": RULES},
                    leads={"enabled": True, "inboxes": ["sales@ourco.example"], **leads})


def leads(w: World) -> list[LeadView]:
    with w.db.session(write=False) as s:
        return list_leads(s)


def lead_events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    return [(c.type, c.state) for c in read_changes(db, after=0, limit=1000).events
            if c.entity == "lead"]


def test_a_lead_is_made_gets_a_reminder_and_is_qualified(database: Database) -> None:
    w = World(database, conf())
    first = w.at(MONDAY + H).mail(NINA, (RITA,), "Your product")
    [lead] = leads(w)
    assert (lead.address, lead.name, lead.domain, lead.status) == (
        "nina@newco.example", "Nina New", "newco.example", "new")
    assert (lead.inbox, lead.owner, lead.source_account) == (RITA.email, RITA.email,
                                                              "rita-mail")
    assert lead.received_at == MONDAY + H and lead.first_interaction_id is not None
    r = w.one("lead")
    assert (r.priority, r.owner, r.rule, r.due_at) == ("high", RITA.email, "lead",
                                                       MONDAY + 5 * H)
    assert r.subject == "New lead: Nina New: Your product"
    assert r.interaction_id == lead.first_interaction_id

    # the same person writing again makes no second lead
    w.at(MONDAY + 2 * H).mail(NINA, (RITA,), "Re: Your product", reply_to=first)
    w.at(MONDAY + 3 * H).mail(NINA, (SAM,), "Another question")
    assert [x.id for x in leads(w)] == [lead.id]

    with database.session() as s:
        set_status(s, lead.id, "qualified", actor=PERSON, note="budget confirmed")
    assert leads(w)[0].status == "qualified"
    done = w.one("lead", "done")
    assert done.reason == "lead budget confirmed"
    w.sweep()  # derivation agrees with the store's closing: nothing reopens
    assert w.open("lead") == []
    assert [t for t, _ in lead_events(database)] == ["lead.created", "lead.status_changed"]
    _, changed = lead_events(database)[1]
    assert (changed["status"], changed["previous_status"]) == ("qualified", "new")


def test_a_shared_inbox_and_a_target_domain_make_an_urgent_lead(database: Database) -> None:
    w = World(database, conf())
    w.company("Target", "target.example", tier="strategic")
    w.at(MONDAY).mail(Address("tom@target.example", "Tom"), (SALES,), "Demo please")
    [lead] = leads(w)
    assert (lead.inbox, lead.owner) == (SALES.email, SAM.email)
    r = w.one("lead")
    assert (r.priority, r.owner, r.rule, r.due_at) == ("urgent", SAM.email, "target_lead",
                                                       MONDAY + H)
    assert r.company_name == "Target"


def test_a_lead_converts_when_its_contact_is_created(database: Database) -> None:
    w = World(database, conf())
    w.at(MONDAY).mail(NINA, (RITA,), "Pricing")
    with database.session() as s:
        create_contact(s, global_policy(w.settings),
                       {"name": "Nina", "emails": [NINA.email]}, actor=PERSON)
    [lead] = leads(w)
    assert lead.status == "converted" and lead.contact_id is not None
    assert lead.reason == f"converted: contact {lead.contact_id}"
    assert w.one("lead", "done").reason == f"lead converted: contact {lead.contact_id}"


def test_a_lead_converts_when_auto_creation_makes_its_contact(database: Database) -> None:
    base = conf()
    data = base.model_dump(mode="python")
    data["matching"]["auto_create"]["contacts"] = "sent_and_received"
    w = World(database, Settings.model_validate(data))
    w.at(MONDAY).mail(NINA, (RITA,), "Pricing")
    [lead] = leads(w)
    assert lead.status == "converted" and lead.contact_id is not None
    assert [t for t, _ in lead_events(database)] == ["lead.created", "lead.status_changed"]


def test_a_blocklisted_lead_is_disqualified_and_its_reminder_superseded(
        database: Database) -> None:
    w = World(database, conf())
    w.at(MONDAY).mail(NINA, (RITA,), "Pricing")
    data = w.settings.model_dump(mode="python")
    data["matching"]["blocklist"] = ["newco.example"]
    blocked = Settings.model_validate(data)
    with w._travel():
        purge_blocklisted(database, blocked)
    [lead] = leads(w)
    assert lead.status == "disqualified"
    assert lead.reason == "disqualified: purged: blocklisted"
    r = w.one("lead", "superseded")
    assert r.reason == "lead disqualified: purged: blocklisted"
    assert lead_events(database)[-1][1]["previous_status"] == "new"


def test_a_person_disqualifies_and_final_statuses_do_not_move(database: Database) -> None:
    w = World(database, conf())
    w.at(MONDAY).mail(NINA, (RITA,), "Pricing")
    [lead] = leads(w)
    with database.session() as s:
        set_status(s, lead.id, "disqualified", actor=PERSON)
    assert w.one("lead", "superseded").reason == "lead disqualified by admin:cli"
    with database.session() as s:
        try:
            set_status(s, lead.id, "qualified", actor=PERSON)
        except ValueError as exc:
            assert "disqualified is final" in str(exc)
        else:
            raise AssertionError("a disqualified lead was qualified")


def test_role_addresses_bulk_mail_contacts_and_others_make_no_lead(
        database: Database) -> None:
    w = World(database, conf())
    w.contact(ANN)
    w.at(MONDAY).mail(Address("info@newco.example"), (RITA,), "Hello")       # role address
    w.mail(ANN, (RITA,), "Question")                                          # a contact
    w.mail(Address("joe@gmail.com", "Joe"), (RITA,), "Hi")                    # free mail
    w.mail(RITA, (NINA,), "Intro")                                            # outbound
    w.mail(NINA, (Address("carl@ourco.example"),), "Hi Carl")                 # not a rep
    w.deliver(Message(provider_id="rita-mail/bulk", message_id="bulk@test.example",
                      sent_at=MONDAY, sender=Address("news@letters.example", "News"),
                      to=(RITA,), subject="Newsletter", folder="INBOX",
                      automation=Automation(list_id="<news.letters.example>")))
    w.mail(Address("old@oldco.example"), (RITA,), "Old", when=MONDAY - timedelta(days=60))
    assert leads(w) == []
    assert w.open("lead") == []


def test_free_mail_makes_leads_when_the_rules_say_so(database: Database) -> None:
    w = World(database, conf(free_mail=True))
    w.at(MONDAY).mail(Address("joe@gmail.com", "Joe"), (RITA,), "Hi")
    assert [x.address for x in leads(w)] == ["joe@gmail.com"]


def test_a_redone_page_a_second_mailbox_and_a_lost_commit_add_nothing(
        database: Database) -> None:
    w = World(database, conf())
    # the commit of the page carrying the lead is lost: the page is redone next pass
    failures = iter([RuntimeError("connection lost at commit")])

    def lose_commit(_conn: Any) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    event.listen(database.engine, "commit", lose_commit)
    try:
        message = Message(provider_id="rita-mail/1", message_id="n1@test.example",
                          sent_at=MONDAY, sender=NINA, to=(RITA, SAM), subject="Pricing",
                          folder="INBOX")
        w.pending["rita-mail"] = [Page("INBOX", [message], cursor={"n": 1})]
        with w._travel():
            lost = w.engine.sync_account(w.settings.account("rita-mail"))
        assert not lost.ok and leads(w) == []
        with w._travel():
            assert w.engine.sync_account(w.settings.account("rita-mail")).ok
    finally:
        event.remove(database.engine, "commit", lose_commit)
    [lead] = leads(w)
    # the same page again, and the same message in Sam's mailbox
    w.deliver(message)
    w.deliver(Message(provider_id="sam-mail/1", message_id="n1@test.example",
                      sent_at=MONDAY, sender=NINA, to=(RITA, SAM), subject="Pricing",
                      folder="INBOX"), account="sam-mail")
    w.sweep()
    w.sweep()
    assert [(x.id, x.status, x.updated_at) for x in leads(w)] == [
        (lead.id, "new", lead.updated_at)]
    assert [t for t, _ in lead_events(database)] == ["lead.created"]
    assert [r.kind for r in w.open()] == ["lead"]

"""Matching rules 6-9 through the real engine and store, on SQLite and PostgreSQL:
auto-creation, late matching, opportunities, segments for reminder rules.

Pages come from a scripted provider (test data, see tests/syncd/sync/test_privacy.py).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from providers.base import Address, Attendee, Automation, Event, Page
from syncd.config.model import Settings
from syncd.directory.contacts import import_companies, import_contacts
from syncd.directory.opportunities import import_opportunities
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.store.schema import (
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Opportunity,
    Participant,
    Reminder,
)
from tests.generate import BASE_TIME
from tests.syncd.sync.test_privacy import REP, SAM, engine_for, mail

ZED = Address("zed@zeta.example", "Zed Zeta")      # a rep writes to them
YAN = Address("yan@yota.example", "Yan Yota")      # writes to a rep
JOE = Address("Joe.B@googlemail.com", "Joe Free")  # free mail, a rep writes to them
JOE_C = "joeb@gmail.com"  # ... its canonical form
ORG = Address("org@orga.example", "Olga Org")      # organises a meeting with us
ATT = Address("att@atta.example", "Att Endee")     # attends it


def settings_for(auto: dict[str, Any] | None = None, **top: Any) -> Settings:
    account = {"provider": "local", "owner": REP.email}
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "matching": {"auto_create": auto or {}},
        **top,
        "accounts": [{**account, "id": "rita"}, {**account, "id": "sam", "owner": SAM.email}],
    })


def meeting() -> Event:
    start = BASE_TIME + timedelta(days=2)
    return Event(provider_id="cal/q", uid="qbr@orga", recurrence_id=None, start=start,
                 end=start + timedelta(hours=1), title="QBR", organizer=ORG,
                 attendees=(Attendee(REP, "accepted"), Attendee(ATT, "accepted")))


def demo_page() -> Page:
    return Page("INBOX", [
        mail(1, sender=REP, to=(ZED,)),
        mail(2, sender=YAN),
        mail(3, sender=REP, to=(JOE,)),
        mail(4, sender=Address("noreply@yota.example")),  # no-reply style: never a contact
        mail(5, sender=Address("news@zeta.example"),
             automation=Automation(list_id="<news.zeta.example>")),  # bulk: never logged
        meeting(),
    ])


# ---------------------------------------------------------------------- 6. auto-creation

COMPANIES = {"zeta.example", "orga.example", "atta.example"}


@pytest.mark.parametrize(("auto", "contacts", "companies"), [
    ({}, set(), set()),
    ({"contacts": "sent"}, {ZED.email, JOE_C}, set()),
    ({"contacts": "sent_and_received"}, {ZED.email, JOE_C, YAN.email}, set()),
    ({"companies": True}, set(), COMPANIES),  # deliberate engagement only: not yota
    ({"contacts": "sent_and_received", "companies": True},
     {ZED.email, JOE_C, YAN.email}, COMPANIES | {"yota.example"}),
    ({"meeting_contacts": "organizer"}, {ORG.email}, set()),
    ({"meeting_contacts": "participant", "companies": True}, {ORG.email, ATT.email}, COMPANIES),
])
def test_auto_creation_follows_the_config_and_says_which_interaction_created_it(
        database: Database, auto: dict[str, Any], contacts: set[str],
        companies: set[str]) -> None:
    settings = settings_for(auto)
    result = engine_for(database, settings, {"rita": [demo_page()]}).sync_account(
        settings.accounts[0])
    assert result.ok, result.to_dict()
    with database.session(write=False) as s:
        ids = {k: i for i, k in s.execute(select(Interaction.id, Interaction.dedupe_key))}
        made = {a: (c.created_by_interaction_id, c.company_id, c.name) for a, c in s.execute(
            select(ContactEmail.address, Contact).join(Contact))}
        firms = {d: (c.created_by_interaction_id, c.id) for d, c in s.execute(
            select(CompanyDomain.domain, Company).join(Company))}
        linked = {a: (ct, co) for a, ct, co in s.execute(
            select(Participant.address, Participant.contact_id, Participant.company_id))}
    assert set(made) == contacts
    assert set(firms) == companies
    creator = {ZED.email: "m1@mail.example", YAN.email: "m2@mail.example",
               JOE_C: "m3@mail.example", ORG.email: "qbr@orga#",
               ATT.email: "qbr@orga#", "zeta.example": "m1@mail.example",
               "yota.example": "m2@mail.example", "orga.example": "qbr@orga#",
               "atta.example": "qbr@orga#"}
    for address, (by, company_id, name) in made.items():
        assert by == ids[creator[address]]
        assert name is not None  # the display name seen on the interaction
        domain = address.rpartition("@")[2]
        assert company_id == (firms[domain][1] if domain in firms else None)
        assert linked[address][0] is not None  # this very page's participant is linked
    for domain, (by, company_id) in firms.items():
        assert by == ids[creator[domain]]
        assert all(co == company_id for a, (_, co) in linked.items() if a.endswith(domain))


def test_nothing_is_created_for_internal_blocklisted_or_free_mail_companies(
        database: Database) -> None:
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "matching": {"auto_create": {"contacts": "sent_and_received", "companies": True},
                     "blocklist": ["spy@zeta.example"]},
        "accounts": [{"provider": "local", "id": "rita", "owner": REP.email}]})
    page = Page("INBOX", [mail(1, sender=REP, to=(SAM,)),
                          mail(2, sender=REP, to=(JOE, Address("spy@zeta.example")))])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    with database.session(write=False) as s:
        assert list(s.scalars(select(ContactEmail.address))) == []
        assert list(s.scalars(select(CompanyDomain.domain))) == []


# ---------------------------------------------------------------------- 7. late matching


def test_auto_created_contacts_and_companies_claim_earlier_history(database: Database) -> None:
    settings = settings_for()
    script = {"rita": [Page("INBOX", [mail(1, sender=REP, to=(ZED,)),
                                      mail(2, sender=Address("amy@eu.zeta.example"))])]}
    engine = engine_for(database, settings, script)
    assert engine.sync_account(settings.accounts[0]).ok
    assert timeline(database, contact=ZED.email)[0].participants[1].contact_id is None
    engine.settings = settings_for({"contacts": "sent", "companies": True})
    script["rita"] = [Page("INBOX", [mail(3, sender=REP, to=(ZED,))])]
    assert engine.sync_account(engine.settings.accounts[0]).ok
    with database.session(write=False) as s:
        contact = s.scalars(select(Contact)).one()
        company = s.scalars(select(Company)).one()
        m3 = s.scalar(select(Interaction.id).where(Interaction.dedupe_key == "m3@mail.example"))
        assert contact.created_by_interaction_id == company.created_by_interaction_id == m3
        # m1 (before the contact existed) is linked now, and amy at a subdomain to the company
        rows = set(s.execute(select(Participant.address, Participant.contact_id,
                                    Participant.company_id)
                             .where(Participant.address != REP.email)))
    assert rows == {(ZED.email, contact.id, company.id), ("amy@eu.zeta.example", None,
                                                          company.id)}
    assert [e.subject for e in timeline(database, company="zeta.example")] == [
        "Subject 3", "Subject 2", "Subject 1"]


def test_importing_contacts_and_companies_links_past_interactions(
        database: Database, tmp_path: Path) -> None:
    settings = settings_for()
    page = Page("INBOX", [mail(1, sender=Address("Ann.Acme+crm@GoogleMail.com")),
                          mail(2, sender=Address("bo@eu.mail.acme.example")),
                          mail(3, sender=REP, to=(Address("ann@acme.example"),))])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    (tmp_path / "companies.csv").write_text("name,domains\nAcme,acme.example\n")
    (tmp_path / "contacts.csv").write_text(
        "name,emails,company_domain\nAnn,ann@acme.example;annacme@gmail.com,acme.example\n")
    assert import_companies(database, tmp_path / "companies.csv").linked == 2
    assert import_contacts(database, tmp_path / "contacts.csv").linked == 2
    # both of Ann's addresses (canonical gmail form) and the subdomain colleague
    assert [e.subject for e in timeline(database, contact="ann@acme.example")] == [
        "Subject 3", "Subject 1"]
    assert [e.subject for e in timeline(database, company="acme.example")] == [
        "Subject 3", "Subject 2", "Subject 1"]


# ---------------------------------------------------------------------- 8. opportunities

ANN = Address("ann@acme.example")
BO = Address("bo@beta.example")
CY = Address("cy@gamma.example")

OPPORTUNITIES = """company,name,stage,owner,status
acme.example,Acme renewal,proposal,Rita@OurCo.example,open
beta.example,Beta A,discovery,rita@ourco.example,open
beta.example,Beta B,discovery,sam@ourco.example,open
Gamma Inc,Gamma old,won,rita@ourco.example,closed
gamma.example,Gamma 2,,sam@ourco.example,open
eu.gamma.example,Gamma 3,,bob@ourco.example,Open
nobody.example,Lost cause,,,open
acme.example,,,,open
acme.example,Upsell,,,maybe
"""


def test_opportunity_import_and_linking(database: Database, tmp_path: Path) -> None:
    (tmp_path / "companies.csv").write_text(
        "name,domains\nAcme,acme.example\nBeta,beta.example\nGamma Inc,gamma.example\n")
    import_companies(database, tmp_path / "companies.csv")
    csv = tmp_path / "opps.csv"
    csv.write_text(OPPORTUNITIES)
    report = import_opportunities(database, csv)
    assert (report.created, report.updated, report.unchanged) == (6, 0, 0)
    assert [(e.line, e.message.split(": ", 1)[1][:30]) for e in report.errors] == [
        (8, "company: no company owns the d"), (9, "name is empty"),
        (10, "status: 'maybe' is not open or")]
    again = import_opportunities(database, csv)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)

    settings = settings_for()
    script = {"rita": [Page("INBOX", [mail(1, sender=ANN), mail(2, sender=BO),
                                      mail(3, sender=CY), mail(4, sender=Address("x@y.example"))])],
              "sam": [Page("INBOX", [mail(5, sender=BO, to=(SAM,))])]}
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    with database.session(write=False) as s:
        names = dict(s.execute(select(Opportunity.id, Opportunity.name)).all())

        def links() -> dict[str, tuple[str | None, str | None]]:
            return {k: (names.get(o) if o else None, r) for k, o, r in s.execute(
                select(Interaction.dedupe_key, Interaction.opportunity_id,
                       Interaction.opportunity_reason))}

        got = links()
    assert got["m1@mail.example"][0] == "Acme renewal"
    assert "only open one" in str(got["m1@mail.example"][1])
    assert got["m2@mail.example"][0] == "Beta A"       # several open: rita's own
    assert got["m5@mail.example"][0] == "Beta B"       # ... sam's own in sam's mailbox
    assert got["m3@mail.example"][0] is None           # several open, none rita's
    assert "none owned by rita@ourco.example" in str(got["m3@mail.example"][1])
    assert got["m4@mail.example"] == (None, "no company among the participants")

    # closing the Acme deal moves its history off it on re-import
    csv.write_text("company,name,status\nacme.example,Acme renewal,closed\n")
    assert import_opportunities(database, csv).updated == 1
    with database.session(write=False) as s:
        row = s.scalars(select(Interaction).where(
            Interaction.dedupe_key == "m1@mail.example")).one()
        assert row.opportunity_id is None
        assert row.opportunity_reason == "the company has no open opportunity"


# ---------------------------------------------------------------------- 9. segments


def test_tiers_and_tags_from_the_csv_import_select_reminder_rules(
        database: Database, tmp_path: Path) -> None:
    (tmp_path / "companies.csv").write_text(
        "name,domains,tier,tags\nAcme,acme.example,Strategic,emea\n"
        "Beta,beta.example,,\nGamma,gamma.example,,partner\n")
    (tmp_path / "contacts.csv").write_text("emails,tags\nbo@beta.example,champion\n")
    import_companies(database, tmp_path / "companies.csv")
    import_contacts(database, tmp_path / "contacts.csv")
    rule = {"kind": "follow_up", "hours": 1}
    settings = settings_for(reminders={"rules": {
        "strategic": {**rule, "match": {"company_tier": ["strategic"]}, "priority": "urgent"},
        "champions": {**rule, "match": {"contact_tag": ["champion"]}, "priority": "high"},
        "partners": {**rule, "match": {"company_tag": ["partner"]}, "priority": "low"},
        "default": {**rule, "priority": "normal"}}})
    page = Page("SENT", [mail(n, sender=REP, to=(who,)) for n, who in
                         ((1, ANN), (2, BO), (3, CY), (4, Address("x@y.example")))])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    with database.session(write=False) as s:
        got = {(subject or "").rpartition(": ")[2]: (rule_name, priority)
               for subject, rule_name, priority in s.execute(
            select(Reminder.subject, Reminder.rule, Reminder.priority)
            .where(Reminder.kind == "follow_up"))}
    assert got == {
        "Subject 1": ("strategic", "urgent"), "Subject 2": ("champions", "high"),
        "Subject 3": ("partners", "low"), "Subject 4": ("default", "normal")}


def test_two_accounts_seeing_a_new_person_at_once_create_one_contact(
        database: Database) -> None:
    # see syncd/sync/autocreate.py: the pages serialize on the person's unmatched row
    settings = settings_for({"contacts": "sent_and_received", "companies": True})
    people = [Address(f"new{n}@fresh{n}.example") for n in range(6)]
    script = {  # different messages from the same new people, in both mailboxes
        "rita": [Page("INBOX", [mail(n, sender=p) for n, p in enumerate(people, 1)])],
        "sam": [Page("INBOX", [mail(n + 10, sender=p, to=(SAM,))
                               for n, p in enumerate(reversed(people), 1)])],
    }
    engine = engine_for(database, settings, script)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def run(account: Any) -> None:
        barrier.wait()
        results.append(engine.sync_account(account).ok)

    threads = [threading.Thread(target=run, args=(a,)) for a in settings.accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [True, True]
    with database.session(write=False) as s:
        addresses = list(s.scalars(select(ContactEmail.address)))
        domains = list(s.scalars(select(CompanyDomain.domain)))
        companies = list(s.scalars(select(Company.id)))
    assert sorted(addresses) == sorted(p.email for p in people)
    assert len(domains) == len(companies) == 6

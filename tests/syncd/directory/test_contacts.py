"""CSV import of companies and contacts, re-import, bad rows, late matching."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from providers.base import Address, Page
from syncd.directory.contacts import import_companies, import_contacts
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail, UnmatchedAddress
from tests.syncd.store.builders import REP, apply, message


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


COMPANIES = """\ufeffName,Domains,Tier,Tags,Owner,Extra
Acme Corp,acme.example;ACME.co.example,strategic,emea;partner,rita@ourco.example,x
Globex,globex.example,,,,
No Domain,,gold,,,
Gmail Inc,gmail.com,,,,
Bad Owner,bad.example,,,not-an-address,
Acme EU,eu.acme.example,,,,
"""


def test_import_companies_with_bad_rows_and_reimport(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "companies.csv", COMPANIES)
    report = import_companies(database, path)
    assert (report.created, report.updated) == (3, 0)
    assert [(e.line, e.message.split(": ")[1]) for e in report.errors] == [
        (4, "domains is empty; give at least one (e.g. acme.com)"),
        (5, "domains"), (6, "owner")]
    assert "free-mail" in report.errors[1].message
    with database.session(write=False) as s:
        acme = s.scalars(select(Company).where(Company.name == "Acme Corp")).one()
        assert (acme.tier, acme.tags, acme.owner) == ("strategic", ["emea", "partner"],
                                                      "rita@ourco.example")
        assert [d.domain for d in acme.domains] == ["acme.co.example", "acme.example"]
    again = import_companies(database, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    write(tmp_path / "update.csv", "name,domains,tier\nACME Corporation,acme.example;acme.dev,\n")
    third = import_companies(database, tmp_path / "update.csv")
    assert (third.created, third.updated) == (0, 1)
    with database.session(write=False) as s:
        acme = s.scalars(select(Company).join(CompanyDomain)
                         .where(CompanyDomain.domain == "acme.dev")).one()
        assert (acme.name, acme.tier, acme.tags) == ("ACME Corporation", None,
                                                    ["emea", "partner"])
        assert len(acme.domains) == 3


def test_import_contacts_several_addresses_and_reimport(database: Database,
                                                       tmp_path: Path) -> None:
    import_companies(database, write(tmp_path / "c.csv", "name,domains\nAcme,acme.example\n"))
    contacts = write(tmp_path / "contacts.csv", (
        "name,emails,company_domain,title,tags\n"
        "Ann Acme,Ann@Acme.example; ann.private@GoogleMail.com,acme.example,CTO,champion\n"
        "Nobody,,acme.example,,\n"
        "Broken,not-an-address,,,\n"
        "Lost,lost@nowhere.example,nowhere.example,,\n"
        "Bob,bob@acme.example,,,\n"
    ))
    report = import_contacts(database, contacts)
    assert (report.created, report.updated) == (2, 0)
    assert [e.line for e in report.errors] == [3, 4, 5]
    with database.session(write=False) as s:
        ann = s.scalars(select(Contact).where(Contact.name == "Ann Acme")).one()
        assert sorted(e.address for e in ann.emails) == ["ann@acme.example",
                                                        "annprivate@gmail.com"]
        assert ann.company_id is not None and ann.title == "CTO" and ann.tags == ["champion"]
    write(contacts, "name,emails\nAnn A.,annprivate@gmail.com;ann@acme.example;a2@acme.example\n")
    again = import_contacts(database, contacts)
    assert (again.created, again.updated, again.errors) == (0, 1, [])
    with database.session(write=False) as s:
        assert s.scalar(select(Contact.name).where(Contact.id == ann.id)) == "Ann A."
        assert len(list(s.scalars(select(ContactEmail)))) == 4  # 3 of Ann's + Bob's
        assert s.get(Contact, ann.id).title == "CTO"  # type: ignore[union-attr]


def test_contact_whose_addresses_belong_to_two_contacts_is_refused(
    database: Database, tmp_path: Path
) -> None:
    import_contacts(database, write(tmp_path / "a.csv", "emails\na@x.example\nb@x.example\n"))
    both = write(tmp_path / "b.csv", "emails\na@x.example;b@x.example\n")
    report = import_contacts(database, both)
    assert [e.line for e in report.errors] == [2]
    assert "different contacts" in report.errors[0].message


def test_missing_required_column_is_reported_on_line_1(database: Database,
                                                        tmp_path: Path) -> None:
    report = import_contacts(database, write(tmp_path / "a.csv", "name,mail\nx,y@z.example\n"))
    assert [(e.line, e.message.startswith("line 1: missing column(s) emails"))
            for e in report.errors] == [(1, True)]


def test_late_matching_links_past_interactions(database: Database, tmp_path: Path) -> None:
    apply(database, Page("INBOX", [
        message(1, sender=Address("zoe@newco.example", "Zoe")),
        message(2, sender=REP, to=(Address("Zoe@NewCo.example"), Address("max@newco.example"))),
        message(3, sender=Address("zoe.private@gmail.com")),
    ]))
    assert timeline(database, company="newco.example")  # by domain, before any company
    with database.session(write=False) as s:
        assert {u.address for u in s.scalars(select(UnmatchedAddress))} == {
            "zoe@newco.example", "max@newco.example", "zoeprivate@gmail.com",
            "person1@acme.example"} - {"person1@acme.example"}
    companies = import_companies(database, write(tmp_path / "co.csv",
                                                 "name,domains\nNewCo,newco.example\n"))
    assert companies.linked == 3
    entries = timeline(database, company="newco.example")
    assert len(entries) == 2
    assert all(p.company_name == "NewCo" for e in entries for p in e.participants
               if p.address.endswith("newco.example"))
    contacts = import_contacts(database, write(
        tmp_path / "ct.csv", "name,emails\nZoe,zoe@newco.example;zoe.private@gmail.com\n"))
    assert contacts.linked == 3
    entries = timeline(database, contact="zoe.private@gmail.com")
    assert [e.subject for e in entries] == ["Hello"] * 3
    zoe = {p.contact_name for e in entries for p in e.participants if p.contact_id}
    assert zoe == {"Zoe"}
    with database.session(write=False) as s:
        left = {u.address: u.interaction_count for u in s.scalars(select(UnmatchedAddress))}
    assert left == {"max@newco.example": 1}

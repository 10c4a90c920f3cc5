"""Contact and company search with rollups (what the API and the CLI read)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from providers.base import Address, Page
from syncd.store.database import Database
from syncd.store.directory_queries import (
    CompanyView,
    ContactView,
    DirectoryFilters,
    company_by_domain,
    company_page,
    company_view,
    contact_page,
    contact_view,
    contacts_by_address,
)
from syncd.store.rollups import refresh_rollups
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail
from syncd.store.types import utcnow
from tests.syncd.store.builders import REP, apply, message


def directory(db: Database) -> dict[str, int]:
    """Acme (two domains, a subsidiary), Globex; Ann and Bob at Acme, Dan on gmail."""
    ids: dict[str, int] = {}
    with db.session() as s:
        for name, domains in (("Acme Corp", ["acme.example", "acme-corp.example"]),
                              ("Acme Europe", ["eu.acme.example"]),
                              ("Globex", ["globex.example"])):
            company = Company(name=name, tags=[], tier="strategic" if name == "Acme Corp"
                              else None)
            s.add(company)
            s.flush()
            ids[name] = company.id
            for domain in domains:
                s.add(CompanyDomain(company_id=company.id, domain=domain))
        for name, emails, company_name in (
                ("Ann Example", ["ann@acme.example", "ann@acme-corp.example"], "Acme Corp"),
                ("Bob Builder", ["bob@acme.example"], "Acme Corp"),
                ("Dan Gmail", ["dan@gmail.com"], "Globex"),
                ("Bob Shared", ["bob@acme.example"], None)):
            contact = Contact(name=name, tags=["vip"] if name == "Ann Example" else [],
                              company_id=ids.get(company_name or ""))
            s.add(contact)
            s.flush()
            ids[name] = contact.id
            for email in emails:
                s.add(ContactEmail(contact_id=contact.id, address=email, original=email))
    return ids


def names(views: Sequence[ContactView | CompanyView]) -> list[str]:
    return [v.name or "" for v in views]


def test_contact_search_filters_and_pages(database: Database) -> None:
    ids = directory(database)
    now = utcnow()

    def page(after: int | None = None, limit: int = 10, **filters: str) -> list[str]:
        return names(contact_page(database, DirectoryFilters(**filters), after=after,
                                  limit=limit, now=now))

    assert page() == ["Ann Example", "Bob Builder", "Dan Gmail", "Bob Shared"]
    assert page(name="bob") == ["Bob Builder", "Bob Shared"]
    assert page(name="%") == []  # LIKE wildcards are literal
    assert page(address="BOB@acme.example") == ["Bob Builder", "Bob Shared"]
    assert page(domain="acme-corp.example") == ["Ann Example", "Bob Builder"]  # Acme owns it
    assert page(domain="gmail.com") == ["Dan Gmail"]  # an address there
    assert page(domain="acme.example", name="ann") == ["Ann Example"]
    first = contact_page(database, DirectoryFilters(), after=None, limit=2, now=now)
    rest = page(after=first[-1].id)
    assert names(first) + rest == page()
    ann = contact_view(database, ids["Ann Example"], now=now)
    assert ann is not None and ann.company_name == "Acme Corp" and ann.tags == ("vip",)
    assert ann.emails == ("ann@acme-corp.example", "ann@acme.example")
    assert contact_view(database, 999_999, now=now) is None
    assert names(contacts_by_address(database, "bob@acme.example", now=now)) == [
        "Bob Builder", "Bob Shared"]


def test_company_search_and_the_owner_of_a_domain(database: Database) -> None:
    ids = directory(database)
    now = utcnow()

    def page(**filters: str) -> list[str]:
        return names(company_page(database, DirectoryFilters(**filters), after=None, limit=10,
                                  now=now))

    assert page() == ["Acme Corp", "Acme Europe", "Globex"]
    assert page(name="ACME") == ["Acme Corp", "Acme Europe"]
    assert page(domain="eu.acme.example") == ["Acme Corp", "Acme Europe"]  # owner and parent
    assert page(domain="acme-corp.example") == ["Acme Corp"]
    assert page(address="dan@gmail.com") == ["Globex"]  # Dan's company
    assert page(address="zed@eu.acme.example") == ["Acme Corp", "Acme Europe"]
    found = company_by_domain(database, "mail.eu.acme.example", now=now)
    assert found is not None and found.name == "Acme Europe"  # the subsidiary wins
    assert company_by_domain(database, "nowhere.example", now=now) is None
    acme = company_view(database, ids["Acme Corp"], now=now)
    assert acme is not None and acme.domains == ("acme-corp.example", "acme.example")
    assert acme.tier == "strategic"


def test_views_carry_rollups_and_no_subjects(database: Database) -> None:
    ids = directory(database)
    when = utcnow() - timedelta(days=3)
    applied = apply(database, Page("INBOX", [
        message(1, sender=Address("ann@acme.example"), subject="Secret pricing", when=when),
        message(2, sender=REP, to=(Address("ann@acme.example"),), subject="Re: Secret pricing",
                when=when + timedelta(hours=1), in_reply_to="msg-1@mail.example",
                references=("msg-1@mail.example",))]))
    assert applied.touched_contacts == {ids["Ann Example"]}
    assert applied.touched_companies == {ids["Acme Corp"]}
    with database.session() as s:
        refresh_rollups(s, applied.touched_contacts, applied.touched_companies, now=utcnow())
    ann = contact_view(database, ids["Ann Example"], now=utcnow())
    assert ann is not None
    rollup = ann.rollup
    assert rollup.interactions_30d == 2 and rollup.last_exchange_at == when + timedelta(hours=1)
    assert [r.rep for r in rollup.top_reps] == [REP.email]
    text = str(ann.to_dict())
    assert "Secret" not in text and "pricing" not in text
    acme = company_view(database, ids["Acme Corp"], now=utcnow())
    assert acme is not None and acme.rollup.interactions_total == 2

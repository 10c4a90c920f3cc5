"""Contacts and companies with their relationship rollups, for the API and the CLI.

* :func:`contact_page` / :func:`company_page` search the directory by
  ``name`` (case-insensitive substring), ``domain`` and ``address`` (all
  given filters must hold) and list by id ascending, strictly after
  ``after``: a key sync never changes, so pages neither repeat nor skip
  while sync writes.
* :func:`contact_view` / :func:`company_view` by id; :func:`contacts_by_address`
  (an address may belong to two contacts) and :func:`company_by_domain` (the
  company owning the domain or its nearest parent: a subsidiary wins) for
  ``syncd contacts show`` / ``syncd companies show``.

Every view carries its :class:`~syncd.store.rollup_facts.Rollup` as of
``now``, read from the stored rollups (:func:`syncd.store.rollups.read_rollups`),
never recomputed per request. Rollups hold times, counts and reps' addresses,
never an interaction's subject or text, so no content visibility applies.

Filters:

* contacts ``domain``: an address at exactly that domain, or the company
  owning that domain; ``address``: owns that canonical address;
* companies ``domain``: owns the domain or one of its parents; ``address``:
  the company of the contacts owning the address, or owning its domain.

Cost: a page is one indexed query for the ids plus a fixed number of
batched look-ups; ``name`` and the contacts' address-domain filter are
scans (substring and suffix matches use no index), bounded by ``limit``
matches in id order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, domain_suffixes
from syncd.store.database import Database
from syncd.store.relationships import Relationship, read_relationships
from syncd.store.rollup_facts import Rollup
from syncd.store.rollups import read_rollups
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail
from syncd.store.sql import chunks


@dataclass(frozen=True, slots=True)
class DirectoryFilters:
    #: case-insensitive part of the name
    name: str | None = None
    domain: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    name: str | None
    title: str | None
    emails: tuple[str, ...]
    company_id: int | None
    company_name: str | None
    tags: tuple[str, ...]
    rollup: Rollup = field(default_factory=Rollup)
    relationship: Relationship = field(default_factory=Relationship)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "title": self.title,
                "emails": list(self.emails), "company_id": self.company_id,
                "company_name": self.company_name, "tags": list(self.tags),
                "rollup": self.rollup.to_dict(), "relationship": self.relationship.to_dict()}


@dataclass(frozen=True, slots=True)
class CompanyView:
    id: int
    name: str
    domains: tuple[str, ...]
    tier: str | None
    tags: tuple[str, ...]
    owner: str | None
    rollup: Rollup = field(default_factory=Rollup)
    relationship: Relationship = field(default_factory=Relationship)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "domains": list(self.domains),
                "tier": self.tier, "tags": list(self.tags), "owner": self.owner,
                "rollup": self.rollup.to_dict(), "relationship": self.relationship.to_dict()}


# ---------------------------------------------------------------------- contacts


def contact_page(db: Database, filters: DirectoryFilters, *, after: int | None, limit: int,
                 now: datetime) -> list[ContactView]:
    """Contacts matching ``filters``, by id, after ``after`` (see module doc)."""
    conditions: list[ColumnElement[bool]] = []
    if after is not None:
        conditions.append(Contact.id > after)
    if filters.name:
        conditions.append(func.lower(Contact.name).contains(filters.name.lower(),
                                                            autoescape=True))
    if filters.address:
        conditions.append(Contact.id.in_(select(ContactEmail.contact_id).where(
            ContactEmail.address == _address(filters.address))))
    if filters.domain:
        domain = _domain(filters.domain)
        conditions.append(or_(
            Contact.company_id.in_(select(CompanyDomain.company_id)
                                   .where(CompanyDomain.domain == domain)),
            Contact.id.in_(select(ContactEmail.contact_id).where(
                ContactEmail.address.endswith("@" + domain, autoescape=True)))))
    with db.session(write=False) as s:
        ids = list(s.scalars(select(Contact.id).where(*conditions)
                             .order_by(Contact.id).limit(limit)))
        return _contacts(s, ids, now)


def contact_view(db: Database, contact_id: int, *, now: datetime) -> ContactView | None:
    with db.session(write=False) as s:
        found = _contacts(s, [contact_id], now)
    return found[0] if found else None


def contacts_by_address(db: Database, email: str, *, now: datetime) -> list[ContactView]:
    """The contacts owning this address (canonical form), by id."""
    with db.session(write=False) as s:
        ids = sorted(set(s.scalars(select(ContactEmail.contact_id).where(
            ContactEmail.address == _address(email)))))
        return _contacts(s, ids, now)


def _contacts(s: Session, ids: Sequence[int], now: datetime) -> list[ContactView]:
    rows: dict[int, tuple[Any, ...]] = {}
    emails: dict[int, list[str]] = {}
    for batch in chunks(ids):
        rows.update({row[0]: tuple(row) for row in s.execute(
            select(Contact.id, Contact.name, Contact.title, Contact.company_id, Contact.tags)
            .where(Contact.id.in_(batch)))})
        for contact_id, address in s.execute(
                select(ContactEmail.contact_id, ContactEmail.address)
                .where(ContactEmail.contact_id.in_(batch))
                .order_by(ContactEmail.contact_id, ContactEmail.address)):
            emails.setdefault(contact_id, []).append(address)
    names = _company_names(s, {row[3] for row in rows.values() if row[3] is not None})
    rollups = read_rollups(s, "contact", list(rows), now=now)
    relationships = read_relationships(s, "contact", list(rows), now=now)
    out: list[ContactView] = []
    for i in ids:
        if i not in rows:
            continue
        _, name, title, company_id, tags = rows[i]
        out.append(ContactView(
            id=i, name=name, title=title, emails=tuple(emails.get(i, ())),
            company_id=company_id,
            company_name=names.get(company_id) if company_id is not None else None,
            tags=tuple(tags or ()), rollup=rollups[i], relationship=relationships[i]))
    return out


# ---------------------------------------------------------------------- companies


def company_page(db: Database, filters: DirectoryFilters, *, after: int | None, limit: int,
                 now: datetime) -> list[CompanyView]:
    """Companies matching ``filters``, by id, after ``after`` (see module doc)."""
    conditions: list[ColumnElement[bool]] = []
    if after is not None:
        conditions.append(Company.id > after)
    if filters.name:
        conditions.append(func.lower(Company.name).contains(filters.name.lower(),
                                                            autoescape=True))
    if filters.domain:
        conditions.append(Company.id.in_(select(CompanyDomain.company_id).where(
            CompanyDomain.domain.in_(domain_suffixes(_domain(filters.domain))))))
    if filters.address:
        address = _address(filters.address)
        host = address.rpartition("@")[2]
        conditions.append(or_(
            Company.id.in_(select(Contact.company_id).join(
                ContactEmail, ContactEmail.contact_id == Contact.id)
                .where(ContactEmail.address == address)),
            Company.id.in_(select(CompanyDomain.company_id).where(
                CompanyDomain.domain.in_(domain_suffixes(host) if host else ())))))
    with db.session(write=False) as s:
        ids = list(s.scalars(select(Company.id).where(*conditions)
                             .order_by(Company.id).limit(limit)))
        return _companies(s, ids, now)


def company_view(db: Database, company_id: int, *, now: datetime) -> CompanyView | None:
    with db.session(write=False) as s:
        found = _companies(s, [company_id], now)
    return found[0] if found else None


def company_by_domain(db: Database, domain: str, *, now: datetime) -> CompanyView | None:
    """The company owning ``domain`` or its nearest parent domain (a subsidiary wins)."""
    with db.session(write=False) as s:
        owner = s.scalars(select(CompanyDomain.company_id)
                          .where(CompanyDomain.domain.in_(domain_suffixes(_domain(domain))))
                          .order_by(func.length(CompanyDomain.domain).desc())
                          .limit(1)).first()
        found = _companies(s, [owner], now) if owner is not None else []
    return found[0] if found else None


def _companies(s: Session, ids: Sequence[int], now: datetime) -> list[CompanyView]:
    rows: dict[int, tuple[Any, ...]] = {}
    domains: dict[int, list[str]] = {}
    for batch in chunks(ids):
        rows.update({row[0]: tuple(row) for row in s.execute(
            select(Company.id, Company.name, Company.tier, Company.tags, Company.owner)
            .where(Company.id.in_(batch)))})
        for company_id, domain in s.execute(
                select(CompanyDomain.company_id, CompanyDomain.domain)
                .where(CompanyDomain.company_id.in_(batch))
                .order_by(CompanyDomain.company_id, CompanyDomain.domain)):
            domains.setdefault(company_id, []).append(domain)
    rollups = read_rollups(s, "company", list(rows), now=now)
    relationships = read_relationships(s, "company", list(rows), now=now)
    out: list[CompanyView] = []
    for i in ids:
        if i not in rows:
            continue
        _, name, tier, tags, owner = rows[i]
        out.append(CompanyView(id=i, name=name, domains=tuple(domains.get(i, ())), tier=tier,
                               tags=tuple(tags or ()), owner=owner, rollup=rollups[i],
                               relationship=relationships[i]))
    return out


def _company_names(s: Session, ids: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for batch in chunks(sorted(ids)):
        out.update({i: name for i, name in s.execute(
            select(Company.id, Company.name).where(Company.id.in_(batch)))})
    return out


def _address(value: str) -> str:
    return canonical_address(value) or value.strip().lower()


def _domain(value: str) -> str:
    text = value.strip().lstrip("@")
    return canonical_domain(text) or text.lower()

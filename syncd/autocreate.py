"""Auto-creation of contacts and companies while a page is stored.

After :func:`syncd.store.apply.apply_page`, in the page's transaction, the
engine calls :func:`create_for_page`. For every participant of every item
that was logged, :func:`matching.auto_create` decides (from
``matching.auto_create`` in config) whether a contact and/or a company
should exist; this module creates the missing ones and stamps each with
``created_by_interaction_id`` (the first interaction of the page that asked
for it). Then :func:`syncd.store.linking.relink` links the page's
participants — and every earlier interaction of those addresses and
domains (late matching) — to the new records.

Rules kept here (the decisions themselves live in matching/autocreate.py):

* Nothing happens when all three settings are off (the default): zero
  queries.
* A company is named after its registrable domain and owns that domain; a
  contact gets the display name seen on the interaction and the company of
  its domain (existing or just created).
* Existing rows win: an address already owned by a contact, a domain
  already owned by a company, is never created again. Races: the domain
  insert is ``ON CONFLICT DO NOTHING`` (two writers racing for one domain
  end with one company; the loser drops its empty company row). Two pages
  seeing the same new person cannot both create a contact: both upsert
  that address's ``unmatched_addresses`` row in :func:`apply_page` first,
  so on PostgreSQL the second page waits there until the first commits and
  then finds its contact (SQLite write transactions are serial anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matching import auto_create, automation_reason, direction_of
from matching.types import AutoCreatePolicy, Decision, Policy
from providers.base import Event, Message, Page
from syncd.store.linking import relink
from syncd.store.records import invite_provider_id, key
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail, Interaction
from syncd.store.sql import chunks, insert_ignoring_conflicts, table_of
from syncd.store.types import utcnow


@dataclass
class Created:
    contacts: list[int] = field(default_factory=list)
    companies: list[int] = field(default_factory=list)
    linked: int = 0


@dataclass
class _Want:
    dedupe_key: str
    name: str | None = None
    domain: str | None = None


def enabled(rule: AutoCreatePolicy) -> bool:
    return rule.contacts != "none" or rule.meeting_contacts != "none" or rule.companies


def create_for_page(session: Session, page: Page, decisions: Mapping[str, Decision],
                    skip: Mapping[str, str], rule: AutoCreatePolicy,
                    policy: Policy) -> Created:
    """Create what ``rule`` asks for the logged items of ``page`` (see module doc)."""
    created = Created()
    if not enabled(rule):
        return created
    contacts: dict[str, _Want] = {}
    companies: dict[str, _Want] = {}
    for item in page.items:
        if isinstance(item, Message):
            if item.provider_id not in skip:
                _message(item, decisions, rule, policy, contacts, companies)
            for invite in item.invites:
                if invite_provider_id(item, invite) not in skip:
                    _event(invite, decisions, rule, contacts, companies)
        elif isinstance(item, Event) and item.provider_id not in skip:
            _event(item, decisions, rule, contacts, companies)
    if not contacts and not companies:
        return created
    ids = _interaction_ids(session, {w.dedupe_key for w in [*contacts.values(),
                                                             *companies.values()]})
    now = utcnow()
    domain_company = _create_companies(session, companies, ids, now, created)
    _create_contacts(session, contacts, ids, domain_company, now, created)
    created.linked = relink(session, policy, addresses=list(contacts),
                            domains=list(companies))
    return created


def _consider(decision: Decision, verdict_contact: bool, verdict_company: bool, dedupe: str,
              name: str | None, contacts: dict[str, _Want], companies: dict[str, _Want]) -> None:
    if verdict_contact:
        contacts.setdefault(decision.address, _Want(dedupe, name, decision.domain))
    if verdict_company and decision.domain is not None:
        companies.setdefault(decision.domain, _Want(dedupe))


def _message(item: Message, decisions: Mapping[str, Decision], rule: AutoCreatePolicy,
             policy: Policy, contacts: dict[str, _Want], companies: dict[str, _Want]) -> None:
    sender = item.sender.email if item.sender is not None else None
    auto = item.automation
    automated = automation_reason(list_id=auto.list_id, list_unsubscribe=auto.list_unsubscribe,
                                  auto_submitted=auto.auto_submitted,
                                  precedence=auto.precedence, sender=sender, policy=policy)
    direction = direction_of(decisions.get(sender) if sender is not None else None)
    dedupe = key(item.message_id)
    for role, address in item.participants:
        decision = decisions.get(address.email)
        if decision is None:
            continue
        verdict = auto_create(kind="email", direction=direction, role=role, decision=decision,
                              policy=rule, automated_reason=automated)
        _consider(decision, verdict.contact, verdict.company, dedupe, address.name,
                  contacts, companies)


def _event(event: Event, decisions: Mapping[str, Decision], rule: AutoCreatePolicy,
           contacts: dict[str, _Want], companies: dict[str, _Want]) -> None:
    organizer = decisions.get(event.organizer.email) if event.organizer is not None else None
    direction = direction_of(organizer)
    dedupe = key(event.dedupe_key)
    people = [("organizer", event.organizer)] if event.organizer is not None else []
    people += [("attendee", a.address) for a in event.attendees]
    for role, address in people:
        decision = decisions.get(address.email)
        if decision is None:
            continue
        verdict = auto_create(kind="meeting", direction=direction, role=role,
                              decision=decision, policy=rule)
        _consider(decision, verdict.contact, verdict.company, dedupe, address.name,
                  contacts, companies)


def _interaction_ids(session: Session, keys: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for batch in chunks(sorted(keys)):
        out.update({k: i for i, k in session.execute(
            select(Interaction.id, Interaction.dedupe_key)
            .where(Interaction.dedupe_key.in_(batch)))})
    return out


def _create_companies(session: Session, wanted: dict[str, _Want], ids: dict[str, int],
                      now: Any, created: Created) -> dict[str, int]:
    """domain -> company id for every wanted domain (existing or new)."""
    owners: dict[str, int] = {}
    for batch in chunks(sorted(wanted)):
        owners.update({d: c for d, c in session.execute(
            select(CompanyDomain.domain, CompanyDomain.company_id)
            .where(CompanyDomain.domain.in_(batch)))})
    for domain in sorted(set(wanted) - set(owners)):
        company = Company(name=domain, tags=[], created_at=now, updated_at=now,
                          created_by_interaction_id=ids.get(wanted[domain].dedupe_key))
        session.add(company)
        session.flush()
        insert_ignoring_conflicts(session, table_of(CompanyDomain),
                                  [{"company_id": company.id, "domain": domain}], ["domain"])
        owner = session.scalar(select(CompanyDomain.company_id)
                               .where(CompanyDomain.domain == domain))
        assert owner is not None
        if owner != company.id:  # another writer created it first
            session.execute(delete(Company).where(Company.id == company.id))
        else:
            created.companies.append(company.id)
        owners[domain] = owner
    return owners


def _create_contacts(session: Session, wanted: dict[str, _Want], ids: dict[str, int],
                     domain_company: dict[str, int], now: Any, created: Created) -> None:
    known: set[str] = set()
    for batch in chunks(sorted(wanted)):
        known.update(session.scalars(select(ContactEmail.address)
                                     .where(ContactEmail.address.in_(batch))))
    company_of: dict[str, int] = dict(domain_company)
    missing_domains = sorted({w.domain for a, w in wanted.items()
                              if a not in known and w.domain and w.domain not in company_of})
    for batch in chunks(missing_domains):
        company_of.update({d: c for d, c in session.execute(
            select(CompanyDomain.domain, CompanyDomain.company_id)
            .where(CompanyDomain.domain.in_(batch)))})
    for address in sorted(set(wanted) - known):
        want = wanted[address]
        contact = Contact(name=(want.name or None), tags=[], created_at=now, updated_at=now,
                          company_id=company_of.get(want.domain or ""),
                          created_by_interaction_id=ids.get(want.dedupe_key))
        session.add(contact)
        session.flush()
        session.add(ContactEmail(contact_id=contact.id, address=address, original=address))
        created.contacts.append(contact.id)
    session.flush()

"""Auto-creation of contacts and companies while a page is stored.

After the page is written, in the page's transaction, the engine calls
:func:`create_for_page` with the page's plan (:mod:`syncd.sync.triage`). For
every participant of every entry that was logged, :func:`matching.auto_create` decides (from
``matching.auto_create`` in config) whether a contact and/or a company
should exist; this module creates the missing ones and stamps each with
``created_by_interaction_id`` (the first interaction of the page that asked
for it). Then :func:`syncd.store.relink.relink` links the page's
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
  that address's ``unmatched_addresses`` row in the page writer first,
  so on PostgreSQL the second page waits there until the first commits and
  then finds its contact (SQLite write transactions are serial anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matching import auto_create, direction_of
from matching.types import AutoCreatePolicy, Policy
from syncd.store.change_events import company_change, contact_change
from syncd.store.changes import record_changes
from syncd.store.leads import convert_leads
from syncd.store.queries import interaction_ids_by_key
from syncd.store.relink import relink
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail
from syncd.store.sql import chunks, insert_ignoring_conflicts, table_of
from syncd.store.types import utcnow
from syncd.sync.triage import PagePlan


@dataclass
class Created:
    contacts: list[int] = field(default_factory=list)
    companies: list[int] = field(default_factory=list)
    linked: int = 0
    #: leads converted by the contacts created
    leads: list[int] = field(default_factory=list)


@dataclass
class _Want:
    dedupe_key: str
    name: str | None = None
    domain: str | None = None


def enabled(rule: AutoCreatePolicy) -> bool:
    return rule.contacts != "none" or rule.meeting_contacts != "none" or rule.companies


def create_for_page(session: Session, plan: PagePlan, rule: AutoCreatePolicy,
                    policy: Policy) -> Created:
    """Create what ``rule`` asks for the logged entries of ``plan`` (see module doc)."""
    created = Created()
    if not enabled(rule):
        return created
    contacts: dict[str, _Want] = {}
    companies: dict[str, _Want] = {}
    for logged in plan.logged:
        entry = logged.entry
        initiator = entry.initiator
        direction = direction_of(plan.decisions.get(initiator.email)
                                 if initiator is not None else None)
        for role, address in entry.people:
            decision = plan.decisions.get(address.email)
            if decision is None:
                continue
            verdict = auto_create(kind=entry.kind, direction=direction, role=role,
                                  decision=decision, policy=rule,
                                  automated_reason=entry.automated,
                                  role_patterns=policy.role_addresses)
            if verdict.contact:
                contacts.setdefault(decision.address, _Want(logged.record.dedupe_key,
                                                            address.name, decision.domain))
            if verdict.company and decision.domain is not None:
                companies.setdefault(decision.domain, _Want(logged.record.dedupe_key))
    if not contacts and not companies:
        return created
    ids = interaction_ids_by_key(session, {w.dedupe_key for w in [*contacts.values(),
                                                             *companies.values()]})
    now = utcnow()
    domain_company = _create_companies(session, companies, ids, now, created)
    _create_contacts(session, contacts, ids, domain_company, now, created)
    # a lead whose address is now a contact has converted (syncd.store.leads)
    created.leads = convert_leads(session, list(contacts), now=now)
    created.linked = relink(session, policy, addresses=list(contacts),
                            domains=list(companies))
    return created


def _create_companies(session: Session, wanted: dict[str, _Want], ids: dict[str, int],
                      now: datetime, created: Created) -> dict[str, int]:
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
            record_changes(session, [company_change("created", company, [domain])])
        owners[domain] = owner
    return owners


def _create_contacts(session: Session, wanted: dict[str, _Want], ids: dict[str, int],
                     domain_company: dict[str, int], now: datetime, created: Created) -> None:
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
        record_changes(session, [contact_change("created", contact, [address])])
    session.flush()

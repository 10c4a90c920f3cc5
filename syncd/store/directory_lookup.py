"""Prefetch the directory rows one page needs, as a matching DirectorySnapshot.

Cost is a fixed number of indexed ``IN`` queries per page (two, chunked for
very large pages): it depends on the page's distinct addresses, never on
the size of the directory.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from matching import canonical_address, domain_suffixes
from matching.types import ContactRef, DirectorySnapshot, Policy
from syncd.store.schema import CompanyDomain, Contact, ContactEmail
from syncd.store.sql import chunks

# built once: constructing and cache-keying a fresh select per chunk cost
# about as much as running it (bench/matching_store_bench.py)
_CONTACTS = (
    select(ContactEmail.address, Contact.id, Contact.company_id)
    .join(Contact, Contact.id == ContactEmail.contact_id)
    .where(ContactEmail.address.in_(bindparam("batch", expanding=True)))
    .order_by(ContactEmail.address, Contact.id)
)
_COMPANIES = select(CompanyDomain.domain, CompanyDomain.company_id).where(
    CompanyDomain.domain.in_(bindparam("batch", expanding=True))
)


def load_snapshot(
    session: Session, canonical_addresses: Iterable[str], domains: Iterable[str]
) -> DirectorySnapshot:
    """Contacts owning any of ``canonical_addresses``; companies owning any of ``domains``.

    ``domains`` should include every parent of each address's domain (see
    :func:`snapshot_for`), so a subsidiary's own subdomain can win.
    """
    contacts: dict[str, list[ContactRef]] = {}
    for batch in chunks(sorted(set(canonical_addresses))):
        for address, contact_id, company_id in session.execute(_CONTACTS, {"batch": batch}):
            contacts.setdefault(address, []).append(ContactRef(contact_id, company_id))
    companies: dict[str, int] = {}
    for batch in chunks(sorted(set(domains))):
        companies.update({d: c for d, c in session.execute(_COMPANIES, {"batch": batch})})
    return DirectorySnapshot(
        contacts={a: tuple(refs) for a, refs in contacts.items()}, companies=companies
    )


def snapshot_for(session: Session, addresses: Iterable[str], policy: Policy) -> DirectorySnapshot:
    """The snapshot ``matching.resolve`` needs for these raw address strings."""
    canonical: set[str] = set()
    hosts: set[str] = set()
    for raw in set(addresses):  # pages repeat the rep and their correspondents
        address = canonical_address(raw, policy)
        if address is None:
            continue
        canonical.add(address)
        hosts.add(address.rpartition("@")[2])
    domains: set[str] = set()
    for host in hosts:  # far fewer hosts than addresses
        domains.update(domain_suffixes(host))
    return load_snapshot(session, canonical, domains)

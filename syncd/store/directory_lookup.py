"""Prefetch the directory rows one page needs, as a matching DirectorySnapshot.

Cost is two indexed queries per page, one for contacts and one for
companies, whatever the page size: the whole key list goes in one bind
parameter (SQLite: a JSON array read by ``json_each``; PostgreSQL: an array
read by ``unnest``) that drives one index probe per key, so the statement
text never changes and stays prepared, and rows come back as plain driver
tuples (no ORM, no per-chunk statement).
Both probe covering indexes (``contact_emails(address, contact_id)``,
``contacts(id, company_id)``, migration 0004): one B-tree descent per key in
indexes much smaller than the tables, so a directory far bigger than the
page cache costs a few more page reads per key, not a row fetch per table.
Only the keys ``matching.resolve`` will read are queried
(``matching.directory_keys``): no internal addresses, no free-mail domains.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from matching import directory_keys
from matching.types import ContactRef, DirectorySnapshot, Policy

#: per dialect, (contacts, companies) statements taking the whole key list as
#: one parameter. SQLite walks the JSON array (sorted keys: neighbouring keys
#: share index pages) and probes the indexes once per key; CROSS JOIN fixes
#: that order and INDEXED BY the covering index, which the planner passes
#: over for the rowid when the store has no ANALYZE statistics yet.
_SQL = {
    "sqlite": (
        "SELECT e.address, e.contact_id, c.company_id FROM json_each(?) k"
        " CROSS JOIN contact_emails e INDEXED BY ix_contact_emails_address_contact_id"
        " CROSS JOIN contacts c INDEXED BY ix_contacts_id_company_id"
        " WHERE e.address = k.value AND c.id = e.contact_id",
        "SELECT d.domain, d.company_id FROM json_each(?) k"
        " CROSS JOIN company_domains d WHERE d.domain = k.value",
    ),
    # unnest rather than "= ANY(%s)": with a 2,000-key array PostgreSQL 15
    # planned ANY as a (parallel) sequential scan of 200k contact_emails,
    # a cost that grows with the directory; from unnest it probes the indexes
    "postgresql": (
        "SELECT e.address, e.contact_id, c.company_id FROM unnest(%s::text[]) k(value)"
        " JOIN contact_emails e ON e.address = k.value JOIN contacts c ON c.id = e.contact_id",
        "SELECT d.domain, d.company_id FROM unnest(%s::text[]) k(value)"
        " JOIN company_domains d ON d.domain = k.value",
    ),
}


def load_snapshot(
    session: Session, canonical_addresses: Iterable[str], domains: Iterable[str]
) -> DirectorySnapshot:
    """Contacts owning any of ``canonical_addresses``; companies owning any of ``domains``.

    ``domains`` should include every parent of each address's domain down to
    the registrable domain (see :func:`snapshot_for`), so a subsidiary's own
    subdomain can win. An address owned by several contacts lists them by id.
    """
    if session.autoflush:  # as session.execute would: rows added in this session count
        session.flush()
    conn = session.connection()
    contacts_sql, companies_sql = _SQL[conn.dialect.name]
    contacts: dict[str, tuple[ContactRef, ...]] = {}
    shared: set[str] = set()
    for address, contact_id, company_id in _rows(conn, contacts_sql, canonical_addresses):
        ref = ContactRef(contact_id, company_id)
        prior = contacts.get(address)
        if prior is None:
            contacts[address] = (ref,)
        else:
            contacts[address] = (*prior, ref)
            shared.add(address)
    for address in shared:  # rare: the ambiguity resolve reports
        contacts[address] = tuple(sorted(contacts[address], key=lambda r: r.id))
    companies: dict[str, int] = dict(_rows(conn, companies_sql, domains))
    return DirectorySnapshot(contacts=contacts, companies=companies)


def _rows(conn: Connection, sql: str, keys: Iterable[str]) -> Sequence[Any]:
    values = sorted(set(keys))
    if not values:
        return []
    param: object = values if conn.dialect.name == "postgresql" else json.dumps(values)
    return conn.exec_driver_sql(sql, (param,)).all()


def snapshot_for(session: Session, addresses: Iterable[str], policy: Policy) -> DirectorySnapshot:
    """The snapshot ``matching.resolve`` needs for these raw address strings."""
    canonical, domains = directory_keys(addresses, policy)
    return load_snapshot(session, canonical, domains)

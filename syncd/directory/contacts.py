"""CSV import of the CRM directory: companies and contacts.

Files are UTF-8 (a BOM is fine), comma-separated, with a header row.
Lists inside a cell are separated by ``;``. Columns not listed here are
ignored (CRM exports carry many).

companies.csv
    ``name``      required — the company's name
    ``domains``   required — its email domains, e.g. ``acme.com;acme.co.uk``
                  (a subsidiary may own a subdomain such as ``eu.acme.com``;
                  free-mail domains such as gmail.com are refused)
    ``tier``      optional — segment for reminder rules, e.g. ``strategic``
    ``tags``      optional — e.g. ``emea;partner``
    ``owner``     optional — the responsible rep's email address

contacts.csv
    ``name``            optional — the person's name
    ``emails``          required — one or more addresses, e.g.
                        ``jane@acme.com;jane.doe@gmail.com``
    ``company_domain``  optional — a domain of an already imported company
    ``title``           optional — job title
    ``tags``            optional — e.g. ``champion;billing``

Re-importing updates and never duplicates: a company is the existing one
owning any of its domains, a contact the existing one owning any of its
addresses (compared in canonical form). Domains and addresses are added,
never removed by an import; a column present in the header overwrites the
stored value (an empty cell clears it), an absent column leaves it alone.
A bad row becomes an :class:`~syncd.errors.ImportRowError` with its line
number; the other rows still import. Afterwards past interactions are
linked to the new or changed contacts and companies (late matching).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, domain_suffixes, is_free_mail
from matching.types import Policy
from syncd.config.model import Settings
from syncd.config.policies import global_policy
from syncd.directory.csv_rows import read_rows
from syncd.errors import ImportRowError
from syncd.store.change_events import company_change, contact_change
from syncd.store.changes import record_changes
from syncd.store.database import Database
from syncd.store.relink import relink
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail
from syncd.store.types import utcnow

COMPANY_COLUMNS = ("name", "domains", "tier", "tags", "owner")
CONTACT_COLUMNS = ("name", "emails", "company_domain", "title", "tags")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    #: participants linked to the imported records (late matching)
    linked: int = 0


def import_companies(
    db: Database, path: Path | str, *, policy: Policy | None = None
) -> ImportReport:
    """Create or update companies from ``path`` (columns in the module docstring)."""
    policy = policy or global_policy(Settings())
    report = ImportReport()
    domains_seen: set[str] = set()
    with db.session() as s:
        for line, row, present in read_rows(Path(path), ("name", "domains"), report.errors):
            try:
                with s.begin_nested():
                    outcome, domains = _import_company(s, row, present, policy)
            except _BadRow as exc:
                report.errors.append(ImportRowError(line, str(exc)))
                continue
            _count(report, outcome)
            domains_seen.update(domains)
        report.linked = relink(s, policy, domains=domains_seen)
    return report


def import_contacts(
    db: Database, path: Path | str, *, policy: Policy | None = None
) -> ImportReport:
    """Create or update contacts from ``path`` (columns in the module docstring)."""
    policy = policy or global_policy(Settings())
    report = ImportReport()
    addresses_seen: set[str] = set()
    contact_ids: set[int] = set()
    with db.session() as s:
        for line, row, present in read_rows(Path(path), ("emails",), report.errors):
            try:
                with s.begin_nested():
                    outcome, contact_id, addresses = _import_contact(s, row, present, policy)
            except _BadRow as exc:
                report.errors.append(ImportRowError(line, str(exc)))
                continue
            _count(report, outcome)
            addresses_seen.update(addresses)
            contact_ids.add(contact_id)
        report.linked = relink(s, policy, addresses=addresses_seen, contact_ids=contact_ids)
    return report


# ---------------------------------------------------------------------- reading


class _BadRow(ValueError):
    """What is wrong with one row; the caller adds the line number."""



def _split(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in value.split(";") if part.strip()))


def _optional(row: dict[str, str], present: set[str], column: str) -> tuple[bool, str | None]:
    if column not in present:
        return False, None
    return True, row.get(column) or None


def _count(report: ImportReport, outcome: str) -> None:
    setattr(report, outcome, getattr(report, outcome) + 1)


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# ---------------------------------------------------------------------- companies


def _import_company(s: Session, row: dict[str, str], present: set[str],
                    policy: Policy) -> tuple[str, list[str]]:
    name = row.get("name", "")
    if not name:
        raise _BadRow("name is empty")
    domains: list[str] = []
    for raw in _split(row.get("domains", "")):
        domain = canonical_domain(raw.lstrip("@"))
        if domain is None or "." not in domain:
            raise _BadRow(f"domains: {raw!r} is not a domain")
        if is_free_mail(domain, policy):
            raise _BadRow(f"domains: {raw!r} is a free-mail domain and cannot "
                                    "identify a company")
        domains.append(domain)
    if not domains:
        raise _BadRow("domains is empty; give at least one (e.g. acme.com)")
    owner_given, owner = _optional(row, present, "owner")
    if owner is not None and canonical_address(owner, policy) is None:
        raise _BadRow(f"owner: {owner!r} is not an email address")
    owners = {d: c for d, c in s.execute(
        select(CompanyDomain.domain, CompanyDomain.company_id)
        .where(CompanyDomain.domain.in_(domains)))}
    company_ids = sorted(set(owners.values()))
    if len(company_ids) > 1:
        raise _BadRow(f"domains belong to different companies "
                                f"({', '.join(map(str, company_ids))}); merge them first")
    values: dict[str, Any] = {"name": name}
    tier_given, tier = _optional(row, present, "tier")
    if tier_given:
        values["tier"] = tier
    if "tags" in present:
        values["tags"] = _split(row.get("tags", ""))
    if owner_given:
        values["owner"] = owner
    now = utcnow()
    if company_ids:
        company = s.get(Company, company_ids[0])
        assert company is not None
        changed = _assign(company, values)
        outcome = "updated" if changed else "unchanged"
    else:
        company = Company(created_at=now, updated_at=now, **{"tags": [], **values})
        s.add(company)
        s.flush()
        outcome = "created"
    new_domains = [d for d in domains if d not in owners]
    for domain in new_domains:
        s.add(CompanyDomain(company_id=company.id, domain=domain))
    if new_domains and outcome == "unchanged":
        outcome = "updated"
    if outcome == "updated":
        company.updated_at = now
    s.flush()
    if outcome != "unchanged":
        record_changes(s, [company_change(outcome, company, domains)])
    return outcome, domains


# ---------------------------------------------------------------------- contacts


def _import_contact(s: Session, row: dict[str, str], present: set[str],
                    policy: Policy) -> tuple[str, int, list[str]]:
    emails: dict[str, str] = {}
    for raw in _split(row.get("emails", "")):
        address = canonical_address(raw, policy)
        if address is None:
            raise _BadRow(f"emails: {raw!r} is not an email address")
        emails.setdefault(address, raw)
    if not emails:
        raise _BadRow("emails is empty; give at least one address")
    values: dict[str, Any] = {}
    for column in ("name", "title"):
        given, value = _optional(row, present, column)
        if given:
            values[column] = value
    if "tags" in present:
        values["tags"] = _split(row.get("tags", ""))
    given, company_domain = _optional(row, present, "company_domain")
    if given:
        values["company_id"] = _company_for(s, company_domain) if company_domain else None
    owners = sorted(set(s.scalars(select(ContactEmail.contact_id)
                                  .where(ContactEmail.address.in_(list(emails))))))
    if len(owners) > 1:
        raise _BadRow(f"emails belong to different contacts "
                                f"({', '.join(map(str, owners))}); merge them first")
    now = utcnow()
    if owners:
        contact = s.get(Contact, owners[0])
        assert contact is not None
        outcome = "updated" if _assign(contact, values) else "unchanged"
        known = set(s.scalars(select(ContactEmail.address)
                              .where(ContactEmail.contact_id == contact.id)))
    else:
        contact = Contact(created_at=now, updated_at=now, **{"tags": [], **values})
        s.add(contact)
        s.flush()
        outcome, known = "created", set()
    new = [a for a in emails if a not in known]
    for address in new:
        s.add(ContactEmail(contact_id=contact.id, address=address, original=emails[address]))
    if new and outcome == "unchanged":
        outcome = "updated"
    if outcome == "updated":
        contact.updated_at = now
    s.flush()
    if outcome != "unchanged":
        record_changes(s, [contact_change(outcome, contact, list(emails))])
    return outcome, contact.id, list(emails)


def _company_for(s: Session, value: str) -> int:
    domain = canonical_domain(value.strip().lstrip("@").rpartition("@")[2])
    if domain is None:
        raise _BadRow(f"company_domain: {value!r} is not a domain")
    found = s.execute(
        select(CompanyDomain.domain, CompanyDomain.company_id)
        .where(CompanyDomain.domain.in_(domain_suffixes(domain)))
    ).all()
    if not found:
        raise _BadRow(f"company_domain: no company owns {domain!r}; "
                                "import companies first")
    return max(found, key=lambda r: len(r[0]))[1]


# ---------------------------------------------------------------------- one record at a time

#: what is wrong with one record given to :func:`upsert_company` / :func:`upsert_contact`
RowError = _BadRow


def upsert_company(s: Session, row: dict[str, str], present: set[str],
                   policy: Policy) -> tuple[str, int, list[str]]:
    """One companies.csv row (lower-case column names; ``present``: the columns
    given) under the import's rules, without late matching: (outcome, company
    id, canonical domains). Raises :data:`RowError`. For the API's writes."""
    outcome, domains = _import_company(s, row, present, policy)
    company_id = s.scalar(select(CompanyDomain.company_id)
                          .where(CompanyDomain.domain == domains[0]))
    assert company_id is not None
    return outcome, company_id, domains


def upsert_contact(s: Session, row: dict[str, str], present: set[str],
                   policy: Policy) -> tuple[str, int, list[str]]:
    """One contacts.csv row under the import's rules, without late matching:
    (outcome, contact id, canonical addresses). Raises :data:`RowError`."""
    return _import_contact(s, row, present, policy)

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
    ``company``         optional — used when ``company_domain`` is absent or
                        empty: a domain of an imported company, else its
                        name (case-insensitive; must name one company), else
                        the company owning the domain of one of the contact's
                        addresses; a name that fits none or several companies
                        is an error for that row
    ``title``           optional — job title
    ``tags``            optional — e.g. ``champion;billing``

Re-importing updates and never duplicates: a company is the existing one
owning any of its domains, a contact the existing one owning any of its
addresses (compared in canonical form). Domains and addresses are added,
never removed by an import; a column present in the header overwrites the
stored value (an empty cell clears it), an absent column leaves it alone.
A bad row becomes an :class:`~syncd.errors.ImportRowError` with its line
number; the other rows still import. Afterwards past interactions are
linked to the new or changed contacts and companies (late matching), and
leads whose address a contact now owns are converted.

Export headers (``Email``, ``Account Name``, ``First Name`` + ``Last Name``,
a website URL…) are resolved to these columns by
:mod:`syncd.directory.columns`; ``maps`` are the ``--map`` overrides.

Batches: rows are streamed and committed ``batch_size`` at a time, each
batch in one transaction together with its late matching (the participants
of the batch's addresses or domains, re-resolved against everything
committed so far). Memory stays bounded whatever the file's size; an
interrupted import keeps its committed batches, fully linked, and
re-importing the file finishes it. A participant is re-resolved by each
batch touching its address or domain, so it ends linked as a single
transaction would have linked it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, domain_suffixes, is_free_mail
from matching.types import Policy
from syncd.config.model import Settings
from syncd.config.policies import global_policy
from syncd.directory.csv_rows import Row, read_rows
from syncd.errors import ImportRowError
from syncd.store.change_events import company_change, contact_change
from syncd.store.changes import record_changes
from syncd.store.database import Database
from syncd.store.leads import convert_leads
from syncd.store.relink import relink
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail
from syncd.store.types import utcnow

COMPANY_COLUMNS = ("name", "domains", "tier", "tags", "owner")
CONTACT_COLUMNS = ("name", "emails", "company_domain", "company", "title", "tags")
#: rows per transaction: large enough to amortise the commit and the late
#: matching, small enough to keep memory and lock times flat
BATCH_ROWS = 2000
#: called after each committed batch with the last line number read
ProgressFn = Callable[[int], None]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    #: participants linked to the imported records (late matching)
    linked: int = 0
    #: leads converted: a contact now owns their address (syncd.store.leads)
    leads_converted: int = 0


def import_companies(
    db: Database, path: Path | str, *, policy: Policy | None = None,
    maps: Sequence[tuple[str, str]] = (), batch_size: int = BATCH_ROWS,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Create or update companies from ``path`` (columns in the module docstring)."""
    policy = policy or global_policy(Settings())
    report = ImportReport()
    rows = read_rows(Path(path), "companies", report.errors, maps)
    for batch in batches(rows, batch_size):
        domains_seen: set[str] = set()
        with db.session() as s:
            for line, row, present in batch:
                try:
                    with s.begin_nested():
                        outcome, domains = _import_company(s, row, present, policy)
                except _BadRow as exc:
                    report.errors.append(ImportRowError(line, str(exc)))
                    continue
                _count(report, outcome)
                domains_seen.update(domains)
            report.linked += relink(s, policy, domains=domains_seen)
        if progress is not None:
            progress(batch[-1][0])
    return report


def import_contacts(
    db: Database, path: Path | str, *, policy: Policy | None = None,
    maps: Sequence[tuple[str, str]] = (), batch_size: int = BATCH_ROWS,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Create or update contacts from ``path`` (columns in the module docstring)."""
    policy = policy or global_policy(Settings())
    report = ImportReport()
    names = CompanyNames()
    rows = read_rows(Path(path), "contacts", report.errors, maps)
    for batch in batches(rows, batch_size):
        addresses_seen: set[str] = set()
        contact_ids: set[int] = set()
        with db.session() as s:
            for line, row, present in batch:
                try:
                    with s.begin_nested():
                        outcome, contact_id, addresses = _import_contact(
                            s, row, present, policy, names)
                except _BadRow as exc:
                    report.errors.append(ImportRowError(line, str(exc)))
                    continue
                _count(report, outcome)
                addresses_seen.update(addresses)
                contact_ids.add(contact_id)
            report.linked += relink(s, policy, addresses=addresses_seen,
                                    contact_ids=contact_ids)
            report.leads_converted += len(convert_leads(s, addresses_seen))
        if progress is not None:
            progress(batch[-1][0])
    return report


def batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """``size`` rows at a time (at least one), read lazily."""
    iterator = iter(rows)
    while batch := list(islice(iterator, max(1, size))):
        yield batch


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
    if outcome != "unchanged":  # the state: every stored domain, not just this row's
        stored = list(s.scalars(select(CompanyDomain.domain)
                                .where(CompanyDomain.company_id == company.id)
                                .order_by(CompanyDomain.id)))
        record_changes(s, [company_change(outcome, company, stored)])
    return outcome, domains


# ---------------------------------------------------------------------- contacts


def _import_contact(s: Session, row: dict[str, str], present: set[str],
                    policy: Policy, names: CompanyNames | None = None
                    ) -> tuple[str, int, list[str]]:
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
    named, company = _optional(row, present, "company")
    if given and company_domain:
        values["company_id"] = _company_for(s, company_domain)
    elif named and company:
        values["company_id"] = _company_named(s, company, list(emails), names or CompanyNames())
    elif given or named:
        values["company_id"] = None
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
    if outcome != "unchanged":  # the state: every stored address, not just this row's
        stored = list(s.scalars(select(ContactEmail.address)
                                .where(ContactEmail.contact_id == contact.id)
                                .order_by(ContactEmail.id)))
        record_changes(s, [contact_change(outcome, contact, stored)])
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


class CompanyNames:
    """Company ids by lower-cased name, read once per import (names are not indexed,
    and a contacts import changes no company)."""

    def __init__(self) -> None:
        self._ids: dict[str, list[int]] | None = None

    def ids(self, s: Session, name: str) -> list[int]:
        if self._ids is None:
            self._ids = {}
            for company_id, lowered in s.execute(select(Company.id, func.lower(Company.name))
                                                 .order_by(Company.id)):
                self._ids.setdefault(lowered, []).append(company_id)
        return self._ids.get(name.lower(), [])


def _company_named(s: Session, value: str, addresses: list[str], names: CompanyNames) -> int:
    """``company``: a domain, else a unique name, else the addresses' domain decides."""
    text = value.strip()
    host = text.rpartition("@")[2]
    if "." in host and " " not in host and canonical_domain(host) is not None:
        found = _owners(s, [host])
        if found:
            return found[0]
    named = names.ids(s, text)
    if len(named) == 1:
        return named[0]
    by_address = _owners(s, [a.rpartition("@")[2] for a in addresses])
    fitting = [c for c in by_address if c in named] if named else by_address
    if len(fitting) == 1:
        return fitting[0]
    if named:
        raise _BadRow(f"company: {text!r} names {len(named)} companies and the contact's "
                      "addresses do not tell which; give company_domain instead")
    if fitting:
        raise _BadRow(f"company: no company is named {text!r} and the contact's addresses "
                      f"belong to {len(fitting)} companies; give company_domain instead")
    raise _BadRow(f"company: no company is named {text!r} or owns a domain of the "
                  "contact's addresses; import companies first")


def _owners(s: Session, domains: list[str]) -> list[int]:
    """The company owning each domain (a subsidiary's subdomain first), deduplicated."""
    out: list[int] = []
    for raw in domains:
        domain = canonical_domain(raw.strip().lstrip("@"))
        if domain is None:
            continue
        found = s.execute(select(CompanyDomain.domain, CompanyDomain.company_id)
                          .where(CompanyDomain.domain.in_(domain_suffixes(domain)))).all()
        if found:
            company_id = int(max(found, key=lambda r: len(r[0]))[1])
            if company_id not in out:
                out.append(company_id)
    return out


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

"""Read-side queries: a contact's or company's timeline, and account health.

``timeline(db, contact=EMAIL)`` finds the contact(s) owning that address
and lists every interaction any of their addresses took part in; with no
such contact it falls back to the address itself (an unmatched person's
history). ``timeline(db, company=DOMAIN)`` does the same for the company
owning the domain (any of its domains), else the registrable domain.
Entries are newest first. Everything is loaded with a fixed number of
indexed queries, whatever the history size. Each entry shows people's
corrections of it (who set what, when: :mod:`syncd.store.override_rules`)
and, for a note or call, what was logged (:mod:`syncd.store.notes`). An
interaction marked "not a customer interaction" has no contact or company
on its participants any more, so it leaves contact and company timelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, domain_suffixes, registrable_domain
from syncd.store.audit import jsonable
from syncd.store.cursors import cursor_times
from syncd.store.database import Database
from syncd.store.notes import details_for
from syncd.store.override_rules import rules_for
from syncd.store.schema import (
    Account,
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Participant,
    Source,
    Thread,
)
from syncd.store.sql import chunks, names_by_id
from syncd.store.types import utcnow


def interaction_ids_by_key(session: Session, keys: set[str]) -> dict[str, int]:
    """Dedupe key -> interaction id, for the keys stored (in batches)."""
    out: dict[str, int] = {}
    for batch in chunks(sorted(keys)):
        out.update({k: i for i, k in session.execute(
            select(Interaction.id, Interaction.dedupe_key)
            .where(Interaction.dedupe_key.in_(batch)))})
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class TimelineParticipant:
    role: str
    address: str
    name: str | None
    match: str
    contact_id: int | None
    contact_name: str | None
    company_id: int | None
    company_name: str | None
    response_status: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    kind: str
    occurred_at: datetime
    ends_at: datetime | None
    subject: str | None
    direction: str
    status: str | None
    thread: str | None
    deleted: bool
    participants: tuple[TimelineParticipant, ...] = ()
    sources: tuple[str, ...] = ()  # account ids that saw it
    #: people's corrections (override records: who set what, when)
    corrections: tuple[dict[str, Any], ...] = ()
    #: a note's or call's author, duration, outcome (None for mail and meetings)
    logged: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "occurred_at": _iso(self.occurred_at),
            "ends_at": _iso(self.ends_at),
            "subject": self.subject,
            "direction": self.direction,
            "status": self.status,
            "thread": self.thread,
            "deleted": self.deleted,
            "participants": [asdict(p) for p in self.participants],
            "sources": list(self.sources),
            "corrections": [jsonable(c) for c in self.corrections],
            "logged": jsonable(self.logged) if self.logged is not None else None,
        }


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account: str
    provider: str
    owner: str | None
    state: str
    last_pass_started_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error_code: str | None
    last_error_message: str | None
    items_synced: int
    last_pass_items: int
    cursor_age_s: float | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    resources: dict[str, datetime] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "provider": self.provider,
            "owner": self.owner,
            "state": self.state,
            "last_pass_started_at": _iso(self.last_pass_started_at),
            "last_success_at": _iso(self.last_success_at),
            "last_error": None if self.last_error_code is None else {
                "at": _iso(self.last_error_at),
                "code": self.last_error_code,
                "message": self.last_error_message,
            },
            "items_synced": self.items_synced,
            "last_pass_items": self.last_pass_items,
            "cursor_age_s": None if self.cursor_age_s is None else round(self.cursor_age_s, 1),
            "lease_holder": self.lease_holder,
            "lease_expires_at": _iso(self.lease_expires_at),
        }


# ---------------------------------------------------------------------- timeline


def timeline(db: Database, *, contact: str | None = None,
             company: str | None = None) -> list[TimelineEntry]:
    """Interactions of one contact (by any address) or company (by any domain)."""
    if (contact is None) == (company is None):
        raise ValueError("give exactly one of contact= or company=")
    with db.session(write=False) as s:
        if contact is not None:
            ids = _contact_interactions(s, contact)
        else:
            assert company is not None
            ids = _company_interactions(s, company)
        return _entries(s, ids)


def _contact_interactions(s: Session, email: str) -> list[int]:
    address = canonical_address(email) or email.strip().lower()
    contact_ids = list(s.scalars(select(ContactEmail.contact_id)
                                 .where(ContactEmail.address == address)))
    condition: ColumnElement[bool]
    if contact_ids:
        condition = Participant.contact_id.in_(contact_ids)
    else:
        condition = Participant.address == address
    return list(s.scalars(select(Participant.interaction_id).where(condition).distinct()))


def _company_interactions(s: Session, domain: str) -> list[int]:
    canonical = canonical_domain(domain.strip().lstrip("@")) or domain.strip().lower()
    company_ids = list(s.scalars(select(CompanyDomain.company_id)
                                 .where(CompanyDomain.domain.in_(domain_suffixes(canonical)))
                                 .order_by(func.length(CompanyDomain.domain).desc())
                                 .limit(1)))
    condition: ColumnElement[bool]
    if company_ids:
        condition = Participant.company_id.in_(company_ids)
    else:
        condition = Participant.domain == (registrable_domain(canonical) or canonical)
    return list(s.scalars(select(Participant.interaction_id).where(condition).distinct()))


def _entries(s: Session, ids: Sequence[int]) -> list[TimelineEntry]:
    interactions: dict[int, Interaction] = {}
    people: dict[int, list[Participant]] = {}
    sources: dict[int, list[str]] = {}
    threads: dict[int, str] = {}
    for batch in chunks(sorted(set(ids))):
        interactions.update({i.id: i for i in s.scalars(
            select(Interaction).where(Interaction.id.in_(batch)))})
        for p in s.scalars(select(Participant).where(Participant.interaction_id.in_(batch))
                           .order_by(Participant.interaction_id, Participant.position)):
            people.setdefault(p.interaction_id, []).append(p)
        for interaction_id, account_id in s.execute(
            select(Source.interaction_id, Source.account_id)
            .where(Source.interaction_id.in_(batch)).order_by(Source.account_id)
        ):
            sources.setdefault(interaction_id, [])
            if account_id not in sources[interaction_id]:
                sources[interaction_id].append(account_id)
    thread_ids = sorted({i.thread_id for i in interactions.values() if i.thread_id is not None})
    for batch in chunks(thread_ids):
        threads.update({tid: key for tid, key in s.execute(
            select(Thread.id, Thread.key).where(Thread.id.in_(batch)))})
    corrections = rules_for(s, interactions)
    logged = details_for(s, interactions)
    contact_names = names_by_id(s, Contact, {p.contact_id for ps in people.values() for p in ps})
    company_names = names_by_id(s, Company, {p.company_id for ps in people.values() for p in ps})
    entries = [
        TimelineEntry(
            id=i.id, kind=i.kind, occurred_at=i.occurred_at, ends_at=i.ends_at,
            subject=i.subject, direction=i.direction, status=i.status,
            thread=threads.get(i.thread_id) if i.thread_id is not None else None,
            deleted=i.deleted,
            participants=tuple(
                TimelineParticipant(
                    role=p.role, address=p.address, name=p.display_name, match=p.match,
                    contact_id=p.contact_id, contact_name=contact_names.get(p.contact_id),
                    company_id=p.company_id, company_name=company_names.get(p.company_id),
                    response_status=p.response_status,
                )
                for p in people.get(i.id, [])
            ),
            sources=tuple(sources.get(i.id, [])),
            corrections=tuple(r.to_dict() for r in corrections.get(i.id, [])),
            logged=logged[i.id].to_dict() if i.id in logged else None,
        )
        for i in interactions.values()
    ]
    entries.sort(key=lambda e: (e.occurred_at, e.id), reverse=True)
    return entries




# ---------------------------------------------------------------------- accounts


def account_statuses(db: Database, *, now: datetime | None = None) -> list[AccountStatus]:
    """Health of every account the store knows, ordered by account id."""
    now = now or utcnow()
    with db.session(write=False) as s:
        cursors = cursor_times(s)
        out = []
        for row in s.scalars(select(Account).order_by(Account.id)):
            resources = cursors.get(row.id, {})
            newest = max(resources.values()) if resources else None
            out.append(AccountStatus(
                account=row.id, provider=row.provider, owner=row.owner, state=row.state,
                last_pass_started_at=row.last_pass_started_at,
                last_success_at=row.last_success_at, last_error_at=row.last_error_at,
                last_error_code=row.last_error_code, last_error_message=row.last_error_message,
                items_synced=row.items_synced, last_pass_items=row.last_pass_items,
                cursor_age_s=(now - newest).total_seconds() if newest is not None else None,
                lease_holder=row.lease_holder, lease_expires_at=row.lease_expires_at,
                resources=resources,
            ))
        return out

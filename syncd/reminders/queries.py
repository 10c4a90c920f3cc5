"""Reading reminders: filtered lists in one stable shape for table, JSON, ICS, digest.

``list_reminders(db, owner=..., due_before=..., status=("open",))`` returns
:class:`ReminderView` values, soonest due first, each with the names of the
contact and company it concerns (one query per batch, not per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from matching import canonical_address, canonical_domain, domain_suffixes
from syncd.reminders.actions import MANUAL
from syncd.store.database import Database
from syncd.store.keyset import after as keyset_after
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail, Reminder, Thread

#: who each kind says is waiting on whom: the rep owes a reply (reply_needed),
#: the contact does (follow_up); meeting kinds are the rep's own to-dos
WAITING_ON = {"reply_needed": "rep", "follow_up": "contact"}


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class ReminderView:
    id: int
    kind: str
    status: str
    due_at: datetime
    priority: str
    owner: str | None
    subject: str | None
    rule: str
    reason: str | None
    contact_id: int | None
    contact_name: str | None
    company_id: int | None
    company_name: str | None
    opportunity_id: int | None
    thread_id: int | None
    thread: str | None
    interaction_id: int | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    #: set by people's actions (syncd.reminders.actions): derivation keeps them
    snoozed_until: datetime | None = None
    assigned_by: str | None = None
    created_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "status": self.status,
            "waiting_on": WAITING_ON.get(self.kind),
            "due_at": iso(self.due_at), "priority": self.priority, "owner": self.owner,
            "subject": self.subject, "rule": self.rule, "reason": self.reason,
            "contact": {"id": self.contact_id, "name": self.contact_name}
            if self.contact_id is not None else None,
            "company": {"id": self.company_id, "name": self.company_name}
            if self.company_id is not None else None,
            "opportunity_id": self.opportunity_id,
            "thread_id": self.thread_id, "thread": self.thread,
            "interaction_id": self.interaction_id,
            "idempotency_key": self.idempotency_key,
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
            "resolved_at": iso(self.resolved_at),
            "snoozed_until": iso(self.snoozed_until), "assigned_by": self.assigned_by,
            "created_by": self.created_by,
        }


def list_reminders(
    db: Database,
    *,
    owner: str | None = None,
    due_before: datetime | None = None,
    status: Sequence[str] = ("open",),
    contact: str | None = None,
    company: str | None = None,
    limit: int | None = None,
    kinds: Sequence[str] = (),
    manual: bool | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[ReminderView]:
    """Reminders matching every filter given, soonest due first.

    ``contact`` is any address of a contact, ``company`` any domain of a company;
    ``kinds`` are derived kinds or the types of manual reminders (``call``…);
    ``manual`` keeps only people's own reminders (True) or only derived ones (False).
    The order is the unique key ``(due_at, id)``; ``after`` continues strictly
    after such a key (keyset pagination, :mod:`syncd.store.keyset`).
    """
    with db.session(write=False) as s:
        stmt = (select(Reminder, Contact.name, Company.name, Thread.key)
                .outerjoin(Contact, Contact.id == Reminder.contact_id)
                .outerjoin(Company, Company.id == Reminder.company_id)
                .outerjoin(Thread, Thread.id == Reminder.thread_id))
        conditions: list[ColumnElement[bool]] = []
        if status:
            conditions.append(Reminder.status.in_(list(status)))
        if owner:
            conditions.append(Reminder.owner == (canonical_address(owner) or owner.lower()))
        if due_before is not None:
            conditions.append(Reminder.due_at <= due_before)
        if kinds:
            conditions.append(Reminder.kind.in_(list(kinds)))
        if manual is not None:
            conditions.append(Reminder.rule == MANUAL if manual else Reminder.rule != MANUAL)
        if after is not None:
            conditions.append(keyset_after((Reminder.due_at, Reminder.id), after,
                                           descending=False))
        if contact is not None:
            address = canonical_address(contact) or contact.strip().lower()
            conditions.append(Reminder.contact_id.in_(
                select(ContactEmail.contact_id).where(ContactEmail.address == address)))
        if company is not None:
            domain = canonical_domain(company.strip().lstrip("@")) or company.strip().lower()
            company_ids = select(CompanyDomain.company_id).where(
                CompanyDomain.domain.in_(domain_suffixes(domain)))
            conditions.append(Reminder.company_id.in_(company_ids))
        stmt = stmt.where(*conditions).order_by(Reminder.due_at, Reminder.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            ReminderView(
                id=r.id, kind=r.kind, status=r.status, due_at=r.due_at, priority=r.priority,
                owner=r.owner, subject=r.subject, rule=r.rule, reason=r.reason,
                contact_id=r.contact_id, contact_name=contact_name, company_id=r.company_id,
                company_name=company_name, opportunity_id=r.opportunity_id,
                thread_id=r.thread_id, thread=thread_key, interaction_id=r.interaction_id,
                idempotency_key=r.idempotency_key, created_at=r.created_at,
                updated_at=r.updated_at, resolved_at=r.resolved_at,
                snoozed_until=r.snoozed_until, assigned_by=r.assigned_by,
                created_by=r.created_by,
            )
            for r, contact_name, company_name, thread_key in s.execute(stmt)
        ]

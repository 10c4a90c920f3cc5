"""What is open about one contact or company: reminders and opportunities.

For ``syncd contacts show`` / ``syncd companies show``. Reminders are the
open ones linked to the party (by ``contact_id`` / ``company_id``, both
indexed), soonest due first; opportunities the open ones of the company
(a contact's: of its company). Subjects are stored content: the CLI runs
on the server with the admin's view, so they are shown as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.jsontext import utc_iso
from syncd.store.schema import Opportunity, Reminder


@dataclass(frozen=True, slots=True)
class OpenReminder:
    id: int
    kind: str
    due_at: datetime
    owner: str | None
    priority: str
    subject: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "due_at": utc_iso(self.due_at),
                "owner": self.owner, "priority": self.priority, "subject": self.subject}


@dataclass(frozen=True, slots=True)
class OpenOpportunity:
    id: int
    name: str
    stage: str | None
    owner: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "stage": self.stage, "owner": self.owner}


def open_reminders(s: Session, kind: str, party_id: int) -> list[OpenReminder]:
    column = Reminder.contact_id if kind == "contact" else Reminder.company_id
    return [OpenReminder(*row) for row in s.execute(
        select(Reminder.id, Reminder.kind, Reminder.due_at, Reminder.owner, Reminder.priority,
               Reminder.subject)
        .where(column == party_id, Reminder.status == "open")
        .order_by(Reminder.due_at, Reminder.id))]


def open_opportunities(s: Session, company_id: int | None) -> list[OpenOpportunity]:
    if company_id is None:
        return []
    return [OpenOpportunity(*row) for row in s.execute(
        select(Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.owner)
        .where(Opportunity.company_id == company_id, Opportunity.is_open.is_(True))
        .order_by(Opportunity.id))]

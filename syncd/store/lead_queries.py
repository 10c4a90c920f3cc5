"""Reading leads: the list ``syncd leads`` and ``GET /v1/leads`` show, one lead
(``GET /v1/leads/{id}``), and the leads the reminders' clock job re-evaluates.
Writes are :mod:`syncd.store.leads`.

Lists sort by id (unique) and continue after the last id seen
(:mod:`syncd.store.keyset` style), served by ``ix_leads_status_id`` when
filtered by status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.schema import Lead, Reminder
from syncd.store.sql import chunks

#: the fields of a lead as lists show it, in order
FIELDS = ("id", "address", "name", "domain", "status", "reason", "owner", "inbox",
          "source_account", "first_interaction_id", "contact_id", "received_at",
          "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class LeadView:
    id: int
    address: str
    name: str | None
    domain: str | None
    status: str
    reason: str | None
    owner: str | None
    inbox: str | None
    source_account: str | None
    first_interaction_id: int | None
    contact_id: int | None
    received_at: datetime
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


def list_leads(session: Session, *, statuses: Sequence[str] = (), after: int | None = None,
               limit: int | None = None) -> list[LeadView]:
    """Leads by id (oldest first), of these statuses (all if empty), after id ``after``."""
    stmt = select(*(getattr(Lead, name) for name in FIELDS)).order_by(Lead.id)
    if statuses:
        stmt = stmt.where(Lead.status.in_(list(statuses)))
    if after is not None:
        stmt = stmt.where(Lead.id > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [LeadView(*row) for row in session.execute(stmt)]


def get_lead(session: Session, lead_id: int) -> LeadView | None:
    """One lead by id, or ``None`` when there is none."""
    stmt = select(*(getattr(Lead, name) for name in FIELDS)).where(Lead.id == lead_id)
    row = session.execute(stmt).first()
    return LeadView(*row) if row is not None else None


def sweep_leads(session: Session, since: datetime) -> list[int]:
    """Leads derivation may change by the clock alone: new ones received since
    ``since`` (a rule change may open or move their reminder) and those whose
    first message has an open reminder (a rule or blocklist change may close it)."""
    ids = {i for i, when in session.execute(
        select(Lead.id, Lead.received_at).where(Lead.status == "new")) if when >= since}
    scopes = {i for i, kind in session.execute(
        select(Reminder.interaction_id, Reminder.kind).where(Reminder.status == "open"))
        if i is not None and kind == "lead"}
    for batch in chunks(sorted(scopes)):
        ids.update(session.scalars(select(Lead.id).where(Lead.first_interaction_id.in_(batch))))
    return sorted(ids)

"""Pages of opportunities with their company and how much history is linked to them.

``opportunity_page(db, filters, after=LAST_ID, limit=N)`` lists
opportunities by id ascending (a key sync never changes, so pages are
stable while sync writes), strictly after ``after``, with the company's
name and, per opportunity, the number of linked interactions that are not
deleted and the newest one's time (one grouped query per page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, func, select

from matching import canonical_address
from syncd.store.database import Database
from syncd.store.schema import Company, Interaction, Opportunity


@dataclass(frozen=True, slots=True)
class OpportunityFilters:
    company_id: int | None = None
    #: the owning rep's address
    owner: str | None = None
    status: Literal["open", "closed"] | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class OpportunityView:
    id: int
    name: str
    stage: str | None
    owner: str | None
    is_open: bool
    company_id: int
    company_name: str | None
    interaction_count: int
    last_interaction_at: datetime | None
    created_at: datetime
    updated_at: datetime


def opportunity_page(db: Database, filters: OpportunityFilters, *, after: int | None,
                     limit: int) -> list[OpportunityView]:
    """See the module docstring."""
    conditions: list[ColumnElement[bool]] = []
    if filters.company_id is not None:
        conditions.append(Opportunity.company_id == filters.company_id)
    if filters.owner is not None:
        owner = canonical_address(filters.owner) or filters.owner.strip().lower()
        conditions.append(func.lower(Opportunity.owner) == owner)
    if filters.status is not None:
        conditions.append(Opportunity.is_open.is_(filters.status == "open"))
    if filters.stage is not None:
        conditions.append(func.lower(Opportunity.stage) == filters.stage.strip().lower())
    if after is not None:
        conditions.append(Opportunity.id > after)
    with db.session(write=False) as s:
        rows = list(s.execute(
            select(Opportunity, Company.name)
            .outerjoin(Company, Company.id == Opportunity.company_id)
            .where(*conditions).order_by(Opportunity.id).limit(limit)))
        ids = [o.id for o, _name in rows]
        stats: dict[int, tuple[int, datetime | None]] = {}
        if ids:
            stats = {oid: (count, newest) for oid, count, newest in s.execute(
                select(Interaction.opportunity_id, func.count(), func.max(Interaction.occurred_at))
                .where(Interaction.opportunity_id.in_(ids), Interaction.deleted.is_(False))
                .group_by(Interaction.opportunity_id)) if oid is not None}
        return [
            OpportunityView(
                id=o.id, name=o.name, stage=o.stage, owner=o.owner, is_open=o.is_open,
                company_id=o.company_id, company_name=name,
                interaction_count=stats.get(o.id, (0, None))[0],
                last_interaction_at=stats.get(o.id, (0, None))[1],
                created_at=o.created_at, updated_at=o.updated_at)
            for o, name in rows
        ]


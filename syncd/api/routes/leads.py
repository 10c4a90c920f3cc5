"""``GET /v1/leads``, ``GET /v1/leads/{id}``: new people's inbound requests
(see :mod:`syncd.store.leads`; people qualify or disqualify them through
:mod:`syncd.api.routes.lead_actions`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from syncd.api.auth import ReadViewer
from syncd.api.context import Db
from syncd.api.models import IdPath, UtcTime
from syncd.api.pagination import Page, Paging
from syncd.api.problems import PROBLEMS, Problem
from syncd.store.lead_queries import FIELDS, get_lead, list_leads

router = APIRouter(tags=["leads"], responses=PROBLEMS)

TAG = "leads"
LeadStatus = Literal["new", "qualified", "converted", "disqualified"]


class LeadOut(BaseModel):
    id: int
    address: str
    name: str | None = Field(description="The display name on their first message")
    domain: str | None = Field(description="Registrable domain of the address")
    status: LeadStatus = Field(description="new, qualified, converted (a contact now owns "
                                           "the address) or disqualified; the last two "
                                           "are final")
    reason: str | None = Field(description="Why the status is what it is")
    owner: str | None = Field(description="The rep the `lead` rule chose")
    inbox: str | None = Field(description="The rep or lead inbox the request reached")
    source_account: str | None = Field(description="The account whose mailbox saw it")
    first_interaction_id: int | None = Field(
        description="The message that made the lead (it may since have been erased)")
    contact_id: int | None = Field(description="The contact it converted to")
    received_at: UtcTime
    created_at: UtcTime
    updated_at: UtcTime


@router.get("/leads", response_model=Page[LeadOut], summary="Leads")
def get_leads(
    viewer: ReadViewer, db: Db, page: Paging,
    status: Annotated[list[LeadStatus] | None,
                      Query(description="Only leads with these statuses (repeatable)")] = None,
) -> Page[LeadOut]:
    """Leads, oldest first: new people (not contacts, not role addresses, not bulk
    mail) whose new message reached a rep or a lead inbox."""
    del viewer  # authenticated; a lead's fields are metadata, never mail content
    after = page.after(TAG, int)
    with db.session(write=False) as s:
        rows = list_leads(s, statuses=tuple(status or ()),
                          after=int(after[0]) if after else None, limit=page.limit + 1)
    items, next_cursor = page.result(rows, TAG, lambda x: (x.id,))
    return Page[LeadOut](items=[lead_out(x) for x in items], next_cursor=next_cursor)


@router.get("/leads/{lead_id}", response_model=LeadOut, summary="One lead")
def get_one_lead(lead_id: IdPath, viewer: ReadViewer, db: Db) -> LeadOut:
    """One lead: who wrote, to which rep or inbox, its status and why."""
    del viewer  # authenticated; a lead's fields are metadata, never mail content
    with db.session(write=False) as s:
        found = get_lead(s, lead_id)
    if found is None:
        raise Problem.not_found("lead", lead_id)
    return lead_out(found)


def lead_out(lead: object) -> LeadOut:
    """The API shape of a lead: a :class:`~syncd.store.lead_queries.LeadView` or a
    stored :class:`~syncd.store.schema.Lead` row."""
    return LeadOut.model_validate({name: getattr(lead, name) for name in FIELDS})

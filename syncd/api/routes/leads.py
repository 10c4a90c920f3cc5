"""``GET /v1/leads``: new people's inbound requests (see :mod:`syncd.store.leads`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from syncd.api.auth import ReadViewer
from syncd.api.context import Db
from syncd.api.models import UtcTime
from syncd.api.pagination import Page, Paging
from syncd.api.problems import PROBLEMS
from syncd.store.lead_queries import LeadView, list_leads

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
    return Page[LeadOut](items=[_out(x) for x in items], next_cursor=next_cursor)


def _out(x: LeadView) -> LeadOut:
    return LeadOut.model_validate(x.to_dict())

"""``GET /v1/opportunities``: deals, with their company and linked history."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from syncd.api.auth import ReadViewer
from syncd.api.context import Db
from syncd.api.models import UtcTime
from syncd.api.pagination import MAX_ID, Page, Paging
from syncd.api.problems import PROBLEMS
from syncd.store.opportunity_pages import OpportunityFilters, OpportunityView, opportunity_page

router = APIRouter(tags=["directory"], responses=PROBLEMS)

TAG = "opportunities"


class OpportunityOut(BaseModel):
    id: int
    name: str
    stage: str | None
    owner: str | None
    status: Literal["open", "closed"]
    company_id: int
    company_name: str | None
    interaction_count: int
    last_interaction_at: UtcTime | None
    created_at: UtcTime
    updated_at: UtcTime


@router.get("/opportunities", response_model=Page[OpportunityOut], summary="Opportunities")
def list_opportunities(
    viewer: ReadViewer, db: Db, page: Paging,
    company: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                         description="Only this company's (its id)")] = None,
    owner: Annotated[str | None, Query(max_length=320,
                                       description="Only those this rep owns (address)")] = None,
    status: Annotated[Literal["open", "closed"] | None, Query(
        description="open, or closed (won or lost)")] = None,
    stage: Annotated[str | None, Query(max_length=100,
                                       description="Only this stage (case-insensitive)")] = None,
) -> Page[OpportunityOut]:
    """By id. `interaction_count` and `last_interaction_at` count the history linked
    to each (deleted interactions left out)."""
    del viewer  # authenticated; opportunities carry no interaction content
    filters = OpportunityFilters(company_id=company, owner=owner, status=status, stage=stage)
    after = page.after(TAG, int)
    rows = opportunity_page(db, filters, after=None if after is None else int(after[0]),
                            limit=page.limit + 1)
    items, next_cursor = page.result(rows, TAG, lambda o: (o.id,))
    return Page[OpportunityOut](items=[_out(o) for o in items], next_cursor=next_cursor)


def _out(o: OpportunityView) -> OpportunityOut:
    return OpportunityOut(id=o.id, name=o.name, stage=o.stage, owner=o.owner,
                          status="open" if o.is_open else "closed", company_id=o.company_id,
                          company_name=o.company_name, interaction_count=o.interaction_count,
                          last_interaction_at=o.last_interaction_at, created_at=o.created_at,
                          updated_at=o.updated_at)

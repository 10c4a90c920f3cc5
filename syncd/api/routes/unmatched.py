"""``GET /v1/unmatched-addresses``: suggested contacts, by recent two-way activity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from syncd.api.auth import ReadViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import UtcTime
from syncd.api.pagination import Page, Paging
from syncd.api.problems import PROBLEMS
from syncd.store.suggested_contacts import Suggestion, SuggestionKey, suggestion_page

router = APIRouter(tags=["directory"], responses=PROBLEMS)

TAG = "unmatched"


class SuggestionOut(BaseModel):
    id: int
    address: str
    domain: str | None = Field(description="Registrable domain; null for free mail")
    first_seen: UtcTime
    last_seen: UtcTime
    interaction_count: int = Field(description="Logged interactions with them, all time")
    inbound: int = Field(description="Mail they sent us within the window")
    outbound: int = Field(description="Mail we sent them within the window")
    meetings: int = Field(description="Meetings with them within the window")
    score: int = Field(description="min(inbound, outbound) + meetings: the ranking")


@router.get("/unmatched-addresses", response_model=Page[SuggestionOut],
            summary="Suggested contacts")
def list_unmatched(
    viewer: ReadViewer, ctx: Ctx, db: Db, page: Paging,
    domain: Annotated[str | None, Query(max_length=253,
                                        description="Only addresses at this domain")] = None,
    window_days: Annotated[int, Query(ge=1, le=3650,
                                      description="Activity window in days")] = 90,
) -> Page[SuggestionOut]:
    """External people on logged interactions whom no contact owns, ranked by recent
    two-way activity (`score`, then last seen): the people worth adding as contacts."""
    del viewer  # authenticated; addresses and counts are metadata
    after = page.after(TAG, int, datetime, int)
    rows = suggestion_page(db, now=ctx.clock(), window_days=window_days, domain=domain,
                           after=cast("SuggestionKey | None", after), limit=page.limit + 1)
    items, next_cursor = page.result(rows, TAG, lambda s: s.key)
    return Page[SuggestionOut](items=[_out(s) for s in items], next_cursor=next_cursor)


def _out(s: Suggestion) -> SuggestionOut:
    return SuggestionOut(id=s.id, address=s.address, domain=s.domain, first_seen=s.first_seen,
                         last_seen=s.last_seen, interaction_count=s.interaction_count,
                         inbound=s.inbound, outbound=s.outbound, meetings=s.meetings,
                         score=s.score)

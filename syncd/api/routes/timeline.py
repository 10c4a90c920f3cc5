"""``GET /v1/timeline``: the history of a contact, company, opportunity or address, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Query, Response

from matching import canonical_address
from syncd.api.auth import ReadViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import (
    Direction,
    InteractionKind,
    InteractionOut,
    QueryTime,
    json_response,
    summary_out,
)
from syncd.api.pagination import MAX_ID, Page, Paging
from syncd.api.problems import PROBLEMS, ParameterError, Problem
from syncd.api.visibility import Visibility
from syncd.store.timeline_pages import (
    SubjectKind,
    TimelineFilters,
    TimelineKey,
    TimelineSubject,
    timeline_key,
    timeline_page,
)

router = APIRouter(tags=["history"], responses=PROBLEMS)

TAG = "timeline"
_SUBJECTS = ("contact", "company", "opportunity", "address")


@router.get("/timeline", response_model=Page[InteractionOut], summary="A timeline")
def get_timeline(
    viewer: ReadViewer, ctx: Ctx, db: Db, page: Paging,
    contact: Annotated[int | None, Query(
        ge=1, le=MAX_ID,
        description="A contact's id: interactions with any of their addresses")] = None,
    company: Annotated[int | None, Query(
        ge=1, le=MAX_ID, description="A company's id: interactions with its people")] = None,
    opportunity: Annotated[int | None, Query(
        ge=1, le=MAX_ID, description="An opportunity's id: interactions linked to it")] = None,
    address: Annotated[str | None, Query(max_length=320, description="An email address "
                                         "(e.g. an unmatched person's)")] = None,
    kind: Annotated[list[InteractionKind] | None, Query(
        description="Only these kinds (repeat the parameter for several)")] = None,
    direction: Annotated[list[Direction] | None, Query(
        description="Only these directions (repeat for several)")] = None,
    since: Annotated[QueryTime | None, Query(
        description="Occurred at or after this time (ISO-8601 with zone)")] = None,
    until: Annotated[QueryTime | None, Query(
        description="Occurred before this time (ISO-8601 with zone)")] = None,
    account: Annotated[str | None, Query(max_length=64, description="Only interactions this "
                                         "account (mailbox or calendar) saw")] = None,
) -> Response:
    """Give exactly one of `contact`, `company`, `opportunity` or `address`.
    Newest first (by time, then id); deleted interactions stay, flagged `deleted`.
    Content follows the viewer's visibility (each item's `visibility`)."""
    given = {name: value for name, value in zip(
        _SUBJECTS, (contact, company, opportunity, address), strict=True) if value is not None}
    if len(given) != 1:
        raise Problem.invalid([ParameterError(
            location="query", name=name,
            problem="give exactly one of contact, company, opportunity or address",
            allowed=list(_SUBJECTS)) for name in (list(given) or ["contact"])])
    (kind_name, value), = given.items()
    if kind_name == "address" and canonical_address(str(value)) is None:
        raise Problem.invalid([ParameterError(location="query", name="address",
                                              problem=f"{value!r} is not an email address")])
    filters = TimelineFilters(kinds=tuple(kind or ()), directions=tuple(direction or ()),
                              since=since, until=until, account=account)
    after = page.after(TAG, datetime, int)
    subject = TimelineSubject(cast(SubjectKind, kind_name), value)
    views = timeline_page(db, subject, filters, after=cast("TimelineKey | None", after),
                          limit=page.limit + 1)
    if views is None:
        raise Problem.not_found(kind_name, value)
    visibility = Visibility(viewer, ctx.api.sharing.colleagues)
    items, next_cursor = page.result(views, TAG, timeline_key)
    return json_response(Page[InteractionOut](
        items=[summary_out(v, visibility) for v in items], next_cursor=next_cursor))

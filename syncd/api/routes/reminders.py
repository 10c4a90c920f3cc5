"""``GET /v1/reminders``: derived (and manual) to-dos, soonest due first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast, get_args

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StringConstraints

from matching import canonical_address
from syncd.api.auth import ReadViewer, Viewer
from syncd.api.context import Ctx, Db
from syncd.api.models import QueryTime, Ref, UtcTime
from syncd.api.pagination import Page, Paging
from syncd.api.problems import PROBLEMS, ParameterError, Problem
from syncd.api.visibility import Level, Visibility
from syncd.config.reminders import Kind
from syncd.reminders.queries import WAITING_ON, ReminderView, list_reminders
from syncd.store.source_owners import content_owners

router = APIRouter(tags=["reminders"], responses=PROBLEMS)

TAG = "reminders"
#: a derived kind (:data:`~syncd.config.reminders.Kind`) or a manual reminder's type
ReminderKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ReminderStatus = Literal["open", "done", "dismissed", "superseded"]
ReminderOrigin = Literal["derived", "manual"]


class ReminderOut(BaseModel):
    id: int
    kind: str = Field(description="Derived: reply_needed, follow_up, meeting_prep, "
                                  "meeting_follow_up; manual: the type its author gave "
                                  "(call, email, task…)")
    status: str = Field(description="open, done, dismissed or superseded")
    waiting_on: str | None = Field(description="rep: the rep owes a reply; contact: the "
                                               "contact does; null for meeting kinds")
    due_at: UtcTime
    priority: str
    owner: str | None
    visibility: Level = Field(description="How much of the subject the viewer may read: "
                                          "it quotes the interaction's subject")
    subject: str | None
    rule: str = Field(description="The business rule that derived it, or `manual`")
    reason: str | None
    contact: Ref | None
    company: Ref | None
    opportunity_id: int | None
    thread_id: int | None
    interaction_id: int | None
    created_at: UtcTime
    updated_at: UtcTime
    resolved_at: UtcTime | None
    snoozed_until: UtcTime | None = Field(description="Snoozed by a person until then "
                                                      "(its due time); derivation keeps it")
    assigned_by: str | None = Field(description="Who reassigned it (derivation keeps that "
                                                "owner)")
    created_by: str | None = Field(description="Who created it, for a manual reminder")


@router.get("/reminders", response_model=Page[ReminderOut], summary="Reminders")
def get_reminders(
    viewer: ReadViewer, ctx: Ctx, db: Db, page: Paging,
    owner: Annotated[str | None, Query(
        max_length=320, description="Only this rep's (an address, or `me` for the "
                                    "token's viewer)")] = None,
    status: Annotated[list[ReminderStatus] | None, Query(
        description="Only these statuses (repeat for several); default open")] = None,
    due_before: Annotated[QueryTime | None, Query(
        description="Due at or before this time (ISO-8601 with zone)")] = None,
    kind: Annotated[list[ReminderKind] | None, Query(
        description="Only these kinds (repeat for several): derived kinds (" +
                    ", ".join(get_args(Kind)) + ") or manual types such as `call`")] = None,
    origin: Annotated[ReminderOrigin | None, Query(
        description="Only reminders derived by the business rules, or only manual ones "
                    "people created")] = None,
) -> Page[ReminderOut]:
    """Soonest due first (by due time, then id). A subject quoting an interaction
    follows the viewer's visibility of that interaction (or of its thread)."""
    rows = list_reminders(db, owner=_owner(owner, viewer), due_before=due_before,
                          status=tuple(status or ("open",)), kinds=tuple(kind or ()),
                          manual=None if origin is None else origin == "manual",
                          after=cast("tuple[datetime, int] | None",
                                     page.after(TAG, datetime, int)),
                          limit=page.limit + 1)
    items, next_cursor = page.result(rows, TAG, lambda r: (r.due_at, r.id))
    visibility = Visibility(viewer, ctx.api.sharing.colleagues)
    return Page[ReminderOut](items=_shown(db, items, visibility), next_cursor=next_cursor)


def _owner(owner: str | None, viewer: Viewer) -> str | None:
    if owner is None:
        return None
    if owner.strip().lower() == "me":
        if viewer.address is None:
            raise Problem.invalid([ParameterError(
                location="query", name="owner",
                problem="'me' needs a rep's token; this one is admin")])
        return viewer.address
    if canonical_address(owner) is None:
        raise Problem.invalid([ParameterError(location="query", name="owner",
                                              problem=f"{owner!r} is not an email address")])
    return owner


def _shown(db: Db, rows: list[ReminderView], visibility: Visibility) -> list[ReminderOut]:
    """Reminders with subjects cut to what the viewer may read of their interaction."""
    owners = content_owners(
        db, interaction_ids=[r.interaction_id for r in rows if r.interaction_id is not None],
        thread_ids=[r.thread_id for r in rows if r.thread_id is not None])
    out: list[ReminderOut] = []
    for r in rows:
        level: Level = "full"  # a subject a person typed (no interaction behind it)
        if r.thread_id is not None or r.interaction_id is not None:
            seen_by = (owners.threads.get(r.thread_id, frozenset()) if r.thread_id is not None
                       else frozenset()) | (owners.interactions.get(r.interaction_id, frozenset())
                                            if r.interaction_id is not None else frozenset())
            level = visibility.level(seen_by)
        out.append(ReminderOut(
            id=r.id, kind=r.kind, status=r.status, waiting_on=WAITING_ON.get(r.kind),
            due_at=r.due_at, priority=r.priority, owner=r.owner, visibility=level,
            subject=r.subject if level != "metadata" else None, rule=r.rule, reason=r.reason,
            contact=Ref(id=r.contact_id, name=r.contact_name)
            if r.contact_id is not None else None,
            company=Ref(id=r.company_id, name=r.company_name)
            if r.company_id is not None else None,
            opportunity_id=r.opportunity_id, thread_id=r.thread_id,
            interaction_id=r.interaction_id, created_at=r.created_at, updated_at=r.updated_at,
            resolved_at=r.resolved_at, snoozed_until=r.snoozed_until,
            assigned_by=r.assigned_by, created_by=r.created_by))
    return out


"""Response models shared by several routes, and how store views become them.

Times are ``UtcTime``: ISO-8601 in UTC with a ``Z`` suffix, like every JSON
syncd writes (:mod:`syncd.jsontext`). Interactions are shaped in one place,
:func:`interaction_out`, which applies :mod:`syncd.api.visibility` to the
interaction's and its thread's content.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Response
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from syncd.api.pagination import MAX_ID
from syncd.api.visibility import Level, Visibility, cut
from syncd.jsontext import utc_iso
from syncd.store.interaction_views import InteractionView

UtcTime = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

#: a row id in a path: 1 … 2^31-1 (larger ids cannot exist)
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


#: a time given as a parameter: ISO-8601 with a zone, converted to UTC
QueryTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]

InteractionKind = Literal["email", "meeting", "note", "call"]
Direction = Literal["inbound", "outbound", "internal"]


class Ref(BaseModel):
    """A contact or company by id and name."""

    id: int
    name: str | None


class ParticipantOut(BaseModel):
    role: str = Field(description="from, to, cc, bcc, organizer or attendee")
    address: str
    name: str | None = Field(description="Display name as written in the message")
    match: str = Field(description="How the address was matched: contact, company, "
                                   "internal or unmatched")
    match_reason: str | None = Field(description="Why it matched that way")
    contact: Ref | None
    company: Ref | None
    response_status: str | None = Field(description="Meetings: the attendee's answer")


class SourceOut(BaseModel):
    """A mailbox or calendar that saw the interaction."""

    account: str
    provider: str | None
    owner: str | None = Field(description="The rep who owns the account")
    folder: str | None = Field(description="Shown with full visibility only")
    first_seen_at: UtcTime
    deleted_at: UtcTime | None = Field(description="When the mailbox deleted its copy")


class ThreadOut(BaseModel):
    id: int
    key: str
    subject: str | None = Field(description="Hidden below subject visibility")
    message_count: int
    first_message_at: UtcTime | None
    last_message_at: UtcTime | None


class OpportunityLink(BaseModel):
    id: int
    name: str
    stage: str | None
    is_open: bool
    company_id: int
    reason: str | None = Field(description="Why the interaction was linked to it")


class CorrectionOut(BaseModel):
    """A person's correction of the interaction: it holds through every re-sync."""

    id: int
    participant: str | None = Field(description="The participant's address it concerns; "
                                                "null for the whole interaction")
    action: str = Field(description="assign or not_customer")
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None
    set_by: str = Field(description="Who set it (a rep's address, or admin)")
    set_at: UtcTime
    note: str | None


class LoggedOut(BaseModel):
    """What a person logged for a note or a call."""

    author: str
    duration_seconds: int | None
    outcome: str | None
    created_by: str
    created_at: UtcTime


class InteractionOut(BaseModel):
    """An interaction as one viewer may see it (``visibility`` says how much)."""

    id: int
    kind: str = Field(description="email, meeting, note or call")
    occurred_at: UtcTime
    ends_at: UtcTime | None
    all_day: bool
    direction: str = Field(description="inbound, outbound or internal")
    status: str | None
    deleted: bool
    visibility: Level = Field(description="metadata: no content; subject: subject and "
                                          "location only; full: everything stored")
    subject: str | None
    snippet: str | None
    location: str | None
    participants: list[ParticipantOut]
    sources: list[SourceOut]
    thread: ThreadOut | None
    opportunity: OpportunityLink | None
    corrections: list[CorrectionOut] = Field(description="People's corrections, oldest first")
    logged: LoggedOut | None = Field(description="Notes and calls: who logged what")


class InteractionDetail(InteractionOut):
    body: str | None
    timezone: str | None
    deleted_at: UtcTime | None
    created_at: UtcTime
    updated_at: UtcTime


def json_response(model: BaseModel) -> Response:
    """``model`` as the JSON body, serialized once in the route's worker thread.

    For the hot reads (a timeline page, a contact, a company): a route that
    returns the model itself has FastAPI validate it again against its
    ``response_model`` (a second worker-thread hop) before serializing it.
    The route keeps ``response_model`` for the OpenAPI document; the bytes are
    the same (``model_dump_json``, by alias, as FastAPI's own fast path).
    """
    return Response(content=model.model_dump_json(by_alias=True),
                    media_type="application/json")


def interaction_out(view: InteractionView, visibility: Visibility) -> InteractionDetail:
    """The view as ``visibility`` allows (timeline items drop the detail-only fields)."""
    level, fields = _visible(view, visibility)
    return InteractionDetail(
        **fields, body=cut(level, subject=None, snippet=None, body=view.body,
                           location=None).body,
        timezone=view.timezone, deleted_at=view.deleted_at, created_at=view.created_at,
        updated_at=view.updated_at)


def summary_out(view: InteractionView, visibility: Visibility) -> InteractionOut:
    """A timeline item: :func:`interaction_out` without body and bookkeeping times
    (built directly: a timeline page builds fifty of them)."""
    return InteractionOut(**_visible(view, visibility)[1])


def _visible(view: InteractionView, visibility: Visibility) -> tuple[Level, dict[str, Any]]:
    """The viewer's level and the fields of :class:`InteractionOut` at that level."""
    level = visibility.level(view.owners)
    content = cut(level, subject=view.subject, snippet=view.snippet, body=None,
                  location=view.location)
    thread = view.thread
    deal = view.opportunity
    return level, dict(
        id=view.id, kind=view.kind, occurred_at=view.occurred_at, ends_at=view.ends_at,
        all_day=view.all_day, direction=view.direction, status=view.status,
        deleted=view.deleted, visibility=level, subject=content.subject,
        snippet=content.snippet, location=content.location,
        participants=[
            ParticipantOut(
                role=p.role, address=p.address, name=p.display_name, match=p.match,
                match_reason=p.match_reason,
                contact=Ref(id=p.contact_id, name=p.contact_name)
                if p.contact_id is not None else None,
                company=Ref(id=p.company_id, name=p.company_name)
                if p.company_id is not None else None,
                response_status=p.response_status)
            for p in view.participants],
        sources=[
            SourceOut(account=s.account, provider=s.provider, owner=s.owner,
                      folder=s.folder if level == "full" else None,
                      first_seen_at=s.first_seen_at, deleted_at=s.deleted_at)
            for s in view.sources],
        thread=None if thread is None else ThreadOut(
            id=thread.id, key=thread.key,
            subject=thread.subject if level != "metadata" else None,
            message_count=thread.message_count, first_message_at=thread.first_message_at,
            last_message_at=thread.last_message_at),
        opportunity=None if deal is None else OpportunityLink(
            id=deal.id, name=deal.name, stage=deal.stage, is_open=deal.is_open,
            company_id=deal.company_id, reason=view.opportunity_reason),
        corrections=[
            CorrectionOut(id=r.id, participant=r.address, action=r.action,
                          contact_id=r.contact_id, company_id=r.company_id,
                          opportunity_id=r.opportunity_id, set_by=r.created_by,
                          set_at=r.created_at, note=r.note)
            for r in view.corrections],
        logged=None if view.logged is None else LoggedOut(
            author=view.logged.author, duration_seconds=view.logged.duration_seconds,
            outcome=view.logged.outcome, created_by=view.logged.created_by,
            created_at=view.logged.created_at),
    )

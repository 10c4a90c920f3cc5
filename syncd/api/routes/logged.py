"""``POST /v1/notes`` and ``POST /v1/calls``: what people log by hand.

A note or call is an interaction (kind ``note`` / ``call``) about a
contact, a company or an opportunity (:mod:`syncd.store.notes`): it joins
their timelines and rollups, is linked to a deal like mail is (or pinned
to the one given), and — logged about a contact — answers that contact's
open ``follow_up`` reminder at once, with the reason. A rep's token logs
as that rep; an admin token names the ``author``. With ``key`` a retry
returns the first one (200) instead of logging it twice (201).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from syncd.api.auth import Viewer, WriteViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import UtcTime
from syncd.api.problems import ParameterError, Problem
from syncd.api.writes import WRITE_PROBLEMS, Moment, actor, invalid
from syncd.config.policies import global_policy
from syncd.directory.opportunities import link_interactions
from syncd.reminders.actions import after_logged
from syncd.store.notes import Logged, NoteError, log

router = APIRouter(tags=["notes and calls"], responses=WRITE_PROBLEMS)

_FIELDS = ("kind", "author", "text", "subject", "contact_id", "company_id", "opportunity_id",
           "duration_seconds", "outcome", "direction", "key", "occurred_at")
_ID = Field(default=None, ge=1, le=2**31 - 1)


class NoteIn(BaseModel):
    model_config = {"extra": "forbid"}

    text: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, max_length=300,
                                description="Default: the text's first line")
    contact_id: int | None = _ID
    company_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                   description="Default: the contact's or the deal's company")
    opportunity_id: int | None = _ID
    occurred_at: Moment | None = Field(default=None, description="Default: now")
    author: str | None = Field(default=None, max_length=320,
                               description="Default (and, for a rep's token, the only "
                                           "value allowed): the token's rep")
    key: str | None = Field(default=None, min_length=1, max_length=200,
                            description="Idempotency key: the same key logs once")


class CallIn(NoteIn):
    text: str | None = Field(default=None, max_length=100_000)  # type: ignore[assignment]
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400 * 7)
    outcome: str | None = Field(default=None, max_length=100,
                                description="e.g. connected, no_answer, voicemail (a call "
                                            "that reached nobody answers no follow_up)")
    direction: Literal["outbound", "inbound"] = "outbound"


class LoggedNoteOut(BaseModel):
    id: int = Field(description="The interaction's id (GET /v1/interactions/{id})")
    kind: str
    author: str
    occurred_at: UtcTime
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None = Field(description="The deal it was logged against, if any")
    duration_seconds: int | None
    outcome: str | None
    created_by: str
    created_at: UtcTime
    reminders_answered: int = Field(description="Open follow_up reminders this answered")


@router.post("/notes", response_model=LoggedNoteOut, status_code=201, summary="Log a note",
             responses={200: {"description": "Already logged with this key",
                              "model": LoggedNoteOut}})
def post_note(body: NoteIn, response: Response, viewer: WriteViewer, ctx: Ctx,
              db: Db) -> LoggedNoteOut:
    """A note about a contact, company or opportunity: it joins their timelines."""
    return _log(ctx, db, viewer, response, "note", body, None)


@router.post("/calls", response_model=LoggedNoteOut, status_code=201, summary="Log a call",
             responses={200: {"description": "Already logged with this key",
                              "model": LoggedNoteOut}})
def post_call(body: CallIn, response: Response, viewer: WriteViewer, ctx: Ctx,
              db: Db) -> LoggedNoteOut:
    """A phone call with a contact, company or opportunity: duration, outcome,
    direction. It joins their timelines and answers the contact's follow_up."""
    return _log(ctx, db, viewer, response, "call", body, body)


def _log(ctx: Ctx, db: Db, viewer: Viewer, response: Response, kind: str, body: NoteIn,
         call: CallIn | None) -> LoggedNoteOut:
    author = _author(viewer, body.author)
    now: datetime = ctx.clock()
    try:
        with db.session() as s:
            logged, created = log(
                s, global_policy(ctx.settings), actor=actor(viewer), kind=kind, author=author,
                occurred_at=body.occurred_at or now, text=body.text, subject=body.subject,
                contact_id=body.contact_id, company_id=body.company_id,
                opportunity_id=body.opportunity_id,
                duration_seconds=call.duration_seconds if call else None,
                outcome=call.outcome if call else None,
                direction=call.direction if call else None, key=body.key, now=now)
            answered = 0
            if created:
                link_interactions(s, [logged.interaction_id])
                if logged.contact_id is not None:
                    answered = after_logged(s, ctx.settings, [logged.contact_id],
                                            now=now).done
    except NoteError as exc:
        raise invalid(exc, _FIELDS) from exc
    if not created:
        response.status_code = 200
    return _out(logged, answered)


def _author(viewer: Viewer, given: str | None) -> str:
    if viewer.address is not None:
        if given is not None and given.strip().lower() != viewer.address:
            raise Problem.invalid([ParameterError(
                location="body", name="author",
                problem="a rep's token logs as that rep; leave author out")])
        return viewer.address
    if given is None:
        raise Problem.invalid([ParameterError(location="body", name="author",
                                              problem="an admin token must name the author")])
    return given


def _out(logged: Logged, answered: int) -> LoggedNoteOut:
    return LoggedNoteOut(id=logged.interaction_id, kind=logged.kind, author=logged.author,
                     occurred_at=logged.occurred_at, contact_id=logged.contact_id,
                     company_id=logged.company_id, opportunity_id=logged.opportunity_id,
                     duration_seconds=logged.duration_seconds, outcome=logged.outcome,
                     created_by=logged.created_by, created_at=logged.created_at,
                     reminders_answered=answered)

"""What people do to reminders over the API (:mod:`syncd.reminders.actions`).

* ``POST /v1/reminders`` — a manual reminder ("call Ann on Friday"): type,
  due, priority, owner, subject; derivation never touches it.
* ``POST /v1/reminders/{id}/done`` / ``dismiss`` — final; derivation never
  reopens it.
* ``POST /v1/reminders/{id}/snooze`` — due at ``until``; derivation never
  moves it earlier.
* ``POST /v1/reminders/{id}/reassign`` — another owner; derivation keeps it.

Scope ``write``; audited. A reminder that is no longer open cannot be
snoozed or reassigned (409). Answers show the reminder's state, not its
subject (which may quote an interaction the viewer may not read; ``GET
/v1/reminders`` shows it under the visibility rules) — except for a
manual reminder just created, whose subject the caller wrote.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from syncd.api.auth import WriteViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import IdPath, UtcTime
from syncd.api.problems import Problem
from syncd.api.writes import WRITE_PROBLEMS, Moment, actor, conflict, invalid
from syncd.reminders.actions import (
    PRIORITIES,
    ReminderError,
    ReminderStateError,
    UnknownReminder,
    close,
    create_manual,
    reassign,
    snooze,
)
from syncd.store.schema import Reminder

router = APIRouter(tags=["reminders"], responses=WRITE_PROBLEMS)

_FIELDS = ("type", "due_at", "subject", "priority", "owner", "contact_id", "company_id",
           "opportunity_id", "key", "until", "note")


class ManualIn(BaseModel):
    model_config = {"extra": "forbid"}

    type: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]{0,39}$",
                      description="What to do, e.g. call, email, task")
    due_at: Moment
    subject: str = Field(min_length=1, max_length=2000)
    priority: str = Field(default="normal", description=", ".join(PRIORITIES))
    owner: str | None = Field(default=None, max_length=320,
                              description="Default: the token's rep")
    contact_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    company_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    opportunity_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    key: str | None = Field(default=None, min_length=1, max_length=200,
                            description="Idempotency key: the same key creates once")


class CloseIn(BaseModel):
    model_config = {"extra": "forbid"}

    note: str | None = Field(default=None, max_length=2000,
                             description="Becomes the reason (default: who marked it)")


class SnoozeIn(BaseModel):
    model_config = {"extra": "forbid"}

    until: Moment


class ReassignIn(BaseModel):
    model_config = {"extra": "forbid"}

    owner: str = Field(min_length=3, max_length=320)


class ReminderStateOut(BaseModel):
    id: int
    kind: str
    rule: str = Field(description="The rule that derived it, or manual")
    status: str
    due_at: UtcTime
    priority: str
    owner: str | None
    reason: str | None
    snoozed_until: UtcTime | None
    assigned_by: str | None = Field(description="Who reassigned it (derivation keeps "
                                                "that owner)")
    created_by: str | None = Field(description="Who created a manual reminder")
    updated_at: UtcTime
    resolved_at: UtcTime | None


class ManualOut(ReminderStateOut):
    subject: str | None
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None


def _state(row: Reminder) -> ReminderStateOut:
    return ReminderStateOut(
        id=row.id, kind=row.kind, rule=row.rule, status=row.status, due_at=row.due_at,
        priority=row.priority, owner=row.owner, reason=row.reason,
        snoozed_until=row.snoozed_until, assigned_by=row.assigned_by,
        created_by=row.created_by, updated_at=row.updated_at, resolved_at=row.resolved_at)


@router.post("/reminders", response_model=ManualOut, status_code=201,
             summary="Create a manual reminder",
             responses={200: {"description": "Already created with this key",
                              "model": ManualOut}})
def post_reminder(body: ManualIn, response: Response, viewer: WriteViewer, ctx: Ctx,
                  db: Db) -> ManualOut:
    """A to-do a person asks for; derivation never changes or closes it."""
    try:
        with db.session() as s:
            row, created = create_manual(
                s, actor=actor(viewer), kind=body.type, due_at=body.due_at,
                subject=body.subject, priority=body.priority, owner=body.owner,
                contact_id=body.contact_id, company_id=body.company_id,
                opportunity_id=body.opportunity_id, key=body.key, now=ctx.clock())
            out = ManualOut(**_state(row).model_dump(), subject=row.subject,
                            contact_id=row.contact_id, company_id=row.company_id,
                            opportunity_id=row.opportunity_id)
    except ReminderError as exc:
        raise invalid(exc, _FIELDS) from exc
    if not created:
        response.status_code = 200
    return out


@router.post("/reminders/{reminder_id}/done", response_model=ReminderStateOut,
             summary="Mark a reminder done")
def post_done(reminder_id: IdPath, viewer: WriteViewer, ctx: Ctx, db: Db,
              body: CloseIn | None = None) -> ReminderStateOut:
    """Final: derivation never reopens it. Marking it again changes nothing."""
    return _close(reminder_id, "done", body, viewer, ctx, db)


@router.post("/reminders/{reminder_id}/dismiss", response_model=ReminderStateOut,
             summary="Dismiss a reminder")
def post_dismiss(reminder_id: IdPath, viewer: WriteViewer, ctx: Ctx, db: Db,
                 body: CloseIn | None = None) -> ReminderStateOut:
    """Final: derivation never reopens it."""
    return _close(reminder_id, "dismissed", body, viewer, ctx, db)


@router.post("/reminders/{reminder_id}/snooze", response_model=ReminderStateOut,
             summary="Snooze a reminder")
def post_snooze(reminder_id: IdPath, body: SnoozeIn, viewer: WriteViewer, ctx: Ctx,
                db: Db) -> ReminderStateOut:
    """Due at ``until`` (in the future); derivation may move it later, never earlier."""
    return _act(db, reminder_id, lambda s: snooze(s, reminder_id, body.until,
                                                  actor=actor(viewer), now=ctx.clock()))


@router.post("/reminders/{reminder_id}/reassign", response_model=ReminderStateOut,
             summary="Reassign a reminder")
def post_reassign(reminder_id: IdPath, body: ReassignIn, viewer: WriteViewer, ctx: Ctx,
                  db: Db) -> ReminderStateOut:
    """Give it to another rep; derivation keeps that owner."""
    return _act(db, reminder_id, lambda s: reassign(s, reminder_id, body.owner,
                                                    actor=actor(viewer), now=ctx.clock()))


def _close(reminder_id: int, status: str, body: CloseIn | None, viewer: WriteViewer,
           ctx: Ctx, db: Db) -> ReminderStateOut:
    return _act(db, reminder_id, lambda s: close(s, reminder_id, status, actor=actor(viewer),
                                                 note=body.note if body else None,
                                                 now=ctx.clock()))


def _act(db: Db, reminder_id: int, action: Callable[[Session], Reminder]) -> ReminderStateOut:
    """Run one action on a reminder in a write session; its errors as problems
    (unknown: 404, in a state that forbids it: 409, a bad value: 400)."""
    try:
        with db.session() as s:
            return _state(action(s))
    except UnknownReminder as exc:
        raise Problem.not_found("reminder", reminder_id) from exc
    except ReminderStateError as exc:
        raise conflict(str(exc)) from exc
    except ReminderError as exc:
        raise invalid(exc, _FIELDS) from exc

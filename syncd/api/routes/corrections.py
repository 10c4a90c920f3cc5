"""``POST`` / ``DELETE /v1/interactions/{id}/override``: corrections that stick.

A person assigns an interaction (or one participant) to another contact,
company or opportunity, or marks it not a customer interaction; the
override is kept and every later re-sync, late matching, opportunity
re-linking and purge respects it (rules: :mod:`syncd.store.overrides`).
DELETE undoes it. Scope ``write``; audited with the token's name and viewer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from syncd.api.auth import WriteViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import CorrectionOut, IdPath
from syncd.api.problems import Problem
from syncd.api.writes import WRITE_PROBLEMS, actor, invalid
from syncd.config.policies import global_policy
from syncd.directory.corrections import correct, undo
from syncd.store.override_rules import Rule
from syncd.store.overrides import OverrideError, UnknownInteraction

router = APIRouter(tags=["corrections"], responses=WRITE_PROBLEMS)

_FIELDS = ("participant", "action", "contact_id", "company_id", "opportunity_id", "note")


class OverrideIn(BaseModel):
    model_config = {"extra": "forbid"}

    action: Literal["assign", "not_customer"] = Field(
        description="assign: to the contact, company and/or opportunity given; "
                    "not_customer: hide it from timelines, rollups and reminders")
    participant: str | None = Field(
        default=None, max_length=320,
        description="One participant's address; omitted: the whole interaction")
    contact_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    company_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    opportunity_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                       description="Whole interaction only")
    note: str | None = Field(default=None, max_length=2000, description="Why (shown with it)")


def override_out(rule: Rule) -> CorrectionOut:
    return CorrectionOut(id=rule.id, participant=rule.address, action=rule.action,
                         contact_id=rule.contact_id, company_id=rule.company_id,
                         opportunity_id=rule.opportunity_id, set_by=rule.created_by,
                         set_at=rule.created_at, note=rule.note)


@router.post("/interactions/{interaction_id}/override", response_model=CorrectionOut,
             summary="Correct an interaction")
def post_override(interaction_id: IdPath, body: OverrideIn, viewer: WriteViewer, ctx: Ctx,
                  db: Db) -> CorrectionOut:
    """Set (or replace) the correction of the whole interaction or of one
    participant. The participants' contact and company change at once; the
    opportunity is re-chosen (or pinned, if one is given)."""
    try:
        with db.session() as s:
            rule = correct(s, global_policy(ctx.settings), interaction_id, actor=actor(viewer),
                           action=body.action, address=body.participant,
                           contact_id=body.contact_id, company_id=body.company_id,
                           opportunity_id=body.opportunity_id, note=body.note,
                           now=_now(ctx))
    except UnknownInteraction as exc:
        raise Problem.not_found("interaction", interaction_id) from exc
    except OverrideError as exc:
        raise invalid(exc, _FIELDS) from exc
    return override_out(rule)


@router.delete("/interactions/{interaction_id}/override", response_model=CorrectionOut,
               summary="Undo a correction")
def delete_override(
    interaction_id: IdPath, viewer: WriteViewer, ctx: Ctx, db: Db,
    participant: Annotated[str | None, Query(
        max_length=320, description="The participant whose correction to undo; "
                                    "omitted: the whole interaction's")] = None,
) -> CorrectionOut:
    """Remove a correction: the participants are matched again as if it had never
    been set, and the opportunity re-chosen. Answers the removed correction."""
    try:
        with db.session() as s:
            rule = undo(s, global_policy(ctx.settings), interaction_id, actor=actor(viewer),
                        address=participant, now=_now(ctx))
    except UnknownInteraction as exc:
        raise Problem(404, "Not found", str(exc), slug="not-found") from exc
    return override_out(rule)


def _now(ctx: Ctx) -> datetime:
    return ctx.clock()

"""What people decide about leads over the API (:func:`syncd.store.leads.set_status`).

* ``POST /v1/leads/{id}/qualify`` — worth pursuing: the lead is
  ``qualified`` and its open ``lead`` reminder is done.
* ``POST /v1/leads/{id}/disqualify`` — not a prospect: the lead is
  ``disqualified`` (final) and its open ``lead`` reminder is closed.

Both take an optional ``reason``, stored as the lead's reason (default: who
decided). The lead's ``lead.status_changed`` event joins the change feed in
the same transaction. Scope ``write``; audited (``lead.qualified`` /
``lead.disqualified``, with the status and reason before and after). A
move the status machine refuses is 409: a converted or disqualified lead
is final, and a qualified lead cannot be qualified again.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from syncd.api.auth import WriteViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import IdPath
from syncd.api.problems import Problem
from syncd.api.routes.leads import LeadOut, lead_out
from syncd.api.writes import WRITE_PROBLEMS, actor, conflict
from syncd.store.leads import LeadError, UnknownLead, set_status

router = APIRouter(tags=["leads"], responses=WRITE_PROBLEMS)


class DecisionIn(BaseModel):
    model_config = {"extra": "forbid"}

    reason: str | None = Field(default=None, max_length=2000,
                               description="Why; stored as the lead's reason "
                                           "(default: who decided)")


@router.post("/leads/{lead_id}/qualify", response_model=LeadOut, summary="Qualify a lead")
def post_qualify(lead_id: IdPath, viewer: WriteViewer, ctx: Ctx, db: Db,
                 body: DecisionIn | None = None) -> LeadOut:
    """Mark a new lead qualified (worth pursuing); its open reminder is done. It still
    converts by itself once a contact gets its address."""
    return _decide(lead_id, "qualified", body, viewer, ctx, db)


@router.post("/leads/{lead_id}/disqualify", response_model=LeadOut,
             summary="Disqualify a lead")
def post_disqualify(lead_id: IdPath, viewer: WriteViewer, ctx: Ctx, db: Db,
                    body: DecisionIn | None = None) -> LeadOut:
    """Mark a new or qualified lead disqualified (not a prospect); final, its open
    reminder is closed."""
    return _decide(lead_id, "disqualified", body, viewer, ctx, db)


def _decide(lead_id: int, status: str, body: DecisionIn | None, viewer: WriteViewer,
            ctx: Ctx, db: Db) -> LeadOut:
    """Set the status in one write session; unknown lead: 404, a refused move: 409."""
    try:
        with db.session() as s:
            return lead_out(set_status(s, lead_id, status, actor=actor(viewer),
                                       note=body.reason if body else None, now=ctx.clock()))
    except UnknownLead as exc:
        raise Problem.not_found("lead", lead_id) from exc
    except LeadError as exc:
        raise conflict(str(exc)) from exc

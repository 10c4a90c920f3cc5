"""``GET /v1/interactions/{id}``: one interaction with everything known about it."""

from __future__ import annotations

from fastapi import APIRouter

from syncd.api.auth import ReadViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import IdPath, InteractionDetail, interaction_out
from syncd.api.problems import PROBLEMS, Problem
from syncd.api.visibility import Visibility
from syncd.store.timeline_pages import interaction_view

router = APIRouter(tags=["history"], responses=PROBLEMS)


@router.get("/interactions/{interaction_id}", response_model=InteractionDetail,
            summary="One interaction")
def get_interaction(interaction_id: IdPath, viewer: ReadViewer, ctx: Ctx,
                    db: Db) -> InteractionDetail:
    """An email, meeting, note or call: its participants (each with how and why it
    matched a contact or company), its sources (which mailboxes and calendars saw
    it), its thread, and the opportunity it is linked to with the reason.
    Subject, snippet, body and location follow the viewer's visibility."""
    view = interaction_view(db, interaction_id)
    if view is None:
        raise Problem.not_found("interaction", interaction_id)
    return interaction_out(view, Visibility(viewer, ctx.api.sharing.colleagues))

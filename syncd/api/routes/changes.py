"""``GET /v1/changes``: the change feed, in commit order, after a position.

A client stores the position of the last event it processed and asks for
``after=<position>``; positions only grow in commit order
(:mod:`syncd.store.changes`), so nothing committed later is ever skipped.
A position older than the retention answers 410 Gone with the way to
resync (``syncd export``, :mod:`syncd.store.snapshot`), never a silent gap.

Content in event states (an interaction's ``subject``/``snippet``/
``location``, a reminder's ``subject``) is cut per viewer like every other
response (:mod:`syncd.api.visibility`): admins read what the store has;
reps get the colleagues' sharing level (the feed does not look up who owns
each item, so a rep may see less of their own items here, never more).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from syncd.api.auth import ReadViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import UtcTime
from syncd.api.problems import MEDIA_TYPE, PROBLEMS, Problem
from syncd.api.visibility import Level, Visibility, cut
from syncd.store.change_events import CONTENT_FIELDS
from syncd.store.changes import ChangesPruned, FeedEvent, read_changes

router = APIRouter(tags=["changes"], responses={
    **PROBLEMS,
    410: {"description": "The position was pruned: resync, then follow from the position "
                         "the problem names",
          "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}}},
})

RESYNC = ("resync: run `syncd export` on the server (one consistent snapshot of companies, "
          "contacts, opportunities, open reminders and interactions; its first line names the "
          "feed position P), load it, then follow /v1/changes?after=P; without the server's "
          "shell, re-read the lists (GET /v1/contacts, /v1/companies, /v1/opportunities, "
          "/v1/reminders, /v1/timeline) and follow from after={position}; events carry the "
          "whole new state, so replaying ones the snapshot already holds is harmless")


class ChangeOut(BaseModel):
    position: int = Field(description="Commit-order position; pass it as `after` to continue")
    type: str = Field(description="interaction.created|updated|deleted|restored, "
                                  "note.logged, call.logged, participant.rematched, "
                                  "company.created|updated, contact.created|updated, "
                                  "opportunity.created|updated|linked|unlinked, "
                                  "reminder.opened|resolved|status_changed|updated, "
                                  "lead.created|status_changed")
    entity: str = Field(description="interaction | participant | company | contact | "
                                    "opportunity | reminder | lead")
    entity_id: int
    state: dict[str, Any] = Field(description="The entity's new state as stored (content cut "
                                              "to `visibility`); `changed` lists updated "
                                              "fields; an erased interaction (`erased`: "
                                              "true) has no content")
    at: UtcTime = Field(description="When the change was recorded")
    visibility: Level


class ChangesOut(BaseModel):
    items: list[ChangeOut]
    next_after: int = Field(description="The `after` of the next request")
    last_position: int = Field(description="The newest position numbered when read; "
                                           "events committed since follow it (a page that "
                                           "is not full numbers them first)")


@router.get("/changes", response_model=ChangesOut, summary="The change feed")
def list_changes(
    viewer: ReadViewer, ctx: Ctx, db: Db,
    after: Annotated[int, Query(ge=0, le=2**62, description="The last position you "
                                                          "processed (0: from the start)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per answer")] = 100,
) -> ChangesOut:
    """Events committed after position `after`, oldest first: interactions created, updated,
    deleted and restored; notes and calls logged; participants re-matched; contacts and
    companies created or updated; opportunities created, updated, linked; reminders opened,
    resolved, changed. 410 if `after` was pruned (`feed.retention_days`): resync from a
    `syncd export` snapshot, then follow after the position its first line names."""
    try:
        page = read_changes(db, after=after, limit=limit)
    except ChangesPruned as exc:
        raise Problem(410, "Position pruned",
                      f"events after position {after} were pruned (through "
                      f"{exc.pruned_through}); " + RESYNC.format(position=exc.pruned_through),
                      slug="changes-pruned") from exc
    level = Visibility(viewer, ctx.api.sharing.colleagues).level(frozenset())
    items = [_out(e, level) for e in page.events]
    return ChangesOut(items=items, next_after=items[-1].position if items else after,
                      last_position=page.last_position)


def _out(event: FeedEvent, level: Level) -> ChangeOut:
    state = dict(event.state)
    present = {k: state.get(k) for k in CONTENT_FIELDS if k in state}
    if present:
        content = cut(level, subject=present.get("subject"), snippet=present.get("snippet"),
                      location=present.get("location"))
        for name in present:
            state[name] = getattr(content, name)
    return ChangeOut(position=event.position, type=event.type, entity=event.entity,
                     entity_id=event.entity_id, state=state, at=event.at, visibility=level)

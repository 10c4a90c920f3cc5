"""``GET /v1/explain``: why an email or meeting is (or is not) logged, or who an address is.

The answers of ``syncd explain`` (:mod:`syncd.explain`), through the API's
visibility rule (:mod:`syncd.api.visibility`): an admin token sees
everything; a rep's token sees every logged copy's metadata (sources,
participants, matches), content as the rule allows, and only the skip
records, quarantine rows and own blocklists of the rep's own accounts (a
colleague's skipped mail is the colleague's business). Nothing found is
a 404 problem saying what was searched.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from matching import canonical_address
from syncd.api.auth import ReadViewer, Viewer
from syncd.api.context import Ctx, Db
from syncd.api.models import json_response
from syncd.api.problems import PROBLEMS, ParameterError, Problem
from syncd.api.visibility import Visibility
from syncd.config.model import Settings
from syncd.explain import Scope, address_answer, item_answer
from syncd.explain.answers import BlocklistHit, ItemAnswer, Resolution

router = APIRouter(tags=["explain"], responses=PROBLEMS)

_SELECTORS = ("message_id", "address", "event")


class ExplainItemsOut(BaseModel):
    """What the store knows of one message (``message_id``) or meeting (``event``)."""

    query: dict[str, str | None] = Field(description="The selector given, and account")
    found: bool
    searched: list[str] = Field(description="Where syncd looked")
    items: list[ItemAnswer] = Field(description="One per dedupe key (a meeting: per "
                                                "instance): what became of each copy")


class ExplainAddressOut(BaseModel):
    """Who one address is to syncd, and why."""

    query: dict[str, str]
    found: bool
    searched: list[str]
    canonical: str | None = Field(description="Canonical form; null: not an address")
    resolution: Resolution | None = Field(description="The contact, company, internal or "
                                                      "unmatched verdict, and why")
    blocklisted: list[BlocklistHit]
    role_address: str | None = Field(description="Why it is a shared/role mailbox")
    interactions: int = Field(description="Logged interactions it is on")
    last_seen_at: str | None = Field(description="Latest such interaction (UTC)")
    unmatched: bool = Field(description="Listed among unmatched addresses")


@router.get("/explain", response_model=ExplainItemsOut | ExplainAddressOut,
            summary="Why an email is missing")
def get_explain(
    viewer: ReadViewer, ctx: Ctx, db: Db,
    message_id: Annotated[str | None, Query(min_length=1, max_length=1000,
                                            description="An email's Message-ID")] = None,
    address: Annotated[str | None, Query(min_length=1, max_length=320,
                                         description="An email address")] = None,
    event: Annotated[str | None, Query(min_length=1, max_length=1000,
                                       description="A meeting's iCalUID")] = None,
    account: Annotated[str | None, Query(min_length=1, max_length=64,
                                         description="Only what this account saw "
                                                     "(message_id, event)")] = None,
) -> Response:
    """Give exactly one of `message_id`, `address` or `event`. A message or meeting:
    which accounts saw it and what became of each copy (logged; skipped, with the
    reason and what decided it; quarantined), each account's privacy level, each
    participant's match and reason, its thread and why, its opportunity and why,
    the reminders it opened or resolved. An address: its canonical form, the
    contact or company it resolves to and why, blocklist and role-address status,
    how many interactions it is on and when last seen."""
    given = [name for name, value in zip(_SELECTORS, (message_id, address, event),
                                         strict=True) if value is not None]
    if len(given) != 1:
        raise Problem.invalid([ParameterError(
            location="query", name=name,
            problem="give exactly one of message_id, address or event",
            allowed=list(_SELECTORS)) for name in (given or ["message_id"])])
    if address is not None and account is not None:
        raise Problem.invalid([ParameterError(
            location="query", name="account",
            problem="narrows message_id and event, not address")])
    scope = Scope(_accounts_of(ctx.settings, viewer))
    if address is not None:
        if canonical_address(address) is None:
            raise Problem.invalid([ParameterError(
                location="query", name="address",
                problem=f"{address!r} is not an email address")])
        found = address_answer(db, ctx.settings, address, scope=scope)
        if not found.found:
            raise _nothing("address", address, found.searched)
        return json_response(ExplainAddressOut.model_validate(found.to_dict()))
    visibility = Visibility(viewer, ctx.api.sharing.colleagues)
    answer = item_answer(db, ctx.settings, message_id=message_id, event=event,
                         account=account, scope=scope, content=visibility.level)
    if not answer.found:
        raise _nothing(given[0], answer.value, answer.searched)
    return json_response(ExplainItemsOut.model_validate(answer.to_dict()))


def _accounts_of(settings: Settings, viewer: Viewer) -> frozenset[str] | None:
    """None for admin; else the accounts the rep owns."""
    if viewer.address is None:
        return None
    return frozenset(a.id for a in settings.accounts
                     if canonical_address(a.owner) == viewer.address)


def _nothing(selector: str, value: str, searched: list[str]) -> Problem:
    return Problem(404, "Not found",
                   f"nothing found for {selector} {value!r}; searched: " + "; ".join(searched),
                   slug="not-found")

"""``POST`` / ``PATCH /v1/contacts`` and ``/v1/companies``: the directory, one record at a time.

The CSV import's rules (:mod:`syncd.directory.editing`): canonical
addresses and domains, free mail never a company's domain, domains and
addresses added (never removed). Late matching links the record's past
interactions in the same transaction (``linked`` says how many
participants). Creating a record whose address or domain another one owns
is 409 naming it; PATCH sets the fields given (``null`` clears an optional
one). Scope ``write``; audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from syncd.api.auth import WriteViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import IdPath, UtcTime
from syncd.api.problems import Problem
from syncd.api.writes import WRITE_PROBLEMS, actor, conflict, invalid
from syncd.config.policies import global_policy
from syncd.directory.editing import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    Conflict,
    Edited,
    EditError,
    UnknownRecord,
    create_company,
    create_contact,
    update_company,
    update_contact,
)

router = APIRouter(tags=["directory"], responses=WRITE_PROBLEMS)

Domain = Annotated[str, Field(min_length=1, max_length=253)]
Email = Annotated[str, Field(min_length=3, max_length=320)]
Tag = Annotated[str, Field(min_length=1, max_length=100)]

class CompanyIn(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=300)
    domains: list[Domain] = Field(min_length=1, max_length=100,
                               description="Its email domains (a subsidiary may own a "
                                           "subdomain); free mail is refused")
    tier: str | None = Field(default=None, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    owner: str | None = Field(default=None, max_length=320,
                              description="The responsible rep's address")


class CompanyPatch(BaseModel):
    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, min_length=1, max_length=300)
    domains: list[Domain] | None = Field(default=None, max_length=100,
                                      description="Added to the company's domains")
    tier: str | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=100)
    owner: str | None = Field(default=None, max_length=320)


class CompanyOut(BaseModel):
    id: int
    name: str
    domains: list[str]
    tier: str | None
    tags: list[str]
    owner: str | None
    created_at: UtcTime
    updated_at: UtcTime
    outcome: str = Field(description="created, updated or unchanged")
    linked: int = Field(description="Past participants late matching linked now")


class ContactIn(BaseModel):
    model_config = {"extra": "forbid"}

    emails: list[Email] = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    company_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ContactPatch(BaseModel):
    model_config = {"extra": "forbid"}

    emails: list[Email] | None = Field(default=None, max_length=100,
                                     description="Added to the contact's addresses")
    name: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)
    tags: list[Tag] | None = Field(default=None, max_length=100)
    company_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ContactOut(BaseModel):
    id: int
    name: str | None
    title: str | None
    emails: list[str]
    company_id: int | None
    tags: list[str]
    created_at: UtcTime
    updated_at: UtcTime
    outcome: str = Field(description="created, updated or unchanged")
    linked: int = Field(description="Past participants late matching linked now")


@router.post("/companies", response_model=CompanyOut, status_code=201,
             summary="Create a company")
def post_company(body: CompanyIn, viewer: WriteViewer, ctx: Ctx, db: Db) -> CompanyOut:
    """A new company; its past interactions are linked at once."""
    fields = body.model_dump(exclude_unset=True)
    edited = _run(lambda s: create_company(s, global_policy(ctx.settings), fields,
                                           actor=actor(viewer)), db, COMPANY_FIELDS)
    return CompanyOut(**edited.after, outcome=edited.outcome, linked=edited.linked)


@router.patch("/companies/{company_id}", response_model=CompanyOut, summary="Update a company")
def patch_company(company_id: IdPath, body: CompanyPatch, viewer: WriteViewer, ctx: Ctx,
                  db: Db) -> CompanyOut:
    """Set the fields given; ``domains`` are added."""
    fields = body.model_dump(exclude_unset=True)
    edited = _run(lambda s: update_company(s, global_policy(ctx.settings), company_id, fields,
                                           actor=actor(viewer)), db, COMPANY_FIELDS,
                  missing=("company", company_id))
    return CompanyOut(**edited.after, outcome=edited.outcome, linked=edited.linked)


@router.post("/contacts", response_model=ContactOut, status_code=201,
             summary="Create a contact")
def post_contact(body: ContactIn, viewer: WriteViewer, ctx: Ctx, db: Db) -> ContactOut:
    """A new contact with one or more addresses; past interactions are linked at once."""
    fields = body.model_dump(exclude_unset=True)
    edited = _run(lambda s: create_contact(s, global_policy(ctx.settings), fields,
                                           actor=actor(viewer)), db, CONTACT_FIELDS)
    return ContactOut(**edited.after, outcome=edited.outcome, linked=edited.linked)


@router.patch("/contacts/{contact_id}", response_model=ContactOut, summary="Update a contact")
def patch_contact(contact_id: IdPath, body: ContactPatch, viewer: WriteViewer, ctx: Ctx,
                  db: Db) -> ContactOut:
    """Set the fields given; ``emails`` are added."""
    fields = body.model_dump(exclude_unset=True)
    edited = _run(lambda s: update_contact(s, global_policy(ctx.settings), contact_id, fields,
                                           actor=actor(viewer)), db, CONTACT_FIELDS,
                  missing=("contact", contact_id))
    return ContactOut(**edited.after, outcome=edited.outcome, linked=edited.linked)


def _run(write: Callable[[Session], Edited], db: Db, fields: tuple[str, ...], *,
         missing: tuple[str, int] | None = None) -> Edited:
    try:
        with db.session() as s:
            return write(s)
    except UnknownRecord as exc:
        what, key = missing or ("record", 0)
        raise Problem.not_found(what, key) from exc
    except Conflict as exc:
        raise conflict(str(exc)) from exc
    except EditError as exc:
        raise invalid(exc, (*fields, "company_domain")) from exc

"""``GET /v1/contacts``, ``/v1/contacts/{id}``, ``/v1/companies``, ``/v1/companies/{id}``.

Contacts and companies with their relationship rollups, as stored
(:mod:`syncd.store.directory_queries`, kept as pages are written by
:mod:`syncd.store.rollups`; windows and "next meeting" relative to the
request's clock). Rollups are times, counts and reps' addresses — never an
interaction's subject or text — so they are the same for every viewer: a
count may include what the viewer cannot read, its content never shows.
Lists are by id, cursor-paginated; filters combine.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from syncd.api.auth import ReadViewer
from syncd.api.context import Ctx, Db
from syncd.api.models import IdPath, Ref, UtcTime, json_response
from syncd.api.pagination import Page, Paging
from syncd.api.problems import PROBLEMS, Problem
from syncd.store.directory_queries import (
    CompanyView,
    ContactView,
    DirectoryFilters,
    company_page,
    company_view,
    contact_page,
    contact_view,
)
from syncd.store.rollup_facts import Rollup

router = APIRouter(tags=["directory"], responses=PROBLEMS)

CONTACTS, COMPANIES = "contacts", "companies"

Name = Annotated[str | None, Query(min_length=1, max_length=300,
                                   description="Part of the name (case-insensitive)")]
Address = Annotated[str | None, Query(min_length=3, max_length=320,
                                      description="An email address (any form; compared "
                                                  "canonically)")]


class RepConnection(BaseModel):
    rep: str = Field(description="The rep's address (owner of the mailboxes that saw it)")
    exchanges: int = Field(description="Two-way exchange emails, all time")
    last_exchange_at: UtcTime
    strength: float = Field(description="Exchanges weighted 2^-(age/30 days): one today "
                                        "counts 1, one 30 days ago 0.5")


class Rollups(BaseModel):
    """Relationship rollups (no content: the same for every viewer)."""

    first_interaction_at: UtcTime | None
    last_interaction_at: UtcTime | None = Field(
        description="Latest email, note, call, or meeting that has started")
    last_inbound_at: UtcTime | None = Field(description="Latest email they sent us")
    last_outbound_at: UtcTime | None = Field(description="Latest email we sent them")
    last_exchange_at: UtcTime | None = Field(
        description="Latest email of a thread where both they and we wrote")
    next_meeting_at: UtcTime | None
    interactions_30d: int = Field(description="Interactions on the 30 UTC days up to now")
    interactions_90d: int
    interactions_365d: int
    interactions_total: int = Field(description="All interactions so far")
    upcoming_meetings: int
    open_reminders: int
    top_reps: list[RepConnection] = Field(description="Reps by recency-weighted two-way exchanges")


class Connection(BaseModel):
    rep: str = Field(description="The rep's address (owner of the mailboxes and calendars)")
    strength: float = Field(description=(
        "0-100: two-way exchanges and meetings, weighted and halving with every half-life "
        "of silence (config `relationships`); one-way mail counts for little"))
    two_way_emails: int
    meetings: int
    one_way_emails: int
    last_at: UtcTime = Field(description="The rep's latest counted interaction with the party")


class Relationship(BaseModel):
    """Reply times within threads and the reps' strength (no content)."""

    our_median_reply_seconds: int | None = Field(
        description="Median time from their first unanswered email to our reply")
    our_replies: int
    their_median_reply_seconds: int | None = Field(
        description="Median time from our first unanswered email to their reply")
    their_replies: int
    strongest_connection: str | None = Field(
        description="The rep with the highest strength (warm introductions)")
    connections: list[Connection] = Field(description="Reps by strength, strongest first")


class ContactWithRollups(BaseModel):
    id: int
    name: str | None
    title: str | None
    emails: list[str]
    company: Ref | None
    tags: list[str]
    rollups: Rollups
    relationship: Relationship


class CompanyWithRollups(BaseModel):
    id: int
    name: str
    domains: list[str]
    tier: str | None
    tags: list[str]
    owner: str | None = Field(description="The responsible rep's address")
    rollups: Rollups
    relationship: Relationship


@router.get("/contacts", response_model=Page[ContactWithRollups], summary="Contacts")
def list_contacts(
    viewer: ReadViewer, ctx: Ctx, db: Db, page: Paging, name: Name = None,
    domain: Annotated[str | None, Query(min_length=1, max_length=253, description=(
        "An address at this domain, or the company owning it"))] = None,
    address: Address = None,
) -> Page[ContactWithRollups]:
    """Contacts by id, each with its rollups; search by name, domain or address."""
    del viewer  # authenticated; rollups carry no interaction content
    after = page.after(CONTACTS, int)
    rows = contact_page(db, DirectoryFilters(name=name, domain=domain, address=address),
                        after=None if after is None else int(after[0]), limit=page.limit + 1,
                        now=ctx.clock())
    items, next_cursor = page.result(rows, CONTACTS, lambda c: (c.id,))
    return Page[ContactWithRollups](items=[_contact(c) for c in items], next_cursor=next_cursor)


@router.get("/contacts/{contact_id}", response_model=ContactWithRollups, summary="A contact")
def get_contact(viewer: ReadViewer, ctx: Ctx, db: Db, contact_id: IdPath) -> Response:
    """One contact with its rollups."""
    del viewer
    found = contact_view(db, contact_id, now=ctx.clock())
    if found is None:
        raise Problem.not_found("contact", contact_id)
    return json_response(_contact(found))


@router.get("/companies", response_model=Page[CompanyWithRollups], summary="Companies")
def list_companies(
    viewer: ReadViewer, ctx: Ctx, db: Db, page: Paging, name: Name = None,
    domain: Annotated[str | None, Query(min_length=1, max_length=253, description=(
        "Owning this domain or one of its parent domains"))] = None,
    address: Address = None,
) -> Page[CompanyWithRollups]:
    """Companies by id, each with its rollups; search by name, domain or address."""
    del viewer
    after = page.after(COMPANIES, int)
    rows = company_page(db, DirectoryFilters(name=name, domain=domain, address=address),
                        after=None if after is None else int(after[0]), limit=page.limit + 1,
                        now=ctx.clock())
    items, next_cursor = page.result(rows, COMPANIES, lambda c: (c.id,))
    return Page[CompanyWithRollups](items=[_company(c) for c in items], next_cursor=next_cursor)


@router.get("/companies/{company_id}", response_model=CompanyWithRollups, summary="A company")
def get_company(viewer: ReadViewer, ctx: Ctx, db: Db, company_id: IdPath) -> Response:
    """One company with its rollups."""
    del viewer
    found = company_view(db, company_id, now=ctx.clock())
    if found is None:
        raise Problem.not_found("company", company_id)
    return json_response(_company(found))


def _rollups(r: Rollup) -> Rollups:
    return Rollups(
        first_interaction_at=r.first_interaction_at, last_interaction_at=r.last_interaction_at,
        last_inbound_at=r.last_inbound_at, last_outbound_at=r.last_outbound_at,
        last_exchange_at=r.last_exchange_at, next_meeting_at=r.next_meeting_at,
        interactions_30d=r.interactions_30d, interactions_90d=r.interactions_90d,
        interactions_365d=r.interactions_365d, interactions_total=r.interactions_total,
        upcoming_meetings=r.upcoming_meetings, open_reminders=r.open_reminders,
        top_reps=[RepConnection(rep=x.rep, exchanges=x.exchanges,
                                last_exchange_at=x.last_exchange_at,
                                strength=round(x.strength, 4)) for x in r.top_reps])


def _contact(c: ContactView) -> ContactWithRollups:
    company = Ref(id=c.company_id, name=c.company_name) if c.company_id is not None else None
    return ContactWithRollups(id=c.id, name=c.name, title=c.title, emails=list(c.emails),
                      company=company, tags=list(c.tags), rollups=_rollups(c.rollup),
                      relationship=Relationship.model_validate(c.relationship.to_dict()))


def _company(c: CompanyView) -> CompanyWithRollups:
    return CompanyWithRollups(id=c.id, name=c.name, domains=list(c.domains), tier=c.tier,
                      tags=list(c.tags), owner=c.owner, rollups=_rollups(c.rollup),
                      relationship=Relationship.model_validate(c.relationship.to_dict()))

"""Interactions as the API shows them: participants with their match, sources, thread, deal.

:func:`load_views` turns interaction ids into :class:`InteractionView`
values with a fixed number of batched queries (interactions, participants,
sources with their account's owner, threads, opportunities, contact and
company names, people's corrections, what a note or call logged), whatever
the number of ids. The views carry everything stored, content included:
deciding who may read the content is the API's visibility rule, which needs
:attr:`InteractionView.owners` (the reps whose mailboxes saw the
interaction, and the author of a note or call). Views come back in the
order of the ids given; ids that do not exist are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import canonical_address
from syncd.store.notes import Logged, details_for
from syncd.store.override_rules import Rule, rules_for
from syncd.store.schema import (
    Account,
    Company,
    Contact,
    Interaction,
    Opportunity,
    Participant,
    Source,
    Thread,
)
from syncd.store.sql import chunks, names_by_id


@dataclass(frozen=True, slots=True)
class ParticipantView:
    role: str
    address: str
    display_name: str | None
    match: str
    match_reason: str | None
    contact_id: int | None
    contact_name: str | None
    company_id: int | None
    company_name: str | None
    response_status: str | None


@dataclass(frozen=True, slots=True)
class SourceView:
    """One mailbox or calendar that saw the interaction."""

    account: str
    provider: str | None
    owner: str | None
    folder: str | None
    first_seen_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class ThreadView:
    id: int
    key: str
    subject: str | None
    message_count: int
    first_message_at: datetime | None
    last_message_at: datetime | None


@dataclass(frozen=True, slots=True)
class OpportunityRef:
    id: int
    name: str
    stage: str | None
    is_open: bool
    company_id: int


@dataclass(frozen=True, slots=True)
class InteractionView:
    id: int
    kind: str
    occurred_at: datetime
    ends_at: datetime | None
    all_day: bool
    timezone: str | None
    subject: str | None
    snippet: str | None
    body: str | None
    location: str | None
    direction: str
    status: str | None
    deleted: bool
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    thread: ThreadView | None
    opportunity: OpportunityRef | None
    opportunity_reason: str | None
    participants: tuple[ParticipantView, ...]
    sources: tuple[SourceView, ...]
    #: people's corrections of it (who set what, when)
    corrections: tuple[Rule, ...] = ()
    #: what was logged, for a note or a call
    logged: Logged | None = None

    @property
    def owners(self) -> frozenset[str]:
        """Canonical addresses of the reps whose mailboxes or calendars saw it, and
        of the author of a note or call."""
        people = [s.owner for s in self.sources]
        if self.logged is not None:
            people.append(self.logged.author)
        return frozenset(o for o in (_canonical(p) for p in people) if o)


def _canonical(address: str | None) -> str | None:
    if not address:
        return None
    return canonical_address(address) or address.strip().lower()


_INTERACTION = (Interaction.id, Interaction.kind, Interaction.occurred_at, Interaction.ends_at,
                Interaction.all_day, Interaction.timezone, Interaction.subject,
                Interaction.snippet, Interaction.body, Interaction.location,
                Interaction.direction, Interaction.status, Interaction.deleted,
                Interaction.deleted_at, Interaction.created_at, Interaction.updated_at,
                Interaction.thread_id, Interaction.opportunity_id,
                Interaction.opportunity_reason)
_PARTICIPANT = (Participant.interaction_id, Participant.role, Participant.address,
                Participant.display_name, Participant.match, Participant.match_reason,
                Participant.contact_id, Participant.company_id, Participant.response_status)
_THREAD = (Thread.id, Thread.key, Thread.subject, Thread.message_count,
           Thread.first_message_at, Thread.last_message_at)
_OPPORTUNITY = (Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.is_open,
                Opportunity.company_id)


def load_views(s: Session, ids: Sequence[int]) -> list[InteractionView]:
    """Views of the interactions ``ids``, in that order (unknown ids left out).

    Columns, not ORM objects: a timeline page loads some fifty interactions
    with their people and sources per request, and building and tracking ORM
    instances for them cost more than the queries.
    """
    wanted = list(dict.fromkeys(ids))
    rows: dict[int, Any] = {}
    people: dict[int, list[Any]] = {}
    seen_by: dict[int, list[SourceView]] = {}
    for batch in chunks(wanted):
        rows.update({row.id: row for row in s.execute(
            select(*_INTERACTION).where(Interaction.id.in_(batch)))})
        for p in s.execute(select(*_PARTICIPANT).where(Participant.interaction_id.in_(batch))
                           .order_by(Participant.interaction_id, Participant.position)):
            people.setdefault(p.interaction_id, []).append(p)
        for interaction_id, account, folder, first_seen_at, deleted_at, provider, owner in (
            s.execute(
                select(Source.interaction_id, Source.account_id, Source.folder,
                       Source.first_seen_at, Source.deleted_at, Account.provider, Account.owner)
                .outerjoin(Account, Account.id == Source.account_id)
                .where(Source.interaction_id.in_(batch))
                .order_by(Source.interaction_id, Source.account_id, Source.id))
        ):
            seen_by.setdefault(interaction_id, []).append(SourceView(
                account=account, provider=provider, owner=owner, folder=folder,
                first_seen_at=first_seen_at, deleted_at=deleted_at))
    threads = {r[0]: ThreadView(*r) for r in _by_id(
        s, _THREAD, {i.thread_id for i in rows.values()})}
    deals = {r[0]: OpportunityRef(*r) for r in _by_id(
        s, _OPPORTUNITY, {i.opportunity_id for i in rows.values()})}
    contacts = names_by_id(s, Contact, {p.contact_id for ps in people.values() for p in ps})
    companies = names_by_id(s, Company, {p.company_id for ps in people.values() for p in ps})
    corrections = rules_for(s, rows)
    logged = details_for(s, rows)
    out: list[InteractionView] = []
    for interaction_id in wanted:
        i = rows.get(interaction_id)
        if i is None:
            continue
        out.append(InteractionView(
            id=i.id, kind=i.kind, occurred_at=i.occurred_at, ends_at=i.ends_at,
            all_day=i.all_day, timezone=i.timezone, subject=i.subject, snippet=i.snippet,
            body=i.body, location=i.location, direction=i.direction, status=i.status,
            deleted=i.deleted, deleted_at=i.deleted_at, created_at=i.created_at,
            updated_at=i.updated_at,
            thread=threads.get(i.thread_id) if i.thread_id is not None else None,
            opportunity=deals.get(i.opportunity_id) if i.opportunity_id is not None else None,
            opportunity_reason=i.opportunity_reason,
            participants=tuple(
                ParticipantView(
                    role=p.role, address=p.address, display_name=p.display_name, match=p.match,
                    match_reason=p.match_reason, contact_id=p.contact_id,
                    contact_name=contacts.get(p.contact_id), company_id=p.company_id,
                    company_name=companies.get(p.company_id), response_status=p.response_status)
                for p in people.get(i.id, [])),
            sources=tuple(seen_by.get(i.id, [])),
            corrections=tuple(corrections.get(i.id, [])),
            logged=logged.get(i.id),
        ))
    return out


def _by_id(s: Session, columns: Sequence[Any], ids: set[int | None]) -> list[Any]:
    """Rows of ``columns`` (the first is the table's ``id``) for these ids."""
    wanted = sorted(i for i in ids if i is not None)
    out: list[Any] = []
    for batch in chunks(wanted):
        out.extend(s.execute(select(*columns).where(columns[0].in_(batch))))
    return out

"""One page of a timeline: a contact's, a company's, an opportunity's or an address's history.

``timeline_page(db, subject, filters, after=..., limit=...)`` returns the
interactions of ``subject`` that pass ``filters``, newest first, sorted by
the unique key ``(occurred_at, id)`` descending, strictly after ``after``
(the last key of the previous page, see :mod:`syncd.store.keyset`), at most
``limit`` of them, as :class:`~syncd.store.interaction_views.InteractionView`.
It returns ``None`` when the subject itself does not exist (an unknown
contact, company or opportunity id), so callers can answer 404; an address
always exists (an unmatched person's history may be empty).

Who belongs to a subject:

* contact: interactions with a participant matched to the contact;
* company: interactions with a participant matched to the company (its
  contacts' addresses included, whatever their domain);
* opportunity: interactions linked to the opportunity;
* address: interactions with a participant at that canonical address.

Deleted interactions (every mailbox deleted its copy) stay in the history,
flagged ``deleted``. One id query plus :func:`load_views`' fixed number of
batched queries per page.

A contact's or company's page is read from ``participants`` alone, which
carry their interaction's ``occurred_at``: one backward range scan of the
index ``(contact_id | company_id, occurred_at, interaction_id)`` from the
cursor, stopping after the page (``DISTINCT``: several of a company's
people on one interaction are adjacent in that order), so a page costs the
same for a party with five interactions or fifty thousand. Filters on the
kind, direction or account join the interaction of each candidate row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from matching import canonical_address
from syncd.store.database import Database
from syncd.store.interaction_views import InteractionView, load_views
from syncd.store.keyset import after as keyset_after
from syncd.store.keyset import order
from syncd.store.schema import Company, Contact, Interaction, Opportunity, Participant, Source

SubjectKind = Literal["contact", "company", "opportunity", "address"]
#: what a timeline sorts by: (occurred_at, id), newest first
TimelineKey = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class TimelineSubject:
    kind: SubjectKind
    #: an id for contact/company/opportunity, an email address for address
    value: int | str


@dataclass(frozen=True, slots=True)
class TimelineFilters:
    kinds: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    #: occurred at or after
    since: datetime | None = None
    #: occurred before
    until: datetime | None = None
    #: seen by this account (one of its sources)
    account: str | None = None


def timeline_page(db: Database, subject: TimelineSubject, filters: TimelineFilters, *,
                  after: TimelineKey | None, limit: int) -> list[InteractionView] | None:
    """See the module docstring."""
    with db.session(write=False) as s:
        membership = _membership(s, subject)
        if membership is None:
            return None
        if subject.kind in ("contact", "company"):
            return load_views(s, _party_page(s, subject, filters, after=after, limit=limit))
        columns = (Interaction.occurred_at, Interaction.id)
        conditions = [membership, *_filters(filters)]
        if after is not None:
            conditions.append(keyset_after(columns, after, descending=True))
        ids = list(s.scalars(select(Interaction.id).where(*conditions)
                             .order_by(*order(columns, descending=True)).limit(limit)))
        return load_views(s, ids)


def _party_page(s: Session, subject: TimelineSubject, filters: TimelineFilters, *,
                after: TimelineKey | None, limit: int) -> list[int]:
    """Ids of a contact's or company's page, in the order of the party's index."""
    party = (Participant.contact_id if subject.kind == "contact"
             else Participant.company_id)
    columns = (Participant.occurred_at, Participant.interaction_id)
    conditions: list[ColumnElement[bool]] = [party == int(subject.value)]
    if after is not None:
        # the redundant bound on the time is what makes the cursor an index range
        # (the OR of the keyset alone would only filter the party's rows)
        conditions += [Participant.occurred_at <= after[0],
                       keyset_after(columns, after, descending=True)]
    if filters.since is not None:
        conditions.append(Participant.occurred_at >= filters.since)
    if filters.until is not None:
        conditions.append(Participant.occurred_at < filters.until)
    stmt = select(*columns)
    if filters.kinds or filters.directions or filters.account is not None:
        stmt = stmt.join(Interaction, Interaction.id == Participant.interaction_id)
        conditions.extend(_filters(TimelineFilters(kinds=filters.kinds,
                                                   directions=filters.directions,
                                                   account=filters.account)))
    stmt = (stmt.where(*conditions).distinct()
            .order_by(*order(columns, descending=True)).limit(limit))
    return [interaction_id for _, interaction_id in s.execute(stmt)]


def timeline_key(view: InteractionView) -> TimelineKey:
    return (view.occurred_at, view.id)


def _membership(s: Session, subject: TimelineSubject) -> ColumnElement[bool] | None:
    if subject.kind == "address":
        address = str(subject.value)
        canonical = canonical_address(address) or address.strip().lower()
        return Interaction.id.in_(
            select(Participant.interaction_id).where(Participant.address == canonical))
    key = {"contact": Contact.id, "company": Company.id,
           "opportunity": Opportunity.id}[subject.kind]
    if s.scalar(select(key).where(key == int(subject.value))) is None:
        return None
    if subject.kind == "opportunity":
        return Interaction.opportunity_id == int(subject.value)
    column = Participant.contact_id if subject.kind == "contact" else Participant.company_id
    return Interaction.id.in_(
        select(Participant.interaction_id).where(column == int(subject.value)))


def _filters(filters: TimelineFilters) -> Sequence[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if filters.kinds:
        out.append(Interaction.kind.in_(filters.kinds))
    if filters.directions:
        out.append(Interaction.direction.in_(filters.directions))
    if filters.since is not None:
        out.append(Interaction.occurred_at >= filters.since)
    if filters.until is not None:
        out.append(Interaction.occurred_at < filters.until)
    if filters.account is not None:
        out.append(Interaction.id.in_(
            select(Source.interaction_id).where(Source.account_id == filters.account)))
    return out


def interaction_view(db: Database, interaction_id: int) -> InteractionView | None:
    """One interaction with everything about it, or ``None`` if there is none."""
    with db.session(write=False) as s:
        views = load_views(s, [interaction_id])
        return views[0] if views else None

"""What derivation needs to know, loaded from the store in a fixed number of
batched queries per batch of threads or meetings (never per row).

* :func:`thread_messages` — the live (not deleted) emails of each thread,
  oldest first, with direction.
* :func:`people_of` — participants of chosen interactions.
* :func:`accounts_of` — the accounts (mailboxes, calendars) that saw them.
* :func:`parties` — directory facts (tags, tier, owner, domains) of the
  contacts and companies involved, for segment rules.
* :func:`interactions_with`, :func:`kinds_of` — who took part in what, by
  address and by id.
* :func:`live_threads` — which of the given threads derivation can change
  at all (recent mail, or stored reminders).
* :func:`meetings_awaiting` — meetings whose open ``meeting_follow_up``
  some recent outbound mail may answer.
* :func:`stored_reminders` — the stored reminders reconciliation compares
  with, by scope and by idempotency key.

Every query filters by ONE indexed key (thread ids, interaction ids,
addresses) and applies the rest (kind, deleted, role) in Python: a planner
without fresh statistics could otherwise pick a broad index (``kind``) and
scan the store, which would make derivation cost grow with history. Two
look-ups put more in SQL, each still bounded by the given ids:
:func:`live_threads` (thread ids, last message time, "has a reminder") and
:func:`stored_reminders` (thread or interaction ids with the kinds of that
scope).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from syncd.reminders.plan import MEETING_KINDS, THREAD_KINDS
from syncd.store.schema import (
    Account,
    Company,
    CompanyDomain,
    Contact,
    Interaction,
    Participant,
    Reminder,
    Source,
    Thread,
)
from syncd.store.sql import chunks

#: participant matches that are people outside the organization
EXTERNAL = frozenset({"contact", "company", "unmatched"})
#: participant roles that receive an email
RECIPIENT_ROLES = ("to", "cc", "bcc")


@dataclass(frozen=True, slots=True)
class Person:
    role: str
    address: str
    name: str | None
    match: str
    contact_id: int | None
    company_id: int | None
    domain: str | None

    @property
    def external(self) -> bool:
        return self.match in EXTERNAL

    @property
    def internal(self) -> bool:
        return self.match == "internal"


@dataclass(frozen=True, slots=True)
class Mail:
    id: int
    thread_id: int
    occurred_at: datetime
    direction: str
    subject: str | None
    opportunity_id: int | None


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    starts_at: datetime
    ends_at: datetime
    status: str | None
    deleted: bool
    subject: str | None
    opportunity_id: int | None


@dataclass(slots=True)
class Party:
    """The contact and/or company a reminder is about, as rules see them."""

    address: str | None = None
    name: str | None = None
    contact_id: int | None = None
    contact_tags: frozenset[str] = frozenset()
    company_id: int | None = None
    company_name: str | None = None
    company_tier: str | None = None
    company_tags: frozenset[str] = frozenset()
    company_owner: str | None = None
    domains: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        who = self.name or self.address or "someone"
        return f"{who} ({self.company_name})" if self.company_name else who


def thread_messages(s: Session, thread_ids: Sequence[int]) -> dict[int, list[Mail]]:
    out: dict[int, list[Mail]] = {}
    for batch in chunks(sorted(thread_ids)):
        # only thread_id in SQL: with kind/deleted there too, a planner may prefer
        # the (kind, occurred_at) index and scan every email in the store
        stmt = select(Interaction.id, Interaction.thread_id, Interaction.occurred_at,
                      Interaction.direction, Interaction.subject, Interaction.opportunity_id,
                      Interaction.kind, Interaction.deleted
                      ).where(Interaction.thread_id.in_(batch))
        for iid, tid, when, direction, subject, opp, kind, deleted in s.execute(stmt):
            if tid is not None and kind == "email" and not deleted:
                out.setdefault(tid, []).append(Mail(iid, tid, when, direction, subject, opp))
    for mails in out.values():
        mails.sort(key=lambda m: (m.occurred_at, m.id))
    return out


def meetings(s: Session, ids: Sequence[int]) -> dict[int, Meeting]:
    out: dict[int, Meeting] = {}
    for batch in chunks(sorted(ids)):
        stmt = select(Interaction.id, Interaction.occurred_at, Interaction.ends_at,
                      Interaction.status, Interaction.deleted, Interaction.subject,
                      Interaction.opportunity_id, Interaction.kind
                      ).where(Interaction.id.in_(batch))
        for mid, start, end, status, deleted, subject, opp, kind in s.execute(stmt):
            if kind == "meeting":
                out[mid] = Meeting(mid, start, end or start, status, deleted, subject, opp)
    return out


def kinds_of(s: Session, ids: Iterable[int]) -> dict[int, tuple[str, str, bool, datetime]]:
    """interaction id -> (kind, direction, deleted, occurred_at), looked up by primary key
    only (filtering by kind in SQL could make a planner scan the kind index)."""
    out: dict[int, tuple[str, str, bool, datetime]] = {}
    for batch in chunks(sorted(set(ids))):
        for iid, kind, direction, deleted, when in s.execute(
            select(Interaction.id, Interaction.kind, Interaction.direction,
                   Interaction.deleted, Interaction.occurred_at)
            .where(Interaction.id.in_(batch))
        ):
            out[iid] = (kind, direction, deleted, when)
    return out


def interactions_with(s: Session, addresses: Iterable[str],
                      roles: Sequence[str] | None = None, *,
                      since: datetime | None = None) -> dict[str, set[int]]:
    """address -> ids of interactions it takes part in (by the address index only);
    ``since``: only those that occurred then or later (a participant row carries
    its interaction's time)."""
    out: dict[str, set[int]] = {}
    for batch in chunks(sorted(set(addresses))):
        stmt = (select(Participant.address, Participant.role, Participant.interaction_id)
                .where(Participant.address.in_(batch)))
        if since is not None:
            stmt = stmt.where(Participant.occurred_at >= since)
        for address, role, iid in s.execute(stmt):
            if roles is None or role in roles:
                out.setdefault(address, set()).add(iid)
    return out


def people_of(s: Session, ids: Iterable[int]) -> dict[int, list[Person]]:
    out: dict[int, list[Person]] = {}
    for batch in chunks(sorted(set(ids))):
        stmt = (
            select(Participant.interaction_id, Participant.role, Participant.address,
                   Participant.display_name, Participant.match, Participant.contact_id,
                   Participant.company_id, Participant.domain)
            .where(Participant.interaction_id.in_(batch))
            .order_by(Participant.interaction_id, Participant.position)
        )
        for iid, role, address, name, match, contact_id, company_id, domain in s.execute(stmt):
            out.setdefault(iid, []).append(
                Person(role, address, name, match, contact_id, company_id, domain))
    return out


def accounts_of(s: Session, ids: Iterable[int]) -> dict[int, list[str]]:
    """interaction id -> account ids that saw it (and have not deleted it), sorted."""
    out: dict[int, list[str]] = {}
    for batch in chunks(sorted(set(ids))):
        stmt = (select(Source.interaction_id, Source.account_id)
                .where(Source.interaction_id.in_(batch), Source.deleted_at.is_(None))
                .order_by(Source.interaction_id, Source.account_id))
        for iid, account in s.execute(stmt):
            if account not in out.setdefault(iid, []):
                out[iid].append(account)
    return out


def account_owners(s: Session) -> dict[str, str]:
    return {aid: owner.lower() for aid, owner in s.execute(select(Account.id, Account.owner))
            if owner}


def parties(s: Session, people: Iterable[Person]) -> dict[str, Party]:
    """address -> Party for each person, with their contact's and company's facts."""
    people = list(people)
    contact_ids = sorted({p.contact_id for p in people if p.contact_id is not None})
    contacts: dict[int, tuple[str | None, list[str], int | None]] = {}
    for batch in chunks(contact_ids):
        for cid, name, tags, company_id in s.execute(
            select(Contact.id, Contact.name, Contact.tags, Contact.company_id)
            .where(Contact.id.in_(batch))
        ):
            contacts[cid] = (name, list(tags or []), company_id)
    company_ids = sorted({p.company_id for p in people if p.company_id is not None}
                         | {c[2] for c in contacts.values() if c[2] is not None})
    companies: dict[int, tuple[str, str | None, list[str], str | None]] = {}
    domains: dict[int, set[str]] = {}
    for batch in chunks(company_ids):
        for cid, name, tier, tags, owner in s.execute(
            select(Company.id, Company.name, Company.tier, Company.tags, Company.owner)
            .where(Company.id.in_(batch))
        ):
            companies[cid] = (name, tier, list(tags or []), owner)
        for cid, domain in s.execute(select(CompanyDomain.company_id, CompanyDomain.domain)
                                     .where(CompanyDomain.company_id.in_(batch))):
            domains.setdefault(cid, set()).add(domain)
    out: dict[str, Party] = {}
    for p in people:
        contact = contacts.get(p.contact_id) if p.contact_id is not None else None
        company_id = p.company_id if p.company_id is not None else (
            contact[2] if contact else None)
        company = companies.get(company_id) if company_id is not None else None
        party = Party(address=p.address, name=(contact[0] if contact else None) or p.name,
                      contact_id=p.contact_id,
                      contact_tags=frozenset(t.lower() for t in (contact[1] if contact else [])),
                      company_id=company_id)
        if company is not None and company_id is not None:
            party.company_name, tier, tags, owner = company
            party.company_tier = tier.lower() if tier else None
            party.company_tags = frozenset(t.lower() for t in tags)
            party.company_owner = owner.lower() if owner else None
            party.domains |= domains.get(company_id, set())
        if p.domain:
            party.domains.add(p.domain)
        elif "@" in p.address:
            party.domains.add(p.address.rsplit("@", 1)[1])
        out[p.address] = party
    return out


def live_threads(s: Session, thread_ids: Sequence[int], cutoff: datetime) -> list[int]:
    """The threads derivation can change: a message since ``cutoff``, or stored reminders.

    A thread whose newest message is older than ``max_age_days`` (+1 day of
    margin) can only have anchors that old, which never open a reminder;
    with no stored reminder either there is nothing to reconcile. Leaving
    those out is exact, and an initial sync's years of old mail cost one
    indexed query per batch instead of a full evaluation.
    """
    dormant = set(s.scalars(
        select(Thread.id).where(
            Thread.id.in_(thread_ids),
            or_(Thread.last_message_at.is_(None), Thread.last_message_at < cutoff),
            ~exists().where(Reminder.thread_id == Thread.id))))
    return [t for t in thread_ids if t not in dormant]


def meetings_awaiting(s: Session, outbound_ids: Iterable[int]) -> set[int]:
    """Meetings with an open meeting_follow_up that these outbound mails (recent
    ones of the touched threads) may answer, so a rep's email resolves it without
    touching the meeting. Only follow-ups of meetings that ended within
    ``max_age_days`` are ever open, so older mail is left out by the caller.

    Every step is a lookup by an indexed key (interaction ids, addresses);
    the cost follows the touched threads, not the store."""
    addresses = {p.address for people in people_of(s, outbound_ids).values() for p in people
                 if p.external and p.role in RECIPIENT_ROLES}
    seen = {i for ids in interactions_with(s, addresses).values() for i in ids}
    meeting_ids = {i for i, (kind, *_rest) in kinds_of(s, seen).items() if kind == "meeting"}
    out: set[int] = set()
    for id_batch in chunks(sorted(meeting_ids)):
        # kind and status are filtered here, not in SQL, so the planner can only
        # use the interaction_id index (never a scan of every open reminder)
        out.update(i for i, kind, status in s.execute(
            select(Reminder.interaction_id, Reminder.kind, Reminder.status)
            .where(Reminder.interaction_id.in_(id_batch)))
            if i is not None and kind == "meeting_follow_up" and status == "open")
    # ended meetings without a reminder yet need no help: creation checks mail itself
    return out


def stored_reminders(s: Session, *, thread_ids: Sequence[int] = (),
                     meeting_ids: Sequence[int] = (),
                     keys: Iterable[str] = ()) -> dict[str, Reminder]:
    """idempotency key -> stored reminder, of any status: the thread kinds of
    ``thread_ids``, the meeting kinds of ``meeting_ids``, and any other row
    whose key is in ``keys`` (the wanted ones)."""
    out: dict[str, Reminder] = {}
    for batch in chunks(sorted(thread_ids)):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.thread_id.in_(batch),
                                   Reminder.kind.in_(THREAD_KINDS)))})
    for batch in chunks(sorted(meeting_ids)):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.interaction_id.in_(batch),
                                   Reminder.kind.in_(MEETING_KINDS)))})
    for key_batch in chunks(sorted(set(keys) - set(out))):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.idempotency_key.in_(key_batch)))})
    return out

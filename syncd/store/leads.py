"""Leads: every write of the ``leads`` table, with its change-feed events.

A lead is a new person's inbound request that may turn into a customer
(who qualifies is :mod:`matching.leads`; detection while a page is
stored is :mod:`syncd.sync.leads`). Its status machine::

             person qualifies
      new ─────────────────────► qualified
       │ \\                          │  \\
       │  \\ a contact got its       │   \\ a contact got its address
       │   \\ address (import, API,  │    \\
       │    \\ auto-creation)        │     ▼
       │     └──────────────────────┼──► converted        (final)
       │                            │
       └── person disqualifies, ────┴──► disqualified     (final)
           purge, blocklists

Invariants:

* **One lead per address, written once.** :func:`add_leads` inserts with
  ``ON CONFLICT (address) DO NOTHING``: a redone page, a crash and re-run,
  two accounts seeing the same request, or the same person writing again
  add nothing, and only rows this call inserted get ``lead.created``.
* **Every status change is one place** (:func:`_move`): the row, its
  ``lead.status_changed`` event (with ``previous_status``) and the closing
  of the lead's open ``lead`` reminders (``done`` when converted or
  qualified: a person took it on; ``superseded`` when disqualified), all
  in the caller's transaction. Reminder derivation
  (:mod:`syncd.reminders.lead_plan`) closes them the same way when it
  runs, so the two never disagree.
* ``converted`` and ``disqualified`` are final: nothing moves a lead out
  of them (:data:`TRANSITIONS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import registrable_domain
from syncd.store.audit import Actor, record
from syncd.store.change_events import lead_change, reminder_change
from syncd.store.changes import Change, record_changes
from syncd.store.schema import ContactEmail, Lead, Reminder
from syncd.store.sql import chunks, dialect_insert, table_of
from syncd.store.types import utcnow

STATUSES = ("new", "qualified", "converted", "disqualified")
#: status -> the statuses it may move to
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"qualified", "converted", "disqualified"}),
    "qualified": frozenset({"converted", "disqualified"}),
    "converted": frozenset(),
    "disqualified": frozenset(),
}
#: how a lead's open reminders end when it reaches a status
_REMINDER_CLOSING = {"qualified": "done", "converted": "done", "disqualified": "superseded"}
#: the reminder kind a lead opens (syncd.reminders.lead_plan)
REMINDER_KIND = "lead"


class LeadError(ValueError):
    """A status change that the status machine refuses."""


class UnknownLead(LookupError):
    """No lead with that id."""


@dataclass(frozen=True, slots=True)
class NewLead:
    """A lead as detected on a page (see :mod:`syncd.sync.leads`)."""

    address: str
    name: str | None
    domain: str | None
    first_interaction_id: int
    source_account: str
    inbox: str | None
    owner: str | None
    received_at: datetime
    reason: str


def add_leads(session: Session, leads: Sequence[NewLead], *,
              now: datetime | None = None) -> list[int]:
    """Insert the leads whose address has none yet; ids of the inserted ones."""
    if not leads:
        return []
    now = now or utcnow()
    first: dict[str, NewLead] = {}
    for lead in sorted(leads, key=lambda x: (x.received_at, x.first_interaction_id)):
        first.setdefault(lead.address, lead)  # the earliest message of a page wins
    rows = [{"address": x.address, "name": x.name, "domain": x.domain,
             "first_interaction_id": x.first_interaction_id,
             "source_account": x.source_account, "inbox": x.inbox, "owner": x.owner,
             "status": "new", "reason": x.reason, "contact_id": None,
             "received_at": x.received_at, "created_at": now, "updated_at": now}
            for x in (first[a] for a in sorted(first))]
    table = table_of(Lead)
    inserted: list[int] = []
    for batch in chunks(rows, 200):
        stmt = (dialect_insert(session, table)
                .on_conflict_do_nothing(index_elements=["address"])
                .returning(table.c.id))
        inserted.extend(session.scalars(stmt, batch).all())
    if inserted:
        created = session.scalars(select(Lead).where(Lead.id.in_(inserted))
                                  .order_by(Lead.id)).all()
        record_changes(session, [lead_change("created", lead) for lead in created], at=now)
    return sorted(inserted)


def convert_leads(session: Session, addresses: Iterable[str], *,
                  now: datetime | None = None) -> list[int]:
    """Convert the open leads (new, qualified) of these canonical addresses that a
    contact now owns; ids of the converted leads."""
    now = now or utcnow()
    moved: list[int] = []
    for batch in chunks(sorted(set(addresses))):
        leads = session.scalars(select(Lead).where(Lead.address.in_(batch))
                                .order_by(Lead.id).with_for_update()).all()
        open_leads = [x for x in leads if "converted" in TRANSITIONS[x.status]]
        if not open_leads:
            continue
        owners: dict[str, int] = {}
        for address, owner_id in session.execute(
                select(ContactEmail.address, ContactEmail.contact_id)
                .where(ContactEmail.address.in_([x.address for x in open_leads]))
                .order_by(ContactEmail.contact_id)):
            owners.setdefault(address, owner_id)  # ambiguous: the lowest id, as matching
        for lead in open_leads:
            contact_id = owners.get(lead.address)
            if contact_id is not None:
                lead.contact_id = contact_id
                _move(session, lead, "converted", f"converted: contact {contact_id}", now)
                moved.append(lead.id)
    return moved


def disqualify_leads(session: Session, *, addresses: Sequence[str] = (),
                     domains: Sequence[str] = (), account_id: str | None = None,
                     reason: str, now: datetime | None = None) -> list[int]:
    """Disqualify the open leads of these canonical addresses or domains (subdomains
    too); with ``account_id``, only the leads that account's mailbox saw."""
    now = now or utcnow()
    found: dict[int, Lead] = {}
    for batch in chunks(sorted(set(addresses))):
        found.update({x.id: x for x in session.scalars(
            select(Lead).where(Lead.address.in_(batch)).with_for_update())})
    for domain in sorted(set(domains)):
        # leads.domain is registrable: a subdomain's leads are under its parent's
        parent = registrable_domain(domain) or domain
        found.update({x.id: x for x in session.scalars(
            select(Lead).where(Lead.domain == parent).with_for_update())
            if _under(x.address, domain)})
    moved: list[int] = []
    for lead_id in sorted(found):
        lead = found[lead_id]
        if account_id is not None and lead.source_account != account_id:
            continue
        if "disqualified" in TRANSITIONS[lead.status]:
            _move(session, lead, "disqualified", f"disqualified: {reason}", now)
            moved.append(lead_id)
    return moved


def set_status(session: Session, lead_id: int, status: str, *, actor: Actor,
               note: str | None = None, now: datetime | None = None) -> Lead:
    """A person qualifies or disqualifies lead ``lead_id`` (audited).

    Raises :class:`UnknownLead`, or :class:`LeadError` for a status a person
    may not set or a move the status machine refuses."""
    if status not in ("qualified", "disqualified"):
        raise LeadError(f"a person may set qualified or disqualified, not {status!r}")
    now = now or utcnow()
    lead = session.scalars(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
    if lead is None:
        raise UnknownLead(lead_id)
    if status not in TRANSITIONS[lead.status]:
        raise LeadError(f"lead {lead_id} is {lead.status}; it cannot become {status}"
                        + ("" if TRANSITIONS[lead.status] else f" ({lead.status} is final)"))
    before = {"status": lead.status, "reason": lead.reason}
    _move(session, lead, status, note or f"{status} by {actor.label}", now)
    record(session, actor, f"lead.{status}", "lead", lead.id, before=before,
           after={"status": lead.status, "reason": lead.reason}, now=now)
    return lead


def _move(session: Session, lead: Lead, status: str, reason: str, now: datetime) -> None:
    """The one place a lead changes status (see the module docstring)."""
    previous = lead.status
    lead.status, lead.reason, lead.updated_at = status, reason, now
    session.flush()
    events: list[Change] = [lead_change("status_changed", lead, previous_status=previous)]
    if lead.first_interaction_id is not None:
        closing = _REMINDER_CLOSING[status]
        for row in session.scalars(
                select(Reminder).where(Reminder.interaction_id == lead.first_interaction_id)
                .order_by(Reminder.id)):
            if row.kind == REMINDER_KIND and row.status == "open":
                row.status, row.reason = closing, f"lead {reason}"
                row.resolved_at = row.updated_at = now
                events.append(reminder_change("resolved", row.id, row))
    record_changes(session, events, at=now)


def _under(address: str, domain: str) -> bool:
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


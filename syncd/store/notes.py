"""Notes and calls people log: interactions of kind ``note`` and ``call``.

Design: a note or call IS an interaction (``kind`` ``note``/``call``,
``dedupe_key`` ``<kind>:<key>``, text in ``body``, its first line as
``subject`` unless one is given, ``snippet`` the first 200 characters), so
everything that reads history — contact, company and opportunity
timelines, ``interactions/{id}``, rollups, purge — sees it without a
second code path. It has participants like mail has:

* the author (role ``author``, ``match`` ``internal``);
* the person or company it is about (role ``about``, ``match``
  :data:`~syncd.store.schema.LOGGED`): the contact's first address with the
  contact and its company, or — for a company-only note — ``@<domain>``
  (the company's first domain) with the company. ``logged`` is neither
  counted as unmatched nor ever re-resolved by late matching: the person
  who logged it chose the link.

The ``notes`` row keeps what was logged (author, the contact / company /
opportunity chosen, call duration and outcome, who wrote it through the
API) and is what reminders ask (:func:`latest_logged`, indexed by contact):
a note or call logged about a contact answers that contact's open
``follow_up`` (see ``syncd.reminders.thread_plan``) — except a call whose
outcome says nobody was reached (:data:`NOT_REACHED`: no answer, voicemail,
busy, failed), which answers nothing.

Invariants:

* A note or call has no source (no mailbox saw it), no thread, never a
  ``deleted`` mark; sync never writes it. Only :mod:`syncd.store.removal`
  erases it (a blocklist purge covering its contact's address or domain),
  and the ``notes`` row goes with it (``ON DELETE CASCADE``).
* Direction: a call is ``outbound`` (default) or ``inbound``; a note is
  ``internal`` (nobody outside received it).
* An opportunity given when logging pins the interaction's opportunity
  (``override_rules.pinned_opportunities``); without one, opportunity
  linking chooses as for mail.
* With a client ``key``, logging the same key again returns the stored
  one unchanged (retries are safe).
* Every logged note or call is audited in the same transaction, and the
  rollups of its contact and company are refreshed in it
  (:func:`syncd.store.rollups.refresh_rollups`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import canonical_address, is_free_mail, registrable_domain
from matching.types import Policy
from syncd.store.audit import Actor, record
from syncd.store.change_events import interaction_state
from syncd.store.changes import record_change
from syncd.store.records import key as fitting_key
from syncd.store.records import text as clean_text
from syncd.store.rollups import refresh_rollups
from syncd.store.schema import (
    LOGGED,
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Note,
    Opportunity,
    Participant,
)
from syncd.store.sql import chunks
from syncd.store.types import utcnow

KINDS = ("note", "call")
CALL_DIRECTIONS = ("outbound", "inbound")
OUTCOME_LIMIT = 100
#: call outcomes (lower case, ``-``/space as ``_``) that reached nobody
NOT_REACHED = frozenset({"no_answer", "noanswer", "voicemail", "left_voicemail", "busy",
                         "failed", "not_reached", "unreachable"})


class NoteError(ValueError):
    """A note or call that cannot be logged (the message names the field)."""


@dataclass(frozen=True, slots=True)
class Logged:
    """A note or call as logged (its interaction carries subject and text)."""

    interaction_id: int
    kind: str
    author: str
    occurred_at: datetime
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None
    duration_seconds: int | None
    outcome: str | None
    created_by: str
    created_at: datetime

    @property
    def reached(self) -> bool:
        """Did it reach the person? A note always does; a call unless its outcome
        is one of :data:`NOT_REACHED`."""
        if self.kind != "call" or not self.outcome:
            return True
        return self.outcome.strip().lower().replace("-", "_").replace(" ", "_") not in NOT_REACHED

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.interaction_id, "kind": self.kind, "author": self.author,
                "occurred_at": self.occurred_at, "contact_id": self.contact_id,
                "company_id": self.company_id, "opportunity_id": self.opportunity_id,
                "duration_seconds": self.duration_seconds, "outcome": self.outcome,
                "created_by": self.created_by, "created_at": self.created_at}


def log(session: Session, policy: Policy, *, actor: Actor, kind: str, author: str,
        occurred_at: datetime, text: str | None, subject: str | None = None,
        contact_id: int | None = None, company_id: int | None = None,
        opportunity_id: int | None = None, duration_seconds: int | None = None,
        outcome: str | None = None, direction: str | None = None, key: str | None = None,
        now: datetime | None = None) -> tuple[Logged, bool]:
    """Log a note or call; returns it and whether it was created (False: ``key`` seen).

    Raises :class:`NoteError` naming the field that is wrong. The caller
    then links opportunities and lets reminders see it (the API does).
    """
    now = now or utcnow()
    if kind not in KINDS:
        raise NoteError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    dedupe_key = fitting_key(f"{kind}:{key or uuid.uuid4().hex}")
    found = session.scalar(select(Interaction.id).where(Interaction.dedupe_key == dedupe_key))
    if found is not None:
        stored = details_for(session, [found]).get(found)
        if stored is None:
            raise NoteError(f"key: {key!r} is already used by another interaction")
        return stored, False
    values = _checked(session, policy, kind=kind, author=author, text=text,
                      contact_id=contact_id, company_id=company_id,
                      opportunity_id=opportunity_id, duration_seconds=duration_seconds,
                      outcome=outcome, direction=direction)
    body = clean_text(text.strip()) if text and text.strip() else None
    title = clean_text(subject.strip(), 300) if subject and subject.strip() else (
        _first_line(body) if body else None)
    row = Interaction(
        kind=kind, dedupe_key=dedupe_key, occurred_at=occurred_at, subject=title,
        snippet=body[:200] if body else None, body=body, direction=values["direction"],
        opportunity_id=opportunity_id,
        opportunity_reason=f"logged by {actor.label}"[:200] if opportunity_id else None,
        created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    about = _about(session, policy, values["contact_id"], values["company_id"])
    session.add(Participant(interaction_id=row.id, position=0, role="author",
                            address=values["author"], domain=None, display_name=None,
                            match="internal", match_reason="logged the " + kind,
                            occurred_at=occurred_at))
    if about is not None:
        address, domain = about
        session.add(Participant(interaction_id=row.id, position=1, role="about",
                                address=address, domain=domain, display_name=None,
                                contact_id=values["contact_id"],
                                company_id=values["company_id"], match=LOGGED,
                                match_reason=f"logged by {actor.label}"[:200],
                                occurred_at=occurred_at))
    session.add(Note(interaction_id=row.id, kind=kind, author=values["author"],
                     occurred_at=occurred_at, contact_id=values["contact_id"],
                     company_id=values["company_id"], opportunity_id=opportunity_id,
                     duration_seconds=duration_seconds, outcome=values["outcome"],
                     created_by=actor.label, created_at=now))
    session.flush()
    refresh_rollups(session, [values["contact_id"]], [values["company_id"]], now=now)
    logged = details_for(session, [row.id])[row.id]
    record(session, actor, f"{kind}.logged", "interaction", row.id,
           after={**logged.to_dict(), "subject": title, "text": body}, now=now)
    record_change(session, f"{kind}.logged", "interaction", row.id, {
        **interaction_state(row), "author": values["author"],
        "contact_id": values["contact_id"], "company_id": values["company_id"],
        "opportunity_id": opportunity_id, "duration_seconds": duration_seconds,
        "outcome": values["outcome"]})
    return logged, True


def _checked(session: Session, policy: Policy, *, kind: str, author: str, text: str | None,
             contact_id: int | None, company_id: int | None, opportunity_id: int | None,
             duration_seconds: int | None, outcome: str | None,
             direction: str | None) -> dict[str, Any]:
    """The validated values (the contact's or the deal's company filled in)."""
    writer = canonical_address(author, policy)
    if writer is None:
        raise NoteError(f"author: {author!r} is not an email address")
    if kind == "note":
        if not (text and text.strip()):
            raise NoteError("text: a note needs text")
        for name, value in (("duration_seconds", duration_seconds), ("outcome", outcome)):
            if value is not None:
                raise NoteError(f"{name}: only a call has one")
        if direction not in (None, "internal"):
            raise NoteError("direction: a note has none")
        direction = "internal"
    else:
        direction = direction or "outbound"
        if direction not in CALL_DIRECTIONS:
            raise NoteError(f"direction: {direction!r} is not one of "
                            f"{', '.join(CALL_DIRECTIONS)}")
        if duration_seconds is not None and duration_seconds < 0:
            raise NoteError("duration_seconds: must not be negative")
        if outcome is not None and len(outcome) > OUTCOME_LIMIT:
            raise NoteError(f"outcome: at most {OUTCOME_LIMIT} characters")
    if contact_id is None and company_id is None and opportunity_id is None:
        raise NoteError(f"a {kind} is about a contact, a company or an opportunity; give one")
    contact = session.get(Contact, contact_id) if contact_id is not None else None
    if contact_id is not None and contact is None:
        raise NoteError(f"contact: no contact {contact_id}")
    if company_id is not None and session.get(Company, company_id) is None:
        raise NoteError(f"company: no company {company_id}")
    deal = session.get(Opportunity, opportunity_id) if opportunity_id is not None else None
    if opportunity_id is not None and deal is None:
        raise NoteError(f"opportunity: no opportunity {opportunity_id}")
    if company_id is None:
        company_id = (contact.company_id if contact is not None else None) or (
            deal.company_id if deal is not None else None)
    if deal is not None and company_id is not None and deal.company_id != company_id:
        raise NoteError(f"opportunity: {deal.id} belongs to company {deal.company_id}, "
                        f"not {company_id}")
    return {"author": writer, "direction": direction, "contact_id": contact_id,
            "company_id": company_id,
            "outcome": clean_text(outcome.strip(), OUTCOME_LIMIT) if outcome else None}


def _about(session: Session, policy: Policy, contact_id: int | None,
           company_id: int | None) -> tuple[str, str | None] | None:
    """(address, registrable domain) of the ``about`` participant."""
    if contact_id is not None:
        address = session.scalar(select(ContactEmail.address)
                                 .where(ContactEmail.contact_id == contact_id)
                                 .order_by(ContactEmail.id).limit(1))
        if address is not None:
            host = address.rpartition("@")[2]
            return address, None if is_free_mail(host, policy) else registrable_domain(host)
    if company_id is not None:
        domain = session.scalar(select(CompanyDomain.domain)
                                .where(CompanyDomain.company_id == company_id)
                                .order_by(CompanyDomain.domain).limit(1))
        if domain is not None:
            return f"@{domain}", registrable_domain(domain) or domain
    return None


def _first_line(body: str) -> str:
    line = body.strip().splitlines()[0].strip() if body.strip() else ""
    return line[:120] + ("…" if len(line) > 120 else "")


# ---------------------------------------------------------------------- reading


def details_for(session: Session, interaction_ids: Iterable[int]) -> dict[int, Logged]:
    """interaction id -> what was logged, for notes and calls among these ids."""
    out: dict[int, Logged] = {}
    for batch in chunks(sorted(set(interaction_ids))):
        for n in session.scalars(select(Note).where(Note.interaction_id.in_(batch))):
            out[n.interaction_id] = _logged(n)
    return out


def latest_logged(session: Session, contact_ids: Iterable[int]) -> dict[int, Logged]:
    """contact id -> the newest note or call logged about that contact that
    reached them (:attr:`Logged.reached`), by the ``notes.contact_id`` index
    (notes are few per contact)."""
    out: dict[int, Logged] = {}
    for batch in chunks(sorted(set(contact_ids))):
        for n in session.scalars(select(Note).where(Note.contact_id.in_(batch))):
            logged = _logged(n)
            if n.contact_id is None or not logged.reached:
                continue
            best = out.get(n.contact_id)
            if best is None or (n.occurred_at, n.interaction_id) > (best.occurred_at,
                                                                    best.interaction_id):
                out[n.contact_id] = logged
    return out


def _logged(n: Note) -> Logged:
    return Logged(interaction_id=n.interaction_id, kind=n.kind, author=n.author,
                  occurred_at=n.occurred_at, contact_id=n.contact_id, company_id=n.company_id,
                  opportunity_id=n.opportunity_id, duration_seconds=n.duration_seconds,
                  outcome=n.outcome, created_by=n.created_by, created_at=n.created_at)

"""Corrections that stick: a person's override of how an interaction is linked.

A person may assign an interaction — or one of its participants — to
another contact, company or opportunity, or mark it "not a customer
interaction". The ``overrides`` table keeps what they said; this module
is the one place that sets and removes overrides, and
:mod:`syncd.store.override_rules` the one place that applies them.

What an override does (``override_rules.shaped``, a pure function):

* ``assign`` with a contact: the participant(s) get that contact and its
  company (or the company given with it), ``match`` ``contact``;
* ``assign`` with a company only: the participant(s) keep their contact and
  get that company;
* ``assign`` with an opportunity (whole interaction only): the
  interaction's ``opportunity_id`` is pinned to it;
* ``not_customer``: the participant(s) lose contact and company
  (``match`` ``not_customer``), and a whole-interaction one also clears the
  opportunity. The interaction then leaves every contact, company and
  opportunity timeline, rollup, unmatched-address ranking and reminder
  (reminders see no external party any more); the rows stay, so it can be
  undone.

``match_reason`` (participants) and ``opportunity_reason`` name who set it
(``set by <rep>``); ``override_rules.rules_for`` gives the full records
for display (who, when, note).

A participant-level override beats the whole-interaction one for that
address. Only external participants (``match`` contact, company,
unmatched, or already not_customer) are ever changed: colleagues and
invalid addresses stay as they are.

Invariants (each path calls override_rules, so they hold everywhere):

* **Re-sync** (:mod:`syncd.store.page_writer`): participants merged from a
  new copy pass through ``respect_overrides`` before they are compared
  with the stored rows, so a corrected interaction re-synced writes nothing.
* **Late matching** (:mod:`syncd.store.relink`): re-resolved values pass
  through ``shaped`` before they are compared and written.
* **Opportunity linking** (``syncd.directory.opportunities.link_interactions``)
  takes ``pinned_opportunities`` as the decision for pinned interactions
  (and for notes and calls logged against an opportunity).
* **Purge** never consults overrides: a blocklist is a privacy rule and
  removes what it covers, corrected or not; erasing an interaction erases
  its overrides (foreign key ``ON DELETE CASCADE``).
* **Idempotent.** Setting the same override again changes no participant;
  removing one re-resolves the participants with the current directory,
  as if it had never been set.
* Every set and removal is audited (:mod:`syncd.store.audit`) in the same
  transaction, and appends its change-feed events there: re-matched
  participants (``participant.rematched``, by :mod:`syncd.store.relink`)
  and an opportunity pinned or cleared here (``opportunity.linked`` /
  ``opportunity.unlinked``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import canonical_address
from matching.types import Policy
from syncd.store.audit import Actor, record
from syncd.store.change_events import opportunity_link
from syncd.store.changes import record_changes
from syncd.store.override_rules import (
    ACTIONS,
    ASSIGN,
    OVERRIDABLE,
    WHOLE,
    Rule,
    pinned_opportunities,
    rules_for,
)
from syncd.store.records import text
from syncd.store.relink import relink
from syncd.store.schema import (
    NOT_CUSTOMER,
    Company,
    Contact,
    Interaction,
    Opportunity,
    Override,
    Participant,
)
from syncd.store.types import utcnow


class OverrideError(ValueError):
    """An override that cannot be set (the message says why, for a 422)."""


class UnknownInteraction(LookupError):
    """No interaction (or no override) with that id (for a 404)."""


def set_override(session: Session, policy: Policy, interaction_id: int, *, actor: Actor,
                 action: str, address: str | None = None, contact_id: int | None = None,
                 company_id: int | None = None, opportunity_id: int | None = None,
                 note: str | None = None, now: datetime | None = None) -> Rule:
    """Set (or replace) the override of an interaction or of one participant.

    Raises :class:`UnknownInteraction` for an unknown interaction and
    :class:`OverrideError` for anything else wrong (names the field). The
    participants are reshaped at once; an opportunity it pins is set at
    once. Callers then re-link opportunities (``link_interactions``) so a
    changed company picks its deal.
    """
    now = now or utcnow()
    row = _lock(session, interaction_id)
    scope = _scope(session, policy, row, address)
    _check(session, action, scope, contact_id, company_id, opportunity_id)
    existing = session.scalars(select(Override).where(
        Override.interaction_id == interaction_id, Override.address == scope)).one_or_none()
    before = _rule_of(session, existing)
    values: dict[str, Any] = {"action": action, "contact_id": contact_id,
                              "company_id": company_id, "opportunity_id": opportunity_id,
                              "created_by": actor.label, "created_at": now,
                              "note": text(note.strip()) if note and note.strip() else None}
    if existing is None:
        existing = Override(interaction_id=interaction_id, address=scope, **values)
        session.add(existing)
    else:
        for name, value in values.items():
            setattr(existing, name, value)
    session.flush()
    rule = _rule_of(session, existing)
    assert rule is not None
    _reshape(session, policy, row, was_pinned=before is not None and before.pins_opportunity)
    record(session, actor, "override.set", "interaction", interaction_id,
           before=before.to_dict() if before else None, after=rule.to_dict(), now=now)
    return rule


def remove_override(session: Session, policy: Policy, interaction_id: int, *, actor: Actor,
                    address: str | None = None, now: datetime | None = None) -> Rule:
    """Undo an override: the participants are re-resolved with the current
    directory as if it had never been set; an opportunity it pinned is left
    undecided for the caller's re-linking. Raises :class:`UnknownInteraction`
    if there is no such override."""
    row = _lock(session, interaction_id)
    scope = WHOLE if address is None else _canonical(policy, address)
    existing = session.scalars(select(Override).where(
        Override.interaction_id == interaction_id, Override.address == scope)).one_or_none()
    rule = _rule_of(session, existing)
    if existing is None or rule is None:
        raise UnknownInteraction(f"interaction {interaction_id} has no override for "
                                 f"{address or 'the whole interaction'}")
    session.delete(existing)
    session.flush()
    _reshape(session, policy, row, was_pinned=rule.pins_opportunity)
    record(session, actor, "override.removed", "interaction", interaction_id,
           before=rule.to_dict(), after=None, now=now)
    return rule


def _lock(session: Session, interaction_id: int) -> Interaction:
    """The interaction, locked like a page writing it would (PostgreSQL)."""
    row = session.get(Interaction, interaction_id, with_for_update=True)
    if row is None:
        raise UnknownInteraction(f"no interaction {interaction_id}")
    return row


def _canonical(policy: Policy, address: str) -> str:
    return canonical_address(address, policy) or (text(address.strip().lower(), 320) or "")


def _scope(session: Session, policy: Policy, row: Interaction, address: str | None) -> str:
    if address is None:
        return WHOLE
    canonical = _canonical(policy, address)
    matches = set(session.scalars(select(Participant.match).where(
        Participant.interaction_id == row.id, Participant.address == canonical)))
    if not matches:
        raise OverrideError(f"participant: {address!r} is not a participant of "
                            f"interaction {row.id}")
    if not matches & OVERRIDABLE:
        raise OverrideError(f"participant: {address!r} is not an external participant "
                            f"({', '.join(sorted(matches))}); only customers can be corrected")
    return canonical


def _check(session: Session, action: str, scope: str, contact_id: int | None,
           company_id: int | None, opportunity_id: int | None) -> None:
    if action not in ACTIONS:
        raise OverrideError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    targets = (contact_id, company_id, opportunity_id)
    if action == NOT_CUSTOMER and any(t is not None for t in targets):
        raise OverrideError("not_customer takes no contact, company or opportunity")
    if action == ASSIGN and all(t is None for t in targets):
        raise OverrideError("assign needs a contact, a company or an opportunity")
    if opportunity_id is not None and scope != WHOLE:
        raise OverrideError("opportunity: a whole interaction has an opportunity, "
                            "not one participant; leave participant out")
    for name, model, value in (("contact", Contact, contact_id), ("company", Company, company_id),
                               ("opportunity", Opportunity, opportunity_id)):
        if value is not None and session.get(model, value) is None:
            raise OverrideError(f"{name}: no {name} {value}")
    if opportunity_id is not None and company_id is not None:
        deal = session.get(Opportunity, opportunity_id)
        if deal is not None and deal.company_id != company_id:
            raise OverrideError(f"opportunity: {opportunity_id} belongs to company "
                                f"{deal.company_id}, not {company_id}")


def _rule_of(session: Session, override: Override | None) -> Rule | None:
    if override is None:
        return None
    return next((r for r in rules_for(session, [override.interaction_id]).get(
        override.interaction_id, []) if r.id == override.id), None)


def _reshape(session: Session, policy: Policy, row: Interaction, *, was_pinned: bool) -> None:
    """Participants re-resolved and overridden now; the opportunity pinned or undecided."""
    relink(session, policy, interaction_ids=[row.id])
    pinned = pinned_opportunities(session, [row.id]).get(row.id)
    previous = row.opportunity_id
    if pinned is not None:
        row.opportunity_id, row.opportunity_reason = pinned
    elif was_pinned:
        row.opportunity_id, row.opportunity_reason = None, None
    if row.opportunity_id != previous:  # the row is locked (_lock): events keep its order
        record_changes(session, [opportunity_link(row.id, row.opportunity_id,
                                                  row.opportunity_reason, previous)])
    session.flush()

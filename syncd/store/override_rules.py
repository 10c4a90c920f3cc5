"""Overrides as rules: reading them and applying them (pure), for every write path.

The ``overrides`` table holds people's corrections (set and removed only by
:mod:`syncd.store.overrides`, whose docstring says what each one means).
This module is what the other write paths call so that they respect them:

* the page writer (:mod:`syncd.store.page_writer`) passes a re-synced
  interaction's merged participants through :func:`respect_overrides`
  before comparing them with the stored rows;
* late matching (:mod:`syncd.store.relink`) passes re-resolved values
  through :func:`shaped`;
* opportunity linking (``syncd.directory.opportunities.link_interactions``)
  takes :func:`pinned_opportunities` as the decision.

Invariants: :func:`shaped` and :func:`apply_rules` are pure and idempotent
(applying the rules to rows they produced returns equal rows); a
participant-level rule beats the whole-interaction one for that address;
only external participants (``match`` in :data:`OVERRIDABLE`) are ever
changed. Every read is one indexed query per 500 interactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from syncd.store.records import ParticipantRow
from syncd.store.schema import NOT_CUSTOMER, Contact, Note, Override
from syncd.store.sql import chunks

ASSIGN = "assign"
ACTIONS = (ASSIGN, NOT_CUSTOMER)
#: participant matches an override may change (external people)
OVERRIDABLE = frozenset({"contact", "company", "unmatched", NOT_CUSTOMER})
#: ``overrides.address`` of a whole-interaction override
WHOLE = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """One stored override, with the company it gives resolved."""

    id: int
    interaction_id: int
    #: a participant's canonical address; None for the whole interaction
    address: str | None
    action: str
    contact_id: int | None
    #: the company given, else the contact's (None: keep the participant's)
    company_id: int | None
    opportunity_id: int | None
    created_by: str
    created_at: datetime
    note: str | None

    @property
    def reason(self) -> str:
        """What ``match_reason`` / ``opportunity_reason`` say about it."""
        if self.action == NOT_CUSTOMER:
            return f"not a customer interaction (set by {self.created_by})"[:200]
        return f"set by {self.created_by}"[:200]

    @property
    def pins_opportunity(self) -> bool:
        return self.address is None and (self.action == NOT_CUSTOMER
                                         or self.opportunity_id is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "interaction_id": self.interaction_id,
                "participant": self.address, "action": self.action,
                "contact_id": self.contact_id, "company_id": self.company_id,
                "opportunity_id": self.opportunity_id, "set_by": self.created_by,
                "set_at": self.created_at, "note": self.note}


# ---------------------------------------------------------------------- reading


def rules_for(conn: Connection | Session, interaction_ids: Iterable[int]) -> dict[int, list[Rule]]:
    """interaction id -> its overrides (one indexed query per 500 ids)."""
    out: dict[int, list[Rule]] = {}
    ids = sorted(set(interaction_ids))
    for batch in chunks(ids):
        stmt = (select(Override.id, Override.interaction_id, Override.address, Override.action,
                       Override.contact_id, Override.company_id, Contact.company_id,
                       Override.opportunity_id, Override.created_by, Override.created_at,
                       Override.note)
                .outerjoin(Contact, Contact.id == Override.contact_id)
                .where(Override.interaction_id.in_(batch))
                .order_by(Override.interaction_id, Override.id))
        for (oid, iid, address, action, contact_id, company_id, contacts_company, opp,
             by, at, note) in conn.execute(stmt):
            out.setdefault(iid, []).append(Rule(
                id=oid, interaction_id=iid, address=address or None, action=action,
                contact_id=contact_id,
                company_id=company_id if company_id is not None else contacts_company,
                opportunity_id=opp, created_by=by, created_at=at, note=note))
    return out


def pinned_opportunities(session: Session,
                         interaction_ids: Iterable[int]) -> dict[int, tuple[int | None, str]]:
    """interaction id -> (opportunity id, reason) that people decided: a
    whole-interaction override with an opportunity or ``not_customer``, or a
    note or call logged against an opportunity. Opportunity linking takes
    these as they are."""
    ids = sorted(set(interaction_ids))
    out: dict[int, tuple[int | None, str]] = {}
    for batch in chunks(ids):
        for iid, opp, by in session.execute(
            select(Note.interaction_id, Note.opportunity_id, Note.created_by)
            .where(Note.interaction_id.in_(batch), Note.opportunity_id.is_not(None))
        ):
            out[iid] = (opp, f"logged by {by}"[:200])
    for iid, rules in rules_for(session, ids).items():
        for rule in rules:
            if rule.pins_opportunity:
                out[iid] = (None if rule.action == NOT_CUSTOMER else rule.opportunity_id,
                            rule.reason)
    return out


# ---------------------------------------------------------------------- applying


def shaped(address: str, match: str, contact_id: int | None, company_id: int | None,
           match_reason: str | None,
           rules: Sequence[Rule]) -> tuple[int | None, int | None, str, str | None]:
    """(contact_id, company_id, match, match_reason) of one participant under ``rules``."""
    if match not in OVERRIDABLE or not rules:
        return contact_id, company_id, match, match_reason
    rule = next((r for r in rules if r.address == address), None)
    if rule is None:
        rule = next((r for r in rules if r.address is None), None)
    if rule is None:
        return contact_id, company_id, match, match_reason
    if rule.action == NOT_CUSTOMER:
        return None, None, NOT_CUSTOMER, rule.reason
    if rule.contact_id is None and rule.company_id is None:
        return contact_id, company_id, match, match_reason  # an opportunity only
    if rule.contact_id is not None:
        return rule.contact_id, rule.company_id, "contact", rule.reason
    return (contact_id, rule.company_id, "contact" if contact_id is not None else "company",
            rule.reason)


def apply_rules(people: Sequence[ParticipantRow], rules: Sequence[Rule]) -> list[ParticipantRow]:
    """``people`` as the overrides ``rules`` of their interaction shape them (pure)."""
    if not rules:
        return list(people)
    out: list[ParticipantRow] = []
    for p in people:
        contact_id, company_id, match, reason = shaped(
            p.address, p.match, p.contact_id, p.company_id, p.match_reason, rules)
        if (contact_id, company_id, match, reason) == (p.contact_id, p.company_id, p.match,
                                                       p.match_reason):
            out.append(p)
        else:
            out.append(replace(p, contact_id=contact_id, company_id=company_id, match=match,
                               match_reason=reason))
    return out


def respect_overrides(conn: Connection, people: Mapping[int, list[ParticipantRow]],
                      *, skip: Iterable[int] = ()) -> dict[int, list[ParticipantRow]]:
    """The page writer's merged participants with every override applied.

    ``skip``: interactions created by this page (they cannot have overrides).
    One indexed query per 500 interactions, on a table only people write.
    """
    skipped = set(skip)
    rules = rules_for(conn, [i for i in people if i not in skipped])
    return {i: apply_rules(rows, rules[i]) if i in rules else rows for i, rows in people.items()}

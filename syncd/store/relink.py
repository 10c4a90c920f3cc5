"""Late matching: link past participants to contacts and companies added later.

When a contact or company is imported (or created), participants already
stored for its addresses or domains are re-resolved with ``matching.resolve``
against a fresh snapshot — the same rules as at sync time, so precedence
(a subsidiary's subdomain beats its parent, ambiguous addresses, free mail)
stays in one place. Internal and invalid participants are never touched.
People's overrides win: re-resolved values pass through
:func:`syncd.store.override_rules.shaped`, so a corrected participant keeps
its correction (and one whose override was removed gets the fresh match).
``unmatched_addresses`` is then recomputed for the addresses involved, and
the relationship rollups of every contact and company a participant left
or joined (:func:`syncd.store.rollups.refresh_rollups`).

Cost: indexed look-ups by address, registrable domain and contact id; it
grows with the history of the affected people, not with the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import registrable_domain, resolve
from matching.types import Policy
from syncd.store.changes import Change, record_changes
from syncd.store.directory_lookup import snapshot_for
from syncd.store.override_rules import rules_for, shaped
from syncd.store.rollups import refresh_rollups
from syncd.store.schema import NOT_CUSTOMER, Participant
from syncd.store.sql import chunks
from syncd.store.types import utcnow
from syncd.store.unmatched import refresh_unmatched

_RELINKABLE = ("unmatched", "company", "contact")
#: what is re-resolved: also people marked not a customer (their override decides)
_CANDIDATES = (*_RELINKABLE, NOT_CUSTOMER)


def relink(
    session: Session,
    policy: Policy,
    *,
    addresses: Iterable[str] = (),
    domains: Iterable[str] = (),
    contact_ids: Iterable[int] = (),
    interaction_ids: Iterable[int] = (),
) -> int:
    """Re-resolve participants with these canonical addresses, domains or
    contacts, or of these interactions.

    Returns how many participant rows changed.
    """
    registrable = {r for d in domains if (r := registrable_domain(d)) is not None}
    filters: list[Any] = []
    for batch in chunks(sorted(set(addresses))):
        filters.append(Participant.address.in_(batch))
    for batch in chunks(sorted(registrable)):
        filters.append(Participant.domain.in_(batch))
    for id_batch in chunks(sorted(set(contact_ids))):
        filters.append(Participant.contact_id.in_(id_batch))
    for id_batch in chunks(sorted(set(interaction_ids))):
        filters.append(Participant.interaction_id.in_(id_batch))
    candidates: dict[int, Participant] = {}
    for condition in filters:
        stmt = select(Participant).where(condition, Participant.match.in_(_CANDIDATES))
        candidates.update({p.id: p for p in session.scalars(stmt)})
    if not candidates:
        return 0
    seen = sorted({p.address for p in candidates.values()})
    snapshot = snapshot_for(session, seen, policy)
    decisions = resolve(seen, snapshot, policy)
    overrides = rules_for(session, {p.interaction_id for p in candidates.values()})
    changed = 0
    contacts: set[int | None] = set()  # parties before and after: their rollups move
    companies: set[int | None] = set()
    events: list[Change] = []  # the change feed: participant.rematched
    for participant in candidates.values():
        decision = decisions[participant.address]
        values: dict[str, Any] = {
            "contact_id": decision.contact_id,
            "company_id": decision.company_id,
            "match": str(decision.kind),
            "match_reason": decision.reason[:200] if decision.reason else None,
        }
        if decision.kind.value not in _RELINKABLE:
            continue  # policy says internal/excluded now; purging is not linking's job
        if participant.interaction_id in overrides:
            (values["contact_id"], values["company_id"], values["match"],
             values["match_reason"]) = shaped(
                participant.address, values["match"], values["contact_id"],
                values["company_id"], values["match_reason"],
                overrides[participant.interaction_id])
        if any(getattr(participant, k) != v for k, v in values.items()):
            contacts.update((participant.contact_id, values["contact_id"]))
            companies.update((participant.company_id, values["company_id"]))
            events.append(Change("participant.rematched", "participant", participant.id, {
                "interaction_id": participant.interaction_id, "address": participant.address,
                "previous_contact_id": participant.contact_id,
                "previous_company_id": participant.company_id, **values}))
            for k, v in values.items():
                setattr(participant, k, v)
            changed += 1
    session.flush()
    record_changes(session, sorted(events, key=lambda e: e.entity_id))
    for address_batch in chunks(seen):
        refresh_unmatched(session, address_batch)
    refresh_rollups(session, contacts, companies, now=utcnow())
    return changed

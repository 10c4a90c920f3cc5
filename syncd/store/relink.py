"""Late matching: link past participants to contacts and companies added later.

When a contact or company is imported (or created), participants already
stored for its addresses or domains are re-resolved with ``matching.resolve``
against a fresh snapshot — the same rules as at sync time, so precedence
(a subsidiary's subdomain beats its parent, ambiguous addresses, free mail)
stays in one place. Internal and invalid participants are never touched.
``unmatched_addresses`` is then recomputed for the addresses involved.

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
from syncd.store.directory_lookup import snapshot_for
from syncd.store.schema import Participant
from syncd.store.sql import chunks
from syncd.store.unmatched import refresh_unmatched

_RELINKABLE = ("unmatched", "company", "contact")


def relink(
    session: Session,
    policy: Policy,
    *,
    addresses: Iterable[str] = (),
    domains: Iterable[str] = (),
    contact_ids: Iterable[int] = (),
) -> int:
    """Re-resolve participants with these canonical addresses, domains or contacts.

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
    candidates: dict[int, Participant] = {}
    for condition in filters:
        stmt = select(Participant).where(condition, Participant.match.in_(_RELINKABLE))
        candidates.update({p.id: p for p in session.scalars(stmt)})
    if not candidates:
        return 0
    seen = sorted({p.address for p in candidates.values()})
    snapshot = snapshot_for(session, seen, policy)
    decisions = resolve(seen, snapshot, policy)
    changed = 0
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
        if any(getattr(participant, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(participant, k, v)
            changed += 1
    session.flush()
    for address_batch in chunks(seen):
        refresh_unmatched(session, address_batch)
    return changed

"""Explaining one address: who it is to syncd, and why.

The resolution is matching's own (``matching.resolve`` on a directory
snapshot read now, with the blocklists left out so a blocked address still
says whom it would be); blocklisting is answered separately, for the global
list and each account's own (the accounts the reader may see). Counts come
from the participants (logged interactions) and the unmatched list.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching import canonical_address, resolve
from matching.domains import blocked_reason_for
from matching.policy import compile_policy
from matching.roles import role_reason
from matching.types import Policy
from syncd.config.model import Settings
from syncd.config.policies import global_policy, policy_for
from syncd.explain.answers import AddressAnswer, BlocklistHit, Resolution, Scope
from syncd.jsontext import utc_iso
from syncd.store.directory_lookup import snapshot_for
from syncd.store.schema import Company, Contact, Participant, UnmatchedAddress
from syncd.store.sql import names_by_id


def explain_address(session: Session, settings: Settings, address: str, *,
                    scope: Scope = Scope()) -> AddressAnswer:
    """Everything known about ``address`` (see the module docstring)."""
    policy = global_policy(settings)
    canonical = canonical_address(address, policy)
    searched = [f"the directory (contacts' addresses, companies' domains) for {address}",
                "participants of logged interactions", "the unmatched-address list",
                "the global blocklist and the accounts' own blocklists"]
    if canonical is None:
        return AddressAnswer(address=address, canonical=None, resolution=None,
                             blocklisted=[], role_address=None, interactions=0,
                             last_seen_at=None, unmatched=False, searched=searched)
    unblocked = dataclasses.replace(policy, blocked_addresses=frozenset(),
                                    blocked_domains=frozenset())
    decision = resolve([canonical], snapshot_for(session, [canonical], unblocked),
                       unblocked)[canonical]
    contact = names_by_id(session, Contact, [decision.contact_id])
    company = names_by_id(session, Company, [decision.company_id])
    count, last = session.execute(
        select(func.count(func.distinct(Participant.interaction_id)),
               func.max(Participant.occurred_at))
        .where(Participant.address == canonical)).one()
    unmatched = session.scalar(select(UnmatchedAddress.id)
                               .where(UnmatchedAddress.address == canonical)) is not None
    return AddressAnswer(
        address=address, canonical=canonical,
        resolution=Resolution(kind=str(decision.kind), reason=decision.reason,
                              contact_id=decision.contact_id,
                              contact=contact.get(decision.contact_id),
                              company_id=decision.company_id,
                              company=company.get(decision.company_id)),
        blocklisted=_blocklisted(settings, policy, canonical, scope),
        role_address=role_reason(canonical, getattr(policy, "role_addresses", ())),
        interactions=int(count or 0), last_seen_at=utc_iso(last), unmatched=unmatched,
        searched=searched)


def _blocklisted(settings: Settings, policy: Policy, canonical: str,
                 scope: Scope) -> list[BlocklistHit]:
    domain = canonical.rpartition("@")[2]
    hits: list[BlocklistHit] = []
    found = blocked_reason_for(canonical, domain, compile_policy(policy))
    if found is not None:
        hits.append(BlocklistHit(scope="global", reason=f"{found} (matching.blocklist)"))
    for account in settings.accounts:
        if not account.blocklist or not scope.sees(account.id):
            continue
        own = blocked_reason_for(canonical, domain,
                                 compile_policy(policy_for(settings, account)))
        if own is not None and found is None:
            hits.append(BlocklistHit(scope=account.id,
                                     reason=f"{own} (accounts[{account.id}].blocklist)"))
    return hits

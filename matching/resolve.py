"""Who each address is: ``resolve(addresses, snapshot, policy)``.

Order of checks for one address (first hit decides; the Decision's reason
says which rule fired):

1. Not an address (``canonical_address`` is None) -> UNMATCHED with
   ``domain=None`` and ``address`` = the input as given. It is kept in the
   result (the result is keyed by every input) rather than skipped, so callers
   can record it as a participant; ``log_decision`` does not count it as an
   external party and the store should not keep it for late matching.
2. Blocklisted address, domain or parent domain -> EXCLUDED. Before the
   internal check: blocking is an explicit privacy instruction and wins.
3. Internal alias, internal domain or subdomain -> INTERNAL. Before the
   contact check: our own people are never contacts, even if imported as one.
4. Canonical address owned by a contact -> CONTACT. Several contacts: the
   lowest id wins (stable across runs and replicas), ``ambiguous`` lists the
   other ids, and the reason says so. The company is the contact's own
   company, else the domain's company, never one from a free-mail domain.
5. Domain (most specific first, down to the registrable domain, so a
   subsidiary owning ``eu.acme.com`` beats ``acme.com``) owned by a company
   and not free mail -> COMPANY.
6. Otherwise UNMATCHED, with ``free_mail`` set for consumer domains.

Speed: everything that does not depend on the directory (canonical form,
registrable domain, blocklist/internal/free-mail verdicts, the fixed
Decisions) is computed once per distinct input and policy and cached; what
remains per address is two or three dict look-ups in the snapshot, so the
cost does not grow with the directory size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import NamedTuple

from matching.canonical import _canonical_address
from matching.domains import (
    _registrable,
    blocked_reason_for,
    domain_suffixes,
    free_mail_match,
    internal_reason_for,
)
from matching.policy import CompiledPolicy, compile_policy
from matching.types import ContactRef, Decision, DirectorySnapshot, Kind, Policy


class _Classified(NamedTuple):
    """The directory-independent facts about one input address."""

    address: str                    # canonical ("" when not an address)
    domain: str | None              # registrable domain, else the full domain
    company_keys: tuple[str, ...]   # domains to look companies up by, most specific first
    free_mail: str | None           # the free-mail domain covering it
    fixed: Decision | None          # final decision when the directory cannot change it
    unmatched: Decision | None      # decision when the directory knows nothing


def resolve(
    addresses: Iterable[str], snapshot: DirectorySnapshot, policy: Policy
) -> dict[str, Decision]:
    """A Decision for every input string, keyed by that string (see module doc)."""
    compiled = compile_policy(policy)
    contacts = snapshot.contacts
    companies = snapshot.companies
    out: dict[str, Decision] = {}
    for raw in addresses:
        if raw in out:
            continue
        facts = _classify(raw, compiled)
        if facts.fixed is not None:
            out[raw] = facts.fixed
            continue
        refs = contacts.get(facts.address)
        if refs:
            out[raw] = _contact_decision(facts, refs, companies)
            continue
        decision = facts.unmatched
        if facts.free_mail is None:
            for key in facts.company_keys:
                company_id = companies.get(key)
                if company_id is not None:
                    decision = Decision(
                        address=facts.address,
                        kind=Kind.COMPANY,
                        reason=f"domain {key} belongs to company {company_id}",
                        domain=facts.domain,
                        company_id=company_id,
                    )
                    break
        assert decision is not None  # set for every address that has no fixed decision
        out[raw] = decision
    return out


def _contact_decision(
    facts: _Classified, refs: tuple[ContactRef, ...], companies: Mapping[str, int]
) -> Decision:
    if len(refs) == 1:
        chosen = refs[0]
        others: tuple[int, ...] = ()
        reason = f"address matches contact {chosen.id}"
    else:
        # Deterministic: lowest id; for duplicate rows of one contact prefer
        # the one that names a company.
        ordered = sorted(refs, key=lambda r: (r.id, r.company_id is None, r.company_id or 0))
        chosen = ordered[0]
        others = tuple(sorted({r.id for r in ordered} - {chosen.id}))
        if others:
            listed = ", ".join(str(i) for i in (chosen.id, *others))
            reason = (
                f"address matches contacts {listed}; chose {chosen.id} (lowest id), "
                f"ambiguous with {', '.join(str(i) for i in others)}"
            )
        else:
            reason = f"address matches contact {chosen.id}"
    company_id = chosen.company_id
    if company_id is not None:
        reason += f"; company {company_id} from the contact"
    elif facts.free_mail is not None:
        reason += f"; no company: {facts.free_mail} is a free-mail domain"
    else:
        for key in facts.company_keys:
            company_id = companies.get(key)
            if company_id is not None:
                reason += f"; domain {key} belongs to company {company_id}"
                break
    return Decision(
        address=facts.address,
        kind=Kind.CONTACT,
        reason=reason,
        domain=facts.domain,
        contact_id=chosen.id,
        company_id=company_id,
        free_mail=facts.free_mail is not None,
        ambiguous=others,
    )


@lru_cache(maxsize=1 << 17)
def _classify(raw: str, compiled: CompiledPolicy) -> _Classified:
    address = _canonical_address(raw, compiled.subaddress) if isinstance(raw, str) else None
    if address is None:
        shown = repr(raw) if len(repr(raw)) <= 80 else repr(raw)[:79] + "…"
        invalid = Decision(
            address=raw, kind=Kind.UNMATCHED, reason=f"{shown} is not an email address"
        )
        return _Classified("", None, (), None, invalid, None)
    full = address[address.rfind("@") + 1 :]
    registrable = _registrable(full)
    domain = registrable or full
    free = free_mail_match(full, compiled)
    blocked = blocked_reason_for(address, full, compiled)
    if blocked is not None:
        fixed = Decision(address, Kind.EXCLUDED, blocked, domain, free_mail=free is not None)
        return _Classified(address, domain, (), free, fixed, None)
    internal = internal_reason_for(address, full, compiled)
    if internal is not None:
        fixed = Decision(address, Kind.INTERNAL, internal, domain, free_mail=free is not None)
        return _Classified(address, domain, (), free, fixed, None)
    if registrable is None:
        keys: tuple[str, ...] = (full,)
    else:
        suffixes = domain_suffixes(full)
        keys = suffixes[: len(suffixes) - registrable.count(".")]
    if free is not None:
        reason = f"{free} is a free-mail domain and no contact has this address"
    else:
        reason = f"no contact has this address and no company owns {domain}"
    unmatched = Decision(address, Kind.UNMATCHED, reason, domain, free_mail=free is not None)
    return _Classified(address, domain, keys, free, None, unmatched)

"""Who each address is: ``resolve(addresses, snapshot, policy)``.

Order of checks for one address (first hit decides; the Decision's reason
says which rule fired):

1. Not an address (``canonical_address`` is None) -> UNMATCHED with
   ``domain=None`` and ``address`` = the input made storable (trimmed, at
   most 320 characters, control characters and lone surrogates replaced by
   U+FFFD, so no database rejects it). It is kept in the result (the result
   is keyed by every input) rather than skipped, so callers can record it as
   a participant; ``log_decision`` does not count it as an external party and
   the store should not keep it for late matching.
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

Speed: everything that depends neither on the directory nor on the
blocklists (canonical form, registrable domain, internal and free-mail
verdicts, the fixed Decisions) is computed once per distinct input and kept
in memo tables shared by all policies that differ only in their blocklists
(per-rep policies share one); the public-suffix work runs once per host (the
domain memo), and a plain ASCII address is canonicalized by one regex match
(``canonical`` fast path). ``directory_keys`` classifies a page's inputs
into that memo while it collects the keys the store must look up (none for
internal addresses, no free-mail domains), so the ``resolve`` after the
lookup finds every input classified: a new address is classified once.
Blocklists are then a set look-up or a few per address, and the directory
two or three dict look-ups, so matching's own cost does not grow with the
directory size (the store's index probes do, logarithmically). Memo tables
are plain dicts flushed whole when full (bounded memory, no LRU bookkeeping
on the miss path); the daemon's worker threads may share them: every write
is a single dict or attribute store, so a race costs at most a repeated
computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from matching.canonical import canonical_address_uncached
from matching.domains import _psl, domain_suffixes
from matching.policy import CompiledPolicy, compile_policy
from matching.types import ContactRef, Decision, DirectorySnapshot, Kind, Policy

MAX_STORED = 320  # longest "address" a Decision carries for an unparsable input
#: distinct inputs remembered (per set of shared rules): ~480 bytes each, so at most
#: ~16 MB; a mailbox's active correspondents fit, an initial sync of years of mail cycles
ADDRESS_MEMO_SIZE = 1 << 15
DOMAIN_MEMO_SIZE = 1 << 16  # distinct domains remembered (per set of shared rules)


class _DomainFacts(NamedTuple):
    """What the policy says about one full domain (shared by all its addresses)."""

    domain: str                     # registrable domain, else the full domain
    suffixes: tuple[str, ...]       # the full domain and every parent
    company_keys: tuple[str, ...]   # domains to look companies up by, most specific first
    free_mail: str | None           # the free-mail domain covering it
    internal: str | None            # why the domain is internal


class _Classified:
    """The directory-independent facts about one input address.

    ``fixed`` is the final Decision when the directory cannot change it
    (not an address, blocklisted, internal). ``last`` keeps (directory
    outcome, Decision) from the last time, so a warm address costs a tuple
    comparison instead of a new object; one entry is enough because an
    address's directory rows rarely change. It is replaced as one tuple, so
    concurrent resolves (the daemon's worker threads) never see a key paired
    with another key's Decision.
    """

    __slots__ = ("address", "facts", "fixed", "last")

    def __init__(self, address: str, facts: _DomainFacts | None, fixed: Decision | None):
        self.address = address
        self.facts = facts
        self.fixed = fixed
        self.last: tuple[object, Decision] | None = None


def resolve(
    addresses: Iterable[str], snapshot: DirectorySnapshot, policy: Policy
) -> dict[str, Decision]:
    """A Decision for every input string, keyed by that string (see module doc)."""
    compiled = compile_policy(policy)
    address_memo: dict[str, _Classified] = compiled.memos.addresses
    blocked_addresses = compiled.blocked_addresses
    blocked_domains = compiled.blocked_domains
    contacts = snapshot.contacts
    companies = snapshot.companies
    out: dict[str, Decision] = {}
    for raw in addresses:
        if raw in out:
            continue
        known = address_memo.get(raw)
        if known is None:
            known = _classify(raw, compiled)
        if (blocked_addresses or blocked_domains) and known.facts is not None:
            # Checked per call, not cached: blocklists differ per rep while the
            # classification memo is shared by all reps' policies.
            excluded = _excluded(known, blocked_addresses, blocked_domains)
            if excluded is not None:
                out[raw] = excluded
                continue
        if known.fixed is not None:
            out[raw] = known.fixed
            continue
        refs = contacts.get(known.address)
        if refs:
            out[raw] = _contact_decision(known, refs, companies)
        else:
            out[raw] = _domain_decision(known, companies)
    return out


def directory_keys(addresses: Iterable[str], policy: Policy) -> tuple[set[str], set[str]]:
    """What ``resolve`` will look up for these inputs: (canonical addresses, company domains).

    Exactly the keys ``resolve(addresses, snapshot, policy)`` reads from
    ``snapshot.contacts`` and ``snapshot.companies``: no address whose
    Decision is fixed (not an address, internal) and no domain of free mail
    (never a company), only the domain and its parents down to the
    registrable domain. Each input is classified on the way into the shared
    memo, so the ``resolve`` that follows finds every address classified.
    """
    compiled = compile_policy(policy)
    address_memo: dict[str, _Classified] = compiled.memos.addresses
    contacts: set[str] = set()
    domains: set[str] = set()
    for raw in addresses:
        known = address_memo.get(raw)
        if known is None:
            known = _classify(raw, compiled)
        facts = known.facts
        if known.fixed is not None or facts is None:
            continue
        contacts.add(known.address)
        if facts.free_mail is None:
            domains.update(facts.company_keys)
    return contacts, domains


def _company_of(facts: _DomainFacts, companies: Mapping[str, int]) -> tuple[str, int] | None:
    """(domain key, company id) owning this domain, never for free mail."""
    if facts.free_mail is not None:
        return None
    for key in facts.company_keys:
        company_id = companies.get(key)
        if company_id is not None:
            return key, company_id
    return None


def _domain_decision(known: _Classified, companies: Mapping[str, int]) -> Decision:
    facts = known.facts
    assert facts is not None  # only fixed decisions lack domain facts
    owner = _company_of(facts, companies)
    last = known.last
    # Keys: None or (domain, company) here, a 3-tuple for contacts: never equal.
    if last is not None and last[0] == owner:
        return last[1]
    if owner is not None:
        key, company_id = owner
        reason = f"domain {key} belongs to company {company_id}"
        decision = Decision(known.address, Kind.COMPANY, reason, facts.domain, None, company_id)
    elif facts.free_mail is not None:
        reason = f"{facts.free_mail} is a free-mail domain and no contact has this address"
        decision = Decision(known.address, Kind.UNMATCHED, reason, facts.domain, None, None, True)
    else:
        reason = f"no contact has this address and no company owns {facts.domain}"
        decision = Decision(known.address, Kind.UNMATCHED, reason, facts.domain)
    known.last = (owner, decision)
    return decision


def _contact_decision(
    known: _Classified, refs: tuple[ContactRef, ...], companies: Mapping[str, int]
) -> Decision:
    facts = known.facts
    assert facts is not None  # only fixed decisions lack domain facts
    if len(refs) == 1:
        chosen = refs[0]
        owner = None if chosen.company_id is not None else _company_of(facts, companies)
        memo_key = (chosen.id, chosen.company_id, owner)
        last = known.last
        if last is not None and last[0] == memo_key:
            return last[1]
        decision = _build_contact(known.address, facts, chosen, (), owner)
        known.last = (memo_key, decision)
        return decision
    # Several contacts own the address. Deterministic: lowest id; for
    # duplicate rows of one contact prefer the one that names a company.
    ordered = sorted(refs, key=lambda r: (r.id, r.company_id is None, r.company_id or 0))
    chosen = ordered[0]
    others = tuple(sorted({r.id for r in ordered} - {chosen.id}))
    owner = None if chosen.company_id is not None else _company_of(facts, companies)
    return _build_contact(known.address, facts, chosen, others, owner)


def _build_contact(
    address: str,
    facts: _DomainFacts,
    chosen: ContactRef,
    others: tuple[int, ...],
    owner: tuple[str, int] | None,
) -> Decision:
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
    elif owner is not None:
        key, company_id = owner
        reason += f"; domain {key} belongs to company {company_id}"
    return Decision(
        address, Kind.CONTACT, reason, facts.domain, chosen.id, company_id,
        facts.free_mail is not None, others,
    )


def _excluded(
    known: _Classified, blocked_addresses: frozenset[str], blocked_domains: frozenset[str]
) -> Decision | None:
    facts = known.facts
    assert facts is not None
    reason = None
    if known.address in blocked_addresses:
        reason = f"address {known.address} is blocklisted"
    elif blocked_domains:
        for suffix in facts.suffixes:
            if suffix in blocked_domains:
                reason = f"domain {suffix} is blocklisted"
                break
    if reason is None:
        return None
    return Decision(known.address, Kind.EXCLUDED, reason, facts.domain,
                    free_mail=facts.free_mail is not None)


def _classify(raw: str, compiled: CompiledPolicy) -> _Classified:
    """Classify ``raw`` (blocklists aside) and remember it in the shared address memo."""
    known = _classify_uncached(raw, compiled)
    memo = compiled.memos.addresses
    if len(memo) >= ADDRESS_MEMO_SIZE:
        memo.clear()  # a flush is cheaper than LRU bookkeeping on every miss
    memo[raw] = known
    return known


def _classify_uncached(raw: str, compiled: CompiledPolicy) -> _Classified:
    address = canonical_address_uncached(raw, compiled.subaddress) if isinstance(raw, str) else None
    if address is None:
        shown = repr(raw) if len(repr(raw)) <= 80 else repr(raw)[:79] + "…"
        invalid = Decision(storable(raw), Kind.UNMATCHED, f"{shown} is not an email address")
        return _Classified("", None, invalid)
    full = address[address.rfind("@") + 1 :]
    domain_memo = compiled.memos.domains
    facts = domain_memo.get(full)
    if facts is None:
        facts = _domain_facts(full, compiled)
        if len(domain_memo) >= DOMAIN_MEMO_SIZE:
            domain_memo.clear()
        domain_memo[full] = facts
    if address in compiled.internal_addresses:
        reason: str | None = f"address {address} is an internal alias"
    else:
        reason = facts.internal
    if reason is None:
        return _Classified(address, facts, None)
    free = facts.free_mail is not None
    internal = Decision(address, Kind.INTERNAL, reason, facts.domain, None, None, free)
    return _Classified(address, facts, internal)


def _domain_facts(full: str, compiled: CompiledPolicy) -> _DomainFacts:
    found = _psl().privatesuffix(full)
    registrable = found if isinstance(found, str) else None
    suffixes = domain_suffixes(full)
    if registrable is None:
        keys: tuple[str, ...] = (full,)
    else:
        keys = suffixes[: len(suffixes) - registrable.count(".")]
    free = internal = None
    free_mail, internal_domains = compiled.free_mail, compiled.internal_domains
    for suffix in suffixes:  # most specific entry first, for each rule
        if free is None and suffix in free_mail:
            free = suffix
        if internal is None and suffix in internal_domains:
            internal = f"domain {suffix} is internal"
    return _DomainFacts(registrable or full, suffixes, keys, free, internal)


def storable(raw: object) -> str:
    """``raw`` as text any database accepts: trimmed, bounded, no controls or lone surrogates."""
    text = raw.strip()[:MAX_STORED] if isinstance(raw, str) else repr(raw)[:MAX_STORED]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else "\ufffd" for c in text)

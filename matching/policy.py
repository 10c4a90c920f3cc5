"""From config values to a :class:`Policy`, and from a Policy to fast lookup sets.

``build_policy`` turns the plain lists of the config file (``organization``
and ``matching`` sections, plus a rep's own blocklist) into a Policy whose
entries are already canonical, and rejects entries that are neither an
address nor a domain.

``compile_policy`` is what every matching function uses internally: it
canonicalizes whatever a Policy holds (so a hand-built Policy with
``Googlemail.COM`` entries behaves exactly like a built one), adds the bundled
free-mail list, and is cached, so the work happens once per distinct policy.
A CompiledPolicy hashes by identity. It also carries the memo tables
``resolve`` keeps its per-address work in; policies that differ only in
their blocklists (the per-rep policies of ``with_blocklist``) share one set,
so memory does not grow with the number of reps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from matching.canonical import canonical_address, canonical_domain
from matching.canonical import subaddress_domains as canonical_subaddress
from matching.roles import pattern_problem
from matching.types import AutoCreatePolicy, Policy

CONTACT_LEVELS = ("none", "sent", "sent_and_received")
MEETING_LEVELS = ("none", "organizer", "participant")


@lru_cache(maxsize=1)
def bundled_free_mail() -> frozenset[str]:
    """The free-mail domains shipped in ``matching/data/free_mail.txt``."""
    text = resources.files("matching").joinpath("data/free_mail.txt").read_text("utf-8")
    out: set[str] = set()
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            domain = canonical_domain(entry)
            if domain is not None:
                out.add(domain)
    return frozenset(out)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPolicy:
    """A Policy with every entry canonical; identity-hashed (see module doc)."""

    policy: Policy
    subaddress: frozenset[str]
    internal_domains: frozenset[str]
    internal_addresses: frozenset[str]
    free_mail: frozenset[str]
    blocked_addresses: frozenset[str]
    blocked_domains: frozenset[str]
    allow_addresses: frozenset[str]
    allow_domains: frozenset[str]
    #: memo tables owned by ``resolve`` (input -> facts, domain -> facts),
    #: shared by every policy that differs only in its blocklists (one per
    #: rep, typically), so per-rep policies do not multiply memory
    memos: Memos


@dataclass(frozen=True, slots=True, eq=False)
class Memos:
    """Plain dicts keyed by strings: cheaper than lru_cache's tuple keys and links."""

    addresses: dict[str, Any] = field(default_factory=dict)
    domains: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=16)
def _shared_memos(
    subaddress: frozenset[str],
    internal_domains: frozenset[str],
    internal_addresses: frozenset[str],
    free_mail: frozenset[str],
) -> Memos:
    """One Memos per distinct set of the rules ``resolve`` caches verdicts of."""
    return Memos()


@lru_cache(maxsize=256)
def compile_policy(policy: Policy) -> CompiledPolicy:
    def addresses(entries: Iterable[str]) -> frozenset[str]:
        found = (canonical_address(e, policy) for e in entries)
        return frozenset(a for a in found if a is not None)

    def domains(entries: Iterable[str]) -> frozenset[str]:
        found = (canonical_domain(e) for e in entries)
        return frozenset(d for d in found if d is not None)

    allow_addresses, allow_domains = _split(policy.allow_automated_from, policy)
    subaddress = canonical_subaddress(policy)
    internal_domains = domains(policy.internal_domains)
    internal_addresses = addresses(policy.internal_addresses)
    free_mail = bundled_free_mail() | domains(policy.free_mail_domains)
    return CompiledPolicy(
        policy=policy,
        subaddress=subaddress,
        internal_domains=internal_domains,
        internal_addresses=internal_addresses,
        free_mail=free_mail,
        blocked_addresses=addresses(policy.blocked_addresses),
        blocked_domains=domains(policy.blocked_domains),
        allow_addresses=allow_addresses,
        allow_domains=allow_domains,
        memos=_shared_memos(subaddress, internal_domains, internal_addresses, free_mail),
    )


def _split(entries: Iterable[str], policy: Policy) -> tuple[frozenset[str], frozenset[str]]:
    """Entries with an ``@`` are addresses, the rest domains; invalid ones dropped."""
    found_addresses: set[str] = set()
    found_domains: set[str] = set()
    for entry in entries:
        if "@" in entry:
            address = canonical_address(entry, policy)
            if address is not None:
                found_addresses.add(address)
        else:
            domain = canonical_domain(entry.lstrip("*."))
            if domain is not None:
                # addresses are compared canonical: googlemail.com mail is gmail.com mail
                probe = canonical_address(f"probe@{domain}", policy)
                found_domains.add(probe.rpartition("@")[2] if probe is not None else domain)
    return frozenset(found_addresses), frozenset(found_domains)


def build_policy(
    *,
    internal_domains: Iterable[str] = (),
    internal_addresses: Iterable[str] = (),
    free_mail_domains: Iterable[str] = (),
    subaddress_domains: Iterable[str] = (),
    blocklist: Iterable[str] = (),
    allow_automated_from: Iterable[str] = (),
    role_addresses: Iterable[str] = (),
    skip_free_mail_only: bool = False,
) -> Policy:
    """A Policy from config lists; raises ValueError naming the first bad entry.

    ``blocklist`` mixes addresses and domains as the config does (global list
    plus the rep's own); ``*.example.com`` is accepted as ``example.com``
    (subdomains are always included).
    """
    # googlemail.com is gmail.com: store the form canonical_address produces.
    subaddress = canonical_subaddress(
        Policy(subaddress_domains=_valid_domains("subaddress_domains", subaddress_domains))
    )
    # Addresses are canonicalized under the final sub-addressing rules, so a
    # blocked "john+news@gmail.com" blocks every tag of john@gmail.com.
    base = Policy(subaddress_domains=subaddress)
    blocklist = list(blocklist)
    allow = list(allow_automated_from)
    for key, entries in (("blocklist", blocklist), ("allow_automated_from", allow)):
        for entry in entries:
            _check_entry(key, entry, base)
    blocked_addresses, blocked_domains = _split(blocklist, base)
    allow_addresses, allow_domains = _split(allow, base)
    roles = tuple(role_addresses)
    for pattern in roles:
        problem = pattern_problem(pattern)
        if problem is not None:
            raise ValueError(f"role_addresses: {pattern!r} {problem}")
    return Policy(
        internal_domains=_valid_domains("internal_domains", internal_domains),
        internal_addresses=_valid_addresses("internal_addresses", internal_addresses, base),
        free_mail_domains=_valid_domains("free_mail_domains", free_mail_domains),
        subaddress_domains=subaddress,
        blocked_addresses=blocked_addresses,
        blocked_domains=blocked_domains,
        allow_automated_from=allow_addresses | allow_domains,
        role_addresses=tuple(p.strip().lower() for p in roles),
        skip_free_mail_only=bool(skip_free_mail_only),
    )


def with_blocklist(policy: Policy, entries: Iterable[str]) -> Policy:
    """``policy`` plus a rep's own blocklist entries (addresses or domains)."""
    entries = list(entries)
    for entry in entries:
        _check_entry("blocklist", entry, policy)
    addresses, domains = _split(entries, policy)
    if not addresses and not domains:
        return policy
    # replace(), not a field-by-field copy: every other rule of the policy carries over
    return dataclasses.replace(
        policy,
        blocked_addresses=policy.blocked_addresses | addresses,
        blocked_domains=policy.blocked_domains | domains,
    )


def build_auto_create(
    *, contacts: str = "none", meeting_contacts: str = "none", companies: bool = False
) -> AutoCreatePolicy:
    """An AutoCreatePolicy from config values; raises ValueError on unknown levels."""
    if contacts not in CONTACT_LEVELS:
        raise ValueError(f"auto_create.contacts: {contacts!r} is not one of {CONTACT_LEVELS}")
    if meeting_contacts not in MEETING_LEVELS:
        raise ValueError(
            f"auto_create.meeting_contacts: {meeting_contacts!r} is not one of {MEETING_LEVELS}"
        )
    return AutoCreatePolicy(
        contacts=contacts, meeting_contacts=meeting_contacts, companies=bool(companies)
    )


def _check_entry(key: str, entry: str, policy: Policy) -> None:
    if "@" in entry:
        if canonical_address(entry, policy) is None:
            raise ValueError(f"{key}: {entry!r} is not a valid email address")
    elif canonical_domain(entry.lstrip("*.")) is None:
        raise ValueError(f"{key}: {entry!r} is neither an email address nor a domain")


def _valid_domains(key: str, entries: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for entry in entries:
        domain = canonical_domain(entry.lstrip("*."))
        if domain is None:
            raise ValueError(f"{key}: {entry!r} is not a valid domain")
        out.add(domain)
    return frozenset(out)


def _valid_addresses(key: str, entries: Iterable[str], policy: Policy) -> frozenset[str]:
    out: set[str] = set()
    for entry in entries:
        address = canonical_address(entry, policy)
        if address is None:
            raise ValueError(f"{key}: {entry!r} is not a valid email address")
        out.add(address)
    return frozenset(out)

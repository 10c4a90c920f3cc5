"""Domain rules: registrable domain, free mail, internal, blocklist.

* ``registrable_domain`` uses the public suffix list bundled with the
  ``publicsuffixlist`` package (offline, updated with the package), ICANN and
  private sections both: a private entry such as ``eu.org`` marks a boundary
  between independent owners just like ``co.uk`` does, so ``a.eu.org`` and
  ``b.eu.org`` are two organisations, not one.
* Every other rule here matches a domain *and its subdomains*: an entry
  ``acme.com`` covers ``mail.acme.com`` and ``eu.mail.acme.com`` but never
  ``notacme.com``. This is done by walking the label suffixes of the
  canonical domain (``domain_suffixes``), a handful of set look-ups.
* Addresses given to the address-level helpers are canonicalized first, so a
  blocklist or alias entry matches however the address is spelled.
"""

from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from matching.canonical import canonical_address, canonical_domain
from matching.policy import CompiledPolicy, compile_policy
from matching.types import Policy


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def registrable_domain(domain: str) -> str | None:
    """The domain an organisation registered: ``eu.mail.acme.co.uk`` -> ``acme.co.uk``.

    None when ``domain`` is not a host name or is itself a public suffix
    (``co.uk``) or a single unknown label (``localhost``).
    """
    canonical = canonical_domain(domain)
    if canonical is None:
        return None
    return _registrable(canonical)


@lru_cache(maxsize=1 << 18)
def _registrable(canonical: str) -> str | None:
    found = _psl().privatesuffix(canonical)
    return found if isinstance(found, str) else None


def domain_suffixes(domain: str) -> tuple[str, ...]:
    """``a.b.c`` -> ``("a.b.c", "b.c", "c")``: the domain and every parent."""
    out = [domain]
    dot = domain.find(".")
    while dot != -1:
        domain = domain[dot + 1 :]
        out.append(domain)
        dot = domain.find(".")
    return tuple(out)


def _first_in(domain: str, entries: frozenset[str]) -> str | None:
    """The entry covering ``domain`` (itself or a parent), most specific first."""
    if not entries:
        return None
    for suffix in domain_suffixes(domain):
        if suffix in entries:
            return suffix
    return None


def free_mail_match(domain: str, compiled: CompiledPolicy) -> str | None:
    return _first_in(domain, compiled.free_mail)


def is_free_mail(domain: str, policy: Policy | None = None) -> bool:
    """True for consumer mail domains (bundled list + ``policy.free_mail_domains``)."""
    canonical = canonical_domain(domain)
    if canonical is None:
        return False
    return free_mail_match(canonical, compile_policy(policy or Policy())) is not None


def internal_reason_for(address: str, domain: str, compiled: CompiledPolicy) -> str | None:
    """Why a canonical address is one of ours, or None. ``domain`` is its full domain."""
    if address in compiled.internal_addresses:
        return f"address {address} is an internal alias"
    matched = _first_in(domain, compiled.internal_domains)
    if matched is not None:
        return f"domain {matched} is internal"
    return None


def blocked_reason_for(address: str, domain: str, compiled: CompiledPolicy) -> str | None:
    """Why a canonical address is blocklisted, or None. ``domain`` is its full domain."""
    if address in compiled.blocked_addresses:
        return f"address {address} is blocklisted"
    matched = _first_in(domain, compiled.blocked_domains)
    if matched is not None:
        return f"domain {matched} is blocklisted"
    return None


def allowed_automated_for(address: str, domain: str, compiled: CompiledPolicy) -> str | None:
    """The ``allow_automated_from`` entry covering a canonical address, or None."""
    if address in compiled.allow_addresses:
        return address
    return _first_in(domain, compiled.allow_domains)


def _split_address(email: str, policy: Policy) -> tuple[str, str] | None:
    address = canonical_address(email, policy)
    if address is None:
        return None
    return address, address.rpartition("@")[2]


def internal_reason(email: str, policy: Policy) -> str | None:
    """Why ``email`` is internal (our domains, subdomains, aliases), or None."""
    split = _split_address(email, policy)
    return None if split is None else internal_reason_for(*split, compile_policy(policy))


def blocked_reason(email: str, policy: Policy) -> str | None:
    """Why ``email`` is blocklisted (address, domain or parent domain), or None."""
    split = _split_address(email, policy)
    return None if split is None else blocked_reason_for(*split, compile_policy(policy))


def is_internal(email: str, policy: Policy) -> bool:
    return internal_reason(email, policy) is not None


def is_blocked(email: str, policy: Policy) -> bool:
    return blocked_reason(email, policy) is not None

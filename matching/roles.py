"""Role and shared addresses (``info@``, ``sales@``, ``support@`` ...).

A role address is a mailbox a team shares, not a person: it is never
auto-created as a contact and never makes a lead on its own. Mail with one
still matches a company by domain; whether it is logged depends on the other
participants (see ``gate.py``).

Rules, in order (the first that applies decides):

1. Anything that is not an address (see ``canonical_address``: display
   names and ``mailto:`` are fine) is not a role address. Never raises.
2. The canonical local part (lower case) loses any ``+tag`` (``sales+eu@`` is
   ``sales@``), whatever the domain: role mailboxes use tags for routing.
3. It is a role address when the local part, with the separators ``-_.``
   removed, is in :data:`DEFAULT_ROLE_LOCAL_PARTS` (so ``customer-service``,
   ``customer.service`` and ``customerservice`` all count).
4. Or when it matches one of the extra patterns (config
   ``matching.role_addresses``): shell-style globs (``*``, ``?``, ``[...]``)
   matched case-insensitively against the whole local part, both as written
   and with separators removed (``sales-*`` matches ``sales-emea``;
   ``*desk`` matches ``service.desk``). A pattern holding ``@`` is invalid
   (see :func:`pattern_problem`), because the list is about local parts.

No-reply and mailer-daemon style senders are automation, not roles: see
``automation.py``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from matching.canonical import canonical_address

#: Local parts (lower case, separators removed) that name a team mailbox.
DEFAULT_ROLE_LOCAL_PARTS: frozenset[str] = frozenset({
    "info", "information", "sales", "support", "billing", "team", "hello",
    "contact", "contactus", "enquiries", "enquiry", "inquiries",
    "inquiry", "help", "helpdesk", "servicedesk", "service", "services",
    "customerservice", "customerservices", "customersupport", "customercare",
    "office", "admin", "administration", "accounts", "accounting",
    "finance", "invoices", "invoice", "invoicing", "payments", "orders",
    "order", "bookings", "booking", "reservations", "reception", "frontdesk",
    "marketing", "press", "media", "hr", "jobs", "careers", "recruiting",
    "recruitment", "legal", "privacy", "compliance", "security", "abuse",
    "webmaster", "hostmaster", "operations", "partners", "partnerships",
    "procurement", "purchasing", "feedback", "everyone", "staff",
})

_SEPARATORS = re.compile(r"[-_.]")


@dataclass(frozen=True, slots=True)
class RolePatterns:
    """Extra role patterns compiled into one case-insensitive regex (None: none)."""

    patterns: tuple[str, ...]
    regex: re.Pattern[str] | None


def pattern_problem(pattern: str) -> str | None:
    """Why a configured role pattern is unusable, or None when it is fine."""
    text = pattern.strip() if isinstance(pattern, str) else ""
    if not text:
        return "must be a non-empty local-part pattern such as 'sales-*'"
    if "@" in text:
        return "must be a local part only (no '@'), e.g. 'sales-*' rather than 'sales-*@acme.com'"
    if any(ch.isspace() for ch in text):
        return "must not contain spaces"
    return None


def compile_role_patterns(extra_patterns: Sequence[str] = ()) -> RolePatterns:
    """Compile extra local-part globs once (cached per distinct tuple)."""
    return _compile(tuple(extra_patterns))


@lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> RolePatterns:
    usable = tuple(p.strip().lower() for p in patterns if pattern_problem(p) is None)
    if not usable:
        return RolePatterns(patterns=(), regex=None)
    # fnmatch.translate anchors each glob; one alternation keeps it one match call.
    regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in usable), re.IGNORECASE)
    return RolePatterns(patterns=usable, regex=regex)


def role_local_part(address: str) -> str | None:
    """The canonical local part without ``+tag``, or None for a non-address."""
    canonical = canonical_address(address) if isinstance(address, str) else None
    if canonical is None:
        return None
    local = canonical.rpartition("@")[0].split("+", 1)[0]
    return local or None


def role_reason(
    address: str, extra_patterns: Sequence[str] | RolePatterns = ()
) -> str | None:
    """Why ``address`` is a role/shared mailbox, or None when it may be a person."""
    local = role_local_part(address)
    if local is None:
        return None
    return _local_reason(local, extra_patterns)


def canonical_role_reason(address: str, patterns: RolePatterns) -> str | None:
    """:func:`role_reason` for an address already in canonical form (a matching
    ``Decision.address``): skips canonicalizing it again, the gate's hot path."""
    local = address.rpartition("@")[0].split("+", 1)[0]
    return _local_reason(local, patterns) if local else None


def _local_reason(local: str, extra_patterns: Sequence[str] | RolePatterns) -> str | None:
    squashed = _SEPARATORS.sub("", local)
    if squashed in DEFAULT_ROLE_LOCAL_PARTS:
        return f"{local}@ is a role address (default list)"
    compiled = (
        extra_patterns
        if isinstance(extra_patterns, RolePatterns)
        else compile_role_patterns(extra_patterns)
    )
    if compiled.regex is not None and (
        compiled.regex.match(local) is not None or compiled.regex.match(squashed) is not None
    ):
        return f"{local}@ is a role address (matching.role_addresses)"
    return None


def is_role_address(address: str, extra_patterns: Sequence[str] = ()) -> bool:
    """True when ``address`` is a shared/role mailbox (default list or extra patterns)."""
    return role_reason(address, extra_patterns) is not None

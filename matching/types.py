"""Plain data that matching consumes and returns. No I/O anywhere in matching/.

The sync engine prefetches, per page, the directory rows for the page's
canonical addresses and registrable domains (one query each) into a
:class:`DirectorySnapshot`; matching decides from that snapshot alone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    CONTACT = "contact"      # a known contact (company may be known too)
    COMPANY = "company"      # unknown person at a known company's domain
    INTERNAL = "internal"    # one of our own people
    EXCLUDED = "excluded"    # blocklisted: never logged
    UNMATCHED = "unmatched"  # external, not in the directory (kept for late matching)


@dataclass(frozen=True, slots=True)
class ContactRef:
    id: int
    company_id: int | None = None


@dataclass(frozen=True, slots=True)
class DirectorySnapshot:
    """Directory rows relevant to one page, keyed by canonical form.

    ``contacts`` maps canonical address -> every contact owning it (normally
    one; several means an ambiguity that matching resolves deterministically
    and reports). ``companies`` maps registrable domain -> company id.
    """

    contacts: Mapping[str, tuple[ContactRef, ...]] = field(default_factory=dict)
    companies: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """The matching and privacy rules from config, as plain sets."""

    internal_domains: frozenset[str] = frozenset()
    internal_addresses: frozenset[str] = frozenset()
    free_mail_domains: frozenset[str] = frozenset()  # extra, on top of the bundled list
    subaddress_domains: frozenset[str] = frozenset()
    blocked_addresses: frozenset[str] = frozenset()
    blocked_domains: frozenset[str] = frozenset()
    allow_automated_from: frozenset[str] = frozenset()
    #: extra role/shared-mailbox local-part globs on top of the default list (roles.py)
    role_addresses: tuple[str, ...] = ()
    #: leave out mail whose only outside people are free-mail non-contacts (gate.py)
    skip_free_mail_only: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """Who one address is, and why.

    ``address`` is canonical (for an unparsable input: the input trimmed and
    made storable); ``domain`` is the registrable domain, else the full domain
    (None for an unparsable address); ``ambiguous`` lists the other contact
    ids when several contacts own the address; ``free_mail`` is set for
    consumer mail domains whatever the kind.
    """

    address: str
    kind: Kind
    reason: str
    domain: str | None = None
    contact_id: int | None = None
    company_id: int | None = None
    free_mail: bool = False
    ambiguous: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LogDecision:
    """Whether an interaction is logged at all, and why not."""

    log: bool
    reason: str


class Direction(enum.StrEnum):
    """Whether one of our reps sent the interaction or received it."""

    SENT = "sent"          # the sender (or meeting organizer) is internal
    RECEIVED = "received"  # an external party wrote to us


@dataclass(frozen=True, slots=True)
class AutoCreatePolicy:
    """``matching.auto_create`` from config as plain values.

    ``contacts``: none | sent (people a rep wrote to) | sent_and_received
    (also people who wrote to a rep). ``meeting_contacts``: none | organizer
    | participant. ``companies``: create companies for unknown work domains
    of people we engaged with (never free-mail or internal domains).
    """

    contacts: str = "none"
    meeting_contacts: str = "none"
    companies: bool = False


@dataclass(frozen=True, slots=True)
class AutoCreateDecision:
    """Whether to create a contact and/or a company for one participant, and why."""

    contact: bool
    company: bool
    reason: str


@dataclass(frozen=True, slots=True)
class OpportunityRef:
    """One opportunity of a company as matching needs it.

    ``owner`` is the owning rep's address (or name) from the import.
    """

    id: int
    owner: str | None = None
    open: bool = True
    name: str = ""


@dataclass(frozen=True, slots=True)
class OpportunityChoice:
    """Which opportunity an interaction is linked to (None: none), and why."""

    opportunity_id: int | None
    reason: str

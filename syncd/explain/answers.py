"""The shapes of ``syncd explain`` answers: plain data, JSON through ``to_dict``.

Times are ISO-8601 UTC strings ending in ``Z`` (:func:`syncd.jsontext.utc_iso`)
already, so the CLI's JSON and the API's answer are the same document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader may see: ``accounts`` None is everything (admin, the CLI);
    otherwise skip records, quarantine rows and per-account blocklists of
    only these accounts are shown, and ``content`` decides subject visibility."""

    accounts: frozenset[str] | None = None

    def sees(self, account: str) -> bool:
        return self.accounts is None or account in self.accounts


@dataclass(frozen=True, slots=True)
class Sighting:
    """One account's copy of the item and what became of it."""

    account: str
    #: the item's id in that account (None: hidden below full visibility)
    provider_id: str | None
    folder: str | None
    #: logged | skipped | quarantined
    outcome: str
    #: skip code (internal_only, automated, blocklisted, private...) or quarantine
    reason: str | None
    #: what decided it: the header, blocklist entry, policy, or the parse error
    detail: str | None
    #: the account's privacy level from config (None: not configured any more)
    privacy_level: str | None
    first_seen_at: str | None
    last_seen_at: str | None = None
    deleted_at: str | None = None


@dataclass(frozen=True, slots=True)
class ParticipantMatch:
    role: str
    address: str
    name: str | None
    match: str
    reason: str | None
    contact_id: int | None
    contact: str | None
    company_id: int | None
    company: str | None


@dataclass(frozen=True, slots=True)
class ThreadAnswer:
    id: int
    key: str
    subject: str | None
    message_count: int
    reason: str


@dataclass(frozen=True, slots=True)
class OpportunityAnswer:
    id: int
    name: str
    stage: str | None
    is_open: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReminderAnswer:
    id: int
    kind: str
    rule: str
    status: str
    #: opened (it is the reminder's anchor) | resolved (it closed the reminder)
    relation: str
    reason: str | None
    due_at: str | None
    resolved_at: str | None


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One message or meeting instance, by its dedupe key."""

    key: str
    kind: str
    logged: bool
    #: one line: logged, or why not
    verdict: str
    interaction_id: int | None = None
    occurred_at: str | None = None
    direction: str | None = None
    subject: str | None = None
    #: the reader's visibility of the content (metadata | subject | full)
    visibility: str = "full"
    deleted: bool = False
    seen_by: list[Sighting] = field(default_factory=list)
    participants: list[ParticipantMatch] = field(default_factory=list)
    thread: ThreadAnswer | None = None
    opportunity: OpportunityAnswer | None = None
    reminders: list[ReminderAnswer] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemsAnswer:
    """Everything found for one ``--message-id`` or ``--event`` question."""

    #: message_id | event
    selector: str
    value: str
    account: str | None
    items: list[ItemAnswer]
    #: what was searched (said when nothing was found)
    searched: list[str]

    @property
    def found(self) -> bool:
        return bool(self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"query": {self.selector: self.value, "account": self.account},
                "found": self.found, "searched": self.searched,
                "items": [dataclasses.asdict(i) for i in self.items]}


@dataclass(frozen=True, slots=True)
class Resolution:
    kind: str
    reason: str
    contact_id: int | None
    contact: str | None
    company_id: int | None
    company: str | None


@dataclass(frozen=True, slots=True)
class BlocklistHit:
    #: "global" or an account id (the rep's own blocklist)
    scope: str
    reason: str


@dataclass(frozen=True, slots=True)
class AddressAnswer:
    address: str
    #: None: not an email address
    canonical: str | None
    resolution: Resolution | None
    blocklisted: list[BlocklistHit]
    #: why it is a role/shared mailbox, None when it may be a person
    role_address: str | None
    interactions: int
    last_seen_at: str | None
    #: waiting in the unmatched list for a contact to claim it
    unmatched: bool
    #: what was searched (said when nothing was found)
    searched: list[str]

    @property
    def found(self) -> bool:
        """Anything known: on an interaction, in the directory, internal, or blocklisted."""
        if self.canonical is None:
            return False
        known = self.resolution is not None and self.resolution.kind != "unmatched"
        return self.interactions > 0 or known or bool(self.blocklisted) or self.unmatched

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["query"] = {"address": out.pop("address")}
        out["found"] = self.found
        return out

"""Triage: each page is read ONCE into a plan that every later step consumes.

A page goes through two walks, never more:

1. :func:`triage` walks ``page.items``: each message and event is cut down
   to the account's privacy level (:mod:`syncd.sync.privacy`), its
   addresses are gathered for matching, a message's automation reason
   (mailing list, auto-submitted, no-reply sender…) and the rep's private
   mark are noted, and every calendar invite inside a message becomes an
   entry of its own (provider id ``<message id>#invite#<uid#instance>``,
   record origin ``itip``; events of a calendar are origin ``calendar``).
2. The engine resolves the addresses once (``matching.resolve`` against
   the directory, in the page's transaction), then :meth:`Triage.decide`
   walks the triaged entries (not the page): the log gate per entry
   (internal-only, blocklisted, automated, marked private → skipped with
   its reason), a store record for each logged entry, and the deletions.

The resulting :class:`PagePlan` is what the rest of the page's transaction
reads, in this order (:func:`syncd.sync.commit.commit_page`):

=========================  ==================================================
step                       reads
=========================  ==================================================
forget marked-private      ``plan.private`` (this account's copies removed)
write the page + cursor    ``plan.write`` (:class:`syncd.store.records.PageWrite`)
auto-create contacts       ``plan.logged`` (people, direction, automation)
link opportunities         ``plan.keys`` (dedupe keys of logged interactions)
regroup, reminders         the writer's touched threads and meetings
=========================  ==================================================

Invariants:

* An item is either logged (one record in ``plan.logged``) or skipped with
  a reason in ``plan.skips``; an invite is decided on its own, so a
  skipped message can still carry a logged meeting. Marked private wins
  over any other reason, and takes the message's invites with it.
* A deletion followed later in the same page by the same item logged again
  is void (the item exists); otherwise every deletion is kept.
* ``plan.write.skips`` are the page's skip records (code and detail,
  :mod:`syncd.sync.skip_reasons`), written in the page's transaction;
  ``plan.write.skipped`` counts their top-level items (not invites).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from matching import automation_reason, log_decision
from matching.types import Decision, Policy
from providers.base import Address, Deletion, Event, Message, Page
from providers.ical import clamp_event
from syncd.store.records import (
    InteractionRecord,
    PageWrite,
    Skip,
    event_record,
    invite_provider_id,
    key,
    message_record,
)
from syncd.sync.privacy import clamp_message, private_mark
from syncd.sync.private_events import (
    PrivateEvents,
    carrier_rule,
    private_reason,
    private_skip,
)
from syncd.sync.skip_reasons import skip_reason


@dataclass(frozen=True, slots=True)
class Entry:
    """One message, event or invite of a page, after the privacy clamp."""

    kind: Literal["email", "meeting"]
    provider_id: str
    item: Message | Event
    #: why a message is automated (None: a person wrote it; always None for meetings)
    automated: str | None = None
    #: the rep's private mark on the message (or on the message carrying this invite)
    private: str | None = None
    #: the message carrying this invite (None: a top-level item)
    carrier: Message | None = None

    @property
    def people(self) -> list[tuple[str, Address]]:
        """(role, address) of everyone on it: sender and recipients, or organizer first."""
        if isinstance(self.item, Message):
            return list(self.item.participants)
        event = self.item
        people = [("organizer", event.organizer)] if event.organizer is not None else []
        return people + [("attendee", a.address) for a in event.attendees]

    @property
    def initiator(self) -> Address | None:
        """The sender of a message, the organizer of a meeting."""
        return self.item.sender if isinstance(self.item, Message) else self.item.organizer


@dataclass(frozen=True, slots=True)
class Logged:
    """An entry the log gate let through, with the record the store writes."""

    entry: Entry
    record: InteractionRecord


@dataclass(slots=True)
class PagePlan:
    """What one page does to the store; see the module docstring."""

    decisions: Mapping[str, Decision]
    logged: list[Logged]
    #: provider id -> why it is not logged (what the skip records say)
    skips: dict[str, Skip]
    #: provider ids (messages and their invites) the rep marked private
    private: list[str]
    write: PageWrite

    @property
    def keys(self) -> list[str]:
        """Dedupe keys of the logged interactions."""
        return [logged.record.dedupe_key for logged in self.logged]


@dataclass(slots=True)
class Triage:
    """A page after the first walk: entries in page order, and its addresses."""

    page: Page
    policy: Policy
    #: entries and deletions in page order (the deletion rule depends on order)
    sequence: list[Entry | Deletion] = field(default_factory=list)
    #: every address string on the page as found, for ``matching.resolve``
    addresses: list[str] = field(default_factory=list)
    #: dedupe keys of meetings not logged because they are marked private
    #: (``privacy.private_events: skip``): this account's copies are forgotten
    private_meetings: list[str] = field(default_factory=list)

    def decide(self, decisions: Mapping[str, Decision]) -> PagePlan:
        """The log gate for every entry, and the records of what is logged."""
        logged: list[Logged] = []
        skips: dict[str, Skip] = {}
        private: list[str] = []
        deletions: list[Deletion] = []
        entries = [e for e in self.sequence if isinstance(e, Entry)]
        for entry in entries:
            if entry.private is not None:
                private.append(entry.provider_id)
                skips[entry.provider_id] = _skip(entry, "private", entry.private)
            elif entry.provider_id not in skips:
                skip = _gate(entry, decisions, self.policy)
                if skip is not None:
                    skips[entry.provider_id] = skip
        # decided per provider id: a page carrying one item twice logs both or neither
        last_logged: set[str] = set()  # top-level ids whose latest mention logs them
        for step in self.sequence:
            if isinstance(step, Deletion):
                deletions.append(step)
                last_logged.discard(step.provider_id)
                continue
            entry = step
            if entry.provider_id not in skips:
                logged.append(Logged(entry, _record(entry, decisions)))
                if entry.carrier is None:
                    last_logged.add(entry.provider_id)
        for out in self.page.left_out:  # the provider's backfill window decided these
            skips.setdefault(out.provider_id, Skip(
                out.provider_id, "email" if out.kind == "message" else "meeting",
                "outside_window", out.reason, dedupe_key=key(out.key) if out.key else None))
        write = PageWrite(
            resource=self.page.resource,
            records=[item.record for item in logged],
            deletions=[d for d in deletions if d.provider_id not in last_logged],
            quarantined=list(self.page.quarantined),
            cursor=self.page.cursor,
            items=len(self.page.items),
            # the pass's skip count is the page's skip records: one place decides both
            skipped=sum(not skip.invite for skip in skips.values()),
            skips=list(skips.values()),
        )
        return PagePlan(decisions=decisions, logged=logged, skips=skips, private=private,
                        write=write)


def triage(page: Page, *, policy: Policy, level: str = "full",
           private_tags: frozenset[str] = frozenset(),
           private_events: PrivateEvents = "busy") -> Triage:
    """Walk ``page`` once: clamp, gather addresses, note automation and private marks
    (the rep's on mail; private meetings per ``private_events``, syncd.sync.private_events)."""
    out = Triage(page=page, policy=policy)
    for item in page.items:
        if isinstance(item, Deletion):
            out.sequence.append(item)
        elif isinstance(item, Message):
            message, invite_mark = carrier_rule(clamp_message(item, level), item.invites,
                                                private_events)
            people = message.participants
            out.addresses.extend(a.email for _, a in people)
            mark = private_mark(message, private_tags) or invite_mark
            if invite_mark is not None:
                out.private_meetings.extend(e.dedupe_key for e in message.invites
                                            if private_reason(e) is not None)
            sender = message.sender.email if message.sender is not None else None
            auto = message.automation
            automated = automation_reason(
                list_id=auto.list_id, list_unsubscribe=auto.list_unsubscribe,
                auto_submitted=auto.auto_submitted, precedence=auto.precedence,
                sender=sender, policy=policy)
            out.sequence.append(Entry("email", message.provider_id, message,
                                      automated=automated, private=mark))
            for invite in message.invites:
                out.addresses.extend(_event_addresses(invite))
                out.sequence.append(Entry("meeting", invite_provider_id(message, invite),
                                          invite, private=mark, carrier=message))
        else:
            event = clamp_event(item, level)
            out.addresses.extend(_event_addresses(event))
            skip = private_skip(event, private_events)
            if skip is not None:
                out.private_meetings.append(event.dedupe_key)
            out.sequence.append(Entry("meeting", event.provider_id, event, private=skip))
    return out


def _gate(entry: Entry, decisions: Mapping[str, Decision], policy: Policy) -> Skip | None:
    """matching's log gate: None if the entry is logged, else why not."""
    if isinstance(entry.item, Message):
        sender = entry.item.sender.email if entry.item.sender is not None else None
        people = [decisions[a.email] for _, a in entry.people]
        verdict = log_decision(people, automated_reason=entry.automated, policy=policy,
                               sender=sender)
    else:
        # attendees first, then the organizer: the order matching has always seen
        addresses = [a.address.email for a in entry.item.attendees]
        if entry.item.organizer is not None:
            addresses.append(entry.item.organizer.email)
        people = [decisions[p] for p in addresses]
        verdict = log_decision(people, automated_reason=None, policy=policy)
    if verdict.log:
        return None
    return _skip(entry, skip_reason(verdict.reason, people, automated=entry.automated),
                 verdict.reason)


def _skip(entry: Entry, reason: str, detail: str) -> Skip:
    dedupe = entry.item.message_id if isinstance(entry.item, Message) else entry.item.dedupe_key
    return Skip(entry.provider_id, entry.kind, reason, detail, dedupe_key=key(dedupe),
                invite=entry.carrier is not None)


def _record(entry: Entry, decisions: Mapping[str, Decision]) -> InteractionRecord:
    if isinstance(entry.item, Message):
        return message_record(entry.item, decisions)
    if entry.carrier is not None:
        return event_record(entry.item, decisions, provider_id=entry.provider_id,
                            folder=entry.carrier.folder, origin="itip")
    return event_record(entry.item, decisions)


def _event_addresses(event: Event) -> list[str]:
    found = [a.address.email for a in event.attendees]
    if event.organizer is not None:
        found.append(event.organizer.email)
    return found

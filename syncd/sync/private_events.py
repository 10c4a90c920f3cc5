"""Meetings marked private or confidential: the org-wide ``privacy.private_events`` rule.

Providers only report the mark (``Event.visibility``: iCalendar CLASS, Google
``visibility``, Graph ``sensitivity``); this module is where the engine's
triage (:mod:`syncd.sync.triage`) decides what the mark does, for calendar
events and for invites found in mail alike, whatever the account's privacy
level:

``busy`` (default)
    The meeting is logged as busy time: participants and times only. The
    store's record drops title and location and, when a copy that was logged
    earlier turns private, blanks them on the stored meeting
    (:func:`syncd.store.records.event_record`, :mod:`syncd.store.merge`).
    A message carrying a private invite keeps its participants and time but
    loses subject, snippet and body: they repeat the meeting's title.
``skip``
    The meeting is not logged (skip code ``private``) and neither is a
    message carrying it. If this account had logged it before it turned
    private, this account's copy goes through the store's one removal path
    (:func:`syncd.store.removal.forget_sources`, as for mail a rep marked
    private): an interaction left with no source is deleted and the change
    feed hears ``interaction.deleted``. Copies other accounts saw unmarked
    stay until their own calendars report the mark.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from providers.base import Event, Message

PrivateEvents = Literal["busy", "skip"]


def private_reason(event: Event) -> str | None:
    """Why ``event`` counts as private (None: it does not)."""
    if event.visibility == "public":
        return None
    return f"meeting marked {event.visibility}"


def private_skip(event: Event, rule: PrivateEvents) -> str | None:
    """Why ``event`` is not logged under ``rule`` (None: it is, maybe as busy time)."""
    reason = private_reason(event)
    if reason is None or rule != "skip":
        return None
    return f"{reason} (privacy.private_events: skip)"


def carrier_rule(message: Message, invites: Iterable[Event],
                 rule: PrivateEvents) -> tuple[Message, str | None]:
    """A message carrying a private invite: cut to metadata (``busy``), or the reason it
    is skipped with its invites (``skip``). Other messages come back unchanged."""
    reasons = [r for r in (private_reason(e) for e in invites) if r is not None]
    if not reasons:
        return message, None
    if rule == "skip":
        return message, f"carries an invite {reasons[0]} (privacy.private_events: skip)"
    if message.subject is None and message.snippet is None and message.body is None:
        return message, None
    return dataclasses.replace(message, subject=None, snippet=None, body=None), None

"""Privacy rules the engine applies to every page before it is stored.

Two rules, both defence in depth on top of what providers already do:

* **Level clamp** (:func:`clamp_page`). Whatever a provider sent, nothing
  beyond the account's privacy level reaches the store:

  ==========  =========================================================
  level       kept
  ==========  =========================================================
  metadata    participants and times only: no subject, snippet, body;
              meetings lose title and location (invites inside mail too)
  subject     + subject and meeting title/location
  snippet     + snippet
  full        + body
  ==========  =========================================================

* **Marked private** (:func:`private_skips`). A message carrying the
  account's ``private_keyword`` (IMAP), ``private_label`` (Gmail, or a
  Takeout mbox's ``X-Gmail-Labels`` on a local account) or
  ``private_category`` (Outlook) in ``Message.tags`` (compared
  case-insensitively) is not logged, nor are invites inside it; the cursor
  still moves. If this account had already logged it (marked private
  later: IMAP CONDSTORE and Gmail history re-send such messages),
  :func:`forget_sources` removes this account's source; an interaction
  left with no source at all is deleted with its participants. Copies
  other reps saw unmarked stay: the mark is one rep's decision about their
  own mailbox.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from providers.base import Event, Message, Page
from syncd.config.base import PRIVACY_ORDER
from syncd.store.records import invite_provider_id, key
from syncd.store.schema import Source
from syncd.store.sql import chunks

PRIVATE_SETTINGS = ("private_keyword", "private_label", "private_category")


# ---------------------------------------------------------------------- level clamp


def clamp_event(event: Event, level: str) -> Event:
    if PRIVACY_ORDER[level] >= PRIVACY_ORDER["subject"]:
        return event
    if event.title is None and event.location is None:
        return event
    return dataclasses.replace(event, title=None, location=None)


def clamp_message(message: Message, level: str) -> Message:
    rank = PRIVACY_ORDER[level]
    changes: dict[str, Any] = {}
    if rank < PRIVACY_ORDER["subject"] and message.subject is not None:
        changes["subject"] = None
    if rank < PRIVACY_ORDER["snippet"] and message.snippet is not None:
        changes["snippet"] = None
    if rank < PRIVACY_ORDER["full"] and message.body is not None:
        changes["body"] = None
    invites = tuple(clamp_event(e, level) for e in message.invites)
    if any(a is not b for a, b in zip(invites, message.invites, strict=True)):
        changes["invites"] = invites
    return dataclasses.replace(message, **changes) if changes else message


def clamp_page(page: Page, level: str) -> Page:
    """``page`` with every item cut down to ``level`` (the same object if nothing was cut)."""
    items: list[Any] = []
    changed = False
    for item in page.items:
        if isinstance(item, Message):
            new: Any = clamp_message(item, level)
        elif isinstance(item, Event):
            new = clamp_event(item, level)
        else:
            new = item
        changed = changed or new is not item
        items.append(new)
    return dataclasses.replace(page, items=items) if changed else page


# ---------------------------------------------------------------------- marked private


def private_tags(account: Any) -> frozenset[str]:
    """The account's configured private markers, case-folded (empty: none)."""
    found = (getattr(account, name, None) for name in PRIVATE_SETTINGS)
    return frozenset(str(v).strip().casefold() for v in found if v and str(v).strip())


def private_skips(page: Page, account: Any) -> dict[str, str]:
    """provider id -> reason, for messages (and their invites) the rep marked private."""
    tags = private_tags(account)
    if not tags:
        return {}
    out: dict[str, str] = {}
    for item in page.items:
        if not isinstance(item, Message) or not item.tags:
            continue
        marked = sorted({t for t in item.tags if t.strip().casefold() in tags})
        if not marked:
            continue
        reason = f"marked private by the rep ({marked[0]})"
        out[item.provider_id] = reason
        for invite in item.invites:
            out[invite_provider_id(item, invite)] = reason
    return out


def forget_sources(session: Session, account_id: str, provider_ids: Iterable[str]) -> int:
    """Remove this account's sources for ``provider_ids``; delete orphaned interactions.

    Returns how many interactions were deleted outright.
    """
    from syncd.purge import remove_account_sources  # one deletion path for purge and privacy

    pids = sorted({key(p) for p in provider_ids})
    ids: set[int] = set()
    for batch in chunks(pids):
        ids.update(session.scalars(
            select(Source.interaction_id)
            .where(Source.provider_id.in_(batch), Source.account_id == account_id)))
    if not ids:
        return 0
    return remove_account_sources(session, account_id, sorted(ids),
                                  reason="marked private").interactions


def merge_skips(*maps: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in maps:
        for k, v in m.items():
            out.setdefault(k, v)
    return out


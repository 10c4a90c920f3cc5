"""Privacy rules the engine applies to every page before it is stored.

Two rules, both defence in depth on top of what providers already do:

* **Level clamp** (:func:`clamp_message`; meetings:
  :func:`providers.ical.clamp_event`). Whatever a provider sent, nothing
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

* **Marked private** (:func:`private_mark`). A message carrying the
  account's ``private_keyword`` (IMAP), ``private_label`` (Gmail, or a
  Takeout mbox's ``X-Gmail-Labels`` on a local account) or
  ``private_category`` (Outlook) in ``Message.tags`` (compared
  case-insensitively) is not logged, nor are invites inside it; the cursor
  still moves. If this account had already logged it (marked private
  later: IMAP CONDSTORE and Gmail history re-send such messages),
  :func:`syncd.store.removal.forget_sources` removes this account's source; an interaction
  left with no source at all is deleted with its participants. Copies
  other reps saw unmarked stay: the mark is one rep's decision about their
  own mailbox.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from providers.base import Message
from providers.ical import clamp_event
from providers.settings import PRIVACY_ORDER, AccountBase

PRIVATE_SETTINGS = ("private_keyword", "private_label", "private_category")


# ---------------------------------------------------------------------- level clamp


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


# ---------------------------------------------------------------------- marked private


def private_tags(account: AccountBase) -> frozenset[str]:
    """The account's configured private markers, case-folded (empty: none)."""
    found = (getattr(account, name, None) for name in PRIVATE_SETTINGS)
    return frozenset(str(v).strip().casefold() for v in found if v and str(v).strip())


def private_mark(message: Message, tags: frozenset[str]) -> str | None:
    """Why ``message`` is not logged if it carries one of ``tags``, else None."""
    if not tags or not message.tags:
        return None
    marked = sorted({t for t in message.tags if t.strip().casefold() in tags})
    return f"marked private by the rep ({marked[0]})" if marked else None

"""Webhook subscriptions in the store: acknowledged positions, states, last errors.

One row per configured subscription (``webhook_subscriptions.id`` = its
name). Leases are the accounts' (:mod:`syncd.store.leases` with
``model=WebhookSubscription``); this module owns the rest.

State machine (persisted, so every replica and a restart agree)::

    (registered) ─► active ─┬─ receiver answered 410 ─► disabled
                            └─ position pruned from the feed ─► pruned
    disabled / pruned ─ resume() (an operator's decision) ─► active

Invariants:

* ``position`` is the last feed position whose events were acknowledged
  by a 2xx of the batch that carried them, or were filtered out; it only
  moves forward, and only by :func:`advance`, a compare-and-set on the
  old position: two deliverers of one batch (a lease lost mid-request)
  can both be acknowledged, but the position moves once and never back.
* A new subscription starts at the feed's oldest retained position
  (``change_feed.pruned_through``): it receives every event still in the
  feed, and is never born ``pruned``.
* Nothing here stores the secret or the URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update

from syncd.store.database import Database
from syncd.store.schema import ChangeFeedState, WebhookSubscription
from syncd.store.sql import dialect_insert, table_of
from syncd.store.types import utcnow

SubscriptionState = Literal["active", "disabled", "pruned"]


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """A subscription's stored facts."""

    name: str
    position: int
    state: SubscriptionState
    last_error: str | None
    last_delivered_at: datetime | None
    lease_holder: str | None
    lease_expires_at: datetime | None


def _row(sub: WebhookSubscription) -> SubscriptionRow:
    state: SubscriptionState = ("disabled" if sub.state == "disabled"
                                else "pruned" if sub.state == "pruned" else "active")
    return SubscriptionRow(sub.id, sub.position, state, sub.last_error, sub.last_delivered_at,
                           sub.lease_holder, sub.lease_expires_at)


def register(db: Database, names: Iterable[str]) -> None:
    """Create the rows of subscriptions not stored yet (existing ones are untouched)."""
    wanted = sorted(set(names))
    if not wanted:
        return
    with db.session() as s:
        start = s.scalar(
            select(ChangeFeedState.pruned_through).where(ChangeFeedState.id == 1)) or 0
        now = utcnow()
        rows = [{"id": name, "position": start, "state": "active", "updated_at": now}
                for name in wanted]
        s.execute(dialect_insert(s, table_of(WebhookSubscription)).values(rows)
                  .on_conflict_do_nothing())


def load(db: Database, name: str) -> SubscriptionRow | None:
    with db.session(write=False) as s:
        sub = s.get(WebhookSubscription, name)
        return None if sub is None else _row(sub)


def load_all(db: Database) -> dict[str, SubscriptionRow]:
    with db.session(write=False) as s:
        return {sub.id: _row(sub) for sub in s.scalars(select(WebhookSubscription))}


def advance(db: Database, name: str, *, after: int, to: int, delivered: bool) -> bool:
    """Move ``name`` from position ``after`` to ``to``; False if it was not at ``after``.

    ``delivered``: the receiver acknowledged (stamps ``last_delivered_at`` and
    clears ``last_error``); False when the events were only filtered out.
    """
    if to <= after:
        return False
    values: dict[str, object] = {"position": to, "updated_at": utcnow()}
    if delivered:
        values.update(last_delivered_at=values["updated_at"], last_error=None)
    with db.session() as s:
        result = s.execute(update(WebhookSubscription)
                           .where(WebhookSubscription.id == name,
                                  WebhookSubscription.position == after,
                                  WebhookSubscription.state == "active")
                           .values(**values))
        return bool(getattr(result, "rowcount", 0) == 1)


def set_state(db: Database, name: str, state: SubscriptionState, error: str | None) -> None:
    """Mark ``name`` disabled or pruned (with why), or active again."""
    with db.session() as s:
        s.execute(update(WebhookSubscription).where(WebhookSubscription.id == name)
                  .values(state=state, last_error=error, updated_at=utcnow()))


def note_error(db: Database, name: str, error: str) -> None:
    """Remember the last failed delivery (shown by every replica's ``/status``)."""
    with db.session() as s:
        s.execute(update(WebhookSubscription).where(WebhookSubscription.id == name)
                  .values(last_error=error, updated_at=utcnow()))


def resume(db: Database, name: str, *, position: int | None = None) -> SubscriptionRow | None:
    """Make ``name`` active again, optionally from ``position``; None if unknown.

    A pruned subscription without ``position`` resumes from the oldest
    retained event (the receiver is expected to have resynced meanwhile).
    """
    with db.session() as s:
        sub = s.get(WebhookSubscription, name, with_for_update=True)
        if sub is None:
            return None
        if position is None and sub.state == "pruned":
            position = s.scalar(
                select(ChangeFeedState.pruned_through).where(ChangeFeedState.id == 1)) or 0
        if position is not None:
            sub.position = position
        sub.state = "active"
        sub.last_error = None
        sub.updated_at = utcnow()
        s.flush()
        return _row(sub)

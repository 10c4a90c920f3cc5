"""Leases: several daemon replicas share one store and split accounts (and webhooks).

A lease is ``accounts.lease_holder`` + ``accounts.lease_expires_at``; webhook
subscriptions carry the same two columns (``webhook_subscriptions``) and go
through the same functions with ``model=WebhookSubscription``. An
account is free when it has no holder or its lease expired; a replica
claims free accounts, renews its leases while it syncs them, and releases
them when it stops. A replica that dies simply stops renewing: its accounts
become claimable when the leases expire.

Invariants:

* Claiming is atomic: on PostgreSQL candidate rows are locked with
  ``FOR UPDATE SKIP LOCKED`` (two replicas claiming at once never block
  each other and never get the same account); SQLite write transactions
  are serialized by ``BEGIN IMMEDIATE``.
* ``renew`` succeeds only for the current holder. False means the lease was
  lost (it expired and someone else took it): stop syncing that account.
* Time comes from the caller (``now``) so tests and replicas with a shared
  clock source agree; leases are compared in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from syncd.store.database import Database
from syncd.store.schema import Account, WebhookSubscription
from syncd.store.types import utcnow

#: the tables with leases: a string ``id`` plus ``lease_holder``/``lease_expires_at``
Leased = type[Account] | type[WebhookSubscription]


def claim(db: Database, holder: str, account_ids: Iterable[str], *, ttl_s: float,
          now: datetime | None = None, limit: int | None = None,
          model: Leased = Account) -> list[str]:
    """Take (or keep) the leases of free accounts among ``account_ids``.

    Returns the ids now held by ``holder`` through this call, sorted. Rows
    must exist (``SyncEngine.register_accounts``); unknown ids are ignored.
    """
    now = now or utcnow()
    wanted = sorted(set(account_ids))
    if not wanted:
        return []
    with db.session() as s:
        stmt = (
            select(model.id)
            .where(model.id.in_(wanted),
                   or_(model.lease_holder.is_(None), model.lease_holder == holder,
                       model.lease_expires_at.is_(None), model.lease_expires_at <= now))
            .order_by(model.id)
            .with_for_update(skip_locked=True)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        ids = list(s.scalars(stmt))  # locked until commit: the update below is ours alone
        if ids:
            s.execute(update(model).where(model.id.in_(ids))
                      .values(lease_holder=holder,
                              lease_expires_at=now + timedelta(seconds=ttl_s)))
        return ids


def renew(db: Database, holder: str, account_id: str, *, ttl_s: float,
          now: datetime | None = None) -> bool:
    """Extend ``holder``'s lease on ``account_id``; False if it no longer holds it."""
    now = now or utcnow()
    with db.session() as s:
        result = s.execute(
            update(Account)
            .where(Account.id == account_id, Account.lease_holder == holder)
            .values(lease_expires_at=now + timedelta(seconds=ttl_s))
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def release(db: Database, holder: str, account_ids: Iterable[str] | None = None, *,
            model: Leased = Account) -> int:
    """Give up ``holder``'s leases (all of them when ``account_ids`` is None)."""
    with db.session() as s:
        stmt = update(model).where(model.lease_holder == holder)
        if account_ids is not None:
            stmt = stmt.where(model.id.in_(sorted(set(account_ids))))
        result = s.execute(stmt.values(lease_holder=None, lease_expires_at=None))
        return int(getattr(result, "rowcount", 0) or 0)


def holders(db: Database) -> dict[str, tuple[str | None, datetime | None]]:
    """account id -> (holder, expiry), for status displays."""
    with db.session(write=False) as s:
        rows = s.execute(select(Account.id, Account.lease_holder, Account.lease_expires_at))
        return {account_id: (holder, expires) for account_id, holder, expires in rows}

"""Replica leases: several ``syncd run`` processes share one PostgreSQL store.

Each replica has an id (``scheduler.replica_id``, default ``host:pid:random``)
and a :class:`LeaseKeeper` that the daemon calls every ``lease_ttl / 3``
seconds on a thread of its own (:meth:`LeaseKeeper.refresh`):

1. heartbeat: upsert this replica's row in ``replicas`` (``last_seen_at``);
2. renew every lease it holds in one UPDATE; a lease it no longer holds
   (it expired and another replica took the account) is dropped at once;
3. fair share = ceil(enabled accounts / live replicas), live = seen within
   one TTL; holding more than that, release the surplus that is not
   syncing right now; holding less, claim free or expired accounts
   (``syncd.store.leases.claim``: ``SELECT … FOR UPDATE SKIP LOCKED``);
4. prune rows of replicas not seen for 10 TTLs.

Invariants:

* A pass starts only through :meth:`begin`, which checks under the lock
  that the lease is valid for at least another ``margin`` (a third of the
  TTL) and marks the account busy; :meth:`end` clears it. Rebalancing
  never releases a busy account, and drops a released account from the
  held set *before* writing the release, so no pass can start on a lease
  that another replica may already be claiming.
* A pass in progress keeps its lease because refresh renews every held
  lease, the syncing ones included; if a renewal finds the lease gone, the
  daemon's per-pass stop flag is raised (:meth:`lost`) and the engine stops
  after the page it is writing.
* A replica that dies stops renewing; its accounts become claimable when
  ``lease_expires_at`` passes (at most one TTL) and are picked up on the
  other replicas' next refresh (at most another TTL / 3).
* Stopping cleanly releases every lease so the others take over at once.

Clocks: expiry compares the replicas' clocks (UTC). Keep them NTP-synced;
a skew of s seconds shortens the safety margin by s (it must stay well under
``lease_ttl / 3``).

Webhook subscriptions are split the same way by a second keeper built with
``model=WebhookSubscription`` (same replica id and heartbeat row, its own
fair share); a delivery worker brackets each batch with :meth:`begin` /
:meth:`end` as a pass does.

SQLite stores are single-writer files on one machine: leases are off there
by default (``scheduler.leases: auto``) and one replica syncs everything.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from syncd.store import leases as store_leases
from syncd.store.database import Database
from syncd.store.leases import Leased
from syncd.store.schema import Account, Replica
from syncd.store.types import utcnow


def default_replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    """This replica's leases: which accounts it may sync, kept fresh in the store."""

    def __init__(self, db: Database, replica_id: str, *, ttl_s: float,
                 clock: Callable[[], datetime] = utcnow, model: Leased = Account) -> None:
        self.db = db
        #: the leased table: accounts, or webhook subscriptions
        self.model = model
        self.replica_id = replica_id
        self.ttl_s = ttl_s
        self.margin_s = ttl_s / 3
        self._clock = clock
        self._lock = threading.Lock()
        #: account id -> lease expiry, as last written by us
        self._held: dict[str, datetime] = {}
        #: accounts with a pass running here (between begin and end)
        self._busy: set[str] = set()
        self._started = clock()

    # ------------------------------------------------------------------ queries
    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def holds(self, account_id: str) -> bool:
        """True if we hold ``account_id`` with at least ``margin_s`` left on the lease."""
        with self._lock:
            expiry = self._held.get(account_id)
        return expiry is not None and expiry - self._clock() > timedelta(seconds=self.margin_s)

    def begin(self, account_id: str) -> bool:
        """Mark a pass of ``account_id`` as running, if we hold its lease; else False."""
        with self._lock:
            expiry = self._held.get(account_id)
            if expiry is None or expiry - self._clock() <= timedelta(seconds=self.margin_s):
                return False
            self._busy.add(account_id)
            return True

    def end(self, account_id: str) -> None:
        with self._lock:
            self._busy.discard(account_id)

    def expiry(self, account_id: str) -> datetime | None:
        with self._lock:
            return self._held.get(account_id)

    # ------------------------------------------------------------------ refresh
    def refresh(self, enabled: Iterable[str]) -> tuple[set[str], set[str]]:
        """One round of heartbeat, renew, rebalance; returns (gained, lost) account ids.

        ``enabled``: every account this replica would sync (the config).
        Raises StoreError when the store is unreachable (leases then lapse
        on their own, which is what must happen).
        """
        wanted = sorted(set(enabled))
        now = self._clock()
        expires = now + timedelta(seconds=self.ttl_s)
        with self._lock:
            before = set(self._held)
        with self.db.session() as s:
            row = s.get(Replica, self.replica_id)
            if row is None:
                s.add(Replica(id=self.replica_id, host=socket.gethostname(), pid=os.getpid(),
                              started_at=self._started, last_seen_at=now))
            else:
                row.last_seen_at = now
            renewed: set[str] = set()
            if before:
                result = s.execute(
                    update(self.model)
                    .where(self.model.lease_holder == self.replica_id,
                           self.model.id.in_(sorted(before)),
                           self.model.lease_expires_at > now)
                    .values(lease_expires_at=expires)
                    .returning(self.model.id))
                renewed = {r[0] for r in result}
            live = s.scalar(select(func.count()).select_from(Replica)
                            .where(Replica.last_seen_at > now - timedelta(seconds=self.ttl_s)))
            s.execute(delete(Replica).where(
                Replica.last_seen_at < now - timedelta(seconds=10 * self.ttl_s)))
        lost = before - renewed
        kept = renewed & set(wanted)
        share = math.ceil(len(wanted) / max(1, int(live or 1))) if wanted else 0
        surplus = len(kept) - share
        released: set[str] = set()
        dropped = renewed - set(wanted)  # removed from the config: give them back
        with self._lock:
            if surplus > 0:
                idle = sorted(kept - self._busy, reverse=True)
                released = set(idle[:surplus])
            for account_id in released | dropped | lost:  # before the store says "free"
                self._held.pop(account_id, None)
        if released | dropped:
            store_leases.release(self.db, self.replica_id, released | dropped,
                                 model=self.model)
        kept -= released
        gained: set[str] = set()
        if len(kept) < share:
            free = [a for a in wanted if a not in kept]
            claimed = store_leases.claim(self.db, self.replica_id, free, ttl_s=self.ttl_s,
                                         now=now, limit=share - len(kept), model=self.model)
            gained = set(claimed)
        with self._lock:
            for account_id in kept | gained:
                self._held[account_id] = expires
        return gained, lost | released

    def release_all(self) -> None:
        """Give every lease back and drop the heartbeat row (clean stop)."""
        with self._lock:
            self._held.clear()
        store_leases.release(self.db, self.replica_id, model=self.model)
        with self.db.session() as s:
            s.execute(delete(Replica).where(Replica.id == self.replica_id))


def leases_enabled(mode: str, dialect: str) -> bool:
    """``scheduler.leases``: on, off, or auto (on for PostgreSQL, off for SQLite)."""
    if mode == "auto":
        return dialect == "postgresql"
    return mode == "on"

"""Leases on both databases: exclusive claims, expiry takeover, renew, release."""

from __future__ import annotations

import threading
from datetime import timedelta

from syncd.store.database import Database
from syncd.store.leases import claim, holders, release, renew
from syncd.store.types import utcnow
from tests.syncd.store.builders import ensure_account

IDS = [f"acc{n:02d}" for n in range(12)]


def setup_accounts(db: Database) -> None:
    for account_id in IDS:
        ensure_account(db, account_id)


def test_claims_are_exclusive_until_expiry(database: Database) -> None:
    setup_accounts(database)
    now = utcnow()
    assert claim(database, "a", IDS[:4], ttl_s=60, now=now) == IDS[:4]
    assert claim(database, "b", IDS[:6], ttl_s=60, now=now) == IDS[4:6]
    assert claim(database, "a", IDS[:4], ttl_s=60, now=now) == IDS[:4]  # own leases: kept
    later = now + timedelta(seconds=61)
    assert renew(database, "b", "acc04", ttl_s=60, now=later)
    assert claim(database, "b", IDS[:6], ttl_s=60, now=later) == IDS[:6]  # a's expired
    assert not renew(database, "a", "acc00", ttl_s=60, now=later)  # lost it
    assert holders(database)["acc00"][0] == "b"
    assert release(database, "b", ["acc00"]) == 1
    assert claim(database, "a", ["acc00", "nope"], ttl_s=60, now=later) == ["acc00"]
    assert release(database, "b") == 5
    assert claim(database, "c", IDS, ttl_s=60, now=later, limit=3) == IDS[1:4]


def test_concurrent_claims_never_share_an_account(database: Database) -> None:
    setup_accounts(database)
    won: dict[str, list[str]] = {}
    barrier = threading.Barrier(3)

    def run(holder: str) -> None:
        barrier.wait()
        won[holder] = []
        for account_id in IDS:
            won[holder] += claim(database, holder, [account_id], ttl_s=60)

    threads = [threading.Thread(target=run, args=(h,)) for h in ("r1", "r2", "r3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [a for ids in won.values() for a in ids]
    assert sorted(claimed) == IDS  # each account exactly once

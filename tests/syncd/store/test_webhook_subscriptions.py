"""Webhook subscription rows on both databases: where a new one starts, the
compare-and-set position, states, and leases shared with accounts' code."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from syncd.store import leases
from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.changes import Change, prune_changes, record_changes
from syncd.store.database import Database
from syncd.store.schema import WebhookSubscription
from syncd.store.types import utcnow


def test_new_subscriptions_start_at_the_oldest_retained_event(database: Database) -> None:
    subscriptions.register(database, ["early"])
    with database.session() as s:
        record_changes(s, [Change("interaction.created", "interaction", i, {}) for i in range(5)])
    prune_changes(database, retention_days=1, now=utcnow() + timedelta(days=2))
    subscriptions.register(database, ["early", "late"])  # existing rows are untouched
    rows = subscriptions.load_all(database)
    assert (rows["early"].position, rows["late"].position) == (0, 5)
    assert rows["late"].state == "active" and rows["late"].last_error is None


def test_advance_is_a_compare_and_set(database: Database) -> None:
    subscriptions.register(database, ["crm"])
    assert subscriptions.advance(database, "crm", after=0, to=7, delivered=True)
    assert not subscriptions.advance(database, "crm", after=0, to=7, delivered=True)
    assert not subscriptions.advance(database, "crm", after=7, to=3, delivered=True)
    row = subscriptions.load(database, "crm")
    assert row is not None and row.position == 7 and row.last_delivered_at is not None
    subscriptions.set_state(database, "crm", "disabled", "receiver answered 410")
    assert not subscriptions.advance(database, "crm", after=7, to=9, delivered=False)
    resumed = subscriptions.resume(database, "crm")
    assert resumed is not None and (resumed.state, resumed.position) == ("active", 7)
    assert resumed.last_error is None
    assert subscriptions.resume(database, "nope") is None


def test_leases_on_subscriptions_use_the_accounts_code(database: Database) -> None:
    subscriptions.register(database, ["a", "b", "c"])
    now = utcnow()
    assert leases.claim(database, "r1", ["a", "b"], ttl_s=30, now=now,
                        model=WebhookSubscription) == ["a", "b"]
    assert leases.claim(database, "r2", ["a", "b", "c"], ttl_s=30, now=now,
                        model=WebhookSubscription) == ["c"]
    # expired leases are free again
    assert leases.claim(database, "r2", ["a"], ttl_s=30, now=now + timedelta(seconds=31),
                        model=WebhookSubscription) == ["a"]
    assert leases.release(database, "r1", model=WebhookSubscription) == 1
    rows = subscriptions.load_all(database)
    assert rows["a"].lease_holder == "r2" and rows["b"].lease_holder is None
    assert leases.holders(database) == {}  # accounts' leases are another table


@pytest.mark.postgres
@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_concurrent_claims_never_share_a_subscription(database: Database) -> None:
    names = [f"hook-{i}" for i in range(20)]
    subscriptions.register(database, names)
    got: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claim(holder: str) -> None:
        barrier.wait()
        got[holder] = leases.claim(database, holder, names, ttl_s=30, limit=5,
                                   model=WebhookSubscription)

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [n for held in got.values() for n in held]
    assert len(claimed) == len(set(claimed))  # SKIP LOCKED: no subscription twice
    assert all(len(held) <= 5 for held in got.values())

"""Two replicas' webhook deliveries on one PostgreSQL store: each subscription is
delivered by exactly one of them (leases on ``webhook_subscriptions``, claimed with
SKIP LOCKED, a fair share each), and a replica that dies hands its subscriptions
over once its leases expire, without losing or repeating an event."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from syncd.daemon.metrics import SyncMetrics
from syncd.daemon.webhook_job import DaemonWebhooks
from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.database import Database
from syncd.store.types import utcnow
from tests.syncd.webhooks.receiver import check_order_and_ids, new_secret, receiver
from tests.syncd.webhooks.test_worker import add_events, hook, wait_position

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)]

NAMES = ["s0", "s1", "s2", "s3"]
TTL = 3.0


def delivered(metrics: SyncMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value(
        "syncd_webhook_deliveries_total", {"subscription": name, "outcome": "delivered"})
    return value or 0.0


class Refresher:
    """The daemon's lease job: refresh every TTL / 3 on a thread of its own."""

    def __init__(self, replica: DaemonWebhooks) -> None:
        self.replica = replica
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(TTL / 3):
            self.replica.refresh()


def test_each_subscription_is_delivered_by_exactly_one_replica(database: Database) -> None:
    secret = new_secret()
    with receiver(secret) as rx:
        hooks = [hook(n, rx.url(f"/{n}"), secret, batch_size=3) for n in NAMES]
        a_metrics, b_metrics = SyncMetrics(), SyncMetrics()
        a = DaemonWebhooks(database, "replica-a", leases=True, ttl_s=TTL, metrics=a_metrics,
                           clock=utcnow)
        b = DaemonWebhooks(database, "replica-b", leases=True, ttl_s=TTL, metrics=b_metrics,
                           clock=utcnow)
        a.apply(hooks)
        b.apply(hooks)
        for replica in (a, b, a, b):  # a claims all, sees b, gives up its surplus to b
            replica.refresh()
        assert a.keeper is not None and b.keeper is not None
        held_a, held_b = a.keeper.held(), b.keeper.held()
        assert len(held_a) == len(held_b) == 2 and not held_a & held_b
        refreshers = [Refresher(a), Refresher(b)]
        try:
            for start in range(0, 40, 8):
                add_events(database, 8, start=start)
                time.sleep(0.2)
            for name in NAMES:
                wait_position(database, name, 40)
            for name in NAMES:  # exactly one replica delivered each subscription
                by = [r for r, m in (("a", a_metrics), ("b", b_metrics)) if delivered(m, name)]
                assert by == (["a"] if name in held_a else ["b"]), (name, by)
            stored = subscriptions.load_all(database)
            assert {n for n in NAMES if stored[n].lease_holder == "replica-a"} == held_a

            # replica a dies: no release, its leases lapse; b takes over within ~1.3 TTL
            refreshers[0].stop.set()
            assert a.runner is not None and a.runner.stop()
            add_events(database, 10, start=40)
            started = time.monotonic()
            for name in NAMES:
                wait_position(database, name, 50, timeout=20)
            assert time.monotonic() - started < 2 * TTL + 3
            assert b.keeper.held() == set(NAMES)
            for name in held_a:
                assert delivered(b_metrics, name) > 0
        finally:
            for r in refreshers:
                r.stop.set()
            b.stop(release=True)
    for name in NAMES:
        seen = rx.on(f"/{name}")
        check_order_and_ids(seen, list(range(1, 51)))
        assert max(Counter(d.webhook_id for d in seen).values()) == 1  # no fault, no repeat

"""Delivery workers against a real receiver (signatures verified with the
``standardwebhooks`` library), on SQLite and PostgreSQL: batches in feed order,
type filtering, faults (5xx, timeouts, dropped connections) without loss and
with repeats only under the same ``webhook-id``, 410 disabling, Retry-After,
a pruned position, and resuming."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from pydantic import SecretStr

from syncd.config.webhooks import WebhookSettings
from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.changes import Change, prune_changes, read_changes, record_changes
from syncd.store.database import Database
from syncd.store.types import utcnow
from syncd.webhooks.runner import WebhookRunner
from syncd.webhooks.worker import Outcome
from tests.syncd.webhooks.receiver import (
    Action,
    check_order_and_ids,
    events_of,
    new_secret,
    receiver,
)

TYPES = ("interaction.created", "company.updated", "reminder.opened", "interaction.updated",
         "contact.created")


def add_events(db: Database, count: int, *, start: int = 0) -> None:
    with db.session() as s:
        record_changes(s, [Change(TYPES[(start + i) % len(TYPES)], "interaction", start + i,
                                  {"n": start + i}) for i in range(count)])


def hook(name: str, url: str, secret: str, **overrides: object) -> WebhookSettings:
    values: dict[str, object] = {
        "name": name, "url": url, "secret": SecretStr(secret), "backoff_base": 0.05,
        "backoff_max": 0.2, "poll_interval_s": 0.05, "timeout_s": 2, "batch_size": 7}
    values.update(overrides)
    return WebhookSettings.model_validate(values)


def wait_position(db: Database, name: str, target: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = subscriptions.load(db, name)
        if row is not None and row.position >= target:
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} stuck at {row}")


class Outcomes:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, name: str, outcome: Outcome) -> None:
        with self._lock:
            self.counts[(name, outcome)] += 1


def test_batches_in_feed_order_filtered_and_signed(database: Database) -> None:
    secret = new_secret()
    add_events(database, 25)
    outcomes = Outcomes()
    with receiver(secret) as rx:
        runner = WebhookRunner(database, record=outcomes)
        runner.apply([hook("crm", rx.url("/crm"), secret,
                           events=["interaction.*", "reminder.opened"]),
                      hook("all", rx.url("/all"), secret),
                      hook("off", rx.url("/off"), secret, enabled=False)])
        try:
            wait_position(database, "crm", 25)
            wait_position(database, "all", 25)
            add_events(database, 5, start=25)  # picked up while running
            wait_position(database, "crm", 30)
            wait_position(database, "all", 30)
            requests = len(rx.on("/crm"))
            with database.session() as s:  # nothing crm wants: it moves on without a request
                record_changes(s, [Change("company.updated", "company", 1, {})] * 3)
            wait_position(database, "crm", 33)
            wait_position(database, "all", 33)
            assert len(rx.on("/crm")) == requests
        finally:
            assert runner.stop()
    everything = read_changes(database, after=0, limit=1000).events
    wanted = [e.position for e in everything
              if e.type.startswith("interaction.") or e.type == "reminder.opened"]
    check_order_and_ids(rx.on("/crm"), wanted)
    check_order_and_ids(rx.on("/all"), [e.position for e in everything])
    assert len(everything) == 33 and outcomes.counts[("crm", "filtered")] == 1
    assert rx.on("/off") == [] and subscriptions.load(database, "off") is None
    first = rx.on("/all")[0]
    assert first.webhook_id == "all:1-7" and first.positions == list(range(1, 8))
    event = events_of(first)[0]
    assert set(event) == {"position", "type", "entity", "entity_id", "state", "at"}
    assert event["type"] == everything[0].type and event["state"] == {"n": 0}
    assert event["at"].endswith("Z") and first.payload["subscription"] == "all"
    assert all(events_of(d) for d in rx.on("/crm"))  # never an empty batch
    assert outcomes.counts[("all", "delivered")] == len(rx.on("/all"))
    assert outcomes.counts[("all", "failed")] == 0
    row = subscriptions.load(database, "crm")
    assert row is not None and row.state == "active" and row.last_delivered_at is not None


def test_faults_lose_nothing_and_repeat_only_the_same_batch(database: Database) -> None:
    secret = new_secret()
    faults: dict[int, Action] = {0: (500, None), 1: (502, None), 2: "drop", 3: ("slow", 1.0),
                                 4: (503, None), 7: "drop", 8: "drop", 9: ("slow", 1.0),
                                 12: (500, None), 13: (429, None)}
    add_events(database, 30)
    outcomes = Outcomes()
    with receiver(secret, lambda _path, n: faults.get(n, "ok")) as rx:
        runner = WebhookRunner(database, record=outcomes)
        runner.apply([hook("crm", rx.url("/hook?token=do-not-show"), secret, timeout_s=0.4,
                           batch_size=4)])
        try:
            # writers keep committing while the receiver misbehaves
            for start in range(30, 60, 5):
                add_events(database, 5, start=start)
                time.sleep(0.1)
            wait_position(database, "crm", 60, timeout=60)
        finally:
            assert runner.stop()
    seen = rx.on("/hook?token=do-not-show")
    check_order_and_ids(seen, list(range(1, 61)))
    ids = Counter(d.webhook_id for d in seen)
    assert ids[seen[0].webhook_id] >= 5  # the first batch survived 5xx, a drop, a timeout
    assert any(d.answered.startswith("('slow'") for d in seen)  # late 2xx: retried, same id
    assert outcomes.counts[("crm", "failed")] == len(faults)
    row = subscriptions.load(database, "crm")
    assert row is not None and row.state == "active" and row.last_error is None


def test_failed_delivery_is_reported_without_the_url(database: Database) -> None:
    secret = new_secret()
    add_events(database, 3)
    with receiver(secret, lambda _path, _n: (500, None)) as rx:
        runner = WebhookRunner(database)
        runner.apply([hook("crm", rx.url("/h?token=do-not-show"), secret)])
        try:
            rx.wait_for(lambda: len(rx.deliveries) >= 2)
            rt = runner.runtime()["crm"]
            assert rt.state in ("retrying", "delivering") and rt.failures >= 1
        finally:
            assert runner.stop()
    assert rt.last_error == "webhook crm: the receiver answered 500"
    row = subscriptions.load(database, "crm")
    assert row is not None and row.position == 0
    assert row.last_error == "webhook crm: the receiver answered 500"
    assert rt.lag_events == 3 and (rt.lag_seconds(utcnow()) or 0) > 0


def test_410_disables_until_resumed(database: Database) -> None:
    secret = new_secret()
    add_events(database, 3)
    answers: list[Action] = ["gone"]
    outcomes = Outcomes()
    with receiver(secret, lambda _p, n: answers[n] if n < len(answers) else "ok") as rx:
        runner = WebhookRunner(database, record=outcomes)
        runner.apply([hook("crm", rx.url(), secret)])
        try:
            rx.wait_for(lambda: len(rx.deliveries) == 1)
            deadline = time.monotonic() + 10
            while runner.runtime()["crm"].state != "disabled" and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)  # many poll intervals: nothing more is sent
            assert len(rx.deliveries) == 1
            row = subscriptions.load(database, "crm")
            assert row is not None and row.state == "disabled" and row.position == 0
            assert row.last_error is not None and "410 Gone" in row.last_error
            assert outcomes.counts[("crm", "gone")] == 1
            resumed = subscriptions.resume(database, "crm")
            assert resumed is not None and resumed.state == "active"
            wait_position(database, "crm", 3)
        finally:
            assert runner.stop()
    check_order_and_ids(rx.deliveries, [1, 2, 3])


def test_retry_after_is_a_floor(database: Database) -> None:
    secret = new_secret()
    add_events(database, 2)
    with receiver(secret, lambda _p, n: (503, "1") if n == 0 else "ok") as rx:
        runner = WebhookRunner(database)
        runner.apply([hook("crm", rx.url(), secret, backoff_base=0.01, backoff_max=0.02)])
        try:
            wait_position(database, "crm", 2)
        finally:
            assert runner.stop()
    first, second = rx.deliveries[:2]
    assert first.webhook_id == second.webhook_id
    assert 1.0 <= second.at - first.at < 5.0  # without the header: at most 0.01 s


def test_a_pruned_position_stops_delivery_with_a_clear_error(database: Database) -> None:
    secret = new_secret()
    add_events(database, 4)
    subscriptions.register(database, ["crm"])  # at position 0: the feed keeps everything
    assert prune_changes(database, retention_days=1, now=utcnow() + timedelta(days=2)) == 4
    with receiver(secret) as rx:
        runner = WebhookRunner(database)
        runner.apply([hook("crm", rx.url(), secret)])
        try:
            deadline = time.monotonic() + 10
            while runner.runtime()["crm"].state != "pruned" and time.monotonic() < deadline:
                time.sleep(0.02)
            row = subscriptions.load(database, "crm")
            assert row is not None and row.state == "pruned" and row.position == 0
            assert row.last_error is not None
            assert "position 0 was pruned (events through 4 are gone)" in row.last_error
            assert rx.deliveries == []
            add_events(database, 2, start=4)
            resumed = subscriptions.resume(database, "crm")  # from the oldest retained event
            assert resumed is not None and resumed.position == 4
            wait_position(database, "crm", 6)
        finally:
            assert runner.stop()
    check_order_and_ids(rx.deliveries, [5, 6])


def test_a_dead_receiver_does_not_slow_another_subscription(database: Database) -> None:
    secret = new_secret()
    add_events(database, 20)

    def script(path: str, _n: int) -> Action:
        return ("slow", 5.0) if path == "/dead" else "ok"

    with receiver(secret, script) as rx:
        runner = WebhookRunner(database)
        runner.apply([hook("dead", rx.url("/dead"), secret, timeout_s=3),
                      hook("live", rx.url("/live"), secret, batch_size=2)])
        try:
            started = time.monotonic()
            wait_position(database, "live", 20)
            assert time.monotonic() - started < 3  # ten batches while "dead" hangs
            row = subscriptions.load(database, "dead")
            assert row is not None and row.position == 0
        finally:
            assert runner.stop(timeout=10)

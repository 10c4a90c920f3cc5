"""One delivery worker (a thread) per subscription: the feed after its position, in order.

Loop (with leases, only while this replica holds the subscription's lease;
each request and its position update inside the :class:`Gate`'s
``begin``/``end``, as a sync pass, so a lease is never given away while a
batch is in flight)::

    load the stored row ─ not active (disabled, pruned) ─► wait, look again
      │ active
      ▼
    a batch in hand for this position? ─ no ─► read_changes(after=position)
      │                                          ├─ ChangesPruned ─► state pruned
      │                                          ├─ nothing new ────► wait poll_interval
      │                                          └─ none match ─────► advance, go on
      ▼
    POST the batch ─┬─ 2xx ─► advance(position → batch end), drop the batch
                    ├─ 410 ─► state disabled (persisted, logged)
                    └─ other ─► keep the batch; wait backoff_delay(failures,
                                retry_after floor); same id next time

Worker states (``/status``): ``starting``, ``idle`` (caught up),
``delivering``, ``retrying`` (a batch failed; waiting), ``standby`` (another
replica holds the lease), ``disabled``, ``pruned``, ``store_error``,
``failed`` (a bug; logged with its traceback, retried), ``stopped``.

Invariants:

* **At least once, in order.** The stored position moves only after a 2xx
  for the batch ending there (or past events the filter drops), by a
  compare-and-set; a batch is retried, unchanged, until acknowledged, so
  a duplicate always carries the same ``webhook-id``. A crash between the
  2xx and the position update redelivers that batch once more.
* **Isolation.** Each subscription has its own thread, HTTP client and
  failure count; a slow or dead receiver delays only its own worker, never
  a sync pass or another subscription. Waits are on the stop event, so a
  stop takes at most one request's ``timeout_s``.
* **Backoff** is :func:`providers.retry.backoff_delay`, the policy of the
  daemon's account backoff: full jitter up to
  ``min(backoff_max, backoff_base * 2^(n-1))`` after ``n`` failures in a
  row, never below the receiver's ``Retry-After`` (capped at
  ``max_retry_after``). Deliveries never give up: the feed's retention
  bounds how long a receiver may be away (then: ``pruned``).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from providers.retry import RandomSource, backoff_delay
from syncd.config.webhooks import WebhookSettings
from syncd.errors import StoreError, describe
from syncd.jsontext import utc_iso
from syncd.logs import get_logger
from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.changes import ChangesPruned, read_changes
from syncd.store.database import Database
from syncd.webhooks.delivery import Batch, Deliverer, DeliveryFailed, ReceiverGone

log = get_logger(__name__)

WorkerState = Literal["starting", "idle", "delivering", "retrying", "standby", "disabled",
                      "pruned", "store_error", "failed", "stopped"]
#: ``syncd_webhook_deliveries_total`` outcomes
Outcome = Literal["delivered", "failed", "gone", "filtered"]


class Gate(Protocol):
    """Whether this replica may deliver a subscription now (the daemon's lease keeper)."""

    def holds(self, name: str, /) -> bool: ...

    def begin(self, name: str, /) -> bool: ...

    def end(self, name: str, /) -> None: ...


@dataclass
class WebhookRuntime:
    """What this process knows about one subscription (read by ``/status`` and metrics)."""

    name: str
    state: WorkerState = "starting"
    #: the stored position last seen, and the feed's newest position then
    position: int | None = None
    feed_position: int | None = None
    #: when the last read of the feed began (every change committed before it was seen)
    feed_read_at: datetime | None = None
    #: when the oldest undelivered event was recorded (None: caught up)
    oldest_pending_at: datetime | None = None
    last_error: str | None = None
    last_delivered_at: datetime | None = None
    failures: int = 0
    retry_at: datetime | None = None
    deliveries: int = 0

    @property
    def lag_events(self) -> int | None:
        if self.position is None or self.feed_position is None:
            return None
        return max(0, self.feed_position - self.position)

    def lag_seconds(self, now: datetime) -> float | None:
        """Age of the oldest undelivered event (0 when caught up; None if unknown)."""
        if self.position is None:
            return None
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_pending_at).total_seconds())

    def to_dict(self, now: datetime) -> dict[str, object]:
        lag_s = self.lag_seconds(now)
        return {
            "state": self.state, "position": self.position,
            "feed_position": self.feed_position, "lag_events": self.lag_events,
            "feed_read_at": utc_iso(self.feed_read_at),
            "lag_s": None if lag_s is None else round(lag_s, 3),
            "last_error": self.last_error, "last_delivered_at": utc_iso(self.last_delivered_at),
            "failures": self.failures, "retry_at": utc_iso(self.retry_at),
            "deliveries": self.deliveries,
        }


class DeliveryWorker:
    """Delivers one subscription on a thread of its own (see the module docstring)."""

    def __init__(self, settings: WebhookSettings, db: Database, *, gate: Gate | None = None,
                 record: Callable[[str, Outcome], None] | None = None,
                 rng: RandomSource | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.db = db
        self.runtime = WebhookRuntime(settings.name)
        self._gate = gate
        self._record = record
        self._rng = rng or random.Random()
        self._clock = clock
        self._stop = threading.Event()
        self._batch: Batch | None = None
        self._thread = threading.Thread(target=self._run, name=f"syncd-webhook-{settings.name}",
                                        daemon=True)

    @property
    def name(self) -> str:
        return self.settings.name

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the worker to stop (it finishes the request in flight, if any)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if it ended."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        log.info("webhook worker started", webhook=self.name)
        with Deliverer(self.settings) as deliverer:
            while not self._stop.is_set():
                delay = self.step(deliverer)
                if delay > 0:
                    self._stop.wait(delay)
        self.runtime.state = "stopped"
        log.info("webhook worker stopped", webhook=self.name)

    def step(self, deliverer: Deliverer) -> float:
        """One round; returns the seconds to wait before the next."""
        poll = self.settings.poll_interval_s
        if self._gate is not None and not self._gate.holds(self.name):
            self.runtime.state = "standby"
            return poll
        try:
            return self._deliver(deliverer)
        except StoreError as exc:
            self.runtime.state = "store_error"
            self.runtime.last_error = describe(exc)
            log.warning("webhook: store unavailable; retrying", webhook=self.name,
                        error=describe(exc))
            return self._failed(None)
        except Exception as exc:  # a bug: log it, keep the worker (and the daemon) alive
            self.runtime.state = "failed"
            self.runtime.last_error = describe(exc)
            log.exception("webhook worker crashed; retrying", webhook=self.name)
            return self._failed(None)

    def _deliver(self, deliverer: Deliverer) -> float:
        rt = self.runtime
        poll = self.settings.poll_interval_s
        row = subscriptions.load(self.db, self.name)
        if row is None:  # registered by the runner; a wiped store registers again
            subscriptions.register(self.db, [self.name])
            return 0.0
        rt.position = row.position
        if row.state != "active":
            rt.state = row.state
            rt.last_error = row.last_error
            self._batch = None
            return poll
        if self._batch is None or self._batch.after != row.position:
            self._batch = None
            read_at = self._clock()
            try:
                page = read_changes(self.db, after=row.position, limit=self.settings.batch_size)
            except ChangesPruned as exc:
                subscriptions.set_state(self.db, self.name, "pruned", describe(exc))
                rt.state, rt.last_error = "pruned", describe(exc)
                log.error("webhook position was pruned from the feed; delivery stopped",
                          webhook=self.name, position=row.position,
                          pruned_through=exc.pruned_through)
                return poll
            rt.feed_position, rt.feed_read_at = page.last_position, read_at
            rt.oldest_pending_at = page.events[0].at if page.events else None
            if not page.events:
                rt.state, rt.failures, rt.retry_at = "idle", 0, None
                return poll
            through = page.events[-1].position
            wanted = tuple(e for e in page.events if self.settings.matches(e.type))
            if not wanted:  # nothing for this receiver: move past without a request
                subscriptions.advance(self.db, self.name, after=row.position, to=through,
                                      delivered=False)
                self._count("filtered")
                return 0.0
            self._batch = Batch(self.name, row.position, through, wanted)
        if self._gate is not None and not self._gate.begin(self.name):
            rt.state = "standby"  # the lease is about to lapse: the next holder sends it
            return poll
        try:
            return self._send(deliverer, self._batch)
        finally:
            if self._gate is not None:
                self._gate.end(self.name)

    def _send(self, deliverer: Deliverer, batch: Batch) -> float:
        rt = self.runtime
        poll = self.settings.poll_interval_s
        rt.state = "delivering"
        try:
            deliverer.post(batch)
        except ReceiverGone as exc:
            subscriptions.set_state(self.db, self.name, "disabled", describe(exc))
            rt.state, rt.last_error = "disabled", describe(exc)
            self._batch = None
            self._count("gone")
            log.warning("webhook disabled: the receiver answered 410 Gone", webhook=self.name,
                        batch=batch.id)
            return poll
        except DeliveryFailed as exc:
            self._count("failed")
            rt.last_error = describe(exc)
            delay = self._failed(exc.retry_after)
            rt.state = "retrying"
            log.warning("webhook delivery failed; retrying", webhook=self.name, batch=batch.id,
                        status=exc.status, failures=rt.failures, retry_in_s=round(delay, 3),
                        error=describe(exc))
            with contextlib.suppress(StoreError):  # the runtime copy still shows it
                subscriptions.note_error(self.db, self.name, describe(exc))
            return delay
        self._count("delivered")
        # a crash right here redelivers the batch (same id): at least once
        subscriptions.advance(self.db, self.name, after=batch.after, to=batch.through,
                              delivered=True)
        self._batch = None
        rt.deliveries += 1
        rt.failures, rt.retry_at, rt.last_error = 0, None, None
        rt.position = batch.through
        rt.last_delivered_at = self._clock()
        log.debug("webhook batch delivered", webhook=self.name, batch=batch.id,
                  events=len(batch.events))
        return 0.0

    def _failed(self, retry_after: float | None) -> float:
        rt = self.runtime
        rt.failures += 1
        s = self.settings
        delay = backoff_delay(rt.failures, base=s.backoff_base, cap=s.backoff_max,
                              retry_after=retry_after, max_retry_after=s.max_retry_after,
                              rng=self._rng)
        rt.retry_at = self._clock() + timedelta(seconds=delay)
        return delay

    def _count(self, outcome: Outcome) -> None:
        if self._record is not None:
            self._record(self.name, outcome)

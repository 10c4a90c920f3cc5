"""The delivery workers of the configured, enabled subscriptions.

:meth:`WebhookRunner.apply` makes the running workers match a list of
:class:`syncd.config.webhooks.WebhookSettings` (start, and on a reload:
new subscriptions start, removed or disabled ones stop, changed ones
restart with their new settings); :meth:`WebhookRunner.stop` stops them all.

Invariants:

* At most one worker per subscription in a process: a changed
  subscription's old worker is joined (it finishes its request in flight,
  at most ``timeout_s``) before the new one starts.
* Rows are registered in the store before a worker starts, so the lease
  keeper finds them to claim.
* Threads are bounded by the config (``webhooks`` holds at most 64).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from syncd.config.webhooks import WebhookSettings
from syncd.errors import StoreError, describe
from syncd.logs import get_logger
from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.database import Database
from syncd.webhooks.worker import DeliveryWorker, Gate, Outcome, WebhookRuntime

log = get_logger(__name__)


class WebhookRunner:
    """One :class:`DeliveryWorker` per enabled subscription."""

    def __init__(self, db: Database, *, gate: Gate | None = None,
                 record: Callable[[str, Outcome], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self._gate = gate
        self._record = record
        self._clock = clock
        self._lock = threading.Lock()
        self._workers: dict[str, DeliveryWorker] = {}

    def apply(self, hooks: Iterable[WebhookSettings]) -> None:
        """Run exactly the enabled subscriptions in ``hooks``."""
        wanted = {h.name: h for h in hooks if h.enabled}
        with self._lock:
            current = dict(self._workers)
        stale = [w for name, w in current.items()
                 if name not in wanted or w.settings != wanted[name]]
        for worker in stale:
            worker.stop()
        for worker in stale:
            if not worker.join(worker.settings.timeout_s + 5):
                log.warning("webhook worker did not stop in time", webhook=worker.name)
        start = [h for name, h in wanted.items()
                 if name not in current or current[name].settings != h]
        if start:
            try:
                subscriptions.register(self.db, [h.name for h in start])
            except StoreError as exc:  # each worker registers its row once the store is back
                log.warning("cannot register webhook subscriptions yet", error=describe(exc))
        with self._lock:
            for worker in stale:
                self._workers.pop(worker.name, None)
            for hook in start:
                worker = DeliveryWorker(hook, self.db, gate=self._gate, record=self._record,
                                        clock=self._clock)
                self._workers[hook.name] = worker
                worker.start()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop every worker; True if all ended within ``timeout`` seconds in all.

        A worker still waiting for a receiver after that is abandoned (its
        thread is a daemon thread; its batch was not acknowledged, so it is
        delivered again after a restart).
        """
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop()
        deadline = time.monotonic() + timeout
        return all([worker.join(max(0.0, deadline - time.monotonic())) for worker in workers])

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._workers)

    def runtime(self) -> dict[str, WebhookRuntime]:
        """Each running subscription's runtime facts, by name."""
        with self._lock:
            return {name: w.runtime for name, w in sorted(self._workers.items())}

    def settings(self) -> dict[str, WebhookSettings]:
        with self._lock:
            return {name: w.settings for name, w in sorted(self._workers.items())}

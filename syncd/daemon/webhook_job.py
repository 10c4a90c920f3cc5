"""The daemon's webhook deliveries: workers, their leases, and what probes read.

:class:`DaemonWebhooks` wires :class:`syncd.webhooks.runner.WebhookRunner`
into the daemon:

* Workers run on threads of their own (one per enabled subscription), not
  on the sync pool: a slow receiver never takes a worker from sync passes.
* Replicas: with leases on, a second :class:`LeaseKeeper` (same replica id,
  ``model=WebhookSubscription``) claims a fair share of subscriptions,
  refreshed every ``lease_ttl / 3`` on the daemon's ``leases`` executor. It
  is the workers' gate: a batch is sent only inside ``begin``/``end`` with
  at least a third of the TTL left on the lease, so exactly one replica
  delivers a subscription at a time (a lease that lapses mid-request can
  cause one duplicate, with the same ``webhook-id``).
* ``/status`` lists every configured subscription with its stored facts
  (state, position, last error, lease holder) and, where this process
  runs it, the worker's (lag in events and seconds, failures, retry time);
  ``/readyz`` names those this replica delivers whose oldest undelivered
  event is older than their ``max_lag_s`` (a receiver's deliberate 410,
  ``disabled``, does not count).
* Secrets never leave :mod:`syncd.config.webhooks`; the URL is shown as
  its origin only (a path or query may carry a token).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.webhooks import WebhookSettings
from syncd.daemon.lease_keeper import LeaseKeeper
from syncd.daemon.metrics import SyncMetrics
from syncd.errors import StoreError, describe
from syncd.jsontext import utc_iso
from syncd.logs import get_logger
from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.database import Database
from syncd.store.schema import WebhookSubscription
from syncd.webhooks.runner import WebhookRunner
from syncd.webhooks.worker import Outcome

log = get_logger(__name__)

LEASE_JOB = "syncd:webhook-leases"

#: gauge samples: (labels, value)
Samples = list[tuple[Mapping[str, str], float]]


class DaemonWebhooks:
    """The daemon's side of webhook delivery (see the module docstring)."""

    def __init__(self, database: Database | None, replica_id: str, *, leases: bool,
                 ttl_s: float, metrics: SyncMetrics, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.metrics = metrics
        self._clock = clock
        self._hooks: list[WebhookSettings] = []
        self.keeper: LeaseKeeper | None = None
        self.runner: WebhookRunner | None = None
        if database is not None:
            if leases:
                self.keeper = LeaseKeeper(database, replica_id, ttl_s=ttl_s,
                                          model=WebhookSubscription)
            self.runner = WebhookRunner(database, gate=self.keeper, record=self._record,
                                        clock=clock)

    def _record(self, name: str, outcome: Outcome) -> None:
        self.metrics.webhook_deliveries.labels(subscription=name, outcome=outcome).inc()

    # ------------------------------------------------------------------ lifecycle
    def apply(self, hooks: list[WebhookSettings]) -> None:
        """Run the enabled subscriptions of ``hooks`` (start, reload)."""
        self._hooks = list(hooks)
        if self.runner is not None:
            self.runner.apply(hooks)

    def schedule(self, scheduler: BaseScheduler) -> None:
        """Claim leases now and keep them fresh (nothing without leases)."""
        if self.keeper is None:
            return
        self.refresh()
        scheduler.add_job(self.refresh, IntervalTrigger(seconds=self.keeper.ttl_s / 3),
                          id=LEASE_JOB, executor="leases", replace_existing=True)

    def refresh(self) -> None:
        if self.keeper is None or self.runner is None:
            return
        names = self.runner.names()
        if not names and not self.keeper.held():
            return  # no webhooks here: the accounts' keeper heartbeats this replica
        try:
            gained, lost = self.keeper.refresh(names)
        except StoreError as exc:
            log.warning("cannot refresh webhook leases; they lapse unless renewed",
                        error=describe(exc))
            return
        if gained or lost:
            log.info("webhook leases changed", gained=sorted(gained), lost=sorted(lost))

    def stop(self, *, release: bool) -> None:
        """Stop the workers; give the leases back if they all stopped (``release``)."""
        if self.runner is None:
            return
        stopped = self.runner.stop()
        if self.keeper is not None and release and stopped:
            try:
                self.keeper.release_all()
            except StoreError as exc:  # they expire on their own
                log.warning("could not release webhook leases", error=describe(exc))

    # ------------------------------------------------------------------ what probes read
    def responsible_for(self) -> list[str]:
        """Subscriptions this replica delivers: every running one, or those it holds."""
        names = self.runner.names() if self.runner is not None else []
        if self.keeper is not None:
            held = self.keeper.held()
            names = [n for n in names if n in held]
        return names

    def status(self) -> list[dict[str, Any]]:
        """One entry per configured subscription for ``/status``."""
        now = self._clock()
        stored: dict[str, subscriptions.SubscriptionRow] = {}
        if self.database is not None and self._hooks:
            try:
                stored = subscriptions.load_all(self.database)
            except StoreError:
                stored = {}
        runtime = self.runner.runtime() if self.runner is not None else {}
        out: list[dict[str, Any]] = []
        for hook in self._hooks:
            entry: dict[str, Any] = {"webhook": hook.name, "enabled": hook.enabled,
                                     "url": hook.origin, "events": list(hook.events),
                                     "max_lag_s": hook.max_lag_s}
            row = stored.get(hook.name)
            if row is not None:
                entry.update(state=row.state, position=row.position, last_error=row.last_error,
                             last_delivered_at=utc_iso(row.last_delivered_at),
                             lease_holder=row.lease_holder,
                             lease_expires_at=utc_iso(row.lease_expires_at))
            rt = runtime.get(hook.name)
            if rt is not None:
                entry["daemon"] = rt.to_dict(now)
            out.append(entry)
        return out

    def lagging(self) -> list[dict[str, object]]:
        """Subscriptions this replica delivers whose lag exceeds their ``max_lag_s``."""
        if self.runner is None:
            return []
        now = self._clock()
        runtime, settings = self.runner.runtime(), self.runner.settings()
        out: list[dict[str, object]] = []
        for name in self.responsible_for():
            rt, hook = runtime.get(name), settings.get(name)
            if rt is None or hook is None or rt.state == "disabled":
                continue
            lag = rt.lag_seconds(now)
            if lag is not None and lag > hook.max_lag_s:
                out.append({"webhook": name, "state": rt.state, "lag_events": rt.lag_events,
                            "lag_s": round(lag, 1), "limit_s": hook.max_lag_s,
                            "last_error": rt.last_error})
        return out

    def lag_event_samples(self) -> Samples:
        """``syncd_webhook_lag_events`` of the subscriptions this replica delivers."""
        runtime = self.runner.runtime() if self.runner is not None else {}
        out: Samples = []
        for name in self.responsible_for():
            rt = runtime.get(name)
            if rt is not None and rt.lag_events is not None:
                out.append(({"subscription": name}, float(rt.lag_events)))
        return out

    def lag_second_samples(self) -> Samples:
        """``syncd_webhook_lag_seconds``: age of each one's oldest undelivered event."""
        now = self._clock()
        runtime = self.runner.runtime() if self.runner is not None else {}
        out: Samples = []
        for name in self.responsible_for():
            rt = runtime.get(name)
            lag = rt.lag_seconds(now) if rt is not None else None
            if lag is not None:
                out.append(({"subscription": name}, lag))
        return out

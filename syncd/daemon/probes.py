"""The daemon's HTTP probes: ``/healthz``, ``/readyz``, ``/status``, ``/metrics``.

* ``/healthz`` (liveness): 200 while the scheduler runs, the heartbeat is
  fresh and no stop was requested; 503 otherwise. Never touches the store,
  so a store outage does not get the process restarted.
* ``/readyz`` (readiness): 200 when the store answers, the daemon is alive
  and no account this replica syncs has gone without progress (a
  successful pass or a committed page) for more than
  ``health.overdue_intervals`` poll intervals plus its jitter; 503 names
  the overdue accounts, and no webhook subscription it delivers lags more
  than its ``max_lag_s`` (:mod:`syncd.daemon.webhook_job`); 503 names them.
  An account whose coverage drift outlived a repair
  (:mod:`syncd.daemon.coverage_job`) is not ready either; 503 lists it
  under ``coverage_drift``.
* ``/status``: the store's per-account facts merged with this process's
  (:func:`syncd.daemon.runtime.status_document`), secrets masked.
* ``/metrics``: the Prometheus exposition of :class:`SyncMetrics`; the
  store probe, ``syncd_up`` and the lease count are refreshed per scrape,
  the per-account lag and state gauges computed from :meth:`Probes.lag_samples`
  and :meth:`Probes.state_samples`.

The probes only read the daemon (:class:`DaemonView`), from the health
server's threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import text

from syncd.config.model import Account, Settings
from syncd.daemon.coverage_job import CoverageJob
from syncd.daemon.http import Response
from syncd.daemon.lease_keeper import LeaseKeeper
from syncd.daemon.metrics import CONTENT_TYPE, SyncMetrics
from syncd.daemon.runtime import AccountRuntime, status_document
from syncd.daemon.webhook_job import DaemonWebhooks
from syncd.errors import StoreError, describe
from syncd.jsontext import utc_iso
from syncd.logs import redact_value
from syncd.store.database import Database

#: gauge samples: (labels, value)
Samples = list[tuple[Mapping[str, str], float]]


class DaemonView(Protocol):
    """What the probes read from :class:`syncd.daemon.service.Daemon`."""

    settings: Settings
    replica_id: str
    started_at: datetime
    stop_event: threading.Event
    database: Database | None
    leases: LeaseKeeper | None
    metrics: SyncMetrics
    webhooks: DaemonWebhooks

    @property
    def accounts(self) -> Mapping[str, Account]: ...

    @property
    def runtime(self) -> Mapping[str, AccountRuntime]: ...

    @property
    def scheduler_running(self) -> bool: ...

    def now(self) -> datetime: ...

    def alive(self) -> bool: ...

    def heartbeat_age(self) -> float: ...

    def refresh_next_runs(self) -> None: ...


class Probes:
    """The probe routes of one daemon, and the readiness facts behind them."""

    def __init__(self, daemon: DaemonView, *,
                 statuses: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        self._daemon = daemon
        #: the store's per-account status dicts (none: /status shows runtime facts only)
        self._statuses = statuses
        self._store_up: bool | None = None

    def routes(self) -> dict[str, Callable[[], Response]]:
        return {"/healthz": self.healthz, "/readyz": self.readyz, "/status": self.status,
                "/metrics": self.metrics}

    # ------------------------------------------------------------------ routes
    def healthz(self) -> Response:
        d = self._daemon
        alive = d.alive()
        body = {
            "status": "ok" if alive else "down",
            "scheduler_running": d.scheduler_running,
            "heartbeat_age_s": round(d.heartbeat_age(), 3),
            "stopping": d.stop_event.is_set(),
            "started_at": utc_iso(d.started_at),
            "accounts_scheduled": len(d.accounts),
        }
        return Response.json(body, 200 if alive else 503)

    def readyz(self) -> Response:
        store_ok, store_error = self.store_reachable()
        overdue = self.overdue()
        lagging = self._daemon.webhooks.lagging()
        drifting = self.coverage_drift()
        alive = self._daemon.alive()
        ready = store_ok and not overdue and not lagging and not drifting and alive
        body = {
            "status": "ready" if ready else "not ready",
            "store": {"reachable": store_ok, "error": store_error},
            "overdue_accounts": overdue,
            "lagging_webhooks": lagging,
            "coverage_drift": drifting,
            "alive": alive,
            "accounts": len(self.responsible_for()),
        }
        return Response.json(redact_value(body), 200 if ready else 503)

    def status(self) -> Response:
        return Response.json(self.status_document())

    def metrics(self) -> Response:
        d = self._daemon
        self.store_reachable()
        d.metrics.store_up.set(1.0 if self._store_up else 0.0)
        d.metrics.up.set(1.0 if d.alive() else 0.0)
        if d.leases is not None:
            d.metrics.leases.set(len(d.leases.held()))
        return Response(200, d.metrics.exposition(), CONTENT_TYPE)

    # ------------------------------------------------------------------ facts
    def status_document(self) -> dict[str, Any]:
        """The ``/status`` body: store facts per account merged with runtime facts."""
        d = self._daemon
        stored = self._statuses() if self._statuses is not None else []
        d.refresh_next_runs()
        return status_document(stored, d.runtime, generated_at=d.now(), extra={
            "daemon": {"pid": os.getpid(), "started_at": utc_iso(d.started_at),
                       "alive": d.alive(), "workers": d.settings.scheduler.workers,
                       "replica": d.replica_id, "leases": d.leases is not None},
            "webhooks": d.webhooks.status(),
        })

    def store_reachable(self) -> tuple[bool, str | None]:
        """Whether the store answers ``SELECT 1`` (no store: True), and why not."""
        database = self._daemon.database
        if database is None:
            return True, None
        try:
            with database.session(write=False) as s:
                s.execute(text("SELECT 1"))
        except StoreError as exc:
            self._store_up = False
            return False, describe(exc)
        self._store_up = True
        return True, None

    def responsible_for(self) -> list[str]:
        """Accounts this replica syncs: every scheduled one, or those it holds a lease on."""
        ids = list(self._daemon.accounts)
        leases = self._daemon.leases
        if leases is not None:
            held = leases.held()
            ids = [a for a in ids if a in held]
        return ids

    def overdue(self) -> list[dict[str, object]]:
        """Accounts without progress for more than ``overdue_intervals`` poll intervals."""
        d = self._daemon
        now = d.now()
        factor = d.settings.health.overdue_intervals
        out: list[dict[str, object]] = []
        for account_id in self.responsible_for():
            account = d.accounts.get(account_id)
            runtime = d.runtime.get(account_id)
            reference = runtime.progress_reference() if runtime is not None else None
            if account is None or runtime is None or reference is None:
                continue
            limit = factor * account.interval + account.jitter
            silent = (now - reference).total_seconds()
            if silent > limit:
                out.append({"account": account_id, "state": runtime.state,
                            "seconds_without_progress": round(silent, 1),
                            "limit_s": round(limit, 1),
                            "last_error_code": runtime.last_error_code})
        return out

    def coverage_drift(self) -> list[dict[str, Any]]:
        """Accounts this replica syncs whose coverage drift outlived a repair."""
        coverage: CoverageJob | None = getattr(self._daemon, "coverage", None)
        if coverage is None:
            return []
        mine = set(self.responsible_for())
        return [d for d in coverage.drifting() if d["account"] in mine]

    def state_samples(self) -> Samples:
        """``syncd_account_state``: 1 for each scheduled account's current state."""
        return [({"account": a, "provider": r.provider, "state": r.state}, 1.0)
                for a, r in list(self._daemon.runtime.items())]

    def lag_samples(self) -> Samples:
        """``syncd_account_lag_seconds`` of the accounts this replica syncs."""
        now = self._daemon.now()
        out: Samples = []
        for account_id in self.responsible_for():
            runtime = self._daemon.runtime.get(account_id)
            reference = runtime.progress_reference() if runtime is not None else None
            if runtime is not None and reference is not None:
                out.append(({"account": account_id, "provider": runtime.provider},
                            max(0.0, (now - reference).total_seconds())))
        return out

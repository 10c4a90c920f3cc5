"""The daemon's coverage checks: when each account is checked, and what /readyz hears of it.

A check (:class:`syncd.sync.coverage.CoverageChecker`) runs inside the
account's own scheduler job, right after a successful pass, when it is due:
so it never overlaps a pass of that account, holds the account's lease like
the pass did, and shares the worker pool's bounds.

Invariants:

* Due times live in this process only. An account's first check comes at
  a random moment within one ``coverage.interval_hours`` of the daemon
  starting (a fleet restarting together does not check together); later
  ones one interval ±10 % after the previous check.
* ``syncd_coverage_missing_total`` counts items found out of step (missing
  from the store or vanished from the server), ``syncd_coverage_repaired_total``
  those a repair put right.
* An account whose drift remains after the repair (the second comparison
  still differs) is listed by :meth:`CoverageJob.drifting` and turns
  /readyz red until a later check of it comes back clean.
* A failed check (provider or store trouble, a bug) is logged, changes no
  drift state and is retried at the next due time; it never fails the pass.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from syncd.config.model import Account, Settings
from syncd.daemon.metrics import SyncMetrics
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger
from syncd.sync.coverage import CoverageChecker, CoverageReport
from syncd.sync.outcome import PassResult

log = get_logger(__name__)

#: later checks come one interval times a factor in this range after the previous one
JITTER = (0.9, 1.1)


class CoverageJob:
    """Decides when accounts are checked, runs the checks, keeps their drift state."""

    def __init__(self, checker: Callable[[], CoverageChecker | None],
                 settings: Callable[[], Settings], metrics: SyncMetrics, *,
                 clock: Callable[[], datetime], rng: random.Random | None = None) -> None:
        #: a checker on the CURRENT settings (None: no store, no checks)
        self._checker = checker
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._due: dict[str, datetime] = {}
        #: account id -> its last report, while drift remains after a repair
        self._drift: dict[str, CoverageReport] = {}

    def after_pass(self, account: Account, result: PassResult) -> None:
        """The pass hook: check ``account`` now if its pass succeeded and a check is due."""
        coverage = self._settings().coverage
        if not result.ok or not coverage.enabled or not self._take_due(account.id):
            return
        self.run(account)

    def _take_due(self, account_id: str) -> bool:
        interval = timedelta(hours=self._settings().coverage.interval_hours)
        now = self._clock()
        with self._lock:
            due = self._due.get(account_id)
            if due is None:  # first sight: spread the fleet over one interval
                self._due[account_id] = now + interval * self._rng.random()
                return False
            if now < due:
                return False
            self._due[account_id] = now + interval * self._rng.uniform(*JITTER)
            return True

    def run(self, account: Account) -> CoverageReport | None:
        """Check and repair ``account`` now; count it; None if the check failed."""
        checker = self._checker()
        if checker is None:
            return None
        try:
            report = checker.check(account, repair=True)
        except SyncdError as exc:
            log.warning("coverage check failed; retried when next due", account=account.id,
                        error=describe(exc))
            return None
        except Exception as exc:  # a bug: log it once, never fail the account's job
            log.exception("coverage check crashed", account=account.id, error=describe(exc))
            return None
        self.record(report)
        return report

    def record(self, report: CoverageReport) -> None:
        """Count a finished check and update the account's drift state."""
        ids = (report.account_id, report.provider)
        found = report.missing + report.vanished
        self._metrics.coverage_missing.labels(*ids).inc(found)
        self._metrics.coverage_repaired.labels(*ids).inc(report.repaired)
        with self._lock:
            if report.clean:
                self._drift.pop(report.account_id, None)
            else:
                self._drift[report.account_id] = report
        if found or not report.clean:
            log.warning("coverage drift found", account=report.account_id,
                        missing=report.missing, vanished=report.vanished,
                        repaired=report.repaired, remaining=report.remaining)
        else:
            log.info("coverage check clean", account=report.account_id)

    def forget(self, keep: set[str]) -> None:
        """Drop the state of accounts no longer scheduled."""
        with self._lock:
            for account_id in [a for a in self._due if a not in keep]:
                del self._due[account_id]
            for account_id in [a for a in self._drift if a not in keep]:
                del self._drift[account_id]

    def drifting(self) -> list[dict[str, Any]]:
        """Accounts whose drift outlived a repair (for /readyz)."""
        with self._lock:
            reports = sorted(self._drift.values(), key=lambda r: r.account_id)
        return [{"account": r.account_id, "missing": r.missing, "vanished": r.vanished,
                 "remaining": r.remaining} for r in reports]


def coverage_checker(engine: object, settings: Settings) -> CoverageChecker | None:
    """A checker sharing the engine's store, provider factory, vault and clock.

    ``None`` for an engine without a store (a stand-in engine in tests).
    """
    database = getattr(engine, "db", None)
    if database is None:
        return None
    extra: dict[str, Any] = {name: getattr(engine, name) for name in
                             ("provider_factory", "vault", "clock") if hasattr(engine, name)}
    return CoverageChecker(database, settings, **extra)

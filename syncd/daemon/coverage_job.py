"""The daemon's coverage checks: when each account is checked, and what /readyz hears of it.

A check (:class:`syncd.sync.coverage.CoverageChecker`) runs inside the
account's own scheduler job, right after a successful pass, when it is due:
so it never overlaps a pass of that account, holds the account's lease like
the pass did, and shares the worker pool's bounds.

Invariants:

* Every finished check is stored on the account's row
  (``coverage_checked_at``, ``coverage_drift``, through
  :func:`~syncd.store.account_state.record_coverage_check`), so restarts
  neither postpone nor forget checks. When the job first sees an account it reads that row: an
  account checked before is due one interval ±10 % after that check
  (at once if that moment has passed); one never checked comes at a random
  moment within one ``coverage.interval_hours`` (a fleet starting together
  does not check together). Later checks come one interval ±10 % after the
  previous one. The in-memory due times and drift state are a cache of it,
  looked at again before each due decision: a check stored meanwhile
  (``syncd verify``) counts like the job's own.
* ``syncd_coverage_missing_total`` counts items found out of step (missing
  from the store or vanished from the server), ``syncd_coverage_repaired_total``
  those a repair put right.
* An account whose drift remains after the repair (the second comparison
  still differs) is listed by :meth:`CoverageJob.drifting` and turns
  /readyz red until a later check of it comes back clean (the daemon's or
  ``syncd verify``'s), across restarts, while ``coverage.enabled``.
* A failed check (provider or store trouble, a bug) is logged, changes no
  drift state and is retried at the next due time; it never fails the pass.
  Neither does a store failing to record a check or to load an account's
  state: a failed load is retried after the account's next pass.
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
from syncd.store.account_state import CoverageState, coverage_states, record_coverage_check
from syncd.store.database import Database
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
        #: account id -> the drift its last check left after a repair (missing,
        #: vanished, remaining), while some remains
        self._drift: dict[str, dict[str, int]] = {}
        #: accounts whose drift state is in memory (loaded or checked since start)
        self._known: set[str] = set()
        #: account id -> the latest check this job knows of (its own or a stored one)
        self._checked: dict[str, datetime] = {}

    def after_pass(self, account: Account, result: PassResult) -> None:
        """The pass hook: check ``account`` now if its pass succeeded and a check is due."""
        coverage = self._settings().coverage
        if not result.ok or not coverage.enabled or not self._take_due(account.id):
            return
        self.run(account)

    def _take_due(self, account_id: str) -> bool:
        interval = timedelta(hours=self._settings().coverage.interval_hours)
        with self._lock:
            seen = account_id in self._due
        # a fresh look each pass: a check stored meanwhile (syncd verify) moves the due time
        if not self.load({account_id}, again=True) and not seen:
            return False  # the store did not answer: no due time is better than a wrong one
        now = self._clock()
        with self._lock:
            due = self._due.get(account_id)
            if due is None or now < due:
                return False
            self._due[account_id] = now + interval * self._rng.uniform(*JITTER)
            return True

    def load(self, account_ids: set[str], *, again: bool = False) -> bool:
        """Read the stored state of the accounts among ``account_ids`` not seen yet.

        Sets their first due time and restores their drift; with ``again``,
        also adopts checks stored since for accounts already seen. False
        (logged) if the store failed: unseen accounts stay unseen, so the next
        call retries, and seen ones keep what this job knows.
        """
        with self._lock:
            new = set(account_ids) if again else {a for a in account_ids if a not in self._due}
        if not new:
            return True
        database = self._database()
        try:
            stored = coverage_states(database, new) if database is not None else {}
        except SyncdError as exc:
            log.warning("cannot load coverage state; retried after the next pass",
                        accounts=len(new), error=describe(exc))
            return False
        except Exception as exc:  # a bug: never fail the pass or the start
            log.exception("loading coverage state crashed", error=describe(exc))
            return False
        self._restore(new, stored)
        return True

    def _restore(self, account_ids: set[str], stored: dict[str, CoverageState]) -> None:
        interval = timedelta(hours=self._settings().coverage.interval_hours)
        now = self._clock()
        with self._lock:
            for account_id in account_ids:
                state = stored.get(account_id)
                known = self._checked.get(account_id)
                # stored after what this job knows: a restart, or a check elsewhere (verify)
                newer = state is not None and (known is None or state.checked_at > known)
                if account_id in self._due and not newer:
                    continue
                stored_at = state.checked_at if state is not None else None
                last = max((t for t in (known, stored_at) if t is not None), default=None)
                if last is None:  # never checked: spread the fleet over one interval
                    self._due[account_id] = now + interval * self._rng.random()
                else:  # a restart must not postpone the check that was due
                    self._due[account_id] = last + interval * self._rng.uniform(*JITTER)
                if state is not None and newer:
                    self._checked[account_id] = state.checked_at
                elif account_id in self._known:  # this job's own check is the latest
                    continue
                self._known.add(account_id)
                if state is not None and state.drift is not None:
                    self._drift[account_id] = state.drift
                else:
                    self._drift.pop(account_id, None)

    def _database(self) -> Database | None:
        checker = self._checker()
        return checker.db if checker is not None else None

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
        """Count a finished check and update the account's drift state, here and stored."""
        ids = (report.account_id, report.provider)
        found = report.missing + report.vanished
        self._metrics.coverage_missing.labels(*ids).inc(found)
        self._metrics.coverage_repaired.labels(*ids).inc(report.repaired)
        drift = report.drift
        checked_at = self._clock()
        with self._lock:
            self._known.add(report.account_id)
            self._checked[report.account_id] = checked_at
            if drift is None:
                self._drift.pop(report.account_id, None)
            else:
                self._drift[report.account_id] = drift
        self._store(report.account_id, checked_at, drift)
        if found or not report.clean:
            log.warning("coverage drift found", account=report.account_id,
                        missing=report.missing, vanished=report.vanished,
                        repaired=report.repaired, remaining=report.remaining)
        else:
            log.info("coverage check clean", account=report.account_id)

    def _store(self, account_id: str, checked_at: datetime,
               drift: dict[str, int] | None) -> None:
        database = self._database()
        if database is None:
            return
        try:
            record_coverage_check(database, account_id, checked_at=checked_at, drift=drift)
        except SyncdError as exc:  # memory still has it; only a restart would lose it
            log.warning("cannot store coverage check", account=account_id, error=describe(exc))
        except Exception as exc:  # a bug: never fail the pass
            log.exception("storing coverage check crashed", account=account_id,
                          error=describe(exc))

    def forget(self, keep: set[str]) -> None:
        """Drop the state of accounts no longer scheduled."""
        with self._lock:
            for account_id in [a for a in self._due if a not in keep]:
                del self._due[account_id]
            for account_id in [a for a in self._drift if a not in keep]:
                del self._drift[account_id]
            for account_id in [a for a in self._checked if a not in keep]:
                del self._checked[account_id]
            self._known &= keep

    def drifting(self) -> list[dict[str, Any]]:
        """Accounts whose drift outlived a repair (for /readyz).

        None while checks are disabled: stored drift no check could clear
        would keep the daemon not ready for good.
        """
        if not self._settings().coverage.enabled:
            return []
        with self._lock:
            drift = sorted(self._drift.items())
        return [{"account": account_id, **counts} for account_id, counts in drift]


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

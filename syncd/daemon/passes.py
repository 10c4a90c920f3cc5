"""One sync pass of one account, and how the daemon reacts to its result.

:meth:`PassRunner.run` is the body of each account's scheduler job:

1. record how late the job started (``syncd_schedule_lag_seconds``) and
   the job's next run;
2. with leases on, go on only while this replica holds the account's lease
   (else ``standby``), and end the lease's busy mark afterwards;
3. ask ``engine.should_poll``: false means the account waits for
   re-authentication (``needs_reauth``, counted as ``skipped``); a
   :class:`~syncd.errors.StoreError` means the store is unreachable, which
   backs the account off like a transient failure;
4. run ``engine.sync_account`` with the pass's own stop flag
   (:class:`PassStop`): the daemon stopping or the lease being lost ends the
   pass after its current page;
5. react to the result's verdict. The engine decides it
   (:func:`syncd.sync.outcome.verdict_for`); nothing here decides again:

================  ==============  ===========================================
verdict           runtime state   what the daemon does
================  ==============  ===========================================
OK, STOPPED       idle            backoff count reset; next run at the
                                  interval (only OK counts as a success)
BACK_OFF          backing_off     job moved to now + the backoff's delay,
                                  the result's ``retry_after`` its floor
NEEDS_REAUTH      needs_reauth    nothing: ``should_poll`` skips it until
                                  its config changes
FAILED            failed          nothing: retried at its interval, never
                                  backed off (a permanent error stays one)
================  ==============  ===========================================

An engine that raises instead of returning a result is a bug: the pass
counts as FAILED with error code ``internal``. Once the daemon is stopping,
a pass that ends leaves ``stopped`` whatever its verdict. Every pass counts
``syncd_passes_total{outcome=result.outcome_label}`` and, when it did not
succeed, ``syncd_errors_total{class=result.error_code}``.

After a pass, still in the account's job, ``after_pass`` runs (the daemon's
coverage check, :mod:`syncd.daemon.coverage_job`, which never raises).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol, assert_never

import structlog

from syncd.config.model import Account
from syncd.daemon.backoff import Backoff
from syncd.daemon.lease_keeper import LeaseKeeper
from syncd.daemon.metrics import SyncMetrics
from syncd.daemon.runtime import AccountRuntime, RuntimeState
from syncd.daemon.schedule import AccountJobs
from syncd.errors import StoreError, describe
from syncd.logs import get_logger
from syncd.sync.outcome import PassResult, Verdict

log = get_logger(__name__)

#: ``progress(account_id, items_done, items_left_hint)``, called after each committed page
Progress = Callable[[str, int, int | None], None]

#: the ``PassResult.to_dict()`` fields the "pass finished" log line carries
LOGGED_COUNTS = ("items", "created", "updated", "deleted", "restored", "skipped",
                 "quarantined", "pages", "duration_s", "stopped", "error_code")


class Engine(Protocol):
    """What the daemon needs from :class:`syncd.sync.engine.SyncEngine`.

    Optional, used when the engine has them (a stand-in need not): ``db``
    (the :class:`~syncd.store.database.Database`: store probes, leases,
    reminders), a writable ``settings`` (replaced on reload) and ``close()``
    (called at shutdown).
    """

    def should_poll(self, account: Account) -> bool: ...

    def register_accounts(self, accounts: Iterable[Account] | None = None) -> None: ...

    def sync_account(self, account: Account, *, progress: Progress | None = None,
                     stop: threading.Event | None = None) -> PassResult: ...


class PassStop(threading.Event):
    """A pass's stop flag: set on its own (lease lost) or by the daemon's stop."""

    def __init__(self, daemon_stop: threading.Event) -> None:
        super().__init__()
        self._daemon_stop = daemon_stop

    def is_set(self) -> bool:
        return super().is_set() or self._daemon_stop.is_set()


class PassRunner:
    """Runs leased passes and applies their verdicts (see the module docstring)."""

    def __init__(self, engine: Engine, *, jobs: AccountJobs, backoff: Backoff,
                 metrics: SyncMetrics, leases: LeaseKeeper | None,
                 daemon_stop: threading.Event, clock: Callable[[], datetime],
                 replica_id: str,
                 after_pass: Callable[[Account, PassResult], None] | None = None) -> None:
        self._engine = engine
        #: runs in the account's job after each pass (the coverage check, when due)
        self._after_pass = after_pass
        self._jobs = jobs
        self._backoff = backoff
        self._metrics = metrics
        self._leases = leases
        self._daemon_stop = daemon_stop
        self._clock = clock
        self._replica_id = replica_id
        #: the stop flag of each pass in progress, by account id
        self._stops: dict[str, PassStop] = {}

    def stop(self, account_id: str) -> bool:
        """Ask ``account_id``'s pass to end after its page; False if none is running."""
        stop = self._stops.get(account_id)
        if stop is None:
            return False
        stop.set()
        return True

    def run(self, account: Account, runtime: AccountRuntime) -> None:
        """One pass of ``account`` if this replica may sync it now."""
        scheduled = runtime.next_run_at
        if scheduled is not None:
            late = (self._clock() - scheduled).total_seconds()
            self._metrics.schedule_lag.observe(max(0.0, late))
        runtime.next_run_at = self._jobs.next_run_time(account.id)
        if self._leases is not None and not self._leases.begin(account.id):
            runtime.state = "standby"  # another replica syncs it (or nobody may, yet)
            return
        pass_id = uuid.uuid4().hex[:12]  # ties together every log line of this pass
        try:
            with structlog.contextvars.bound_contextvars(account=account.id, pass_id=pass_id,
                                                         provider=account.provider):
                if self._may_start(account, runtime):
                    self._sync(account, runtime)
        finally:
            if self._leases is not None:
                self._leases.end(account.id)

    def _may_start(self, account: Account, runtime: AccountRuntime) -> bool:
        """Whether the engine polls ``account`` now; if not, record why."""
        ids = (account.id, account.provider)
        try:
            should = self._engine.should_poll(account)
        except StoreError as exc:  # the store is down: transient, like a failed pass
            log.warning("cannot reach the store to start a pass", error=describe(exc))
            self._metrics.passes.labels(*ids, "store").inc()
            self._metrics.errors.labels(*ids, "store").inc()
            self._back_off(account.id, runtime, "store", None)
            runtime.state = "backing_off"
            return False
        except Exception as exc:
            log.exception("cannot decide whether to poll", error=describe(exc))
            should = False
        if not should:
            runtime.state = "needs_reauth"
            self._metrics.passes.labels(*ids, "skipped").inc()
            log.info("pass skipped: account is not polled (e.g. needs re-authentication)")
        return should

    def _sync(self, account: Account, runtime: AccountRuntime) -> None:
        runtime.state = "syncing"
        runtime.last_started_at = self._clock()
        started = time.monotonic()
        stop = PassStop(self._daemon_stop)
        self._stops[account.id] = stop
        log.info("pass started", replica=self._replica_id)

        def progress(_account: str, _done: int, _total: int | None) -> None:
            runtime.last_progress_at = self._clock()

        try:
            result = self._engine.sync_account(account, progress=progress, stop=stop)
        except Exception as exc:  # the engine returns failures as results: this is a bug
            outcome = describe(exc)
            log.exception("pass crashed", error=outcome)
            result = PassResult(account_id=account.id, verdict=Verdict.FAILED,
                                error_code="internal", error_message=outcome)
        else:
            outcome = "ok" if result.ok else "failed"
            counts = result.to_dict()
            log.info("pass finished", outcome=outcome, verdict=result.verdict.value,
                     replica=self._replica_id,
                     **{k: counts[k] for k in LOGGED_COUNTS if k in counts})
        finally:
            self._stops.pop(account.id, None)
        self._record(account, runtime, result, outcome, time.monotonic() - started)
        if self._after_pass is not None and not self._daemon_stop.is_set():
            self._after_pass(account, result)  # same job: never beside a pass of the account

    def _record(self, account: Account, runtime: AccountRuntime, result: PassResult,
                outcome: str, duration: float) -> None:
        """Apply a finished pass to the account's runtime facts, metrics and schedule."""
        finished = self._clock()
        runtime.passes += 1
        runtime.failed_passes += int(not result.ok)
        runtime.last_finished_at = finished
        runtime.last_duration_s = duration
        runtime.last_outcome = outcome
        runtime.last_error_code = None if result.ok else result.error_code
        ids = (account.id, account.provider)
        self._metrics.duration.labels(account.provider).observe(duration)
        self._metrics.items.labels(*ids).inc(result.items)
        self._metrics.quarantined.labels(*ids).inc(result.quarantined)
        self._metrics.deleted.labels(*ids).inc(result.deleted)
        self._metrics.restored.labels(*ids).inc(result.restored)
        self._metrics.passes.labels(*ids, result.outcome_label).inc()
        if not result.ok:
            self._metrics.errors.labels(*ids, result.error_code or "internal").inc()
        verdict = result.verdict
        state: RuntimeState
        if verdict is Verdict.OK or verdict is Verdict.STOPPED:
            if verdict is Verdict.OK:  # a stopped pass did not catch up: no success yet
                runtime.last_success_at = runtime.last_progress_at = finished
            self._backoff.succeeded(account.id)
            runtime.backoff_failures, runtime.retry_at = 0, None
            state = "idle"
        elif verdict is Verdict.BACK_OFF:
            self._back_off(account.id, runtime, result.error_code or "transient",
                           result.retry_after)
            state = "backing_off"
        elif verdict is Verdict.NEEDS_REAUTH:
            runtime.retry_at = None  # no retry pending: should_poll skips it from now on
            state = "needs_reauth"
        elif verdict is Verdict.FAILED:
            runtime.retry_at = None  # no retry pending: the job runs at its interval
            state = "failed"
        else:
            assert_never(verdict)
        # last, so a reader in another thread sees the state with the facts behind it
        runtime.state = "stopped" if self._daemon_stop.is_set() else state

    def _back_off(self, account_id: str, runtime: AccountRuntime, code: str,
                  retry_after: float | None) -> None:
        """Move a transiently failed account's job to after its backoff delay.

        The caller sets the state (``backing_off``) afterwards.
        """
        delay = self._backoff.failed(account_id, retry_after=retry_after)
        runtime.backoff_failures = self._backoff.failures(account_id)
        runtime.retry_at = self._clock() + timedelta(seconds=delay)
        if not self._daemon_stop.is_set():
            self._jobs.move(account_id, runtime.retry_at)
        log.info("backing off", error_code=code, delay_s=round(delay, 3),
                 retry_after=retry_after, failures=runtime.backoff_failures)

"""The daemon: one scheduled sync job per enabled account, a health endpoint, clean stop.

Lifecycle (``Daemon.run`` drives it from the main thread)::

    created ──start()──► running ──request_stop()/SIGTERM/SIGINT──► stopping ──► stopped
                          │  ▲
                          └──┘ apply_settings(new) (issue 8: SIGHUP reload)

* ``start`` starts an APScheduler 3 ``BackgroundScheduler`` with two
  executors: ``default``, a bounded thread pool of ``scheduler.workers``
  threads that runs sync passes, and ``control``, one thread for the
  daemon's own housekeeping (the heartbeat), so a pool full of long passes
  never makes the daemon look dead.
* Each enabled account is one interval job (id = account id) with the
  account's ``interval`` and ``jitter``, ``max_instances=1`` (never two
  passes of one account at once), ``coalesce`` (a backlog of missed runs is
  one run) and no misfire limit (a late run still runs). The first run comes
  soon after start, spread over the account's jitter — or, for a batch of N
  accounts scheduled together, over N / ``FIRST_RUNS_PER_SECOND`` seconds
  (at most one interval) — so a large fleet does not stampede.
* A pass asks ``engine.should_poll(account)`` first (accounts needing
  re-auth are skipped) and hands the daemon's stop ``Event`` to
  ``engine.sync_account``: on stop the engine finishes the current page
  (one transaction) and returns.
* ``request_stop`` (signal handlers call it) sets the stop event; ``run``
  then pauses the scheduler, waits for running passes to finish their page,
  shuts down the scheduler and health server, and returns exit status 0.
* Liveness: the heartbeat job stamps ``last_heartbeat`` every few seconds
  on the control executor; ``alive()`` is true while the scheduler runs and
  the stamp is fresh. Issue 8's sd_notify WATCHDOG can hang off the same
  heartbeat (``add_heartbeat_listener``).

Issue 8 (operations):

* systemd: ``READY=1`` once health is bound and the scheduler runs,
  ``STATUS=`` on every heartbeat, ``WATCHDOG=1`` from the heartbeat (which
  runs at least twice per ``WatchdogSec``), ``RELOADING=1``/``READY=1``
  around a reload, ``STOPPING=1`` at shutdown (:mod:`syncd.notify`).
* SIGHUP: the main loop calls :meth:`Daemon.reload`: the config file is
  read and validated again; a bad one is refused (logged with its key
  paths) and the running config stays; a good one goes through
  :meth:`apply_settings` (passes in flight finish with the old account).
* Blast radius by error class (the engine records the state): transient
  and store errors reschedule the account after :mod:`syncd.backoff`'s
  delay (honouring Retry-After); auth errors leave it skipped until its
  config changes; a bug marks it failed and it is retried at its interval.
* Replicas: with leases on, :class:`syncd.leases.LeaseKeeper` refreshes on
  its own one-thread executor (a slow store never delays the heartbeat); a
  pass starts only while this replica holds the account's lease, a lost
  lease stops the pass after its current page, and a gained lease runs the
  account's pass right away.
* ``/readyz``: the store answers and no account this replica syncs has gone
  without progress (a successful pass or a committed page) for more than
  ``health.overdue_intervals`` poll intervals (+ jitter). ``/metrics``:
  Prometheus text (:mod:`syncd.metrics`).
* Stopping: passes get ``STOP_GRACE_SECONDS`` to finish their page; past
  that (a provider hanging) the process exits anyway with status 1 — the
  open page's transaction rolls back, so nothing is half-written.

Per-account runtime facts (state, passes, last pass times, next run) live in
:class:`AccountRuntime`; durable facts (last success, errors, counts) live
in the store. ``/status`` merges the two.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, Literal, Protocol

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from syncd.backoff import Backoff, BackoffPolicy
from syncd.config.model import Account, Settings
from syncd.errors import ConfigError, StoreError, SyncdError, describe
from syncd.health import HealthServer, Response, utc_iso
from syncd.leases import LeaseKeeper, default_replica_id, leases_enabled
from syncd.logs import configure_logging, get_logger, redact_value
from syncd.metrics import SyncMetrics
from syncd.notify import Notifier, watchdog_interval

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0
#: ``alive()`` turns false when the heartbeat is older than this
HEARTBEAT_STALE_SECONDS = 30.0
#: how long a stop waits for running passes (systemd's TimeoutStopSec is 60 s)
STOP_GRACE_SECONDS = 45.0
#: first runs of many accounts scheduled at once are spread to about this rate
FIRST_RUNS_PER_SECOND = 20.0

RuntimeState = Literal["scheduled", "syncing", "idle", "failed", "stopped",
                       "backing_off", "needs_reauth", "standby"]

#: engine error codes that mean "try again later"
TRANSIENT_CODES = frozenset({"transient", "store", "cursor_expired"})
#: settings that only take effect after a restart
RESTART_ONLY = ("state_dir", "store", "health.enabled", "health.host", "health.port",
                "scheduler.workers", "scheduler.leases", "scheduler.lease_ttl",
                "scheduler.replica_id")


class Engine(Protocol):
    """What the daemon needs from :class:`syncd.engine.SyncEngine`."""

    def should_poll(self, account: Any) -> bool: ...

    def register_accounts(self, accounts: Iterable[Any] | None = None) -> None: ...

    def sync_account(self, account: Any, *, progress: Any = None,
                     stop: threading.Event | None = None) -> Any: ...


@dataclass
class AccountRuntime:
    """What this process knows about one account since it started."""

    account_id: str
    provider: str
    state: RuntimeState = "scheduled"
    passes: int = 0
    failed_passes: int = 0
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_duration_s: float | None = None
    last_outcome: str | None = None
    next_run_at: datetime | None = None
    #: when this process became responsible for the account (scheduled / lease gained)
    since: datetime | None = None
    last_success_at: datetime | None = None
    #: last committed page or successful pass: what /readyz measures staleness by
    last_progress_at: datetime | None = None
    last_error_code: str | None = None
    backoff_failures: int = 0
    retry_at: datetime | None = None

    def progress_reference(self) -> datetime | None:
        stamps = [t for t in (self.since, self.last_success_at, self.last_progress_at) if t]
        return max(stamps) if stamps else None

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        reference = self.progress_reference()
        lag = (None if now is None or reference is None
               else round(max(0.0, (now - reference).total_seconds()), 3))
        return {
            "state": self.state,
            "lag_s": lag,
            "passes": self.passes,
            "failed_passes": self.failed_passes,
            "last_pass_started_at": utc_iso(self.last_started_at),
            "last_pass_finished_at": utc_iso(self.last_finished_at),
            "last_pass_duration_s": (None if self.last_duration_s is None
                                     else round(self.last_duration_s, 3)),
            "last_pass_outcome": self.last_outcome,
            "next_run_at": utc_iso(self.next_run_at),
            "last_success_at": utc_iso(self.last_success_at),
            "last_progress_at": utc_iso(self.last_progress_at),
            "backoff_failures": self.backoff_failures,
            "retry_at": utc_iso(self.retry_at),
        }


class _PassStop(threading.Event):
    """A pass's stop flag: set on its own (lease lost) or by the daemon's stop."""

    def __init__(self, daemon_stop: threading.Event) -> None:
        super().__init__()
        self._daemon_stop = daemon_stop

    def is_set(self) -> bool:
        return super().is_set() or self._daemon_stop.is_set()


def pass_failed(result: Any) -> bool:
    """Whether an engine ``PassResult`` reports failure (``ok`` false or an error set)."""
    ok = getattr(result, "ok", None)
    if ok is not None:
        return not bool(ok)
    return getattr(result, "error", None) is not None


class Daemon:
    """Schedules sync passes and serves health until asked to stop."""

    def __init__(self, settings: Settings, engine: Engine, *,
                 statuses: Callable[[], list[dict[str, Any]]] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 reloader: Callable[[], Settings] | None = None,
                 notifier: Notifier | None = None,
                 enable_reminders: bool = True) -> None:
        self.settings = settings
        self.engine = engine
        self.stop_event = threading.Event()
        self._statuses = statuses
        self._clock = clock
        self._reloader = reloader
        self._reload_requested = threading.Event()
        self._enable_reminders = enable_reminders
        self.notifier = notifier if notifier is not None else Notifier.from_env()
        self.database = getattr(engine, "db", None)
        self.backoff = Backoff(BackoffPolicy(base=settings.scheduler.backoff_base,
                                             cap=settings.scheduler.backoff_max))
        self.metrics = SyncMetrics(account_gauges=self._state_gauges,
                                   lag_gauges=self._lag_gauges)
        self._pass_stops: dict[str, _PassStop] = {}
        self.replica_id = settings.scheduler.replica_id or default_replica_id()
        self.leases: LeaseKeeper | None = None
        if self.database is not None and leases_enabled(settings.scheduler.leases,
                                                        self.database.dialect):
            self.leases = LeaseKeeper(self.database, self.replica_id,
                                      ttl_s=settings.scheduler.lease_ttl)
        self._store_up: bool | None = None
        self._accounts: dict[str, Account] = {}
        self.runtime: dict[str, AccountRuntime] = {}
        self._scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=settings.scheduler.workers),
                "control": ThreadPoolExecutor(max_workers=1),
                # lease refreshes wait on the store: never let them delay the heartbeat
                "leases": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._started_at = clock()
        self.last_heartbeat = time.monotonic()
        self._heartbeat_listeners: list[Callable[[], object]] = []
        watchdog = watchdog_interval()
        #: at least twice per watchdog period, so one late beat is not fatal
        self.heartbeat_seconds = (min(HEARTBEAT_SECONDS, watchdog / 2.5)
                                  if watchdog is not None else HEARTBEAT_SECONDS)
        if watchdog is not None and self.notifier.enabled:
            self.add_heartbeat_listener(self.notifier.watchdog)
        self.health: HealthServer | None = None
        if settings.health.enabled:
            self.health = HealthServer(settings.health.host, settings.health.port, {
                "/healthz": self._healthz,
                "/readyz": self._readyz,
                "/status": self._status,
                "/metrics": self._metrics,
            })

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=self.heartbeat_seconds),
                                id="syncd:heartbeat", executor="control")
        if self._enable_reminders:
            from syncd.reminders.job import add_reminder_jobs  # issue 7: clock-driven reminders

            add_reminder_jobs(self._scheduler, lambda: self.settings,
                              getattr(self.engine, "db", None))
        if self.health is not None:  # first: a port in use stops us before any work starts
            self.health.start()
        self.apply_settings(self.settings)
        if self.leases is not None:
            self._refresh_leases()  # before the first passes, so they find their leases
            self._scheduler.add_job(self._refresh_leases,
                                    IntervalTrigger(seconds=self.leases.ttl_s / 3),
                                    id="syncd:leases", executor="leases")
        self._scheduler.start()
        structlog.contextvars.bind_contextvars(replica=self.replica_id)
        log.info("daemon started", accounts=len(self._accounts),
                 workers=self.settings.scheduler.workers, pid=os.getpid(),
                 leases=self.leases is not None)
        self.notifier.ready(status=self.status_line())

    def apply_settings(self, settings: Settings) -> None:
        """(Re)schedule jobs so they match ``settings.accounts``.

        New accounts get a job, removed or disabled ones lose theirs, changed
        ones get a fresh trigger. A pass already running keeps going with the
        account object it started with. (Issue 8's SIGHUP reload calls this
        after validating the new file.)
        """
        self.settings = settings
        wanted = {a.id: a for a in settings.accounts if a.enabled}
        for attempt in (1, 2):
            try:  # so /status lists every account before its first pass
                self.engine.register_accounts(list(wanted.values()))
                break
            except SyncdError as exc:  # the first pass registers it anyway
                log.warning("cannot register accounts in the store yet", error=describe(exc))
                break
            except IntegrityError:
                # another replica inserted the same rows at the same moment: now they exist
                if attempt == 2:
                    log.warning("cannot register accounts: concurrent inserts")
        for account_id in list(self._accounts):
            if account_id not in wanted:
                if self._scheduler.get_job(account_id) is not None:
                    self._scheduler.remove_job(account_id)
                self._accounts.pop(account_id)
                self.runtime.pop(account_id, None)
                log.info("account unscheduled", account=account_id)
        now = self._clock()
        # accounts (re)scheduled by this call: their first runs are spread out together
        fresh = sum(1 for a_id, a in wanted.items() if self._accounts.get(a_id) != a)
        for account_id, account in wanted.items():
            previous = self._accounts.get(account_id)
            self._accounts[account_id] = account
            runtime = self.runtime.setdefault(account_id,
                                              AccountRuntime(account_id, account.provider))
            if runtime.since is None and (self.leases is None or self.leases.holds(account_id)):
                runtime.since = now
            if previous is not None and previous == account:
                continue
            first = now + timedelta(seconds=self._first_delay(account, fresh))
            trigger = IntervalTrigger(seconds=account.interval, jitter=account.jitter or None,
                                      timezone=UTC)
            self._scheduler.add_job(self._run_pass, trigger, args=(account_id,), id=account_id,
                                    name=f"sync {account_id}", next_run_time=first,
                                    replace_existing=True)
            self.runtime[account_id].next_run_at = first
            log.info("account scheduled", account=account_id, provider=account.provider,
                     interval=account.interval, jitter=account.jitter, first_run_at=utc_iso(first))

    @staticmethod
    def _first_delay(account: Account, fleet: int = 1) -> float:
        """Delay of an account's first run: within its jitter, or longer for a big batch.

        A thousand accounts starting together would all be due within
        ``jitter`` seconds and queue behind the worker pool; spreading the
        batch at :data:`FIRST_RUNS_PER_SECOND` (never beyond one interval)
        keeps every run close to its scheduled time.
        """
        spread = min(account.interval, max(account.jitter, fleet / FIRST_RUNS_PER_SECOND))
        return 0.05 + (random.uniform(0, spread) if spread > 0 else 0.0)

    def request_stop(self, reason: str = "requested") -> None:
        if not self.stop_event.is_set():
            log.info("stopping: finishing current pages", reason=reason)
        self.stop_event.set()

    def shutdown(self, grace_s: float = STOP_GRACE_SECONDS) -> bool:
        """Stop scheduling, wait for running passes (they stop after their page).

        Returns False when passes were still running after ``grace_s``
        (e.g. a provider that never answers); they are abandoned, and their
        open transaction rolls back when the process exits.
        """
        self.stop_event.set()
        self.notifier.stopping(status="stopping: finishing current pages")
        clean = True
        if self._scheduler.running:
            self._scheduler.pause()
            waiter = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True},
                                      name="syncd-shutdown", daemon=True)
            waiter.start()
            waiter.join(grace_s)
            if waiter.is_alive():
                clean = False
                busy = sorted(a for a, r in self.runtime.items() if r.state == "syncing")
                log.error("passes still running after the stop grace period; abandoning them "
                          "(their open page rolls back)", grace_s=grace_s, accounts=busy)
        for runtime in self.runtime.values():
            runtime.state = "stopped"
            runtime.next_run_at = None
        close = getattr(self.engine, "close", None)  # providers kept between passes
        if callable(close):
            close()
        if self.leases is not None and clean:
            try:
                self.leases.release_all()
            except StoreError as exc:  # they expire on their own
                log.warning("could not release leases", error=describe(exc))
        if self.health is not None:
            self.health.stop()
        log.info("daemon stopped", clean=clean)
        return clean

    def run(self) -> int:
        """Start, wait for SIGTERM/SIGINT (or :meth:`request_stop`), shut down; exit status.

        SIGHUP reloads the config (:meth:`reload`) from the main loop.
        """
        previous = self._install_signal_handlers()
        clean = True
        try:
            self.start()
            while not self.stop_event.wait(0.2):
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self.reload()
        finally:
            clean = self.shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if not clean:
            # worker threads stuck in a provider call would keep the interpreter alive
            logging_flush()
            os._exit(1)
        return 0

    def reload(self) -> bool:
        """Re-read the config; apply it if valid, else keep the running one. True if applied."""
        if self._reloader is None:
            log.warning("reload requested but this daemon has no config file to re-read")
            return False
        self.notifier.reloading()
        try:
            new = self._reloader()
        except ConfigError as exc:
            log.error("config reload refused; keeping the running config",
                      source=exc.source or None,
                      issues=[{"path": i.path, "problem": i.problem} for i in exc.issues],
                      paths=[i.path for i in exc.issues])
            self.notifier.ready(status="config reload refused (see log); " + self.status_line())
            return False
        except Exception as exc:  # unreadable file etc.: same policy, never die on reload
            log.error("config reload failed; keeping the running config", error=describe(exc))
            self.notifier.ready(status="config reload failed (see log); " + self.status_line())
            return False
        restart = changed_restart_only(self.settings, new)
        if restart:
            log.warning("these settings change only after a restart", paths=restart)
        if (new.logging.level, new.logging.format) != (self.settings.logging.level,
                                                        self.settings.logging.format):
            configure_logging(new.logging.level, new.logging.format)
        if hasattr(self.engine, "settings"):
            self.engine.settings = new
        before = set(self._accounts)
        self.apply_settings(new)
        log.info("config reloaded", accounts=len(self._accounts),
                 added=sorted(set(self._accounts) - before),
                 removed=sorted(before - set(self._accounts)))
        self.notifier.ready(status=self.status_line())
        return True

    def request_reload(self) -> None:
        self._reload_requested.set()

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if self.stop_event.is_set():
                # a second Ctrl-C means "now": every page is its own
                # transaction, so nothing is half-written
                log.warning("second signal: exiting immediately", signal=name)
                os._exit(130)
            self.request_stop(reason=name)

        def on_hangup(_signum: int, _frame: FrameType | None) -> None:
            self.request_reload()  # the main loop does the work, outside the handler

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
        return previous

    # ------------------------------------------------------------------ jobs
    def _heartbeat(self) -> None:
        self.last_heartbeat = time.monotonic()
        for listener in list(self._heartbeat_listeners):
            try:
                listener()
            except Exception:
                log.exception("heartbeat listener failed")
        self.notifier.status(self.status_line())

    def status_line(self) -> str:
        """One line for ``systemctl status``: account states at a glance."""
        counts: dict[str, int] = {}
        for runtime in list(self.runtime.values()):
            counts[runtime.state] = counts.get(runtime.state, 0) + 1
        parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        line = f"{len(self.runtime)} accounts" + (f": {parts}" if parts else "")
        if self.leases is not None:
            line += f"; {len(self.leases.held())} leased by {self.replica_id}"
        return line

    def _refresh_leases(self) -> None:
        keeper = self.leases
        if keeper is None or self.stop_event.is_set():
            return
        try:
            gained, lost = keeper.refresh(list(self._accounts))
        except StoreError as exc:
            log.warning("cannot refresh leases; they lapse unless renewed", error=describe(exc))
            return
        now = self._clock()
        for account_id in lost:
            stop = self._pass_stops.get(account_id)
            if stop is not None:
                log.warning("lease lost mid-pass; stopping after the current page",
                            account=account_id)
                stop.set()
            runtime = self.runtime.get(account_id)
            if runtime is not None:
                runtime.since = None
                if runtime.state != "syncing":
                    runtime.state = "standby"
        for account_id in gained:
            runtime = self.runtime.get(account_id)
            if runtime is None:
                continue
            runtime.since = now
            log.info("lease acquired", account=account_id)
            if self._scheduler.get_job(account_id) is not None:  # sync it now, not in an interval
                first = now + timedelta(seconds=self._first_delay(self._accounts[account_id],
                                                                  len(gained)))
                self._scheduler.modify_job(account_id, next_run_time=first)
                runtime.next_run_at = first
        self.metrics.leases.set(len(keeper.held()))

    def add_periodic(self, job_id: str, func: Callable[[], Any], seconds: float, *,
                     first_delay: float = 5.0) -> None:
        """Run ``func`` every ``seconds`` on the worker pool (e.g. the reminders sweep).

        Same guarantees as sync jobs: never two runs at once, missed runs
        coalesce, an exception is logged (with traceback) and the next run
        happens as scheduled. Call before or after :meth:`start`.
        """
        def run() -> None:
            if self.stop_event.is_set():
                return
            with structlog.contextvars.bound_contextvars(job=job_id):
                try:
                    func()
                except Exception as exc:
                    log.exception("periodic job failed", error=describe(exc))

        first = self._clock() + timedelta(seconds=first_delay)
        self._scheduler.add_job(run, IntervalTrigger(seconds=seconds, timezone=UTC), id=job_id,
                                name=job_id, next_run_time=first, replace_existing=True)

    def add_heartbeat_listener(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` on every heartbeat (e.g. systemd WATCHDOG=1)."""
        self._heartbeat_listeners.append(listener)

    def _run_pass(self, account_id: str) -> None:
        account = self._accounts.get(account_id)
        runtime = self.runtime.get(account_id)
        if account is None or runtime is None or self.stop_event.is_set():
            return
        scheduled = runtime.next_run_at
        now = self._clock()
        if scheduled is not None:
            self.metrics.schedule_lag.observe(max(0.0, (now - scheduled).total_seconds()))
        self._refresh_next_run(account_id, runtime)
        if self.leases is not None and not self.leases.begin(account_id):
            runtime.state = "standby"  # another replica syncs it (or nobody may, yet)
            return
        try:
            self._run_leased_pass(account_id, account, runtime)
        finally:
            if self.leases is not None:
                self.leases.end(account_id)

    def _run_leased_pass(self, account_id: str, account: Account,
                         runtime: AccountRuntime) -> None:
        labels = {"account": account_id, "provider": account.provider}
        pass_id = uuid.uuid4().hex[:12]  # ties together every log line of this pass
        with structlog.contextvars.bound_contextvars(account=account_id, pass_id=pass_id,
                                                     provider=account.provider):
            try:
                should = self.engine.should_poll(account)
            except StoreError as exc:  # the store is down: transient, like a failed pass
                log.warning("cannot reach the store to start a pass", error=describe(exc))
                self.metrics.passes.inc(outcome="store", **labels)
                self.metrics.errors.inc(**labels, **{"class": "store"})
                self._back_off(account_id, runtime, "store", None)
                return
            except Exception as exc:
                log.exception("cannot decide whether to poll", error=describe(exc))
                should = False
            if not should:
                runtime.state = "needs_reauth"
                self.metrics.passes.inc(outcome="skipped", **labels)
                log.info("pass skipped: account is not polled (e.g. needs re-authentication)")
                return
            runtime.state = "syncing"
            runtime.last_started_at = self._clock()
            started = time.monotonic()
            stop = _PassStop(self.stop_event)
            self._pass_stops[account_id] = stop
            log.info("pass started", replica=self.replica_id)

            def progress(_account: str, _done: int, _total: int | None) -> None:
                runtime.last_progress_at = self._clock()

            error_code: str | None = None
            retry_after: float | None = None
            result: Any = None
            try:
                result = self.engine.sync_account(account, progress=progress, stop=stop)
            except Exception as exc:  # the engine records errors; this is a bug guard
                failed, outcome, error_code = True, describe(exc), "internal"
                log.exception("pass crashed", error=outcome)
            else:
                failed = pass_failed(result)
                outcome = "failed" if failed else "ok"
                error_code = getattr(result, "error_code", None) if failed else None
                retry_after = getattr(result, "retry_after", None)
                counts = result.to_dict() if hasattr(result, "to_dict") else {}
                log.info("pass finished", outcome=outcome, replica=self.replica_id, **{
                    k: counts[k] for k in ("items", "created", "updated", "skipped",
                                           "quarantined", "pages", "duration_s", "stopped",
                                           "error_code")
                    if k in counts})
            finally:
                self._pass_stops.pop(account_id, None)
            finished = self._clock()
            duration = time.monotonic() - started
            runtime.passes += 1
            runtime.failed_passes += int(failed)
            runtime.last_finished_at = finished
            runtime.last_duration_s = duration
            runtime.last_outcome = outcome
            runtime.last_error_code = error_code
            self.metrics.duration.observe(duration, provider=account.provider)
            self.metrics.items.inc(float(getattr(result, "items", 0) or 0), **labels)
            self.metrics.quarantined.inc(float(getattr(result, "quarantined", 0) or 0), **labels)
            if not failed:
                stopped = bool(getattr(result, "stopped", False))
                self.metrics.passes.inc(outcome="stopped" if stopped else "ok", **labels)
                if not stopped:
                    runtime.last_success_at = finished
                    runtime.last_progress_at = finished
                self.backoff.succeeded(account_id)
                runtime.backoff_failures, runtime.retry_at = 0, None
                runtime.state = "idle"
            else:
                code = error_code or "internal"
                self.metrics.errors.inc(**labels, **{"class": code})
                if code in TRANSIENT_CODES:
                    self.metrics.passes.inc(outcome=code if code != "cursor_expired"
                                            else "transient", **labels)
                    self._back_off(account_id, runtime, code, retry_after)
                elif code == "auth":
                    self.metrics.passes.inc(outcome="auth", **labels)
                    runtime.state = "needs_reauth"
                else:
                    self.metrics.passes.inc(outcome="failed", **labels)
                    runtime.state = "failed"
            if self.stop_event.is_set():
                runtime.state = "stopped"

    def _back_off(self, account_id: str, runtime: AccountRuntime, code: str,
                  retry_after: float | None) -> None:
        """Reschedule a transiently failed account after its backoff delay."""
        delay = self.backoff.failed(account_id, retry_after=retry_after)
        runtime.state = "backing_off"
        runtime.backoff_failures = self.backoff.failures(account_id)
        runtime.retry_at = self._clock() + timedelta(seconds=delay)
        if not self.stop_event.is_set() and self._scheduler.get_job(account_id) is not None:
            try:
                self._scheduler.modify_job(account_id, next_run_time=runtime.retry_at)
                runtime.next_run_at = runtime.retry_at
            except Exception:  # the job was removed by a reload meanwhile
                log.debug("could not reschedule after backoff", account=account_id)
        log.info("backing off", error_code=code, delay_s=round(delay, 3),
                 retry_after=retry_after, failures=runtime.backoff_failures)

    def _refresh_next_run(self, account_id: str, runtime: AccountRuntime) -> None:
        job = self._scheduler.get_job(account_id)
        runtime.next_run_at = getattr(job, "next_run_time", None) if job is not None else None

    # ------------------------------------------------------------------ health
    def alive(self) -> bool:
        fresh = time.monotonic() - self.last_heartbeat < HEARTBEAT_STALE_SECONDS
        return bool(self._scheduler.running) and fresh and not self.stop_event.is_set()

    def _healthz(self) -> Response:
        alive = self.alive()
        body = {
            "status": "ok" if alive else "down",
            "scheduler_running": bool(self._scheduler.running),
            "heartbeat_age_s": round(time.monotonic() - self.last_heartbeat, 3),
            "stopping": self.stop_event.is_set(),
            "started_at": utc_iso(self._started_at),
            "accounts_scheduled": len(self._accounts),
        }
        return Response.json(body, 200 if alive else 503)

    def _status(self) -> Response:
        return Response.json(self.status_document())

    def store_reachable(self) -> tuple[bool, str | None]:
        if self.database is None:
            return True, None
        try:
            with self.database.session(write=False) as s:
                s.execute(text("SELECT 1"))
        except StoreError as exc:
            self._store_up = False
            return False, describe(exc)
        self._store_up = True
        return True, None

    def responsible_for(self) -> list[str]:
        """Accounts this replica syncs: every scheduled one, or those it holds a lease on."""
        ids = list(self._accounts)
        if self.leases is not None:
            held = self.leases.held()
            ids = [a for a in ids if a in held]
        return ids

    def overdue(self) -> list[dict[str, Any]]:
        """Accounts without progress for more than ``overdue_intervals`` poll intervals."""
        now = self._clock()
        out: list[dict[str, Any]] = []
        factor = self.settings.health.overdue_intervals
        for account_id in self.responsible_for():
            account = self._accounts.get(account_id)
            runtime = self.runtime.get(account_id)
            if account is None or runtime is None:
                continue
            reference = runtime.progress_reference()
            if reference is None:
                continue
            limit = factor * account.interval + account.jitter
            silent = (now - reference).total_seconds()
            if silent > limit:
                out.append({"account": account_id, "state": runtime.state,
                            "seconds_without_progress": round(silent, 1),
                            "limit_s": round(limit, 1),
                            "last_error_code": runtime.last_error_code})
        return out

    def _readyz(self) -> Response:
        store_ok, store_error = self.store_reachable()
        overdue = self.overdue()
        ready = store_ok and not overdue and self.alive()
        body: dict[str, Any] = {
            "status": "ready" if ready else "not ready",
            "store": {"reachable": store_ok, "error": store_error},
            "overdue_accounts": overdue,
            "alive": self.alive(),
            "accounts": len(self.responsible_for()),
        }
        return Response.json(redact_value(body), 200 if ready else 503)

    def _metrics(self) -> Response:
        self.store_reachable()
        self.metrics.store_up.set(1.0 if self._store_up else 0.0)
        self.metrics.up.set(1.0 if self.alive() else 0.0)
        if self.leases is not None:
            self.metrics.leases.set(len(self.leases.held()))
        return Response.text(self.metrics.render())

    def _state_gauges(self) -> list[tuple[dict[str, str], float]]:
        return [({"account": a, "provider": r.provider, "state": r.state}, 1.0)
                for a, r in list(self.runtime.items())]

    def _lag_gauges(self) -> list[tuple[dict[str, str], float]]:
        now = self._clock()
        out: list[tuple[dict[str, str], float]] = []
        for account_id in self.responsible_for():
            runtime = self.runtime.get(account_id)
            reference = runtime.progress_reference() if runtime is not None else None
            if runtime is not None and reference is not None:
                out.append(({"account": account_id, "provider": runtime.provider},
                            max(0.0, (now - reference).total_seconds())))
        return out

    def status_document(self) -> dict[str, Any]:
        """The ``/status`` body: store facts per account merged with runtime facts."""
        stored = self._statuses() if self._statuses is not None else []
        for account_id, runtime in self.runtime.items():
            if runtime.state != "stopped":
                self._refresh_next_run(account_id, runtime)
        return status_document(stored, self.runtime, generated_at=self._clock(), extra={
            "daemon": {"pid": os.getpid(), "started_at": utc_iso(self._started_at),
                       "alive": self.alive(), "workers": self.settings.scheduler.workers,
                       "replica": self.replica_id, "leases": self.leases is not None},
        })


def changed_restart_only(old: Settings, new: Settings) -> list[str]:
    """Key paths in :data:`RESTART_ONLY` whose value differs between ``old`` and ``new``."""
    changed: list[str] = []
    for path in RESTART_ONLY:
        a: Any = old
        b: Any = new
        for part in path.split("."):
            a, b = getattr(a, part), getattr(b, part)
        if a != b:
            changed.append(path)
    return changed


def logging_flush() -> None:
    import contextlib
    import logging

    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # best effort right before exiting
            handler.flush()


def status_document(stored: Iterable[dict[str, Any]],
                    runtime: dict[str, AccountRuntime] | None = None, *,
                    generated_at: datetime,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON shape for ``/status`` and ``syncd status --format json``.

    ``stored`` are the store's per-account dicts (``AccountStatus.to_dict()``,
    keyed by ``account``); ``runtime`` adds a ``daemon`` object to each
    account this process schedules.
    """
    accounts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in stored:
        item = dict(entry)
        account_id = str(item.get("account", item.get("id", "")))
        seen.add(account_id)
        if runtime is not None and account_id in runtime:
            item["daemon"] = runtime[account_id].to_dict(generated_at)
        accounts.append(item)
    for account_id, rt in (runtime or {}).items():
        if account_id not in seen:  # scheduled but never synced yet
            accounts.append({"account": account_id, "provider": rt.provider,
                             "daemon": rt.to_dict(generated_at)})
    doc: dict[str, Any] = {"generated_at": utc_iso(generated_at)}
    doc.update(extra or {})
    doc["accounts"] = accounts
    # error messages are built without secrets; mask anything that slipped through anyway
    redacted: dict[str, Any] = redact_value(doc)
    return redacted

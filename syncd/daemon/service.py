"""The daemon's lifecycle: one scheduled sync job per enabled account, reload, clean stop.

Lifecycle (``Daemon.run`` drives it from the main thread)::

    created ──start()──► running ──request_stop()/SIGTERM/SIGINT──► stopping ──► stopped
                          │  ▲
                          └──┘ SIGHUP: reload() ─► apply_settings(new)

* ``start`` binds the health server first (a port in use stops the daemon
  before any work), then starts an APScheduler 3 ``BackgroundScheduler``
  with three executors: ``default``, a bounded pool of ``scheduler.workers``
  threads for sync passes (and periodic jobs such as the reminders sweep);
  ``control``, one thread for the heartbeat, so a pool full of long passes
  never makes the daemon look dead; ``leases``, one thread for lease
  refreshes, so a slow store never delays the heartbeat.
* Each enabled account is one interval job (:mod:`syncd.daemon.schedule`:
  never two passes of one account at once, first runs of a big fleet
  spread out). What a job does, and how a pass's verdict moves the account
  (:mod:`syncd.daemon.runtime`), is :mod:`syncd.daemon.passes`. The HTTP
  probes are :mod:`syncd.daemon.probes`.
* Liveness: the heartbeat job stamps ``last_heartbeat`` every few seconds
  (at least twice per systemd ``WatchdogSec``); ``alive()`` is true while
  the scheduler runs, the stamp is fresh and no stop was requested.
* systemd (:mod:`syncd.daemon.notify`): ``READY=1`` once health is bound and
  the scheduler runs, ``STATUS=`` and ``WATCHDOG=1`` on every heartbeat,
  ``RELOADING=1``/``READY=1`` around a reload, ``STOPPING=1`` at shutdown.
* SIGHUP: the main loop calls :meth:`Daemon.reload`: the config file is
  read and validated again; a bad one is refused (logged with its key
  paths) and the running config stays; a good one goes through
  :meth:`Daemon.apply_settings` (passes in flight finish with the old
  account). Settings in :data:`RESTART_ONLY` change only after a restart.
* Replicas: with leases on, :class:`syncd.daemon.lease_keeper.LeaseKeeper`
  refreshes every ``lease_ttl / 3`` seconds; a pass starts only while this
  replica holds the account's lease (what a gained or lost lease does to
  the account's job: :mod:`syncd.daemon.schedule`).
* Stopping: ``request_stop`` (signal handlers call it) sets the stop event;
  ``run`` then pauses the scheduler and gives running passes
  ``STOP_GRACE_SECONDS`` to finish their page (one transaction). Past that
  (a provider hanging) the process exits anyway with status 1 — the open
  page's transaction rolls back, so nothing is half-written. A second
  SIGINT/SIGTERM exits at once (130).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from syncd.config.model import Account, Settings
from syncd.daemon.backoff import Backoff, BackoffPolicy
from syncd.daemon.coverage_job import CoverageJob, coverage_checker
from syncd.daemon.feed_job import add_feed_job
from syncd.daemon.housekeeping import add_retention_job, on_start
from syncd.daemon.http import HealthServer
from syncd.daemon.lease_keeper import LeaseKeeper, default_replica_id, leases_enabled
from syncd.daemon.metrics import SyncMetrics
from syncd.daemon.notify import Notifier, watchdog_interval
from syncd.daemon.passes import Engine, PassRunner
from syncd.daemon.probes import Probes
from syncd.daemon.runtime import AccountRuntime
from syncd.daemon.schedule import AccountJobs
from syncd.daemon.skip_records_job import add_skip_records_job
from syncd.daemon.webhook_job import DaemonWebhooks
from syncd.errors import ConfigError, StoreError, SyncdError, describe
from syncd.logs import configure_logging, get_logger
from syncd.reminders.job import add_reminder_jobs
from syncd.store.database import Database

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0
#: ``alive()`` turns false when the heartbeat is older than this
HEARTBEAT_STALE_SECONDS = 30.0
#: how long a stop waits for running passes (systemd's TimeoutStopSec is 60 s)
STOP_GRACE_SECONDS = 45.0

#: settings that only take effect after a restart
RESTART_ONLY = ("state_dir", "store", "health.enabled", "health.host", "health.port",
                "scheduler.workers", "scheduler.leases", "scheduler.lease_ttl",
                "scheduler.replica_id", "api")


class Daemon:
    """Schedules sync passes and serves health until asked to stop."""

    webhooks: DaemonWebhooks

    def __init__(self, settings: Settings, engine: Engine, *,
                 statuses: Callable[[], list[dict[str, Any]]] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 reloader: Callable[[], Settings] | None = None,
                 notifier: Notifier | None = None,
                 enable_reminders: bool = True) -> None:
        self.settings = settings
        self.engine = engine
        self.stop_event = threading.Event()
        self._clock = clock
        self._reloader = reloader
        self._reload_requested = threading.Event()
        self._enable_reminders = enable_reminders
        self.notifier = notifier if notifier is not None else Notifier.from_env()
        self.database: Database | None = getattr(engine, "db", None)
        self.backoff = Backoff(BackoffPolicy(base=settings.scheduler.backoff_base,
                                             cap=settings.scheduler.backoff_max))
        self.replica_id = settings.scheduler.replica_id or default_replica_id()
        self.leases: LeaseKeeper | None = None
        if self.database is not None and leases_enabled(settings.scheduler.leases,
                                                        self.database.dialect):
            self.leases = LeaseKeeper(self.database, self.replica_id,
                                      ttl_s=settings.scheduler.lease_ttl)
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
        self.jobs = AccountJobs(self._scheduler, self._run_pass, clock=clock,
                                leases=self.leases)
        self.probes = Probes(self, statuses=statuses)
        self.metrics = SyncMetrics(
            account_gauges=self.probes.state_samples, lag_gauges=self.probes.lag_samples,
            webhook_lag_events=lambda: self.webhooks.lag_event_samples(),
            webhook_lag_seconds=lambda: self.webhooks.lag_second_samples())
        # webhook deliveries: a thread per subscription, leases of their own (webhook_job)
        self.webhooks = DaemonWebhooks(self.database, self.replica_id,
                                       leases=self.leases is not None,
                                       ttl_s=settings.scheduler.lease_ttl,
                                       metrics=self.metrics, clock=clock)
        #: coverage checks after passes, when due (syncd.daemon.coverage_job)
        self.coverage = CoverageJob(lambda: coverage_checker(self.engine, self.settings),
                                    lambda: self.settings, self.metrics, clock=clock)
        self.passes = PassRunner(engine, jobs=self.jobs, backoff=self.backoff,
                                 metrics=self.metrics, leases=self.leases,
                                 daemon_stop=self.stop_event, clock=clock,
                                 replica_id=self.replica_id,
                                 after_pass=self.coverage.after_pass)
        self.started_at = clock()
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
            self.health = HealthServer(settings.health.host, settings.health.port,
                                       self.probes.routes())

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=self.heartbeat_seconds),
                                id="syncd:heartbeat", executor="control")
        if self._enable_reminders:
            add_reminder_jobs(self._scheduler, lambda: self.settings, self.database)
            add_feed_job(self._scheduler, lambda: self.settings, self.database)
            add_skip_records_job(self._scheduler, lambda: self.settings, self.database)
            add_retention_job(self._scheduler, lambda: self.settings, self.database)
        if self.health is not None:  # first: a port in use stops us before any work starts
            self.health.start()
        self.apply_settings(self.settings)  # registers the accounts; passes wait for the
        # scheduler, started below, so the start-up checks still run before any pass
        if self.database is not None:  # leftover accounts, lowered privacy levels
            on_start(self.database, self.settings)
        if self.leases is not None:
            self._refresh_leases()  # before the first passes, so they find their leases
            self._scheduler.add_job(self._refresh_leases,
                                    IntervalTrigger(seconds=self.leases.ttl_s / 3),
                                    id="syncd:leases", executor="leases")
        self.webhooks.schedule(self._scheduler)
        self._scheduler.start()
        structlog.contextvars.bind_contextvars(replica=self.replica_id)
        log.info("daemon started", accounts=len(self.accounts),
                 workers=self.settings.scheduler.workers, pid=os.getpid(),
                 leases=self.leases is not None)
        self.notifier.ready(status=self.status_line())

    def apply_settings(self, settings: Settings) -> None:
        """(Re)schedule jobs so they match ``settings.accounts``.

        New accounts get a job, removed or disabled ones lose theirs, changed
        ones get a fresh trigger. A pass already running keeps going with the
        account object it started with. (:meth:`reload` calls this after
        validating the new file.)
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
        self.jobs.apply(wanted)
        self.coverage.forget(set(wanted))
        self.coverage.load(set(wanted))  # stored due times and drift: /readyz red from the start
        self.webhooks.apply(settings.webhooks)

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
        self.webhooks.stop(release=clean)
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
        before = set(self.accounts)
        self.apply_settings(new)
        log.info("config reloaded", accounts=len(self.accounts),
                 added=sorted(set(self.accounts) - before),
                 removed=sorted(before - set(self.accounts)))
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
    def _run_pass(self, account_id: str) -> None:
        """The job of one account: a pass with the account as currently configured."""
        account = self.accounts.get(account_id)
        runtime = self.runtime.get(account_id)
        if account is None or runtime is None or self.stop_event.is_set():
            return
        self.passes.run(account, runtime)

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
            gained, lost = keeper.refresh(list(self.accounts))
        except StoreError as exc:
            log.warning("cannot refresh leases; they lapse unless renewed", error=describe(exc))
            return
        self.jobs.leases_changed(gained, lost, stop_pass=self.passes.stop)
        self.metrics.leases.set(len(keeper.held()))

    def add_periodic(self, job_id: str, func: Callable[[], object], seconds: float, *,
                     first_delay: float = 5.0) -> None:
        """Run ``func`` every ``seconds`` on the worker pool (e.g. the reminders sweep).

        Same guarantees as sync jobs: never two runs at once, missed runs
        coalesce, an exception is logged (with traceback) and the next run
        happens as scheduled. Call before or after :meth:`start`.
        """
        self.jobs.add_periodic(job_id, func, seconds, first_delay=first_delay,
                               skip=self.stop_event.is_set)

    def add_heartbeat_listener(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` on every heartbeat (e.g. systemd WATCHDOG=1)."""
        self._heartbeat_listeners.append(listener)

    # ------------------------------------------------------------------ what probes read
    @property
    def accounts(self) -> dict[str, Account]:
        """The scheduled (enabled) accounts, by id."""
        return self.jobs.accounts

    @property
    def runtime(self) -> dict[str, AccountRuntime]:
        """What this process knows about each scheduled account, by id."""
        return self.jobs.runtime

    @property
    def scheduler_running(self) -> bool:
        return bool(self._scheduler.running)

    def now(self) -> datetime:
        return self._clock()

    def heartbeat_age(self) -> float:
        return time.monotonic() - self.last_heartbeat

    def alive(self) -> bool:
        fresh = self.heartbeat_age() < HEARTBEAT_STALE_SECONDS
        return self.scheduler_running and fresh and not self.stop_event.is_set()

    def refresh_next_runs(self) -> None:
        self.jobs.refresh_next_runs()

    def status_document(self) -> dict[str, Any]:
        """The ``/status`` body (see :meth:`syncd.daemon.probes.Probes.status_document`)."""
        return self.probes.status_document()


def changed_restart_only(old: Settings, new: Settings) -> list[str]:
    """Key paths in :data:`RESTART_ONLY` whose value differs between ``old`` and ``new``."""
    changed: list[str] = []
    for path in RESTART_ONLY:
        a: object = old
        b: object = new
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

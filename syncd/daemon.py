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
  soon after start, spread over ``min(jitter, interval)`` seconds so a large
  fleet does not stampede.
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

from syncd.config.model import Account, Settings
from syncd.errors import SyncdError, describe
from syncd.health import HealthServer, Response, utc_iso
from syncd.logs import get_logger, redact_value

log = get_logger(__name__)

HEARTBEAT_SECONDS = 5.0
#: ``alive()`` turns false when the heartbeat is older than this
HEARTBEAT_STALE_SECONDS = 30.0

RuntimeState = Literal["scheduled", "syncing", "idle", "skipped", "failed", "stopped"]


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "passes": self.passes,
            "failed_passes": self.failed_passes,
            "last_pass_started_at": utc_iso(self.last_started_at),
            "last_pass_finished_at": utc_iso(self.last_finished_at),
            "last_pass_duration_s": (None if self.last_duration_s is None
                                     else round(self.last_duration_s, 3)),
            "last_pass_outcome": self.last_outcome,
            "next_run_at": utc_iso(self.next_run_at),
        }


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
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.engine = engine
        self.stop_event = threading.Event()
        self._statuses = statuses
        self._clock = clock
        self._accounts: dict[str, Account] = {}
        self.runtime: dict[str, AccountRuntime] = {}
        self._scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=settings.scheduler.workers),
                "control": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._started_at = clock()
        self.last_heartbeat = time.monotonic()
        self._heartbeat_listeners: list[Callable[[], None]] = []
        self.health: HealthServer | None = None
        if settings.health.enabled:
            self.health = HealthServer(settings.health.host, settings.health.port, {
                "/healthz": self._healthz,
                "/status": self._status,
            })

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=HEARTBEAT_SECONDS),
                                id="syncd:heartbeat", executor="control")
        from syncd.reminders.job import add_reminder_jobs  # issue 7: clock-driven reminders

        add_reminder_jobs(self._scheduler, lambda: self.settings, getattr(self.engine, "db", None))
        if self.health is not None:  # first: a port in use stops us before any work starts
            self.health.start()
        self.apply_settings(self.settings)
        self._scheduler.start()
        log.info("daemon started", accounts=len(self._accounts),
                 workers=self.settings.scheduler.workers, pid=os.getpid())

    def apply_settings(self, settings: Settings) -> None:
        """(Re)schedule jobs so they match ``settings.accounts``.

        New accounts get a job, removed or disabled ones lose theirs, changed
        ones get a fresh trigger. A pass already running keeps going with the
        account object it started with. (Issue 8's SIGHUP reload calls this
        after validating the new file.)
        """
        self.settings = settings
        wanted = {a.id: a for a in settings.accounts if a.enabled}
        try:  # so /status lists every account before its first pass
            self.engine.register_accounts(list(wanted.values()))
        except SyncdError as exc:  # the first pass registers it anyway
            log.warning("cannot register accounts in the store yet", error=describe(exc))
        for account_id in list(self._accounts):
            if account_id not in wanted:
                if self._scheduler.get_job(account_id) is not None:
                    self._scheduler.remove_job(account_id)
                self._accounts.pop(account_id)
                self.runtime.pop(account_id, None)
                log.info("account unscheduled", account=account_id)
        now = self._clock()
        for account_id, account in wanted.items():
            previous = self._accounts.get(account_id)
            self._accounts[account_id] = account
            self.runtime.setdefault(account_id, AccountRuntime(account_id, account.provider))
            if previous is not None and previous == account:
                continue
            first = now + timedelta(seconds=self._first_delay(account))
            trigger = IntervalTrigger(seconds=account.interval, jitter=account.jitter or None,
                                      timezone=UTC)
            self._scheduler.add_job(self._run_pass, trigger, args=(account_id,), id=account_id,
                                    name=f"sync {account_id}", next_run_time=first,
                                    replace_existing=True)
            self.runtime[account_id].next_run_at = first
            log.info("account scheduled", account=account_id, provider=account.provider,
                     interval=account.interval, jitter=account.jitter, first_run_at=utc_iso(first))

    @staticmethod
    def _first_delay(account: Account) -> float:
        spread = min(account.jitter, account.interval)
        return 0.05 + (random.uniform(0, spread) if spread > 0 else 0.0)

    def request_stop(self, reason: str = "requested") -> None:
        if not self.stop_event.is_set():
            log.info("stopping: finishing current pages", reason=reason)
        self.stop_event.set()

    def shutdown(self) -> None:
        """Stop scheduling, wait for running passes (they stop after their page)."""
        self.stop_event.set()
        if self._scheduler.running:
            self._scheduler.pause()
            self._scheduler.shutdown(wait=True)
        for runtime in self.runtime.values():
            runtime.state = "stopped"
            runtime.next_run_at = None
        if self.health is not None:
            self.health.stop()
        log.info("daemon stopped")

    def run(self) -> int:
        """Start, wait for SIGTERM/SIGINT (or :meth:`request_stop`), shut down; exit status."""
        previous = self._install_signal_handlers()
        try:
            self.start()
            while not self.stop_event.wait(0.5):
                pass
        finally:
            self.shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

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

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
        return previous

    # ------------------------------------------------------------------ jobs
    def _heartbeat(self) -> None:
        self.last_heartbeat = time.monotonic()
        for listener in list(self._heartbeat_listeners):
            try:
                listener()
            except Exception:
                log.exception("heartbeat listener failed")

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

    def add_heartbeat_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` on every heartbeat (e.g. systemd WATCHDOG=1)."""
        self._heartbeat_listeners.append(listener)

    def _run_pass(self, account_id: str) -> None:
        account = self._accounts.get(account_id)
        runtime = self.runtime.get(account_id)
        if account is None or runtime is None or self.stop_event.is_set():
            return
        self._refresh_next_run(account_id, runtime)
        pass_id = uuid.uuid4().hex[:12]  # ties together every log line of this pass
        with structlog.contextvars.bound_contextvars(account=account_id, pass_id=pass_id,
                                                     provider=account.provider):
            try:
                should = self.engine.should_poll(account)
            except Exception as exc:
                log.exception("cannot decide whether to poll", error=describe(exc))
                should = False
            if not should:
                runtime.state = "skipped"
                log.info("pass skipped: account is not polled (e.g. needs re-authentication)")
                return
            runtime.state = "syncing"
            runtime.last_started_at = self._clock()
            started = time.monotonic()
            try:
                result = self.engine.sync_account(account, stop=self.stop_event)
            except Exception as exc:  # the engine records errors; this is a bug guard
                failed, outcome = True, describe(exc)
                log.exception("pass crashed", error=outcome)
            else:
                failed = pass_failed(result)
                outcome = "failed" if failed else "ok"
                counts = result.to_dict() if hasattr(result, "to_dict") else {}
                log.info("pass finished", outcome=outcome, **{
                    k: counts[k] for k in ("items", "created", "updated", "skipped",
                                           "quarantined", "pages", "duration_s", "stopped")
                    if k in counts})
            runtime.passes += 1
            runtime.failed_passes += int(failed)
            runtime.last_finished_at = self._clock()
            runtime.last_duration_s = time.monotonic() - started
            runtime.last_outcome = outcome
            runtime.state = "failed" if failed else "idle"
            if self.stop_event.is_set():
                runtime.state = "stopped"

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

    def status_document(self) -> dict[str, Any]:
        """The ``/status`` body: store facts per account merged with runtime facts."""
        stored = self._statuses() if self._statuses is not None else []
        for account_id, runtime in self.runtime.items():
            if runtime.state != "stopped":
                self._refresh_next_run(account_id, runtime)
        return status_document(stored, self.runtime, generated_at=self._clock(), extra={
            "daemon": {"pid": os.getpid(), "started_at": utc_iso(self._started_at),
                       "alive": self.alive(), "workers": self.settings.scheduler.workers},
        })


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
            item["daemon"] = runtime[account_id].to_dict()
        accounts.append(item)
    for account_id, rt in (runtime or {}).items():
        if account_id not in seen:  # scheduled but never synced yet
            accounts.append({"account": account_id, "provider": rt.provider,
                             "daemon": rt.to_dict()})
    doc: dict[str, Any] = {"generated_at": utc_iso(generated_at)}
    doc.update(extra or {})
    doc["accounts"] = accounts
    # error messages are built without secrets; mask anything that slipped through anyway
    redacted: dict[str, Any] = redact_value(doc)
    return redacted

"""The daemon's account jobs: which accounts are scheduled, and when each runs next.

Invariants (:class:`AccountJobs`):

* Every scheduled account (enabled in the running config) has exactly one
  scheduler job, id = account id, an ``IntervalTrigger`` of the account's
  ``interval`` and ``jitter``, and one :class:`AccountRuntime`; unscheduling
  removes all three. The scheduler's job defaults (``max_instances=1``,
  ``coalesce``, no misfire limit) mean never two passes of one account at
  once, a backlog of missed runs is one run, and a late run still runs.
* A job is replaced only when its account's settings changed; a pass
  already running keeps the account object it started with.
* First runs come soon (0.05 s) after scheduling, spread over the
  account's jitter — or, for a batch of N accounts scheduled together,
  over N / :data:`FIRST_RUNS_PER_SECOND` seconds (at most one interval) —
  so a large fleet does not stampede the worker pool.
* ``AccountRuntime.next_run_at`` mirrors the job's next run time; only
  :meth:`move` (backoff, lease gained) changes a job's next run outside its
  trigger.
* A backed-off account is retried at its ``retry_at`` even when that comes
  before its pass's job has returned: the scheduler skips such a run (one
  instance at a time) and the trigger would put the account a whole
  interval away, so when the job returns the move is applied again.
* Leases: a lost lease stops the account's pass after its page and leaves
  it ``standby`` (unless mid-pass); a gained lease runs the account soon
  instead of an interval later. ``since`` (what lag is measured from) is
  set when this process becomes responsible for the account.
* Periodic jobs (:meth:`AccountJobs.add_periodic`, e.g. the reminders
  sweep) share the worker pool and the same one-at-a-time guarantees.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.model import Account
from syncd.daemon.lease_keeper import LeaseKeeper
from syncd.daemon.runtime import AccountRuntime
from syncd.errors import describe
from syncd.jsontext import utc_iso
from syncd.logs import get_logger

log = get_logger(__name__)

#: first runs of many accounts scheduled at once are spread to about this rate
FIRST_RUNS_PER_SECOND = 20.0


def first_run_delay(account: Account, fleet: int = 1) -> float:
    """Delay of an account's first run: within its jitter, or longer for a big batch.

    A thousand accounts starting together would all be due within
    ``jitter`` seconds and queue behind the worker pool; spreading the
    batch at :data:`FIRST_RUNS_PER_SECOND` (never beyond one interval)
    keeps every run close to its scheduled time.
    """
    spread = min(account.interval, max(account.jitter, fleet / FIRST_RUNS_PER_SECOND))
    return 0.05 + (random.uniform(0, spread) if spread > 0 else 0.0)


class AccountJobs:
    """One scheduler job and one :class:`AccountRuntime` per scheduled account."""

    def __init__(self, scheduler: BaseScheduler, run_pass: Callable[[str], None], *,
                 clock: Callable[[], datetime], leases: LeaseKeeper | None) -> None:
        self._scheduler = scheduler
        #: the job body, called with the account id
        self._run_pass = run_pass
        self._clock = clock
        self._leases = leases
        #: the scheduled accounts and their runtime facts, by id (never rebound)
        self.accounts: dict[str, Account] = {}
        self.runtime: dict[str, AccountRuntime] = {}
        scheduler.add_listener(self._job_returned, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def apply(self, wanted: Mapping[str, Account]) -> None:
        """Schedule exactly ``wanted`` (id -> account): add, replace and remove jobs."""
        for account_id in list(self.accounts):
            if account_id not in wanted:
                if self._scheduler.get_job(account_id) is not None:
                    self._scheduler.remove_job(account_id)
                self.accounts.pop(account_id)
                self.runtime.pop(account_id, None)
                log.info("account unscheduled", account=account_id)
        now = self._clock()
        # accounts (re)scheduled by this call: their first runs are spread out together
        fresh = sum(1 for a_id, a in wanted.items() if self.accounts.get(a_id) != a)
        for account_id, account in wanted.items():
            previous = self.accounts.get(account_id)
            self.accounts[account_id] = account
            runtime = self.runtime.setdefault(account_id,
                                              AccountRuntime(account_id, account.provider))
            if runtime.since is None and (self._leases is None
                                          or self._leases.holds(account_id)):
                runtime.since = now
            if previous is not None and previous == account:
                continue
            first = now + timedelta(seconds=first_run_delay(account, fresh))
            trigger = IntervalTrigger(seconds=account.interval, jitter=account.jitter or None,
                                      timezone=UTC)
            self._scheduler.add_job(self._run_pass, trigger, args=(account_id,), id=account_id,
                                    name=f"sync {account_id}", next_run_time=first,
                                    replace_existing=True)
            runtime.next_run_at = first
            log.info("account scheduled", account=account_id, provider=account.provider,
                     interval=account.interval, jitter=account.jitter, first_run_at=utc_iso(first))

    def next_run_time(self, account_id: str) -> datetime | None:
        """When ``account_id``'s job runs next (None: not scheduled, or paused)."""
        job = self._scheduler.get_job(account_id)
        when: datetime | None = job.next_run_time if job is not None else None
        return when

    def move(self, account_id: str, when: datetime) -> bool:
        """Run ``account_id``'s job next at ``when`` (then on its trigger); False if gone."""
        if self._scheduler.get_job(account_id) is None:
            return False
        try:
            self._scheduler.modify_job(account_id, next_run_time=when)
        except JobLookupError:  # a reload removed it meanwhile
            return False
        runtime = self.runtime.get(account_id)
        if runtime is not None:
            runtime.next_run_at = when
        return True

    def _job_returned(self, event: JobExecutionEvent) -> None:
        """Re-apply a backoff move whose run was skipped while the job still ran.

        Called after the job's instance count dropped, so a retry time in the
        past now runs at once.
        """
        runtime = self.runtime.get(event.job_id)
        if runtime is None or runtime.state != "backing_off" or runtime.retry_at is None:
            return
        when = self.next_run_time(event.job_id)
        if when is not None and when > runtime.retry_at:
            log.info("retry run was skipped while the pass returned; rescheduling it",
                     account=event.job_id, retry_at=utc_iso(runtime.retry_at))
            self.move(event.job_id, runtime.retry_at)

    def refresh_next_runs(self) -> None:
        """Copy each job's next run time into its runtime (not once stopped)."""
        for account_id, runtime in list(self.runtime.items()):
            if runtime.state != "stopped":
                runtime.next_run_at = self.next_run_time(account_id)

    def leases_changed(self, gained: Collection[str], lost: Collection[str],
                       stop_pass: Callable[[str], bool]) -> None:
        """React to a lease refresh; ``stop_pass`` ends a running pass after its page."""
        now = self._clock()
        for account_id in lost:
            if stop_pass(account_id):
                log.warning("lease lost mid-pass; stopping after the current page",
                            account=account_id)
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
            # sync it now, not an interval from now
            self.move(account_id, now + timedelta(
                seconds=first_run_delay(self.accounts[account_id], len(gained))))

    def add_periodic(self, job_id: str, func: Callable[[], object], seconds: float, *,
                     first_delay: float, skip: Callable[[], bool]) -> None:
        """Run ``func`` every ``seconds`` on the worker pool unless ``skip()``.

        Same guarantees as sync jobs: never two runs at once, missed runs
        coalesce, an exception is logged (with traceback) and the next run
        happens as scheduled.
        """
        def run() -> None:
            if skip():
                return
            with structlog.contextvars.bound_contextvars(job=job_id):
                try:
                    func()
                except Exception as exc:
                    log.exception("periodic job failed", error=describe(exc))

        first = self._clock() + timedelta(seconds=first_delay)
        self._scheduler.add_job(run, IntervalTrigger(seconds=seconds, timezone=UTC), id=job_id,
                                name=job_id, next_run_time=first, replace_existing=True)

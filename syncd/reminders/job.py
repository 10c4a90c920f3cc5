"""The daemon's reminder jobs: the periodic clock sweep and the daily digest.

Both run on the daemon's worker pool (not its control executor: a long
sweep must never delay the heartbeat), ``max_instances=1`` and coalesced
like sync passes. They read the daemon's CURRENT settings through a
callable, so a config reload changes rules without rescheduling. Neither
job ever raises into the scheduler: store trouble is a warning (the next
run retries), a bug is logged with its traceback once.
"""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.model import Settings
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger
from syncd.reminders.digest import build_digests, send_digests
from syncd.reminders.service import sweep
from syncd.store.database import Database
from syncd.store.types import utcnow

log = get_logger(__name__)

SWEEP_JOB = "syncd:reminders"
DIGEST_JOB = "syncd:reminders-digest"


def run_sweep(database: Database, settings: Callable[[], Settings]) -> None:
    try:
        report = sweep(database, settings())
    except SyncdError as exc:
        log.warning("reminder sweep failed; the next run retries", error=describe(exc))
    except Exception as exc:  # a bug: log it once, keep the daemon running
        log.exception("reminder sweep crashed", error=describe(exc))
    else:
        log.info("reminder sweep finished", **report.to_dict())


def run_digest(database: Database, settings: Callable[[], Settings]) -> None:
    conf = settings()
    if not conf.reminders.digest.enabled:
        return
    try:
        digests = build_digests(database, conf, now=utcnow())
        failed = send_digests(conf.reminders.digest, digests)
    except SyncdError as exc:
        log.warning("reminder digest failed", error=describe(exc))
    except Exception as exc:  # a bug: log it once, keep the daemon running
        log.exception("reminder digest crashed", error=describe(exc))
    else:
        for rep, error in failed:
            log.warning("reminder digest not delivered", rep=rep, error=error)
        log.info("reminder digests sent", sent=len(digests) - len(failed), failed=len(failed))


def add_reminder_jobs(scheduler: BaseScheduler, settings: Callable[[], Settings],
                      database: Database | None) -> None:
    """Schedule the sweep (and the digest if enabled) on ``scheduler``."""
    conf = settings().reminders
    if database is None or not conf.enabled:
        return
    scheduler.add_job(run_sweep, IntervalTrigger(seconds=conf.sweep_interval),
                      args=(database, settings), id=SWEEP_JOB, name="reminder sweep",
                      replace_existing=True)
    if conf.digest.enabled:
        hour, minute = (int(x) for x in conf.digest.at.replace("24:00", "00:00").split(":"))
        trigger = CronTrigger(hour=hour, minute=minute, timezone=conf.business_hours.timezone)
        scheduler.add_job(run_digest, trigger, args=(database, settings), id=DIGEST_JOB,
                          name="reminder digest", replace_existing=True)

"""The daemon's skip-records job: prune what ``syncd explain`` no longer needs.

Runs every ``trust.skip_records_prune_interval_s`` on the worker pool, like
the change-feed prune (:mod:`syncd.daemon.feed_job`): it reads the CURRENT
settings through a callable, deletes in bounded batches (each its own short
transaction, so passes are never held up) and never raises into the
scheduler.
"""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.model import Settings
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger
from syncd.store.database import Database
from syncd.store.skip_records import prune_skip_records

log = get_logger(__name__)

SKIP_RECORDS_JOB = "syncd:skip-records"


def run_skip_records_prune(database: Database, settings: Callable[[], Settings]) -> None:
    try:
        pruned = prune_skip_records(database,
                                    retention_days=settings().trust.skip_records_days)
    except SyncdError as exc:
        log.warning("skip records prune failed; the next run retries", error=describe(exc))
    except Exception as exc:  # a bug: log it once, keep the daemon running
        log.exception("skip records prune crashed", error=describe(exc))
    else:
        if pruned:
            log.info("skip records pruned", records=pruned)


def add_skip_records_job(scheduler: BaseScheduler, settings: Callable[[], Settings],
                         database: Database | None) -> None:
    """Schedule the prune on ``scheduler`` (nothing without a store)."""
    if database is None:
        return
    scheduler.add_job(run_skip_records_prune,
                      IntervalTrigger(seconds=settings().trust.skip_records_prune_interval_s),
                      args=(database, settings), id=SKIP_RECORDS_JOB,
                      name="skip records prune", replace_existing=True)

"""The daemon's change-feed job: number pending events and prune old ones.

Runs every ``feed.prune_interval_s`` on the worker pool, ``max_instances=1``
and coalesced like the other periodic jobs; it reads the daemon's CURRENT
settings through a callable, so a reload changes the retention without
rescheduling. It never raises into the scheduler: store trouble is a
warning (the next run retries), a bug is logged with its traceback once.
Readers number pending events themselves, so the feed never waits for it.
"""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.model import Settings
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger
from syncd.store.changes import prune_changes
from syncd.store.database import Database

log = get_logger(__name__)

FEED_JOB = "syncd:change-feed"


def run_feed_prune(database: Database, settings: Callable[[], Settings]) -> None:
    try:
        pruned = prune_changes(database, retention_days=settings().feed.retention_days)
    except SyncdError as exc:
        log.warning("change feed prune failed; the next run retries", error=describe(exc))
    except Exception as exc:  # a bug: log it once, keep the daemon running
        log.exception("change feed prune crashed", error=describe(exc))
    else:
        if pruned:
            log.info("change feed pruned", events=pruned)


def add_feed_job(scheduler: BaseScheduler, settings: Callable[[], Settings],
                 database: Database | None) -> None:
    """Schedule the prune on ``scheduler`` (nothing without a store)."""
    if database is None:
        return
    scheduler.add_job(run_feed_prune,
                      IntervalTrigger(seconds=settings().feed.prune_interval_s),
                      args=(database, settings), id=FEED_JOB, name="change feed prune",
                      replace_existing=True)

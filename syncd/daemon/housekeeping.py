"""The daemon's data housekeeping: checks at start and the daily retention job.

At start (:func:`on_start`, before the first pass is scheduled):

* every account the store holds but the config no longer names is logged
  (``account data remains``) with the exact ``syncd purge --account ID``
  command that erases it: removing an account from the config never
  erases anything by itself (:mod:`syncd.lifecycle.offboard`);
* a lowered privacy level scrubs what is stored beyond it
  (:mod:`syncd.lifecycle.privacy_scrub`), counts logged;
* a blocklist entry removed since the last start makes the affected
  accounts re-read their windows (:mod:`syncd.lifecycle.unblocked`).

Daily (:func:`add_retention_job`, when ``retention.interactions_days`` is
set; the first run a minute after start): :func:`syncd.lifecycle.retention.prune`
in bounded batches. Like the reminder jobs, none of this ever raises into
the daemon: store trouble is a warning (the next start or run retries), a
bug is logged once with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.model import Settings
from syncd.errors import SyncdError, describe
from syncd.lifecycle.offboard import leftover_accounts, purge_command_for
from syncd.lifecycle.privacy_scrub import scrub_to_privacy
from syncd.lifecycle.retention import prune
from syncd.lifecycle.unblocked import apply as apply_unblocked
from syncd.logs import get_logger
from syncd.store.database import Database
from syncd.store.types import utcnow
from syncd.sync.commit import settle_rollups

log = get_logger(__name__)

RETENTION_JOB = "syncd:retention"
RETENTION_EVERY = timedelta(days=1)
RETENTION_FIRST_DELAY = timedelta(minutes=1)


def on_start(database: Database, settings: Settings) -> None:
    """Log leftover accounts; scrub content beyond lowered privacy levels; refresh
    the rollups a stopped or crashed pass left marked."""
    try:
        with database.session(write=False) as s:
            leftovers = leftover_accounts(s, {a.id for a in settings.accounts})
        for account_id, copies in leftovers:
            log.warning("account data remains: the account is no longer configured; to "
                        "erase its mailbox run the command", account=account_id,
                        stored_copies=copies, command=purge_command_for(account_id))
        report = scrub_to_privacy(database, settings)
        if report.total:
            log.info("privacy level lowered: stored content scrubbed", **report.to_dict())
        with database.session() as s:
            unblocked = apply_unblocked(s, settings)
        for account_id, entries in sorted(unblocked.accounts.items()):
            log.info("blocklist entries removed: the account re-reads its window",
                     account=account_id, entries=entries)
        contacts, companies = settle_rollups(database, settings)
        if contacts or companies:
            log.info("rollups a stopped pass left marked refreshed", contacts=len(contacts),
                     companies=len(companies))
    except SyncdError as exc:
        log.warning("start-up data checks failed; the next start retries", error=describe(exc))
    except Exception as exc:  # a bug: log it once, keep the daemon running
        log.exception("start-up data checks crashed", error=describe(exc))


def run_retention(database: Database, settings: Callable[[], Settings]) -> None:
    days = settings().retention.interactions_days
    if days is None:
        return
    try:
        report = prune(database, days)
    except SyncdError as exc:
        log.warning("retention failed; the next run retries", error=describe(exc))
    except Exception as exc:  # a bug: log it once, keep the daemon running
        log.exception("retention crashed", error=describe(exc))
    else:
        log.info("retention finished", **report.to_dict())


def add_retention_job(scheduler: BaseScheduler, settings: Callable[[], Settings],
                      database: Database | None) -> None:
    """Schedule the daily retention run; it reads the current settings each time
    (a reload that sets or clears the key takes effect at the next run)."""
    if database is None:
        return
    scheduler.add_job(run_retention, IntervalTrigger(seconds=RETENTION_EVERY.total_seconds()),
                      args=(database, settings), id=RETENTION_JOB, name="retention",
                      next_run_time=utcnow() + RETENTION_FIRST_DELAY, replace_existing=True)

"""The daemon's change-feed job: prunes by the current settings, never raises."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from syncd.config.model import Settings
from syncd.daemon.feed_job import FEED_JOB, add_feed_job, run_feed_prune
from syncd.store.changes import ChangesPruned, read_changes, record_change
from syncd.store.database import Database
from syncd.store.types import utcnow


def test_prunes_with_the_configured_retention(database: Database) -> None:
    with database.session() as s:
        record_change(s, "test.old", "x", 1, {}, at=utcnow() - timedelta(days=3))
        record_change(s, "test.new", "x", 2, {})
    run_feed_prune(database, lambda: Settings.model_validate({"feed": {"retention_days": 7}}))
    assert len(read_changes(database, after=0, limit=10).events) == 2
    run_feed_prune(database, lambda: Settings.model_validate({"feed": {"retention_days": 2}}))
    try:
        read_changes(database, after=0, limit=10)
    except ChangesPruned as exc:
        assert exc.pruned_through == 1
    else:
        raise AssertionError("position 0 should be pruned")
    database.dispose()
    run_feed_prune(Database("sqlite:////nonexistent/dir/x.db"), Settings)  # logged, not raised


def test_scheduled_at_the_configured_interval(database: Database) -> None:
    scheduler = BackgroundScheduler()
    conf = Settings.model_validate({"feed": {"prune_interval_s": 120}})
    add_feed_job(scheduler, lambda: conf, database)
    job = scheduler.get_job(FEED_JOB)
    assert job is not None and job.trigger.interval == timedelta(seconds=120)
    add_feed_job(scheduler, lambda: conf, None)  # no store: nothing (and no error)

"""The daemon's skip-records prune: the configured retention, never raising into the scheduler."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select
from structlog.testing import capture_logs

from providers.base import Page
from syncd.config.model import Settings
from syncd.daemon.skip_records_job import (
    SKIP_RECORDS_JOB,
    add_skip_records_job,
    run_skip_records_prune,
)
from syncd.store.database import Database
from syncd.store.schema import SkipRecord
from syncd.store.types import utcnow
from tests.syncd.store.builders import apply, automated


def count(db: Database) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(SkipRecord)) or 0)


def test_records_older_than_the_configured_retention_are_pruned(database: Database) -> None:
    apply(database, Page("INBOX", [automated(1), automated(2)]))
    with database.session() as s:
        for row in s.scalars(select(SkipRecord).where(SkipRecord.provider_id == "INBOX/1/1")):
            row.last_seen_at = utcnow() - timedelta(days=8)
    settings = Settings.model_validate({"trust": {"skip_records_days": 30}})
    assert settings.trust.skip_records_days == 30
    assert Settings().trust.skip_records_days == 90
    run_skip_records_prune(database, lambda: settings)
    assert count(database) == 2
    week = Settings.model_validate({"trust": {"skip_records_days": 7}})
    with capture_logs() as logs:
        run_skip_records_prune(database, lambda: week)
    assert count(database) == 1
    assert {"event": "skip records pruned", "records": 1, "log_level": "info"} in logs


def test_a_store_that_is_down_is_a_warning_not_a_crash() -> None:
    down = Database("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    try:
        with capture_logs() as logs:
            run_skip_records_prune(down, Settings)
    finally:
        down.dispose()
    assert [e["log_level"] for e in logs] == ["warning"]


def test_the_job_is_scheduled_at_the_configured_interval(database: Database) -> None:
    scheduler = BackgroundScheduler()
    settings = Settings.model_validate({"trust": {"skip_records_prune_interval_s": 600}})
    add_skip_records_job(scheduler, lambda: settings, database)
    job = scheduler.get_job(SKIP_RECORDS_JOB)
    assert job is not None and job.trigger.interval == timedelta(seconds=600)
    add_skip_records_job(scheduler, lambda: settings, None)  # no store: nothing more

"""Coverage checks in the daemon: when they run, what they count, when /readyz turns red.

Real daemon, engine, Dovecot mailbox and store (SQLite and PostgreSQL).
Drift is injected by removing stored copies with SQL; ``coverage.max_repair``
of 1 makes a repair leave drift behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from syncd.config.model import Settings
from syncd.daemon.coverage_job import CoverageJob, coverage_checker
from syncd.daemon.metrics import SyncMetrics
from syncd.daemon.service import Daemon
from syncd.store.database import Database
from syncd.store.schema import Source
from syncd.sync.engine import SyncEngine
from syncd.sync.outcome import PassResult, Verdict
from tests.fixtures.dovecot import MailUser
from tests.generate import make_message
from tests.syncd.daemon.exposition import has_sample

CUSTOMER = ("Ann Acme", "ann@acme.example")
REP = ("Rita Rep", "rita@ourco.example")


def settings_for(user: MailUser, **coverage: Any) -> Settings:
    return Settings.model_validate({
        "health": {"enabled": False}, "scheduler": {"workers": 1},
        "organization": {"internal_domains": ["ourco.example"]},
        "coverage": coverage,
        "accounts": [{
            "id": "rita", "owner": "rita@ourco.example", "provider": "imap",
            "host": user.server.host, "port": user.server.port, "security": "plain",
            "username": user.name, "password": user.password, "folders": ["INBOX"],
            "backfill_days": 36500, "connect_timeout": 5, "read_timeout": 10,
            "interval": 3600, "jitter": 0}]})


def remove_stored(db: Database, *uids: int) -> None:
    """Delete the stored copies of these INBOX UIDs behind syncd's back."""
    with db.session() as s:
        for uid in uids:
            s.execute(delete(Source).where(Source.provider_id.like(f"INBOX/%/{uid}")))


@pytest.fixture
def mailbox(mail_user: MailUser) -> MailUser:
    for n in (1, 2, 3):
        mail_user.deliver(make_message(n, sender=CUSTOMER, to=[REP], subject=f"Deal {n}"))
    return mail_user


@pytest.fixture
def daemon(database: Database, mailbox: MailUser) -> Iterator[Daemon]:
    settings = settings_for(mailbox, max_repair=1)
    daemon = Daemon(settings, SyncEngine(database, settings, fetch_process="never"),
                    enable_reminders=False)
    daemon.start()
    runtime = daemon.runtime["rita"]
    deadline = time.monotonic() + 20
    while runtime.passes < 1 or runtime.state == "syncing":
        assert time.monotonic() < deadline, runtime.to_dict()
        time.sleep(0.01)
    assert runtime.last_outcome == "ok"
    try:
        yield daemon
    finally:
        daemon.shutdown(grace_s=5)


def readyz(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    response = daemon.probes.readyz()
    return response.status, json.loads(response.body)


def test_readyz_turns_red_only_while_drift_outlives_a_repair(
        database: Database, daemon: Daemon) -> None:
    account = daemon.accounts["rita"]
    assert readyz(daemon)[0] == 200
    labels = '{account="rita",provider="imap"}'

    remove_stored(database, 1)  # one item: the repair fixes it, readiness never drops
    report = daemon.coverage.run(account)
    assert report is not None and report.clean and report.repaired == 1
    status, body = readyz(daemon)
    assert status == 200 and body["coverage_drift"] == []

    remove_stored(database, 2, 3)  # two items, one repaired per check: drift remains
    report = daemon.coverage.run(account)
    assert report is not None and (report.missing, report.repaired, report.remaining) == (2, 1, 1)
    status, body = readyz(daemon)
    assert status == 503
    assert body["coverage_drift"] == [{"account": "rita", "missing": 2, "vanished": 0,
                                       "remaining": 1}]
    text = daemon.metrics.render()
    assert has_sample(text, f"syncd_coverage_missing_total{labels} 3")
    assert has_sample(text, f"syncd_coverage_repaired_total{labels} 2")

    report = daemon.coverage.run(account)  # the next check repairs the rest
    assert report is not None and report.clean
    status, body = readyz(daemon)
    assert status == 200 and body["coverage_drift"] == []
    assert has_sample(daemon.metrics.render(), f"syncd_coverage_repaired_total{labels} 3")


def test_checks_run_after_successful_passes_once_due(database: Database,
                                                      mailbox: MailUser) -> None:
    settings = settings_for(mailbox, interval_hours=24)
    engine = SyncEngine(database, settings, fetch_process="never")
    account = settings.accounts[0]
    assert engine.sync_account(account).ok
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    metrics = SyncMetrics()
    job = CoverageJob(lambda: coverage_checker(engine, settings), lambda: settings, metrics,
                      clock=lambda: now[0])
    labels = '{account="rita",provider="imap"}'
    ok = PassResult(account_id="rita")
    assert ok.ok

    job.after_pass(account, ok)  # first sight: due within one interval, not now
    assert not has_sample(metrics.render(), f"syncd_coverage_missing_total{labels}")
    remove_stored(database, 1)
    now[0] += timedelta(hours=24, seconds=1)
    job.after_pass(account, PassResult(account_id="rita", error_code="transient",
                                       verdict=Verdict.BACK_OFF))  # a failed pass: no check
    assert not has_sample(metrics.render(), f"syncd_coverage_missing_total{labels}")
    job.after_pass(account, ok)
    assert has_sample(metrics.render(), f"syncd_coverage_missing_total{labels} 1")
    assert has_sample(metrics.render(), f"syncd_coverage_repaired_total{labels} 1")
    job.after_pass(account, ok)  # just checked: the next one is an interval away
    assert has_sample(metrics.render(), f"syncd_coverage_missing_total{labels} 1")


def test_disabled_coverage_never_checks(database: Database, mailbox: MailUser) -> None:
    settings = settings_for(mailbox, enabled=False)
    engine = SyncEngine(database, settings, fetch_process="never")
    assert engine.sync_account(settings.accounts[0]).ok
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    metrics = SyncMetrics()
    job = CoverageJob(lambda: coverage_checker(engine, settings), lambda: settings, metrics,
                      clock=lambda: now[0])
    for _ in range(3):
        job.after_pass(settings.accounts[0], PassResult(account_id="rita"))
        now[0] += timedelta(days=2)
    assert "syncd_coverage_missing_total{" not in metrics.render()


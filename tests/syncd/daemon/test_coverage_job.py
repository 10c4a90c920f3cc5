"""Coverage checks in the daemon: when they run, what they count, when /readyz turns red.

Real daemon, engine, Dovecot mailbox and store (SQLite and PostgreSQL).
Drift is injected by removing stored copies with SQL; ``coverage.max_repair``
of 1 makes a repair leave drift behind.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from structlog.testing import capture_logs

from syncd.config.model import Account as AccountSettings
from syncd.config.model import Settings
from syncd.daemon.coverage_job import CoverageJob, coverage_checker
from syncd.daemon.metrics import SyncMetrics
from syncd.daemon.service import Daemon
from syncd.store.database import Database
from syncd.store.schema import Account, Source
from syncd.sync.coverage import CoverageChecker, CoverageReport
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


def synced(db: Database, user: MailUser, **coverage: Any
           ) -> tuple[Settings, SyncEngine, AccountSettings]:
    """Settings with these coverage options, an engine, and its account after a first pass."""
    settings = settings_for(user, **coverage)
    engine = SyncEngine(db, settings, fetch_process="never")
    account = settings.accounts[0]
    assert engine.sync_account(account).ok
    return settings, engine, account


def job_of(engine: SyncEngine, settings: Settings, now: list[datetime],
           metrics: SyncMetrics | None = None, **options: Any) -> CoverageJob:
    """The daemon's coverage job over ``engine``, its clock reading ``now[0]``."""
    return CoverageJob(lambda: coverage_checker(engine, settings), lambda: settings,
                       metrics if metrics is not None else SyncMetrics(),
                       clock=lambda: now[0], **options)


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
    settings, engine, account = synced(database, mailbox, interval_hours=24)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    metrics = SyncMetrics()
    job = job_of(engine, settings, now, metrics)
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
    settings, engine, account = synced(database, mailbox, enabled=False)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    metrics = SyncMetrics()
    job = job_of(engine, settings, now, metrics)
    for _ in range(3):
        job.after_pass(account, PassResult(account_id="rita"))
        now[0] += timedelta(days=2)
    assert "syncd_coverage_missing_total{" not in metrics.render()



class Late(random.Random):
    """Every draw at the top of its range: a first moment drawn at random comes late."""

    def random(self) -> float:
        return 0.99


def stored_state(db: Database) -> tuple[datetime | None, dict[str, Any] | None]:
    with db.session(write=False) as s:
        row = s.get(Account, "rita")
        assert row is not None
        return row.coverage_checked_at, row.coverage_drift


def test_a_restart_keeps_the_due_time_of_the_stored_check(database: Database,
                                                          mailbox: MailUser) -> None:
    settings, engine, account = synced(database, mailbox, interval_hours=24)
    checked = datetime(2026, 12, 1, tzinfo=UTC)
    now = [checked]
    before = job_of(engine, settings, now)
    assert before.run(account) is not None
    assert stored_state(database) == (checked, None)

    # restarted: a first moment at random would come 0.99 interval after the start
    remove_stored(database, 1)
    now[0] = checked + timedelta(hours=20)
    metrics = SyncMetrics()
    after = job_of(engine, settings, now, metrics, rng=Late())
    labels = '{account="rita",provider="imap"}'
    ok = PassResult(account_id="rita")
    after.after_pass(account, ok)  # within one interval of the stored check: not yet
    assert not has_sample(metrics.render(), f"syncd_coverage_missing_total{labels}")
    now[0] = checked + timedelta(hours=24 * 1.1, seconds=1)
    after.after_pass(account, ok)  # one interval (+ jitter) after it: now, not a day later
    assert has_sample(metrics.render(), f"syncd_coverage_missing_total{labels} 1")
    assert stored_state(database) == (now[0], None)


def test_drift_outlives_a_restart_until_a_clean_check(database: Database,
                                                      mailbox: MailUser) -> None:
    settings, engine, account = synced(database, mailbox, max_repair=1)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]

    def job() -> CoverageJob:
        return job_of(engine, settings, now)

    remove_stored(database, 1, 2)  # one repaired per check: one remains
    report = job().run(account)
    assert report is not None and report.remaining == 1
    drift = {"missing": 2, "vanished": 0, "remaining": 1}
    assert stored_state(database) == (now[0], drift)

    restarted = job()
    assert restarted.drifting() == []  # nothing read before it sees the account
    restarted.after_pass(account, PassResult(account_id="rita"))  # first sight: not due
    assert restarted.drifting() == [{"account": "rita", **drift}]
    loaded = job()
    loaded.load({"rita"})  # what the daemon does when it schedules its accounts
    assert loaded.drifting() == [{"account": "rita", **drift}]

    now[0] += timedelta(hours=1)
    report = restarted.run(account)  # repairs the rest
    assert report is not None and report.clean
    assert restarted.drifting() == []
    assert stored_state(database) == (now[0], None)
    again = job()
    again.load({"rita"})
    assert again.drifting() == []


def test_a_store_outage_while_recording_or_loading_fails_no_pass(database: Database,
                                                                 mailbox: MailUser) -> None:
    settings, engine, account = synced(database, mailbox, interval_hours=24)
    down = Database("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")

    class GoesDown(CoverageChecker):
        def check(self, account: AccountSettings, **kwargs: Any) -> CoverageReport:
            report = super().check(account, **kwargs)
            self.db = down  # the store goes away between the check and its record
            return report

    checker = GoesDown(database, settings, provider_factory=engine.provider_factory,
                       vault=engine.vault)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    metrics = SyncMetrics()
    job = CoverageJob(lambda: checker, lambda: settings, metrics, clock=lambda: now[0])
    remove_stored(database, 1)
    try:
        with capture_logs() as logs:
            report = job.run(account)
            assert report is not None and report.repaired == 1
            # the next pass's first sight of another account cannot read the store either
            other = account.model_copy(update={"id": "rita2"})
            job.after_pass(other, PassResult(account_id="rita2"))
    finally:
        down.dispose()
    assert has_sample(metrics.render(),
                      'syncd_coverage_repaired_total{account="rita",provider="imap"} 1')
    assert stored_state(database) == (None, None)
    trouble = [(e["event"], e["log_level"]) for e in logs if "coverage state" in e["event"]
               or "coverage check" in e["event"]]
    assert trouble == [("cannot store coverage check", "warning"),
                       ("cannot load coverage state; retried after the next pass", "warning")]


def test_a_restarted_daemon_is_not_ready_while_stored_drift_remains(
        database: Database, mailbox: MailUser, daemon: Daemon) -> None:
    remove_stored(database, 2, 3)  # one repaired per check: one remains
    report = daemon.coverage.run(daemon.accounts["rita"])
    assert report is not None and report.remaining == 1
    daemon.shutdown(grace_s=5)

    settings = settings_for(mailbox, max_repair=1)
    restarted = Daemon(settings, SyncEngine(database, settings, fetch_process="never"),
                       enable_reminders=False)
    restarted.start()  # red before any pass: the drift is read when accounts are scheduled
    try:
        status, body = readyz(restarted)
        assert status == 503
        assert body["coverage_drift"] == [{"account": "rita", "missing": 2, "vanished": 0,
                                           "remaining": 1}]
    finally:
        restarted.shutdown(grace_s=5)


def test_stored_drift_is_not_listed_while_checks_are_disabled(database: Database,
                                                              mailbox: MailUser) -> None:
    settings, engine, account = synced(database, mailbox, max_repair=1)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    remove_stored(database, 1, 2)
    checks = job_of(engine, settings, now)
    assert checks.run(account) is not None and checks.drifting() != []
    disabled = settings_for(mailbox, max_repair=1, enabled=False)
    restarted = job_of(engine, disabled, now)
    restarted.load({"rita"})
    assert restarted.drifting() == []  # no check could ever clear it


def test_a_check_stored_elsewhere_counts_for_the_running_job(database: Database,
                                                             mailbox: MailUser) -> None:
    settings, engine, account = synced(database, mailbox, max_repair=1, interval_hours=24)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    now = [start]
    metrics = SyncMetrics()
    running = job_of(engine, settings, now, metrics)
    ok = PassResult(account_id="rita")
    remove_stored(database, 1, 2)
    assert running.run(account) is not None and running.drifting() != []

    # another process (as `syncd verify` does) repairs the rest 20 hours later
    now[0] = start + timedelta(hours=20)
    elsewhere = job_of(engine, settings, now)
    manual = elsewhere.run(account)
    assert manual is not None and manual.clean and stored_state(database) == (now[0], None)
    remove_stored(database, 3)
    running.after_pass(account, ok)  # its next pass reads it: clean, due a day after it
    assert running.drifting() == []
    now[0] = start + timedelta(hours=24 * 1.1, seconds=1)  # due by its own check, not now
    running.after_pass(account, ok)
    labels = '{account="rita",provider="imap"}'
    assert has_sample(metrics.render(), f"syncd_coverage_missing_total{labels} 2")
    now[0] = start + timedelta(hours=20 + 24 * 1.1, seconds=1)
    running.after_pass(account, ok)
    assert has_sample(metrics.render(), f"syncd_coverage_missing_total{labels} 3")

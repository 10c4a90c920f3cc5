"""Error classes decide the blast radius, through the daemon: in one process, a bug in
one account's provider marks that account failed with one traceback per pass, an auth
failure parks another (not polled again until its config changes), a throttled one backs
off for at least its Retry-After, and a healthy account next to them syncs normally."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from structlog.testing import capture_logs

from providers.base import Page
from syncd.config.model import Settings
from syncd.daemon.service import Daemon
from syncd.errors import AuthError, TransientError
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from tests.syncd.daemon.exposition import has_sample
from tests.syncd.sync.test_engine import customer_mail, scripted, settings_for

Cursor = Mapping[str, object]


def healthy(cursors: Mapping[str, Cursor]) -> Iterator[Page]:
    yield Page("INBOX", [customer_mail(1), customer_mail(2)], cursor={"n": 2})


def buggy(cursors: Mapping[str, Cursor]) -> Iterator[Page]:
    yield Page("INBOX", [customer_mail(3)], cursor={"n": 1})
    raise KeyError("a bug in the provider")


def refused(cursors: Mapping[str, Cursor]) -> Iterator[Page]:
    raise AuthError("imap account a-auth: the server refused the password")
    yield  # pragma: no cover - a generator


def throttled(cursors: Mapping[str, Cursor]) -> Iterator[Page]:
    raise TransientError("gmail account a-429: 429 Too Many Requests", retry_after=120)
    yield  # pragma: no cover - a generator


def test_each_error_class_stays_in_its_account(database: Database) -> None:
    ids = ["a-ok", "a-bug", "a-auth", "a-429"]
    settings = settings_for(*({"id": i, "interval": 3600, "jitter": 0} for i in ids))
    settings = settings.model_copy(update={
        "health": settings.health.model_copy(update={"enabled": False})})
    factory, _made = scripted({"a-ok": healthy, "a-bug": buggy, "a-auth": refused,
                               "a-429": throttled})
    daemon = Daemon(settings, SyncEngine(database, settings, provider_factory=factory),
                    enable_reminders=False)
    with capture_logs() as logs:
        daemon.start()
        try:
            deadline = time.monotonic() + 20
            while any(daemon.runtime[i].passes < 1 for i in ids):
                assert time.monotonic() < deadline, {i: daemon.runtime[i].state for i in ids}
                time.sleep(0.02)
            states = {i: daemon.runtime[i].state for i in ids}
            retry_at = daemon.runtime["a-429"].retry_at
            assert retry_at is not None
            retry_in = (retry_at - daemon._clock()).total_seconds()
            job = daemon._scheduler.get_job("a-429")
            assert job is not None
            moved_to = job.next_run_time
        finally:
            daemon.shutdown(grace_s=5)
    assert states == {"a-ok": "idle", "a-bug": "failed", "a-auth": "needs_reauth",
                      "a-429": "backing_off"}
    assert 110 < retry_in <= 120  # Retry-After honoured (backoff_base is only 30 s)
    assert moved_to == daemon.runtime["a-429"].retry_at
    tracebacks = [e for e in logs if e.get("exc_info")]
    assert [(e["event"], e["account"]) for e in tracebacks] == [("sync pass crashed", "a-bug")]
    assert not engine_should_poll(database, settings, "a-auth")
    text = daemon.metrics.render()
    assert has_sample(text,
                      'syncd_errors_total{account="a-bug",provider="local",class="internal"} 1')
    assert has_sample(text,
                      'syncd_errors_total{account="a-auth",provider="local",class="auth"} 1')
    assert has_sample(text,
                      'syncd_passes_total{account="a-429",provider="local",outcome="transient"} 1')
    assert 'syncd_items_total{account="a-ok",provider="local"} 2' in text


def engine_should_poll(database: Database, settings: Settings, account_id: str) -> bool:
    return SyncEngine(database, settings).should_poll(settings.account(account_id))

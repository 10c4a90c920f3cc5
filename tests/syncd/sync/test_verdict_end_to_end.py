"""A pass's verdict, from the real engine to the real daemon: a store error
that will not go away by waiting leaves the account ``failed`` everywhere —
in ``accounts.state``, in the daemon's runtime state — and is not retried on
a backoff; a transient one is backed off in both."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from providers.base import Page
from syncd.config.model import Settings
from syncd.daemon.service import Daemon
from syncd.errors import StoreError, TransientError
from syncd.store.database import Database
from syncd.store.schema import Account
from syncd.sync.engine import SyncEngine
from tests.scripted import Script, ScriptedFactory
from tests.syncd.store.builders import message

ACCOUNT = "rita-mail"


def settings_for(tmp_path: Path) -> Settings:
    return Settings.model_validate({
        "state_dir": str(tmp_path / "state"), "health": {"enabled": False},
        "scheduler": {"workers": 1, "backoff_base": 30, "backoff_max": 60,
                      "fetch_process": "never"},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": ACCOUNT, "provider": "local", "owner": "rita@ourco.example",
                      "interval": 3600, "jitter": 0}]})


def one_page() -> Page:
    return Page(resource="INBOX", items=[message(1)], cursor={"n": 1})


@pytest.mark.parametrize(("error", "state", "backed_off"), [
    (StoreError("the store refuses this schema", permanent=True), "failed", False),
    (StoreError("lost the connection to database"), "backing_off", True),
    (TransientError("HTTP 503", retry_after=120), "backing_off", True),
])
def test_the_engines_verdict_is_what_the_daemon_does(
        database: Database, tmp_path: Path, error: Exception, state: str,
        backed_off: bool) -> None:
    settings = settings_for(tmp_path)
    script = Script(pages=[one_page()])
    script.fail_next(error, after=1)  # the first page commits, then the pass fails
    engine = SyncEngine(database, settings, provider_factory=ScriptedFactory({ACCOUNT: script}))
    daemon = Daemon(settings, engine, enable_reminders=False)
    daemon.start()
    try:
        runtime = daemon.runtime[ACCOUNT]
        deadline = time.monotonic() + 30
        while runtime.passes < 1 or runtime.state == "syncing":
            assert time.monotonic() < deadline, runtime.to_dict()
            time.sleep(0.01)
        assert runtime.state == state
        assert (runtime.retry_at is not None) is backed_off
        with database.session(write=False) as s:
            row = s.get(Account, ACCOUNT)
            assert row is not None
            assert row.state == state
            assert row.last_error_code == ("store" if isinstance(error, StoreError)
                                           else "transient")
    finally:
        daemon.shutdown(grace_s=5)

"""syncd.sync.fetch_process: a provider's pass in a child process.

Unit level: a scripted provider (tests/scripted.py, its factory sendable
to the child) checks order, errors crossing with class and fields, a child that
dies, and an early close. Engine level, on a real Dovecot: a first pass
through a fetch process leaves exactly the store an in-process pass does,
and a bad password still marks the account as needing re-authentication.
"""

from __future__ import annotations

import pickle
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from providers.base import ProviderContext
from syncd.config.model import Settings
from syncd.errors import AuthError, BadItem, CursorExpired, StoreError, SyncdError, TransientError
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from syncd.sync.fetch_process import FetchProcess
from tests.fixtures.dovecot import MailUser
from tests.generate import conversation_mailbox
from tests.reliability.storedump import describe_difference, dump_history
from tests.scripted import Fault, Script, ScriptedAccount, ScriptedFactory, empty_pages


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = lambda: None  # lambdas cannot be pickled


def fetch(script: Script, **options: Any) -> FetchProcess[ScriptedAccount]:
    factory = ScriptedFactory({ScriptedAccount().id: script}, sendable=True)
    return FetchProcess(factory, ScriptedAccount(), ProviderContext(), {}, **options)


def pages_then(count: int, fault: Fault | None = None) -> Script:
    """``count`` pages (cursors ``{"page": n}``), then ``fault`` if any."""
    return Script(empty_pages(count, total_hint=count), faults=[fault] if fault else [])


def test_pages_arrive_in_order_and_no_process_is_left() -> None:
    ahead = fetch(pages_then(5), depth=2)
    cursors = [page.cursor for page in ahead]
    assert cursors == [{"page": n} for n in range(1, 6)]
    process = ahead._process
    ahead.close()
    with pytest.raises(ValueError):  # closed: a Process refuses questions after close()
        process.is_alive()


@pytest.mark.parametrize("error", [
    AuthError("IMAP login refused"),
    TransientError("server said 429", retry_after=7.5),
    CursorExpired("INBOX", "UIDVALIDITY changed"),
    BadItem("INBOX/7", "no Date header"),
    StoreError("disk full", permanent=True),
])
def test_errors_cross_after_the_pages_before_them(error: SyncdError) -> None:
    with fetch(pages_then(2, Fault(after=2, error=error))) as ahead:
        seen = []
        with pytest.raises(type(error)) as raised:
            for page in ahead:
                seen.append(page.cursor)
    assert seen == [{"page": 1}, {"page": 2}]
    assert vars(raised.value) | {"__notes__": None} == vars(error) | {"__notes__": None}
    assert str(raised.value) == str(error)
    assert "raised in the fetch process" in raised.value.__notes__[0]


def test_every_syncd_error_survives_pickling() -> None:
    def subclasses(cls: type[SyncdError]) -> list[type[SyncdError]]:
        return [cls] + [s for c in cls.__subclasses__() for s in subclasses(c)]

    for cls in subclasses(SyncdError):
        error = cls.__new__(cls, "x")
        error.__dict__.update({"message": "x", "extra": 1})
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls and vars(copy) == vars(error)


def test_an_error_that_cannot_cross_is_named() -> None:
    with fetch(pages_then(1, Fault(after=1, error=Unpicklable))) as ahead, \
            pytest.raises(RuntimeError, match="Unpicklable: holds a lock"):
        list(ahead)


def test_a_child_that_dies_is_a_transient_error() -> None:
    with fetch(pages_then(1, Fault(after=1, exit_code=3))) as ahead:
        pages = iter(ahead)
        assert next(pages).cursor == {"page": 1}
        with pytest.raises(TransientError, match="exit code 3"):
            next(pages)


def test_closing_early_stops_the_child_and_closes_its_provider(tmp_path: Path) -> None:
    script = Script(endless=True, close_log=str(tmp_path / "closes"))
    ahead = fetch(script, depth=1)
    assert next(iter(ahead)).cursor == {"page": 1}
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 2  # asked to stop, not terminated after the grace
    assert script.closes_logged() == 1  # closed once, in the child
    ahead.close()  # idempotent


# --------------------------------------------------------------------------- through the engine

def imap_settings(user: MailUser, tmp_path: Path, **overrides: Any) -> Settings:
    account: dict[str, Any] = {
        "id": "imap-fetch", "owner": "rita@ourco.example", "provider": "imap",
        "host": user.server.host, "port": user.server.port, "security": "plain",
        "username": user.name, "password": user.password, "page_size": 50,
        "backfill_days": 36500, "connect_timeout": 5, "read_timeout": 10,
    }
    account.update(overrides)
    return Settings.model_validate({
        "state_dir": str(tmp_path), "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [account]})


def test_a_first_pass_in_a_fetch_process_stores_what_an_in_process_pass_does(
        database: Database, mail_user: MailUser, tmp_path: Path) -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    mail_user.deliver_many(conversation_mailbox(240, now=now, days=60, seed=7))
    settings = imap_settings(mail_user, tmp_path)
    account = settings.accounts[0]
    child = SyncEngine(database, settings, clock=lambda: now)
    assert child.fetch_process == "auto" and child._fetch_in_child(account)
    result = child.sync_account(account)
    # five pages of INBOX, one empty page carrying the Sent folder's cursor
    assert (result.ok, result.items, result.pages) == (True, 240, 6)
    assert not child._fetch_in_child(account)  # cursors stored: later polls stay here

    reference = Database(f"sqlite:///{tmp_path / 'reference.db'}")
    reference.migrate()
    try:
        in_process = SyncEngine(reference, settings, clock=lambda: now, fetch_process="never")
        assert in_process.sync_account(account).items == 240
        expected = dump_history(reference)
    finally:
        reference.dispose()
    actual = dump_history(database)
    assert actual == expected, describe_difference(expected, actual)


def test_a_bad_password_in_the_fetch_process_needs_reauth(
        database: Database, mail_user: MailUser, tmp_path: Path) -> None:
    settings = imap_settings(mail_user, tmp_path, password="wrong")
    engine = SyncEngine(database, settings, fetch_process="always")
    result = engine.sync_account(settings.accounts[0])
    assert (result.ok, result.error_code) == (False, AuthError.code)
    assert "wrong" not in (result.error_message or "")
    assert not engine.should_poll(settings.accounts[0])

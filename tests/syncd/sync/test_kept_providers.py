"""Providers kept open between passes (SyncEngine(keep_providers=True)):
logins counted on a real Dovecot through a TCP proxy; rebuilt when the
settings change or a pass failed, kept after a BadItem, closed on close()."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import Page
from syncd.config.model import Settings
from syncd.errors import BadItem, TransientError
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import MailUser
from tests.fixtures.tcp_proxy import tcp_proxy
from tests.generate import make_message
from tests.scripted import Script, ScriptedFactory


@pytest.fixture
def db_backend() -> str:
    return "sqlite"  # the engine's store behaviour is covered on both databases elsewhere


def imap_settings(user: MailUser, port: int, **overrides: Any) -> Settings:
    account: dict[str, Any] = {
        "id": "imap-kept", "owner": "rita@ourco.example", "provider": "imap",
        "host": user.server.host, "port": port, "security": "plain",
        "username": user.name, "password": user.password, "folders": ["Projects"],
        "backfill_days": 36500, "connect_timeout": 5, "read_timeout": 10,
    }
    account.update(overrides)
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": [account]})


def logins(client_bytes: bytes) -> int:
    return sum(1 for line in client_bytes.split(b"\r\n") if b" LOGIN " in line.upper())


def test_polls_reuse_one_login_until_the_settings_change(
        database: Database, mail_user: MailUser) -> None:
    mail_user.deliver(make_message(1, sender=("Ada", "ada@acme.example")), folder="Projects")
    with tcp_proxy(mail_user.server.host, mail_user.server.port) as via:
        settings = imap_settings(mail_user, via.port)
        engine = SyncEngine(database, settings, keep_providers=True)
        account = settings.accounts[0]
        # the first pass runs in a fetch process (syncd.sync.fetch_process) with its own login
        assert engine.sync_account(account).items == 1
        assert (via.connections, logins(via.client_bytes())) == (1, 1)
        assert engine.sync_account(account).items == 0  # no-change poll, in process
        mail_user.deliver(make_message(2, sender=("Ada", "ada@acme.example")),
                          folder="Projects")
        assert engine.sync_account(account).items == 1
        assert (via.connections, logins(via.client_bytes())) == (2, 2)

        changed = imap_settings(mail_user, via.port, read_timeout=11)
        engine.settings = changed
        assert engine.sync_account(changed.accounts[0]).ok
        assert (via.connections, logins(via.client_bytes())) == (3, 3)

        engine.close()
        assert b"LOGOUT" in via.client_bytes().upper()
        assert len(engine.kept) == 0


def test_without_keeping_every_pass_logs_in(database: Database, mail_user: MailUser) -> None:
    mail_user.ensure_folder("Projects")
    with tcp_proxy(mail_user.server.host, mail_user.server.port) as via:
        settings = imap_settings(mail_user, via.port)
        engine = SyncEngine(database, settings)
        for _ in range(3):
            assert engine.sync_account(settings.accounts[0]).ok
        assert logins(via.client_bytes()) == 3


def test_rebuilt_after_a_failed_pass_kept_after_a_bad_item(database: Database) -> None:
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "a1", "owner": "rita@ourco.example", "provider": "local",
                      "maildirs": ["/nonexistent"]}]})
    script = Script([Page("INBOX", [], cursor={"n": 1})])
    factory = ScriptedFactory({"a1": script})
    made = factory.made

    engine = SyncEngine(database, settings, provider_factory=factory, keep_providers=True)
    account = settings.accounts[0]
    assert engine.sync_account(account).ok
    assert engine.sync_account(account).ok
    assert len(made) == 1 and not made[0].closed

    script.fail_next(BadItem("INBOX/7", "one odd item"))
    assert not engine.sync_account(account).ok
    assert len(made) == 1 and not made[0].closed  # an item, not the connection

    script.fail_next(TransientError("connection reset", retry_after=1))
    assert not engine.sync_account(account).ok
    assert made[0].closed
    assert engine.sync_account(account).ok
    assert len(made) == 2 and not made[1].closed

    engine.settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": []})
    engine.sync_account(account)  # an account no longer configured: others are let go
    engine.close()
    assert all(p.closed for p in made)


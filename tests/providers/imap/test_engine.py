"""The IMAP provider through the real sync engine into a real (SQLite) store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from syncd.config.model import Settings
from syncd.directory.contacts import import_companies
from syncd.store.database import Database
from syncd.store.queries import account_statuses
from syncd.store.schema import Interaction
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import MailUser
from tests.fixtures.tcp_proxy import tcp_proxy
from tests.generate import make_message


@pytest.fixture
def db_backend() -> str:
    return "sqlite"  # the store's own tests cover PostgreSQL


def settings_for(user: MailUser, **overrides: Any) -> Settings:
    account: dict[str, Any] = {
        "id": f"imap-{user.name}", "owner": "rita@ourco.example", "provider": "imap",
        "host": user.server.host, "port": user.server.port, "security": "plain",
        "username": user.name, "password": user.password, "folders": ["Projects"],
        # the engine's clock is the real one: a window that always covers the test mail
        "backfill_days": 36500, "connect_timeout": 5, "read_timeout": 10,
    }
    account.update(overrides)
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": [account]})


def from_acme(n: int) -> bytes:
    return make_message(n, sender=("Ada Lovelace", "ada@acme.example"))


def interactions(db: Database) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Interaction)) or 0)


def test_uidvalidity_change_resyncs_without_duplicate_interactions(
        database: Database, mail_user: MailUser, tmp_path: Path) -> None:
    companies = tmp_path / "companies.csv"
    companies.write_text("name,domains\nAcme,acme.example\n", encoding="utf-8")
    import_companies(database, companies)
    for n in (1, 2, 3):
        mail_user.deliver(from_acme(n), folder="Projects")
    settings = settings_for(mail_user)
    engine = SyncEngine(database, settings)
    account = settings.accounts[0]
    first = engine.sync_account(account)
    assert first.ok and first.items == 3
    assert interactions(database) == 3

    admin = mail_user.client()
    admin.delete_folder("Projects")  # type: ignore[attr-defined]
    admin.create_folder("Projects")  # type: ignore[attr-defined]
    admin.logout()  # type: ignore[attr-defined]
    for n in (1, 2, 3, 4):
        mail_user.deliver(from_acme(n), folder="Projects")
    second = engine.sync_account(account)
    assert second.ok and second.items == 4  # the folder was read again from scratch
    assert interactions(database) == 4  # ... and deduped by Message-ID

    third = engine.sync_account(account)
    assert third.ok and third.items == 0 and third.pages == 0


def test_bad_password_marks_account_needs_reauth_until_config_changes(
        database: Database, mail_user: MailUser) -> None:
    with tcp_proxy(mail_user.server.host, mail_user.server.port, source_ip="127.0.0.4") as via:
        settings = settings_for(mail_user, password="not-it", port=via.port)
        engine = SyncEngine(database, settings)
        account = settings.accounts[0]
        result = engine.sync_account(account)
    assert not result.ok
    (status,) = account_statuses(database)
    assert status.state == "needs_reauth"
    assert "not-it" not in (status.last_error_message or "")
    assert not engine.should_poll(account)
    fixed = settings_for(mail_user).accounts[0]
    assert engine.should_poll(fixed)

"""The IMAP account probe of `syncd doctor`, against the real Dovecot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from providers.base import ProviderContext
from providers.imap.probe import probe
from providers.imap.settings import ImapAccount
from providers.netprobe import Check
from tests.fixtures.dovecot import DovecotServer, MailUser
from tests.fixtures.servers import free_port

NOW = datetime.now(UTC)


def _account(user: MailUser, **overrides: Any) -> ImapAccount:
    fields: dict[str, Any] = {
        "id": "rita-imap", "provider": "imap", "owner": "rita@ourco.example",
        "host": user.server.host, "port": user.server.tls_port, "security": "tls",
        "ca_file": str(user.server.ca_file), "username": user.name,
        "password": user.password, "backfill_days": 30, "connect_timeout": 5}
    fields.update(overrides)
    return ImapAccount.model_validate(fields)


def _raw(subject: str, when: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = "wile@acme.example"
    msg["To"] = "rita@ourco.example"
    msg["Subject"] = subject
    msg["Date"] = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@acme.example>"
    msg.set_content("hello")
    return bytes(msg)


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_good_account_counts_the_backfill_window(mail_user: MailUser) -> None:
    mail_user.deliver(_raw("recent one", NOW - timedelta(days=2)))
    mail_user.deliver(_raw("recent two", NOW - timedelta(days=10)))
    mail_user.deliver(_raw("too old", NOW - timedelta(days=90)))
    mail_user.deliver(_raw("sent recently", NOW - timedelta(days=1)), folder="Sent")
    checks = probe(_account(mail_user), ProviderContext(now=NOW))
    found = _by_name(checks)
    assert [c.name for c in checks] == ["dns", "tcp", "tls", "login", "folders", "backfill"]
    assert all(c.status == "ok" for c in checks), checks
    assert "certificate verified" in found["tls"].detail
    assert found["folders"].detail == "will sync INBOX, Sent"
    assert found["backfill"].detail.startswith("INBOX: 2, Sent: 1 messages since ")


def test_self_signed_certificate_without_ca_file_names_ca_file(mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, ca_file=None), ProviderContext(now=NOW))
    assert [c.name for c in checks] == ["dns", "tcp", "tls"]
    tls = checks[-1]
    assert tls.status == "failed"
    assert "not trusted" in tls.detail and "self-signed" in tls.detail
    assert "accounts[rita-imap].ca_file" in tls.fix


def test_starttls_is_verified_too(mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, port=mail_user.server.port, security="starttls"),
                   ProviderContext(now=NOW))
    assert _by_name(checks)["tls"].status == "ok", checks
    assert _by_name(checks)["login"].status == "ok"
    unverified = probe(_account(mail_user, port=mail_user.server.port, security="starttls",
                                ca_file=None), ProviderContext(now=NOW))
    assert unverified[-1].name == "tls" and unverified[-1].failed


def test_wrong_password_fails_login_and_never_shows_it(mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, password="not-the-password"), ProviderContext(now=NOW))
    login = checks[-1]
    assert login.name == "login" and login.failed
    assert "refused the credentials" in login.detail
    assert "password" in login.fix
    assert "not-the-password" not in repr(checks)


def test_wrong_port_fails_tcp(mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, port=free_port()), ProviderContext(now=NOW))
    assert [c.name for c in checks] == ["dns", "tcp"]
    assert checks[-1].failed and "refused" in checks[-1].detail
    assert "993" in checks[-1].fix


def test_unresolvable_host_fails_dns(mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, host="imap.nowhere.invalid"), ProviderContext(now=NOW))
    assert [c.name for c in checks] == ["dns"]
    assert checks[0].failed and "imap.nowhere.invalid" in checks[0].detail
    assert "accounts[rita-imap].host" in checks[0].fix


def test_private_keyword_found_or_not(mail_user: MailUser) -> None:
    client: Any = mail_user.client()
    try:
        client.select_folder("INBOX")
        client.append("INBOX", _raw("marked", NOW), flags=["$Private"])
    finally:
        client.logout()
    found = _by_name(probe(_account(mail_user, private_keyword="$Private"),
                           ProviderContext(now=NOW)))
    assert found["private keyword"].status == "ok"
    missing = _by_name(probe(_account(mail_user, private_keyword="$Secret"),
                             ProviderContext(now=NOW)))
    assert missing["private keyword"].status == "warning"
    assert "private_keyword" in missing["private keyword"].fix


def test_missing_explicit_folder_names_the_server_folders(mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, folders=["INBOX", "Archive"]), ProviderContext(now=NOW))
    folders = checks[-1]
    assert folders.name == "folders" and folders.failed
    assert "'Archive'" in folders.detail and "Sent" in folders.fix


def test_plain_security_is_a_warning(dovecot_server: DovecotServer, mail_user: MailUser) -> None:
    checks = probe(_account(mail_user, port=dovecot_server.port, security="plain"),
                   ProviderContext(now=NOW))
    assert _by_name(checks)["tls"].status == "warning"
    assert _by_name(checks)["login"].status == "ok"

"""Connecting: implicit TLS, STARTTLS, XOAUTH2, and what failures become."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.base import ProviderContext
from providers.imap import ImapProvider
from syncd.errors import AuthError, TransientError
from syncd.secrets import FileTokenVault
from tests.fixtures.dovecot import PASSWORD, MailUser
from tests.fixtures.tcp_proxy import TcpProxy
from tests.generate import make_message, message_id
from tests.providers.contract import messages
from tests.providers.imap.helpers import NOW, account_for, provider_for, run


def test_implicit_tls_with_configured_ca(mail_user: MailUser) -> None:
    mail_user.deliver(make_message(1))
    with provider_for(mail_user, port=mail_user.server.tls_port, security="tls",
                      ca_file=str(mail_user.server.ca_file)) as provider:
        assert [m.message_id for m in messages(run(provider)[0])] == [message_id(1)]


def test_starttls_upgrades_before_login(mail_user: MailUser, proxy: TcpProxy) -> None:
    mail_user.deliver(make_message(1))
    with provider_for(mail_user, port=proxy.port, security="starttls",
                      ca_file=str(mail_user.server.ca_file)) as provider:
        assert [m.message_id for m in messages(run(provider)[0])] == [message_id(1)]
    sent = proxy.client_bytes()
    assert b"STARTTLS" in sent
    assert PASSWORD.encode() not in sent and b"LOGIN" not in sent  # login went encrypted


def test_untrusted_certificate_is_refused(mail_user: MailUser) -> None:
    with provider_for(mail_user, port=mail_user.server.tls_port, security="tls") as provider:
        provider.max_reconnects = 0
        with pytest.raises(TransientError):
            run(provider)


def test_unreachable_server_is_transient(mail_user: MailUser, proxy: TcpProxy) -> None:
    proxy.refuse()
    with provider_for(mail_user, port=proxy.port) as provider:
        provider.max_reconnects = 1
        with pytest.raises(TransientError) as info:
            run(provider)
    assert PASSWORD not in str(info.value)


def test_xoauth2_with_a_token_supplier(mail_user: MailUser) -> None:
    mail_user.deliver(make_message(1))
    calls: list[int] = []

    def supply() -> str:
        calls.append(1)
        return PASSWORD  # the fixture's Dovecot accepts it as a bearer token

    account = account_for(mail_user, auth="xoauth2", password=None)
    with ImapProvider(account, ProviderContext(now=lambda: NOW),
                      token_supplier=supply) as provider:
        assert [m.message_id for m in messages(run(provider)[0])] == [message_id(1)]
        assert len(calls) == provider.stats["connects"]  # a fresh token for every login


def test_xoauth2_refused_token_is_auth_error_without_the_token(mail_user: MailUser) -> None:
    from tests.fixtures.tcp_proxy import tcp_proxy

    account = account_for(mail_user, auth="xoauth2", password=None)
    with tcp_proxy(mail_user.server.host, mail_user.server.port, source_ip="127.0.0.3") as via:
        account = account.model_copy(update={"port": via.port})
        with ImapProvider(account, ProviderContext(now=lambda: NOW),
                          token_supplier=lambda: "ya29.expired-token") as provider, \
                pytest.raises(AuthError) as info:
            run(provider)
    assert "ya29" not in str(info.value)


def test_xoauth2_default_supplier_reads_the_vault(mail_user: MailUser, tmp_path: Path) -> None:
    mail_user.deliver(make_message(1))
    vault = FileTokenVault(tmp_path / "tokens", "test-key")
    account = account_for(mail_user, auth="xoauth2", password=None)
    context = ProviderContext(vault=vault, now=lambda: NOW)
    with ImapProvider(account, context) as provider, pytest.raises(AuthError):
        run(provider)  # nothing stored yet: needs re-auth
    vault.save(f"imap:{account.id}", json.dumps({"access_token": PASSWORD}))
    with ImapProvider(account, context) as provider:
        assert [m.message_id for m in messages(run(provider)[0])] == [message_id(1)]


def test_silent_server_hits_the_read_timeout(mail_user: MailUser) -> None:
    import socket
    import time

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never greets
        port = silent.getsockname()[1]
        # imapclient waits for the greeting under the connect timeout, then reads
        # under the read timeout: both come from the account's config
        with provider_for(mail_user, port=port, connect_timeout=0.3,
                          read_timeout=0.3) as provider:
            provider.max_reconnects = 0
            started = time.monotonic()
            with pytest.raises(TransientError):
                run(provider)
        assert time.monotonic() - started < 3

"""wait_for_changes: IDLE on INBOX against Dovecot."""

from __future__ import annotations

import threading
import time

from tests.fixtures.dovecot import MailUser
from tests.fixtures.tcp_proxy import TcpProxy
from tests.generate import make_message, message_id
from tests.providers.contract import messages
from tests.providers.imap.helpers import provider_for, run


def test_idle_returns_when_mail_arrives(mail_user: MailUser) -> None:
    with provider_for(mail_user, idle=True) as provider:
        _, cursors = run(provider)
        # Maildir files appear to Dovecot through its inotify watch during IDLE
        timer = threading.Timer(0.3, mail_user.deliver, args=(make_message(1),))
        timer.start()
        started = time.monotonic()
        try:
            assert provider.wait_for_changes(10) is True
        finally:
            timer.cancel()
        assert time.monotonic() - started < 5
        pages, _ = run(provider, cursors)  # the same connection syncs right after
    assert [m.message_id for m in messages(pages)] == [message_id(1)]


def test_idle_times_out_quietly_when_nothing_happens(mail_user: MailUser) -> None:
    with provider_for(mail_user, idle=True) as provider:
        started = time.monotonic()
        assert provider.wait_for_changes(0.5) is False
        assert 0.4 < time.monotonic() - started < 3
        assert run(provider)[0][0].resource == "INBOX"  # connection still usable


def test_without_idle_it_polls_by_select(mail_user: MailUser, proxy: TcpProxy) -> None:
    proxy.rewrite_server = lambda data: data.replace(b" IDLE", b"")
    with provider_for(mail_user, port=proxy.port, idle=True) as provider:
        provider.poll_fallback_seconds = 0.2
        timer = threading.Timer(0.3, mail_user.deliver, args=(make_message(1),))
        timer.start()
        try:
            assert provider.wait_for_changes(10) is True
        finally:
            timer.cancel()
        assert provider.wait_for_changes(0.3) is False
    assert b"IDLE" not in proxy.client_bytes()
    assert proxy.client_bytes().count(b"SELECT") >= 2


def test_mail_that_arrived_since_the_last_pass_counts_at_once(mail_user: MailUser) -> None:
    with provider_for(mail_user, idle=True) as provider:
        run(provider)
        mail_user.deliver(make_message(1))
        started = time.monotonic()
        assert provider.wait_for_changes(10) is True
        assert time.monotonic() - started < 1


def test_dropped_connection_during_idle_ends_the_wait(mail_user: MailUser,
                                                      proxy: TcpProxy) -> None:
    with provider_for(mail_user, port=proxy.port, idle=True) as provider:
        run(provider)
        timer = threading.Timer(0.3, proxy.drop_all)
        timer.start()
        started = time.monotonic()
        try:
            assert provider.wait_for_changes(10) is True  # "go sync", which reconnects
        finally:
            timer.cancel()
        assert time.monotonic() - started < 5
        mail_user.deliver(make_message(1))
        assert [m.message_id for m in messages(run(provider)[0])] == [message_id(1)]

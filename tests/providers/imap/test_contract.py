"""The shared mail contract, against a real Dovecot.

Faults go through a TCP proxy in front of Dovecot (cut every session, refuse
connections); bad credentials log in from 127.0.0.2, so Dovecot's delay after
a failed login does not slow the other tests' logins from 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from email.parser import BytesParser
from email.policy import compat32
from typing import Any

import pytest

from providers.base import Provider
from tests.fixtures.dovecot import DovecotServer
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy
from tests.providers.contract import (
    NOT_MAIL,
    BackendHooks,
    Limits,
    MailContract,
    NotApplicable,
)
from tests.providers.imap.helpers import DovecotBackend, provider_for

WRONG_PASSWORD = "wrong-horse-battery"


class DovecotContractBackend(DovecotBackend, BackendHooks):
    def __init__(self, server: DovecotServer, cleanup: ExitStack, **overrides: Any) -> None:
        super().__init__(server, **overrides)
        self.cleanup = cleanup

    def limits(self) -> Limits:
        return {
            "cursor_expired": NotApplicable(
                "IMAP has no server-side cursor to refuse: a changed UIDVALIDITY is seen by "
                "the provider itself, which starts the folder over in the same pass "
                "(tests/providers/imap/test_sync.py)"),
        }

    def provider_at(self, privacy: str) -> Provider:
        return provider_for(self.user, privacy=privacy, **self.overrides)

    def _via(self, proxy: TcpProxy, **overrides: Any) -> Provider:
        provider = provider_for(self.user, port=proxy.port, **{**self.overrides, **overrides})
        provider.max_reconnects = 1  # give up after one reconnect: the test waits less
        return provider

    def remove_message(self, handle: object) -> None:
        assert isinstance(handle, bytes), "add_message hands out the raw message"
        wanted = BytesParser(policy=compat32).parsebytes(handle, headersonly=True)["Message-ID"]
        admin: Any = self.user.client()
        try:
            admin.select_folder("INBOX")
            uids = admin.search(["HEADER", "Message-ID", str(wanted)])
            assert len(uids) == 1, uids
            admin.delete_messages(uids)
            admin.expunge()
        finally:
            admin.logout()

    def add_malformed_message(self) -> None:
        self.user.deliver(NOT_MAIL)

    def bad_credentials(self) -> tuple[Provider, str]:
        via = self.cleanup.enter_context(tcp_proxy(self.user.server.host, self.user.server.port,
                                                   source_ip="127.0.0.2"))
        return self._via(via, password=WRONG_PASSWORD), WRONG_PASSWORD

    @contextmanager
    def failing_server(self) -> Iterator[Provider]:
        with tcp_proxy(self.user.server.host, self.user.server.port) as proxy:
            proxy.drop_after(0, times=1000)  # every session is cut right after the greeting
            provider = self._via(proxy)
            try:
                yield provider
            finally:
                provider.close()
            assert proxy.dropped >= 2, "the provider met the failure and reconnected"

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        with tcp_proxy(self.user.server.host, self.user.server.port) as proxy:
            proxy.refuse()
            provider = self._via(proxy)
            try:
                yield provider
            finally:
                provider.close()


class TestImapContract(MailContract):
    @pytest.fixture
    def backend(self, dovecot_server: DovecotServer) -> Iterator[DovecotContractBackend]:
        # small pages so "pages are bounded" really spans several pages
        with ExitStack() as cleanup:
            yield DovecotContractBackend(dovecot_server, cleanup, page_size=10)

"""Fixtures of the IMAP tests: a TCP proxy in front of the session's Dovecot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.dovecot import DovecotServer
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy


@pytest.fixture
def proxy(dovecot_server: DovecotServer) -> Iterator[TcpProxy]:
    """A proxy to Dovecot's plaintext port: sees every command, can cut connections."""
    with tcp_proxy(dovecot_server.host, dovecot_server.port) as p:
        yield p

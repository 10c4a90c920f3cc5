"""Fixtures of the CalDAV provider tests: a fresh Radicale user per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.radicale import RadicaleServer
from tests.providers.caldav.backend import RadicaleBackend


@pytest.fixture
def radicale_backend(radicale_server: RadicaleServer) -> Iterator[RadicaleBackend]:
    backend = RadicaleBackend(radicale_server)
    try:
        yield backend
    finally:
        backend.client.close()

"""Fixtures of the CalDAV provider tests: a fresh Radicale user per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# syncd.config first: it imports every provider's settings module, and importing
# providers.caldav.settings before it would be circular
import syncd.config  # noqa: F401
from tests.fixtures.radicale import RadicaleServer
from tests.providers.caldav.backend import RadicaleBackend


@pytest.fixture
def radicale_backend(radicale_server: RadicaleServer) -> Iterator[RadicaleBackend]:
    backend = RadicaleBackend(radicale_server)
    try:
        yield backend
    finally:
        backend.client.close()

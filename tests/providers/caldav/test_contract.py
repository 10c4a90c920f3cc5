"""The shared calendar contract, against a real Radicale.

Faults: Radicale validates what it stores, so a malformed object is made on
the wire by the rewriting proxy in front of it, which also answers 503s; an
expired sync token is one whose state Radicale no longer keeps (its
``sync-token`` cache emptied, as its own cleanup of old tokens does).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from providers.base import Provider, ProviderContext
from providers.caldav import CaldavProvider
from tests.fixtures.radicale import RadicaleServer
from tests.fixtures.servers import free_port
from tests.generate import BASE_TIME, EventSpec
from tests.providers.caldav.backend import RadicaleBackend
from tests.providers.caldav.rewriting_proxy import RewritingProxy, rewriting_proxy
from tests.providers.contract import BackendHooks, CalendarContract

WRONG_PASSWORD = "not-the-calendar-password"


class RadicaleContractBackend(RadicaleBackend, BackendHooks):
    def __init__(self, server: RadicaleServer, cleanup: ExitStack) -> None:
        super().__init__(server)
        self.cleanup = cleanup
        #: set once an object is corrupted on the wire: providers then go through it
        self.corrupting: RewritingProxy | None = None

    def provider(self, **overrides: Any) -> CaldavProvider:
        if self.corrupting is not None:
            overrides.setdefault("url", self.corrupting.url)
        return super().provider(**overrides)

    def provider_at(self, privacy: str) -> Provider:
        return CaldavProvider(self.account(), ProviderContext(privacy=privacy,
                                                              now=lambda: self.now))

    def remove_event(self, uid: str) -> None:
        self.delete_event(uid)

    def add_malformed_event(self) -> None:
        spec = EventSpec(uid="malformed@test", title="Malformed",
                         start=BASE_TIME + timedelta(days=3, hours=7))
        self.add_event(spec)
        if self.corrupting is None:
            self.corrupting = self.cleanup.enter_context(rewriting_proxy(self.server.port))
        start = spec.start.astimezone(ZoneInfo(spec.tzid)).strftime("%Y%m%dT%H%M%S")
        self.corrupting.replacements[f"DTSTART;TZID={spec.tzid}:{start}".encode()] = \
            f"DTSTART;TZID={spec.tzid}:garbage".encode()

    def bad_credentials(self) -> tuple[Provider, str]:
        return self.provider(password=WRONG_PASSWORD), WRONG_PASSWORD

    @contextmanager
    def failing_server(self) -> Iterator[Provider]:
        with rewriting_proxy(self.server.port) as proxy:
            proxy.failures = 1000
            provider = self.provider(url=proxy.url, retries=1)
            try:
                yield provider
            finally:
                provider.close()
            assert proxy.requests >= 2, "the 503 was served and the request retried"

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        provider = self.provider(url=f"http://127.0.0.1:{free_port()}/", timeout=2)
        try:
            yield provider
        finally:
            provider.close()

    def expire_cursors(self) -> None:
        calendars = self.server.storage / "collection-root" / self.user
        kept = list(calendars.glob("*/.Radicale.cache/sync-token"))
        assert kept, "Radicale keeps the state of the tokens it handed out"
        for folder in kept:
            shutil.rmtree(folder)


class TestCaldavContract(CalendarContract):
    @pytest.fixture
    def backend(self, radicale_server: RadicaleServer) -> Iterator[RadicaleContractBackend]:
        with ExitStack() as cleanup:
            backend = RadicaleContractBackend(radicale_server, cleanup)
            cleanup.callback(backend.client.close)
            yield backend

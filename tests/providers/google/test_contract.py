"""The shared provider contract, run against the stand-in through google-api-python-client.

Faults come from the stand-in's own knobs: ``faults.fail`` (5xx on every
call), ``expire_history`` / ``expire_sync_tokens``, deleting messages and
events; bad credentials are a service-account key the stand-in does not
trust; an unreachable server is a port nobody listens on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.base import Provider
from providers.google import GmailProvider, GoogleCalendarProvider
from tests.fixtures.servers import free_port
from tests.generate import BASE_TIME, EventSpec
from tests.providers.contract import NOT_MAIL, BackendHooks, CalendarContract, MailContract
from tests.providers.google.conftest import (
    REP,
    calendar_account,
    context,
    endpoints,
    gmail_account,
    write_key_file,
)
from tests.standins.google import GoogleStandIn
from tests.standins.google.calendars import Series

#: what each contract backend's provider is built from: (key file, privacy, account
#: overrides) -> provider
Build = Callable[[Path, str, dict[str, Any]], Provider]


class GoogleContractBackend(BackendHooks):
    """Gmail or Google Calendar of :data:`REP` on the stand-in, through the real client,
    with the stand-in's fault knobs."""

    def __init__(self, standin: GoogleStandIn, key_file: Path, forged_key: Path,
                 build: Build) -> None:
        self.standin, self.user, self.calendar = standin, REP, "primary"
        self.key_file, self.forged_key, self.build = key_file, forged_key, build

    def provider(self) -> Provider:
        return self.build(self.key_file, "subject", {})

    def add_message(self, raw: bytes) -> str:
        """Deliver ``raw``; its Gmail id."""
        return self.standin.add_message(self.user, raw)

    def add_event(self, spec: EventSpec) -> None:
        self.standin.add_event(self.user, self.calendar, spec)

    def provider_at(self, privacy: str) -> Provider:
        return self.build(self.key_file, privacy, {})

    def bad_credentials(self) -> tuple[Provider, str]:
        pem = json_private_key(self.forged_key)
        return self.build(self.forged_key, "subject", {}), pem.splitlines()[1]

    @contextmanager
    def failing_server(self) -> Iterator[Provider]:
        self.standin.faults.fail(503, times=1000)
        provider = self.build(self.key_file, "subject", {})
        try:
            yield provider
        finally:
            provider.close()
            fired = self.standin.faults.fired["fail"]
            self.standin.faults.clear()
        assert fired >= 2, "the 503 was served and the call retried"

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        nobody = f"http://127.0.0.1:{free_port()}"
        dead = {name: url.replace(self.standin.url, nobody)
                for name, url in endpoints(self.standin).items()}
        provider = self.build(self.key_file, "subject", {"endpoints": dead})
        try:
            yield provider
        finally:
            provider.close()


def json_private_key(path: Path) -> str:
    key: str = json.loads(path.read_text())["private_key"]
    return key


class GmailContractBackend(GoogleContractBackend):
    def remove_message(self, handle: object) -> None:
        assert isinstance(handle, str), "add_message hands out the Gmail id"
        self.standin.delete_message(self.user, handle)

    def add_malformed_message(self) -> None:
        self.standin.add_message(self.user, NOT_MAIL)

    def expire_cursors(self) -> None:
        self.standin.expire_history(self.user)


class _WithoutICalUID(Series):
    """A series the server sends without ``iCalUID``: no client can key it."""

    def instances(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in inst.items() if k != "iCalUID"}
                for inst in super().instances()]


class CalendarContractBackend(GoogleContractBackend):
    def remove_event(self, uid: str) -> None:
        self.standin.remove_event(self.user, self.calendar, uid)

    def add_malformed_event(self) -> None:
        spec = EventSpec(uid="malformed@test", title="Malformed",
                         start=BASE_TIME + timedelta(days=3))
        with self.standin.lock:
            cal = self.standin.calendar(self.user, self.calendar)
            cal.change += 1
            cal.series[spec.uid] = _WithoutICalUID(spec, cal.change, datetime.now(UTC))

    def expire_cursors(self) -> None:
        self.standin.expire_sync_tokens(self.user)


@pytest.fixture
def forged_key(tmp_path: Path, standin: GoogleStandIn) -> Path:
    """A well-formed service-account key the stand-in was never told to trust."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return write_key_file(tmp_path / "forged.json", other, standin)


class TestGmailContract(MailContract):
    @pytest.fixture
    def backend(self, standin: GoogleStandIn, key_file: Path, forged_key: Path
                ) -> GmailContractBackend:
        def build(key: Path, privacy: str, overrides: dict[str, Any]) -> Provider:
            account = gmail_account(standin, key, page_size=10, batch_size=4,
                                    **overrides)
            return GmailProvider(account, context(privacy=privacy))

        return GmailContractBackend(standin, key_file, forged_key, build)


class TestGoogleCalendarContract(CalendarContract):
    @pytest.fixture
    def backend(self, standin: GoogleStandIn, key_file: Path, forged_key: Path
                ) -> CalendarContractBackend:
        def build(key: Path, privacy: str, overrides: dict[str, Any]) -> Provider:
            account = calendar_account(standin, key, page_size=3, **overrides)
            return GoogleCalendarProvider(account, context(BASE_TIME, privacy=privacy))

        return CalendarContractBackend(standin, key_file, forged_key, build)

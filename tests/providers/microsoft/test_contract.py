"""The shared provider contract, against the Graph stand-in via msal + requests.

Faults come from the stand-in's knobs: ``inject`` (503 on every request of a
mailbox), ``expire_delta``, removing and editing messages and events; bad
credentials are a wrong client secret; an unreachable Graph is a port nobody
listens on (sign-in still works).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from providers.base import Provider
from providers.microsoft import OutlookCalendarProvider, OutlookMailProvider
from tests.fixtures.servers import free_port
from tests.generate import BASE_TIME, EventSpec, make_message
from tests.providers.contract import (
    BackendHooks,
    CalendarContract,
    Limits,
    MailContract,
    NotApplicable,
)
from tests.providers.microsoft.conftest import (
    MAILBOX,
    auth_settings,
    calendar_account,
    context,
    mail_account,
)
from tests.standins.graph import GraphStandIn

WRONG_SECRET = "not-the-client-secret"
#: a second mailbox on the same tenant whose every Graph request the stand-in fails
FAILING_MAILBOX = "failing@ourco.example"


class GraphBackend(BackendHooks):
    """One mailbox on the Graph stand-in; subclasses build mail or calendar providers."""

    def __init__(self, standin: GraphStandIn) -> None:
        self.standin = standin

    def build(self, privacy: str = "subject", **account: Any) -> Provider:
        raise NotImplementedError  # pragma: no cover - overridden

    def provider(self) -> Provider:
        return self.build()

    def provider_at(self, privacy: str) -> Provider:
        return self.build(privacy)

    def bad_credentials(self) -> tuple[Provider, str]:
        return self.build(auth=auth_settings(self.standin, client_secret=WRONG_SECRET)), \
            WRONG_SECRET

    @contextmanager
    def failing_server(self) -> Iterator[Provider]:
        self.standin.inject("status", 1000, status=503, mailbox=FAILING_MAILBOX)
        provider = self.build(owner=FAILING_MAILBOX)
        try:
            yield provider
        finally:
            provider.close()
        served = [s for s in self.standin.graph_requests(FAILING_MAILBOX) if s.status == 503]
        assert len(served) >= 2, "the 503 was served and the request retried"

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        provider = self.build(endpoints={"graph": f"http://127.0.0.1:{free_port()}/v1.0"})
        try:
            yield provider
        finally:
            provider.close()

    def expire_cursors(self) -> None:
        self.standin.expire_delta(MAILBOX)


class GraphMailBackend(GraphBackend):
    def limits(self) -> Limits:
        return {"invites": NotApplicable("Graph mail is read as JSON, not MIME: meeting "
                                         "requests reach syncd through the Outlook calendar")}

    def build(self, privacy: str = "subject", **account: Any) -> Provider:
        return OutlookMailProvider(mail_account(self.standin, **account),
                                   context(privacy=privacy))

    def add_message(self, raw: bytes) -> str:
        return self.standin.add_message(MAILBOX, "inbox", raw)

    def add_event(self, spec: EventSpec) -> None:  # pragma: no cover - mail only
        raise NotImplementedError

    def remove_message(self, handle: object) -> None:
        assert isinstance(handle, str), "add_message hands out the Graph id"
        self.standin.remove_message(MAILBOX, handle)

    def add_malformed_message(self) -> None:
        broken = self.add_message(make_message(90))
        self.standin.update_message(MAILBOX, broken, sentDateTime=None,
                                    receivedDateTime="yesterday")


class GraphCalendarBackend(GraphBackend):
    def build(self, privacy: str = "subject", **account: Any) -> Provider:
        return OutlookCalendarProvider(calendar_account(self.standin, **account),
                                       context(now=BASE_TIME, privacy=privacy))

    def add_message(self, raw: bytes) -> None:  # pragma: no cover - calendar only
        raise NotImplementedError

    def add_event(self, spec: EventSpec) -> None:
        self.standin.add_event(MAILBOX, spec)

    def remove_event(self, uid: str) -> None:
        self.standin.remove_event(MAILBOX, uid)

    def add_malformed_event(self) -> None:
        uid = "malformed@test"
        self.add_event(EventSpec(uid=uid, title="Malformed",
                                 start=BASE_TIME + timedelta(days=3)))
        store = self.standin.calendars
        with store.lock:  # the server now sends it without the uid every copy shares
            for instance in store.calendar(MAILBOX).instances.values():
                if instance.uid == uid:
                    instance.item.pop("iCalUId")


class TestOutlookMailContract(MailContract):
    @pytest.fixture
    def backend(self, standin: GraphStandIn) -> Iterator[GraphMailBackend]:
        yield GraphMailBackend(standin)


class TestOutlookCalendarContract(CalendarContract):
    @pytest.fixture
    def backend(self, standin: GraphStandIn) -> Iterator[GraphCalendarBackend]:
        yield GraphCalendarBackend(standin)

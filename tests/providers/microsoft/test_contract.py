"""The shared provider contract, against the Graph stand-in via msal + requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.base import Provider
from providers.microsoft import OutlookCalendarProvider, OutlookMailProvider
from tests.generate import BASE_TIME, EventSpec
from tests.providers.contract import CalendarContract, MailContract
from tests.providers.microsoft.conftest import MAILBOX, calendar_account, context, mail_account
from tests.standins.graph import GraphStandIn


class MailBackend:
    def __init__(self, standin: GraphStandIn) -> None:
        self.standin = standin

    def provider(self) -> Provider:
        return OutlookMailProvider(mail_account(self.standin), context())

    def add_message(self, raw: bytes) -> None:
        self.standin.add_message(MAILBOX, "inbox", raw)

    def add_event(self, spec: EventSpec) -> None:  # pragma: no cover - mail only
        raise NotImplementedError


class CalendarBackend:
    def __init__(self, standin: GraphStandIn) -> None:
        self.standin = standin

    def provider(self) -> Provider:
        return OutlookCalendarProvider(calendar_account(self.standin), context(now=BASE_TIME))

    def add_message(self, raw: bytes) -> None:  # pragma: no cover - calendar only
        raise NotImplementedError

    def add_event(self, spec: EventSpec) -> None:
        self.standin.add_event(MAILBOX, spec)


class TestOutlookMailContract(MailContract):
    @pytest.fixture
    def backend(self, standin: GraphStandIn) -> Iterator[MailBackend]:
        yield MailBackend(standin)


class TestOutlookCalendarContract(CalendarContract):
    @pytest.fixture
    def backend(self, standin: GraphStandIn) -> Iterator[CalendarBackend]:
        yield CalendarBackend(standin)

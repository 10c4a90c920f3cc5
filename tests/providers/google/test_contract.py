"""The shared provider contract, run against the stand-in through google-api-python-client."""

from __future__ import annotations

import pytest

from tests.providers.contract import Backend, CalendarContract, MailContract
from tests.providers.google.conftest import GoogleBackend


class TestGmailContract(MailContract):
    @pytest.fixture
    def backend(self, gmail_backend: GoogleBackend) -> Backend:
        return gmail_backend


class TestGoogleCalendarContract(CalendarContract):
    @pytest.fixture
    def backend(self, calendar_backend: GoogleBackend) -> Backend:
        return calendar_backend

"""The shared calendar contract, against a real Radicale."""

from __future__ import annotations

import pytest

from tests.providers.caldav.backend import RadicaleBackend
from tests.providers.contract import CalendarContract


class TestCaldavContract(CalendarContract):
    @pytest.fixture
    def backend(self, radicale_backend: RadicaleBackend) -> RadicaleBackend:
        return radicale_backend

"""CalDAV ``CLASS:PRIVATE`` (real Radicale) through the real engine and store, both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncd.store.database import Database
from tests.generate import BASE_TIME
from tests.providers.caldav.backend import RadicaleBackend
from tests.providers.private_events import run_scenario


@pytest.mark.parametrize("rule", ["busy", "skip"])
def test_a_meeting_marked_private_later(database: Database, radicale_backend: RadicaleBackend,
                                        rule: str) -> None:
    backend = radicale_backend
    account = {"id": f"cal-{backend.user}", "owner": "rita@ourco.example", "provider": "caldav",
               "url": backend.server.url, "username": backend.user,
               "password": backend.password, "past_days": 30, "future_days": 60,
               "retries": 0, "timeout": 10}
    run_scenario(database, account, rule, BASE_TIME + timedelta(days=1), backend.add_event,
                 lambda: BASE_TIME)

"""Google Calendar ``visibility: private`` through the real engine and store, both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.providers.google.conftest import FAST_RETRIES, NOW, REP, endpoints
from tests.providers.private_events import run_scenario
from tests.standins.google import GoogleStandIn


@pytest.mark.parametrize("rule", ["busy", "skip"])
def test_a_meeting_marked_private_later(database: object, standin: GoogleStandIn,
                                        key_file: Path, rule: str) -> None:
    account = {"id": "gcal-rita", "provider": "google_calendar", "owner": REP,
               "auth": {"service_account_file": str(key_file)},
               "endpoints": endpoints(standin), "transport": FAST_RETRIES,
               "past_days": 30, "future_days": 60}
    run_scenario(database, account, rule, NOW + timedelta(days=1),  # type: ignore[arg-type]
                 lambda spec: standin.add_event(REP, "primary", spec), lambda: NOW)

"""Graph ``sensitivity: private`` (stand-in, real msal/requests client) through the real
engine and store, both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncd.store.database import Database
from tests.providers.microsoft.conftest import MAIL_NOW, MAILBOX, auth_settings, fast_limits
from tests.providers.private_events import run_scenario
from tests.standins.graph import GraphStandIn


@pytest.mark.parametrize("rule", ["busy", "skip"])
def test_a_meeting_marked_private_later(database: Database, standin: GraphStandIn,
                                        rule: str) -> None:
    account = {"id": "rita-cal", "provider": "outlook_calendar", "owner": MAILBOX,
               "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
               "limits": fast_limits(), "past_days": 30, "future_days": 60}
    run_scenario(database, account, rule, MAIL_NOW + timedelta(days=1),
                 lambda spec: standin.add_event(MAILBOX, spec), lambda: MAIL_NOW)

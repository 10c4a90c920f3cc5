"""Fixtures: a Graph stand-in per test and account settings pointing at it.

The providers run unchanged: real msal (its login host delivered to the
stand-in by ``auth.login_proxy``) and real requests against
``endpoints.graph``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from providers.base import ProviderContext
from providers.microsoft.settings import OutlookCalendarAccount, OutlookMailAccount
from tests.generate import BASE_TIME
from tests.standins.graph import GraphStandIn

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cret-value-never-logged"
MAILBOX = "rita@ourco.example"
#: the provider's clock in mail tests: a month after the generated messages
MAIL_NOW = BASE_TIME + timedelta(days=30)


@pytest.fixture
def standin() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        server.register_app(CLIENT_ID, SECRET)
        yield server


def auth_settings(standin: GraphStandIn, **over: Any) -> dict[str, Any]:
    return {"method": "app", "tenant_id": standin.tenant, "client_id": CLIENT_ID,
            "client_secret": SECRET, "login_proxy": standin.url, **over}


def fast_limits(**over: Any) -> dict[str, Any]:
    return {"backoff_base": 0.01, "max_retry_after": 2, "max_retries": 4, "timeout": 5, **over}


def mail_account(standin: GraphStandIn, **over: Any) -> OutlookMailAccount:
    data: dict[str, Any] = {
        "id": "rita-mail", "provider": "outlook_mail", "owner": MAILBOX,
        "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
        "limits": fast_limits(), "page_size": 10, "backfill_days": 90,
    }
    data.update(over)
    return OutlookMailAccount.model_validate(data)


def calendar_account(standin: GraphStandIn, **over: Any) -> OutlookCalendarAccount:
    data: dict[str, Any] = {
        "id": "rita-cal", "provider": "outlook_calendar", "owner": MAILBOX,
        "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
        "limits": fast_limits(), "page_size": 10, "past_days": 30, "future_days": 60,
    }
    data.update(over)
    return OutlookCalendarAccount.model_validate(data)


def context(now: Any = MAIL_NOW, privacy: str = "subject", vault: Any = None
            ) -> ProviderContext:
    return ProviderContext(privacy=privacy, vault=vault, now=now)

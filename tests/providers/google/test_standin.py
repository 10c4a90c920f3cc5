"""The stand-in refuses what Google refuses, so provider tests can fail for real."""

from __future__ import annotations

from pathlib import Path

import httplib2
import pytest
from googleapiclient.errors import HttpError

from providers.google.auth import CALENDAR_SCOPES, GMAIL_SCOPES, load_credentials
from providers.google.clients import build_service
from tests.generate import BASE_TIME, EventSpec
from tests.providers.google.conftest import REP, calendar_account, gmail_account
from tests.standins.google import GoogleStandIn


def test_sync_token_with_a_time_window_is_a_400(standin: GoogleStandIn,
                                                key_file: Path) -> None:
    standin.add_event(REP, "primary", EventSpec(uid="a@test", title="A", start=BASE_TIME))
    account = calendar_account(standin, key_file)
    events = build_service("calendar", "v3", load_credentials(account, None, CALENDAR_SCOPES),
                           endpoint=standin.calendar_endpoint, timeout=5).events()
    first = events.list(calendarId="primary", singleEvents=True).execute()
    assert first["items"] and first["nextSyncToken"]
    with pytest.raises(HttpError) as info:
        events.list(calendarId="primary", singleEvents=True, syncToken=first["nextSyncToken"],
                    timeMin="2026-11-01T00:00:00Z").execute()
    assert info.value.resp.status == 400


def test_bad_query_expired_history_and_anonymous_calls_are_refused(
        standin: GoogleStandIn, key_file: Path) -> None:
    account = gmail_account(standin, key_file)
    users = build_service("gmail", "v1", load_credentials(account, None, GMAIL_SCOPES),
                          endpoint=standin.gmail_endpoint, timeout=5).users()
    with pytest.raises(HttpError) as info:
        users.messages().list(userId="me", q="has:attachment").execute()
    assert info.value.resp.status == 400
    standin.add_message(REP, b"From: a@b.example\r\nSubject: x\r\n\r\nhi\r\n")
    standin.expire_history(REP)
    with pytest.raises(HttpError) as info:
        users.history().list(userId="me", startHistoryId="1000").execute()
    assert info.value.resp.status == 404
    anonymous, _ = httplib2.Http().request(f"{standin.url}/gmail/v1/users/me/profile")
    assert anonymous.status == 401

"""The CalDAV account probe of `syncd doctor`, against the real Radicale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from providers.base import ProviderContext
from providers.caldav.probe import probe
from tests.generate import EventSpec
from tests.providers.caldav.backend import RadicaleBackend

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_good_account_counts_events_in_the_window(radicale_backend: RadicaleBackend) -> None:
    radicale_backend.add_event(EventSpec("in-1", "Renewal call", NOW + timedelta(days=3)))
    radicale_backend.add_event(EventSpec("in-2", "Discovery", NOW - timedelta(days=10)))
    radicale_backend.add_event(EventSpec("out", "Long ago", NOW - timedelta(days=200)))
    checks = probe(radicale_backend.account(), ProviderContext(now=NOW))
    assert [c.name for c in checks] == ["dns", "tcp", "tls", "login", "calendars", "window"]
    assert [c.status for c in checks] == ["ok", "ok", "warning", "ok", "ok", "ok"], checks
    assert "http" in checks[2].detail  # a plain-http URL is a warning, not a failure
    assert checks[4].detail == "will sync Work"
    assert checks[5].detail.startswith("Work: 2 events from 2026-10-23 to 2027-01-22")


def test_wrong_password_fails_login(radicale_backend: RadicaleBackend) -> None:
    checks = probe(radicale_backend.account(password="wrong-one"), ProviderContext(now=NOW))
    login = checks[-1]
    assert login.name == "login" and login.failed, checks
    assert "401" in login.detail
    assert "password" in login.fix
    assert "wrong-one" not in repr(checks)


def test_unknown_calendar_names_the_ones_there(radicale_backend: RadicaleBackend) -> None:
    checks = probe(radicale_backend.account(calendars=["Holidays"]), ProviderContext(now=NOW))
    assert checks[-1].name == "calendars" and checks[-1].failed
    assert "'Holidays'" in checks[-1].detail and "Work" in checks[-1].fix


def test_unresolvable_host_fails_dns(radicale_backend: RadicaleBackend) -> None:
    checks = probe(radicale_backend.account(url="https://dav.nowhere.invalid/"),
                   ProviderContext(now=NOW))
    assert [c.name for c in checks] == ["dns"] and checks[0].failed

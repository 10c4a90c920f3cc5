"""A Radicale-backed calendar account for the CalDAV provider tests.

Seeding goes through the caldav client with raw PUTs of
:func:`tests.generate.to_ics` output (the client's ``save_event`` would bump
SEQUENCE); syncing goes only through :class:`CaldavProvider`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from caldav.davclient import DAVClient

from providers.base import ProviderContext
from providers.caldav import CaldavProvider
from providers.caldav.settings import CaldavAccount
from tests.fixtures.radicale import RadicaleServer
from tests.generate import BASE_TIME, EventSpec, to_ics


class RadicaleBackend:
    """One fresh Radicale user with one calendar (more on request)."""

    def __init__(self, server: RadicaleServer, *, calendar: str = "Work",
                 now: datetime = BASE_TIME) -> None:
        self.server = server
        self.user, self.password = server.new_user()
        self.now = now
        self.client = DAVClient(url=server.url, username=self.user, password=self.password,
                                timeout=10, enable_rfc6764=False)
        self.calendars: dict[str, str] = {}
        self.calendar_url = self.add_calendar(calendar)
        #: extra account settings for the next provider() call
        self.settings: dict[str, Any] = {}
        self.privacy = "subject"

    def add_calendar(self, name: str) -> str:
        cal_id = name.lower().replace(" ", "-")
        calendar: Any = self.client.get_principal().make_calendar(name=name, cal_id=cal_id)
        self.calendars[name] = str(calendar.url)
        return str(calendar.url)

    def account(self, **overrides: Any) -> CaldavAccount:
        fields: dict[str, Any] = {
            "id": f"cal-{self.user}", "owner": "rita@ourco.example", "provider": "caldav",
            "url": self.server.url, "username": self.user, "password": self.password,
            "past_days": 30, "future_days": 60, "retries": 0}
        fields.update(self.settings)
        fields.update(overrides)
        return CaldavAccount.model_validate(fields)

    def provider(self, **overrides: Any) -> CaldavProvider:
        return CaldavProvider(self.account(**overrides),
                              ProviderContext(privacy=self.privacy, now=lambda: self.now))

    def add_message(self, raw: bytes) -> None:
        raise NotImplementedError("a CalDAV account has no inbox")

    def href(self, uid: str, calendar: str | None = None) -> str:
        base = self.calendars[calendar] if calendar else self.calendar_url
        return base + quote(uid, safe="") + ".ics"

    def put_ics(self, uid: str, text: str, calendar: str | None = None) -> None:
        response = self.client.put(self.href(uid, calendar), text,
                                   {"Content-Type": "text/calendar; charset=utf-8"})
        assert response.status in (201, 204), (response.status, response.raw)

    def add_event(self, spec: EventSpec, calendar: str | None = None) -> None:
        self.put_ics(spec.uid, to_ics(spec), calendar)

    def delete_event(self, uid: str, calendar: str | None = None) -> None:
        response = self.client.delete(self.href(uid, calendar))
        assert response.status in (200, 204), response.status

    def path(self, uid: str, calendar: str | None = None) -> str:
        """The href path the provider reports for an object (its provider-id prefix)."""
        from urllib.parse import unquote, urlsplit

        return unquote(urlsplit(self.href(uid, calendar)).path)

"""Config of the ``caldav`` provider."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from providers.settings import AccountBase


class CaldavAccount(AccountBase):
    provider: Literal["caldav"]
    #: the CalDAV server or principal URL, or one calendar collection's URL (then only it)
    url: str
    username: str
    password: SecretStr | None = None
    #: calendar display names or URLs; default: the calendar ``url`` names, else all of the
    #: principal's
    calendars: list[str] = Field(default_factory=list)
    #: window of the sync: days before and after today
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    #: seconds allowed for connecting and for each read
    timeout: Annotated[float, Field(gt=0, le=600)] = 60
    #: retries of an idempotent request after a network error, 5xx or 429
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    #: events (instances) per page handed to the engine
    page_size: Annotated[int, Field(ge=1, le=5000)] = 500
    #: calendar objects fetched per calendar-multiget REPORT
    multiget_size: Annotated[int, Field(ge=1, le=1000)] = 100
    #: verify the server's TLS certificate (turn off only for test servers)
    verify_tls: bool = True

"""Config of the ``caldav`` provider."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from syncd.config.base import AccountBase


class CaldavAccount(AccountBase):
    provider: Literal["caldav"]
    #: the CalDAV server or principal URL
    url: str
    username: str
    password: SecretStr | None = None
    #: calendar display names or URLs; default: all calendars of the principal
    calendars: list[str] = Field(default_factory=list)
    #: window of the sync: days before and after today
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    timeout: Annotated[float, Field(gt=0, le=600)] = 60

"""Config of the ``gmail`` and ``google_calendar`` providers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from syncd.config.base import AccountBase, StrictModel

GmailCategory = Literal["promotions", "social", "updates", "forums"]


class GoogleAuth(StrictModel):
    #: service_account: domain-wide delegation impersonating ``subject`` (default: owner)
    #: oauth: a user's refresh token stored by ``syncd auth google``
    method: Literal["service_account", "oauth"] = "service_account"
    service_account_file: Path | None = None
    subject: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_uri: str = "https://oauth2.googleapis.com/token"


class GoogleEndpoints(StrictModel):
    """Where the APIs live; tests point these at the local stand-in."""

    gmail: str = "https://gmail.googleapis.com/"
    gmail_batch: str = "https://gmail.googleapis.com/batch/gmail/v1"
    calendar: str = "https://www.googleapis.com/calendar/v3/"
    calendar_batch: str = "https://www.googleapis.com/batch/calendar/v3"


class GmailAccount(AccountBase):
    provider: Literal["gmail"]
    auth: GoogleAuth = Field(default_factory=GoogleAuth)
    endpoints: GoogleEndpoints = Field(default_factory=GoogleEndpoints)
    #: skip the promotions / social categories
    skip_categories: list[GmailCategory] = Field(
        default_factory=lambda: list[GmailCategory](["promotions", "social"])
    )
    #: quota units per second for this user (Google allows 250)
    quota_units_per_second: Annotated[float, Field(gt=0, le=250)] = 240
    #: calls per batch request (Google advises at most 50)
    batch_size: Annotated[int, Field(ge=1, le=50)] = 50
    #: Gmail label that marks a message private (not logged)
    private_label: str | None = None


class GoogleCalendarAccount(AccountBase):
    provider: Literal["google_calendar"]
    auth: GoogleAuth = Field(default_factory=GoogleAuth)
    endpoints: GoogleEndpoints = Field(default_factory=GoogleEndpoints)
    calendars: list[str] = Field(default_factory=lambda: ["primary"])
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    quota_units_per_second: Annotated[float, Field(gt=0, le=250)] = 240

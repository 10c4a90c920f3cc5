"""Config of the ``gmail`` and ``google_calendar`` providers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from providers.settings import AccountBase, StrictModel

GmailCategory = Literal["promotions", "social", "updates", "forums"]


class GoogleAuth(StrictModel):
    #: service_account: domain-wide delegation impersonating ``subject`` (default: owner)
    #: oauth: a user's refresh token stored by ``syncd auth google``
    method: Literal["service_account", "oauth"] = "service_account"
    service_account_file: Path | None = None
    subject: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    #: oauth: where refresh tokens are redeemed (service accounts use their key file's token_uri)
    token_uri: str = "https://oauth2.googleapis.com/token"
    #: oauth: where ``syncd auth google`` sends the browser for consent
    auth_uri: str = "https://accounts.google.com/o/oauth2/auth"


class GoogleEndpoints(StrictModel):
    """Where the APIs live; tests point these at the local stand-in."""

    gmail: str = "https://gmail.googleapis.com/"
    gmail_batch: str = "https://gmail.googleapis.com/batch/gmail/v1"
    calendar: str = "https://www.googleapis.com/calendar/v3/"
    calendar_batch: str = "https://www.googleapis.com/batch/calendar/v3"


class GoogleTransport(StrictModel):
    """How hard to try one HTTP call before giving up for this pass."""

    #: seconds before one HTTP request is abandoned (then retried)
    timeout: Annotated[float, Field(gt=0, le=600)] = 60
    #: retries of one call on throttling, 5xx and network errors (attempts = retries + 1)
    max_retries: Annotated[int, Field(ge=0, le=20)] = 6
    #: first backoff in seconds; doubles per retry, full jitter, capped at ``max_backoff``
    base_backoff: Annotated[float, Field(gt=0, le=60)] = 1.0
    max_backoff: Annotated[float, Field(gt=0, le=600)] = 64.0


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
    #: message ids per messages.list / history.list page (Gmail allows 500)
    page_size: Annotated[int, Field(ge=1, le=500)] = 500
    transport: GoogleTransport = Field(default_factory=GoogleTransport)


class GoogleCalendarAccount(AccountBase):
    provider: Literal["google_calendar"]
    auth: GoogleAuth = Field(default_factory=GoogleAuth)
    endpoints: GoogleEndpoints = Field(default_factory=GoogleEndpoints)
    calendars: list[str] = Field(default_factory=lambda: ["primary"])
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    quota_units_per_second: Annotated[float, Field(gt=0, le=250)] = 240
    #: events per events.list page (Calendar allows 2500)
    page_size: Annotated[int, Field(ge=1, le=2500)] = 250
    transport: GoogleTransport = Field(default_factory=GoogleTransport)


#: either Google account: both sign in with the same OAuth client
GoogleAccount = GmailAccount | GoogleCalendarAccount

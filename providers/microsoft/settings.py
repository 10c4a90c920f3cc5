"""Config of the ``outlook_mail`` and ``outlook_calendar`` providers (Graph)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from syncd.config.base import AccountBase, StrictModel


class MicrosoftAuth(StrictModel):
    #: app: client credentials (application permissions), syncs ``mailbox``
    #: delegated: device-code flow run by ``syncd auth microsoft``
    method: Literal["app", "delegated"] = "app"
    tenant_id: str
    client_id: str
    client_secret: SecretStr | None = None
    authority_host: str = "https://login.microsoftonline.com"


class GraphEndpoints(StrictModel):
    graph: str = "https://graph.microsoft.com/v1.0"


class OutlookMailAccount(AccountBase):
    provider: Literal["outlook_mail"]
    auth: MicrosoftAuth
    endpoints: GraphEndpoints = Field(default_factory=GraphEndpoints)
    #: user id or address of the mailbox (default: owner)
    mailbox: str | None = None
    folders: list[str] = Field(default_factory=lambda: ["inbox", "sentitems"])
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    max_concurrency: Annotated[int, Field(ge=1, le=4)] = 4
    #: Outlook category that marks a message private (not logged)
    private_category: str | None = None


class OutlookCalendarAccount(AccountBase):
    provider: Literal["outlook_calendar"]
    auth: MicrosoftAuth
    endpoints: GraphEndpoints = Field(default_factory=GraphEndpoints)
    mailbox: str | None = None
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100

"""Config of the ``outlook_mail`` and ``outlook_calendar`` providers (Graph).

Secrets (``client_secret``) are ``SecretStr``; they reach msal and nothing
else. ``login_proxy`` exists for environments where the identity platform is
reached through a TLS-terminating egress proxy, and for the test stand-in:
msal keeps talking to the real ``https`` authority (it refuses ``http://``
authorities) while the HTTP layer underneath delivers those requests to the
given base URL instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from providers.settings import AccountBase, StrictModel

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DELEGATED_SCOPES = ("https://graph.microsoft.com/Mail.Read",
                    "https://graph.microsoft.com/Calendars.Read")


class MicrosoftAuth(StrictModel):
    #: app: client credentials (application permissions), syncs ``mailbox``
    #: delegated: device-code flow run by ``syncd auth microsoft``
    method: Literal["app", "delegated"] = "app"
    tenant_id: str
    client_id: str
    client_secret: SecretStr | None = None
    authority_host: str = "https://login.microsoftonline.com"
    #: deliver identity-platform requests for ``authority_host`` to this base
    #: URL instead (egress proxy, local stand-in); msal still sees https
    login_proxy: str | None = None
    #: delegated scopes asked for by the device-code flow
    scopes: list[str] = Field(default_factory=lambda: list(DELEGATED_SCOPES))


class GraphEndpoints(StrictModel):
    graph: str = "https://graph.microsoft.com/v1.0"


class GraphLimits(StrictModel):
    """How hard we lean on Graph for one mailbox (Outlook allows 4 in flight)."""

    #: retries of one request after 429/5xx/network errors, then TransientError
    max_retries: Annotated[int, Field(ge=0, le=10)] = 4
    #: longest Retry-After we sleep through in-process; longer ends the pass
    max_retry_after: Annotated[float, Field(gt=0, le=600)] = 30
    #: first backoff step when the server gave no Retry-After (doubles, jittered)
    backoff_base: Annotated[float, Field(gt=0, le=60)] = 1.0
    timeout: Annotated[float, Field(gt=0, le=600)] = 60


class OutlookMailAccount(AccountBase):
    provider: Literal["outlook_mail"]
    auth: MicrosoftAuth
    endpoints: GraphEndpoints = Field(default_factory=GraphEndpoints)
    limits: GraphLimits = Field(default_factory=GraphLimits)
    #: user id or address of the mailbox (default: owner; delegated: "me")
    mailbox: str | None = None
    #: well-known folder names (inbox, sentitems, archive, ...) or folder ids
    folders: list[str] = Field(default_factory=lambda: ["inbox", "sentitems"])
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    max_concurrency: Annotated[int, Field(ge=1, le=4)] = 4
    #: Outlook category that marks a message private (not logged)
    private_category: str | None = None
    #: fetch the transport header block (PR_TRANSPORT_MESSAGE_HEADERS) with
    #: each delta page for automation signals and References/In-Reply-To
    transport_headers: bool = True


class OutlookCalendarAccount(AccountBase):
    provider: Literal["outlook_calendar"]
    auth: MicrosoftAuth
    endpoints: GraphEndpoints = Field(default_factory=GraphEndpoints)
    limits: GraphLimits = Field(default_factory=GraphLimits)
    mailbox: str | None = None
    past_days: Annotated[int, Field(ge=0, le=3650)] = 90
    future_days: Annotated[int, Field(ge=0, le=3650)] = 180
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    max_concurrency: Annotated[int, Field(ge=1, le=4)] = 4
    #: start a fresh delta over a re-anchored window once ``now`` has moved
    #: this many days past the window the stored delta link was made for
    reanchor_days: Annotated[int, Field(ge=1, le=365)] = 7


#: either Outlook account: both sign in the same way and talk to the same Graph
OutlookAccount = OutlookMailAccount | OutlookCalendarAccount

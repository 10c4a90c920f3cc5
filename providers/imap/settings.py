"""Config of the ``imap`` provider."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from providers.settings import AccountBase


class ImapAccount(AccountBase):
    provider: Literal["imap"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    #: tls: implicit TLS (993); starttls: upgrade on 143; plain: tests only
    security: Literal["tls", "starttls", "plain"] = "tls"
    #: PEM file of CA certificates to trust instead of the system's (self-hosted servers)
    ca_file: str | None = None
    username: str
    #: password auth; give ``password`` or ``password_file``
    password: SecretStr | None = None
    #: XOAUTH2 via a token source instead of a password (default source: the token vault
    #: entry ``imap:<id>``, holding the access token or JSON with ``access_token``)
    auth: Literal["password", "xoauth2"] = "password"
    #: explicit folders; default: INBOX and the \\Sent special-use folder
    folders: list[str] = Field(default_factory=list)
    connect_timeout: Annotated[float, Field(gt=0, le=300)] = 30
    read_timeout: Annotated[float, Field(gt=0, le=3600)] = 120
    #: UIDs fetched per page
    page_size: Annotated[int, Field(ge=1, le=5000)] = 1000
    #: IDLE on INBOX between polls (``ImapProvider.wait_for_changes``); polls if unsupported
    idle: bool = False
    #: IMAP keyword that marks a message private (not logged)
    private_keyword: str | None = None
    #: use QRESYNC when the server offers it: expunges are seen on the next pass that
    #: finds the folder changed. False (servers whose QRESYNC misbehaves) or a server
    #: without it: a UID SEARCH comparison at most every ``expunge_check_interval``
    qresync: bool = True
    #: seconds between UID SEARCH comparisons of a folder (without QRESYNC); 0: every pass
    expunge_check_interval: Annotated[float, Field(ge=0, le=7 * 86400)] = 3600



"""Opening an authenticated IMAP connection, and what its failures mean.

Security modes: ``tls`` (implicit TLS, port 993), ``starttls`` (port 143,
upgraded before login; refusing to log in if the server cannot upgrade) and
``plain`` (tests only). Authentication: LOGIN with the configured password,
or XOAUTH2 with an access token from a :data:`TokenSupplier` — the interface
the Google and Microsoft auth code feeds (Gmail and Outlook IMAP both accept
XOAUTH2).

Error mapping (the provider contract):

* credentials refused → :class:`AuthError` (message names user and host,
  never the password or token);
* socket errors, timeouts, TLS failures, a server hanging up →
  :class:`ConnectionLost`, which the provider retries a bounded number of
  times before raising :class:`TransientError`.
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import logging
import socket
import ssl
from collections.abc import Callable

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from providers.base import ProviderContext
from providers.errors import AuthError, ConfigError
from providers.imap.settings import ImapAccount

#: returns a currently valid OAuth2 access token (refreshing it if needed)
TokenSupplier = Callable[[], str]

DEFAULT_PORTS = {"tls": 993, "starttls": 143, "plain": 143}


class ConnectionLost(Exception):
    """The connection failed or broke; safe to reconnect and redo the last read."""


#: exceptions that mean "the connection is unusable", as opposed to a refused command
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    OSError, ssl.SSLError, socket.timeout, IMAPClientAbortError, imaplib.IMAP4.abort, EOFError)
#: what makes the provider drop the connection and resume from the last page
RECONNECTABLE: tuple[type[Exception], ...] = (ConnectionLost, *NETWORK_ERRORS)


def vault_token_supplier(account: ImapAccount, context: ProviderContext) -> TokenSupplier:
    """Default XOAUTH2 source: the vault entry ``imap:<account id>``.

    The entry is either the bare access token or JSON with ``access_token``.
    Whoever runs the OAuth flow keeps it fresh; a richer supplier (refreshing
    via Google or Microsoft) can be passed to the provider instead.
    """

    def supply() -> str:
        raw = context.vault.load(f"imap:{account.id}") if context.vault is not None else None
        if not raw:
            raise AuthError(f"account {account.id}: no XOAUTH2 token stored; run its auth flow")
        try:
            data = json.loads(raw)
        except ValueError:
            return raw.strip()
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"account {account.id}: stored XOAUTH2 token has no access_token")
        return token

    return supply


def ssl_context_for(account: ImapAccount) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=account.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(account: ImapAccount, *, token_supplier: TokenSupplier | None,
            ssl_context: ssl.SSLContext | None = None) -> IMAPClient:
    """A logged-in client with QRESYNC (or else CONDSTORE) enabled when offered.

    Raises :class:`AuthError`, :class:`ConfigError` or :class:`ConnectionLost`.
    """
    port = account.port or DEFAULT_PORTS[account.security]
    where = f"{account.username}@{account.host}:{port}"
    timeout = SocketTimeout(connect=account.connect_timeout, read=account.read_timeout)
    tls = ssl_context if ssl_context is not None else (
        ssl_context_for(account) if account.security != "plain" else None)
    try:
        client = IMAPClient(account.host, port, ssl=account.security == "tls",
                            ssl_context=tls, timeout=timeout)
    except NETWORK_ERRORS as exc:
        raise ConnectionLost(f"cannot connect to {account.host}:{port} "
                             f"({type(exc).__name__})") from None
    client.normalise_times = False  # keep INTERNALDATE's zone: aware datetimes
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        # imapclient sets imaplib's debug level to 5: imaplib then formats a repr of
        # every response line and record for a log nobody reads (~10% of a FETCH)
        client._imap.debug = 0
    try:
        if account.security == "starttls":
            client.starttls(tls)
        _login(client, account, token_supplier, where)
        if account.qresync and client.has_capability("QRESYNC"):
            client.enable("QRESYNC")  # implies CONDSTORE; reports expunges as VANISHED
        elif client.has_capability("CONDSTORE"):
            client.enable("CONDSTORE")
    except NETWORK_ERRORS as exc:
        close_quietly(client)
        raise ConnectionLost(f"connection to {where} failed ({type(exc).__name__})") from None
    except (AuthError, ConfigError):
        close_quietly(client)
        raise
    except IMAPClientError as exc:
        # e.g. STARTTLS refused, ENABLE rejected: not something a retry fixes
        close_quietly(client)
        raise ConnectionLost(f"{where}: {_first_line(exc)}") from None
    return client


def _login(client: IMAPClient, account: ImapAccount, token_supplier: TokenSupplier | None,
           where: str) -> None:
    try:
        if account.auth == "xoauth2":
            if token_supplier is None:
                raise AuthError(f"{where}: XOAUTH2 configured but no token source")
            client.oauth2_login(account.username, token_supplier())
        else:
            if account.password is None:
                raise ConfigError(f"accounts[{account.id}].password: missing for password auth")
            client.login(account.username, account.password.get_secret_value())
    except LoginError:
        # imapclient's message may echo the command; never pass it on
        raise AuthError(f"{where}: the server refused the credentials") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def close_quietly(client: IMAPClient | None) -> None:
    if client is None:
        return
    try:
        client.logout()
    except Exception:  # already broken: just drop the socket
        with contextlib.suppress(Exception):
            client.shutdown()

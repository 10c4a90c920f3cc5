"""Google credentials for one account: service account or stored refresh token.

Two methods (``auth.method`` in the account config):

``service_account`` (default)
    A Workspace service account with domain-wide delegation. The key file
    (``auth.service_account_file``) is read when the provider starts and is
    never logged; the JWT assertion is signed for ``auth.subject`` or the
    account owner (the ``sub`` claim), so each rep's mailbox is read as that
    rep. The token endpoint is the key file's ``token_uri``.
``oauth``
    A single user's refresh token, obtained once by :func:`run_consent_flow`
    (``syncd auth google --account ID``) and stored encrypted in the
    :class:`~providers.base.TokenVault` under ``google:<account id>``.
    Redeemed at ``auth.token_uri``.

Either way google-auth refreshes the access token before it expires (it
treats a token as stale 3m45s early), and a refused grant (``invalid_grant``:
revoked, expired, wrong subject) becomes :class:`~providers.errors.AuthError`
via :mod:`providers.google.transport`. Credentials objects hold secrets;
this module never puts them in messages or reprs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import google.auth.crypt
import google.oauth2.credentials
import google.oauth2.service_account
from google.auth.credentials import Credentials

from providers.base import TokenVault
from providers.errors import AuthError, ConfigError, ConfigIssue
from providers.google.settings import GoogleAccount, GoogleAuth

GMAIL_SCOPES = ("https://www.googleapis.com/auth/gmail.readonly",)
CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar.readonly",)
#: what ``syncd auth google`` asks consent for: both providers can share one token
ALL_SCOPES = GMAIL_SCOPES + CALENDAR_SCOPES


def vault_name(account_id: str) -> str:
    """Name of an account's stored refresh token in the vault."""
    return f"google:{account_id}"


def load_credentials(account: GoogleAccount, vault: TokenVault | None,
                     scopes: Sequence[str]) -> Credentials:
    """Credentials for ``account`` (a Gmail or Google Calendar account config).

    Raises ConfigError for a missing/unreadable key file, AuthError when an
    OAuth account has no stored token yet (run ``syncd auth google``).
    """
    auth: GoogleAuth = account.auth
    if auth.method == "service_account":
        return _service_account(account.id, auth, auth.subject or account.owner, scopes)
    return _stored_user_token(account.id, auth, vault, scopes)


def _service_account(account_id: str, auth: GoogleAuth, subject: str,
                     scopes: Sequence[str]) -> Credentials:
    key_path = f"accounts[{account_id}].auth.service_account_file"
    if auth.service_account_file is None:
        raise ConfigError([ConfigIssue(key_path, "missing",
                                       "give the service account's JSON key file")])
    path = Path(auth.service_account_file)
    try:
        stat = path.stat()
        info, signer = _parsed_key(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise ConfigError([ConfigIssue(key_path, f"cannot read the file ({exc.strerror})")]
                          ) from None
    except (ValueError, KeyError, TypeError):
        # the library's message could quote key material: say only what is wrong
        raise ConfigError([ConfigIssue(key_path, "not a valid service account key",
                                       "download a new JSON key for the service account")]
                          ) from None
    creds: Credentials = google.oauth2.service_account.Credentials(  # type: ignore[no-untyped-call]
        signer, service_account_email=info["client_email"], token_uri=info["token_uri"],
        scopes=list(scopes), subject=subject, project_id=info.get("project_id"))
    return creds


@functools.lru_cache(maxsize=32)
def _parsed_key(path: str, mtime_ns: int, size: int) -> tuple[dict[str, Any], Any]:
    """(key file JSON, RSA signer), cached per file version: parsing the key costs ~0.1 s."""
    del mtime_ns, size  # part of the cache key only: a rotated key file is read again
    info = json.loads(Path(path).read_text(encoding="utf-8"))
    signer = google.auth.crypt.RSASigner.from_service_account_info(info)  # type: ignore[no-untyped-call]
    return info, signer


def _stored_user_token(account_id: str, auth: GoogleAuth, vault: TokenVault | None,
                       scopes: Sequence[str]) -> Credentials:
    if vault is None:
        raise ConfigError([ConfigIssue("privacy.token_key",
                                       "OAuth accounts need the encrypted token store",
                                       "set privacy.token_key_file")])
    stored = vault.load(vault_name(account_id))
    if stored is None:
        raise AuthError(f"account {account_id}: no Google token stored; run "
                        f"`syncd auth google --account {account_id}`")
    try:
        data = json.loads(stored)
        refresh_token = data["refresh_token"]
    except (ValueError, KeyError, TypeError):
        raise AuthError(f"account {account_id}: stored Google token is unreadable; run "
                        f"`syncd auth google --account {account_id}` again") from None
    client_id = auth.client_id or data.get("client_id")
    secret = auth.client_secret.get_secret_value() if auth.client_secret else data.get(
        "client_secret")
    return google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None, refresh_token=refresh_token, token_uri=auth.token_uri,
        client_id=client_id, client_secret=secret, scopes=list(scopes))


def run_consent_flow(account: GoogleAccount, vault: TokenVault, *,
                     scopes: Sequence[str] = ALL_SCOPES, open_browser: bool = True,
                     browser: str | None = None,
                     host: str = "localhost", port: int = 0,
                     timeout_seconds: float | None = 300) -> str:
    """Run Google's installed-app consent flow for ``account`` and store the token.

    Starts a loopback HTTP server on ``host:port`` (0 = any free port), sends
    the user's browser (``browser``: a :mod:`webbrowser` name, default the
    system's; ``open_browser=False`` only prints the URL) to
    ``account.auth.auth_uri`` with the owner as login hint, receives the
    authorization code, redeems it at ``account.auth.token_uri`` and saves the
    refresh token encrypted in ``vault`` under ``google:<account id>``.

    ``account`` is a Gmail or Google Calendar account config with
    ``auth.method: oauth`` and ``auth.client_id`` / ``auth.client_secret``.
    Returns the vault name. Raises ConfigError for missing client settings and
    AuthError when Google returns no refresh token or the user declines.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    auth: GoogleAuth = account.auth
    if not auth.client_id or auth.client_secret is None:
        raise ConfigError([ConfigIssue(f"accounts[{account.id}].auth.client_id",
                                       "OAuth needs client_id and client_secret",
                                       "create an OAuth client of type Desktop app")])
    client_config = {"installed": {
        "client_id": auth.client_id,
        "client_secret": auth.client_secret.get_secret_value(),
        "auth_uri": auth.auth_uri,
        "token_uri": auth.token_uri,
        "redirect_uris": ["http://localhost"],
    }}
    flow = InstalledAppFlow.from_client_config(client_config, scopes=list(scopes))
    try:
        creds = flow.run_local_server(
            host=host, port=port, open_browser=open_browser, browser=browser,
            timeout_seconds=timeout_seconds, access_type="offline", prompt="consent",
            login_hint=account.owner)
    except Exception as exc:  # oauthlib raises many types; none may leak secrets
        raise AuthError(f"account {account.id}: Google consent failed "
                        f"({type(exc).__name__})") from None
    refresh_token = getattr(creds, "refresh_token", None)
    if not refresh_token:
        raise AuthError(f"account {account.id}: Google returned no refresh token; "
                        "revoke the app's access in the Google account and try again")
    name = vault_name(account.id)
    vault.save(name, json.dumps({"refresh_token": refresh_token,
                                 "scopes": list(scopes)}))
    return name

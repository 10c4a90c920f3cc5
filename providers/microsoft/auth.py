"""Access tokens for Microsoft Graph, from msal.

Two ways in, chosen by ``auth.method``:

``app``
    Client credentials (application permissions, admin-consented): a
    ``ConfidentialClientApplication`` with ``client_secret``. msal caches the
    token in memory and renews it before expiry; nothing is persisted.
``delegated``
    A human signs in once with the device-code flow
    (:func:`run_device_code_flow`, wired to ``syncd auth microsoft --account
    ID``). msal's ``SerializableTokenCache`` (refresh token included) is kept
    encrypted in the :class:`~providers.base.TokenVault` under
    ``microsoft:<client id>:<owner>`` (shared by the owner's mail and
    calendar accounts) and written back whenever msal changed it.

msal reports failures as dicts, not exceptions. :func:`error_from_result`
is the one mapping to our errors: refused or revoked credentials
(``invalid_client``, ``invalid_grant``, ``unauthorized_client``, consent
missing: AADSTS65001 / ``consent_required``) become :class:`AuthError` (the
account needs re-auth); server trouble becomes :class:`TransientError`;
network exceptions from the HTTP layer become :class:`TransientError` too.
Messages carry error codes and account ids, never tokens, secrets or raw
responses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import msal
import requests
from msal.exceptions import MsalServiceError

from providers.base import TokenVault
from providers.errors import AuthError, ConfigError, ConfigIssue, SyncdError, TransientError
from providers.microsoft.settings import GRAPH_SCOPE, MicrosoftAuth, OutlookAccount

#: msal error codes that mean "a human must sign in / consent again"
REAUTH_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client",
                           "consent_required", "interaction_required", "access_denied",
                           "expired_token", "invalid_scope"})
#: AADSTS numbers that mean the same (65001: consent missing or revoked)
REAUTH_AADSTS = frozenset({65001, 50076, 50079, 700016, 7000215, 7000222, 700082})
TRANSIENT_ERRORS = frozenset({"server_error", "temporarily_unavailable"})


def vault_key(account: OutlookAccount) -> str:
    """Name of the msal token cache of ``account`` in the vault.

    Keyed by app and owner, not by account id: the ``outlook_mail`` and
    ``outlook_calendar`` accounts of one person share one sign-in.
    """
    return f"microsoft:{account.auth.client_id}:{str(account.owner).lower()}"


#: one lock per vault entry: accounts sharing a sign-in refresh in parallel
_VAULT_LOCKS: dict[str, threading.Lock] = {}
_VAULT_LOCKS_GUARD = threading.Lock()


def _vault_lock(key: str) -> threading.Lock:
    with _VAULT_LOCKS_GUARD:
        return _VAULT_LOCKS.setdefault(key, threading.Lock())


class TokenSource(Protocol):
    """Gives a bearer token for Graph; thread-safe."""

    def access_token(self, *, force_refresh: bool = False) -> str: ...


class LoginSession(requests.Session):
    """A requests session that delivers ``authority_host`` requests elsewhere.

    msal only accepts ``https`` authorities and has no notion of a proxy
    base URL, so the rewrite happens one layer down: msal builds URLs for
    the real host, this session sends them to ``target`` with the same path.
    The stand-in's OpenID document names the real https endpoints, so every
    later URL msal derives is rewritten the same way.
    """

    def __init__(self, authority_host: str, target: str) -> None:
        super().__init__()
        origin = urlsplit(authority_host)
        self._origin = f"{origin.scheme}://{origin.netloc}".lower()
        self._target = target.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        if text.lower().startswith(self._origin + "/"):
            text = self._target + text[len(self._origin):]
        return super().request(method, text, *args, **kwargs)


def login_session(auth: MicrosoftAuth) -> requests.Session:
    """The HTTP client msal uses for this account."""
    if auth.login_proxy:
        return LoginSession(auth.authority_host, auth.login_proxy)
    return requests.Session()


def authority_url(auth: MicrosoftAuth) -> str:
    return f"{auth.authority_host.rstrip('/')}/{auth.tenant_id}"


def error_from_result(result: Mapping[str, Any], *, account_id: str) -> SyncdError:
    """Turn an msal error dict into our typed error (no secrets in the text)."""
    code = str(result.get("error") or "unknown_error")
    sub = str(result.get("suberror") or "")
    numbers = {int(n) for n in result.get("error_codes") or () if str(n).isdigit()}
    aadsts = ", ".join(f"AADSTS{n}" for n in sorted(numbers))
    what = f"{code}{'/' + sub if sub else ''}{' (' + aadsts + ')' if aadsts else ''}"
    if code in TRANSIENT_ERRORS:
        return TransientError(f"account {account_id}: identity platform unavailable: {what}")
    if code in REAUTH_ERRORS or sub == "consent_required" or numbers & REAUTH_AADSTS:
        return AuthError(f"account {account_id}: Microsoft sign-in refused: {what}; "
                         f"re-authenticate (syncd auth microsoft --account {account_id}) "
                         "or fix the app registration / consent")
    return AuthError(f"account {account_id}: Microsoft sign-in failed: {what}")


def _network(account_id: str, exc: Exception) -> TransientError:
    return TransientError(f"account {account_id}: identity platform unreachable "
                          f"({type(exc).__name__})")


def _discovery_error(auth: MicrosoftAuth, account_id: str) -> ConfigError:
    return ConfigError([ConfigIssue(f"accounts[{account_id}].auth.tenant_id",
                                    f"{auth.authority_host} has no tenant {auth.tenant_id!r}",
                                    "use the directory (tenant) id or domain of the "
                                    "app registration")])


class AppTokenSource:
    """Client-credentials tokens (application permissions)."""

    def __init__(self, auth: MicrosoftAuth, account_id: str,
                 http: requests.Session | None = None) -> None:
        if auth.client_secret is None:
            raise ConfigError([ConfigIssue(f"accounts[{account_id}].auth.client_secret",
                                           "missing", "app-only auth needs a client secret "
                                           "(client_secret_file keeps it out of the YAML)")])
        self._auth = auth
        self._account_id = account_id
        self._http = http or login_session(auth)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            secret = self._auth.client_secret
            assert secret is not None
            try:
                self._app = msal.ConfidentialClientApplication(
                    self._auth.client_id, client_credential=secret.get_secret_value(),
                    authority=authority_url(self._auth), http_client=self._http)
            except (requests.RequestException, MsalServiceError) as exc:
                raise _network(self._account_id, exc) from None
            except ValueError:
                raise _discovery_error(self._auth, self._account_id) from None
        return self._app

    def access_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            app = self._application()
            if force_refresh:
                app.remove_tokens_for_client()
            try:
                result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
            except (requests.RequestException, MsalServiceError) as exc:
                raise _network(self._account_id, exc) from None
            if not result or "access_token" not in result:
                raise error_from_result(result or {}, account_id=self._account_id)
            token: str = result["access_token"]
            return token


def _public_app(auth: MicrosoftAuth, cache: msal.SerializableTokenCache,
                http: requests.Session, account_id: str) -> msal.PublicClientApplication:
    try:
        return msal.PublicClientApplication(auth.client_id, authority=authority_url(auth),
                                            token_cache=cache, http_client=http)
    except (requests.RequestException, MsalServiceError) as exc:
        raise _network(account_id, exc) from None
    except ValueError:
        raise _discovery_error(auth, account_id) from None


def _load_cache(vault: TokenVault, key: str) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    with _vault_lock(key):
        blob = vault.load(key)
    if blob:
        cache.deserialize(blob)
    return cache


def _persist(cache: msal.SerializableTokenCache, vault: TokenVault, key: str) -> None:
    if cache.has_state_changed:
        with _vault_lock(key):
            vault.save(key, cache.serialize())
        cache.has_state_changed = False


class DelegatedTokenSource:
    """Tokens from a device-code sign-in, refreshed silently from the vault."""

    def __init__(self, auth: MicrosoftAuth, account_id: str, vault: TokenVault | None,
                 http: requests.Session | None = None, *, key: str | None = None) -> None:
        if vault is None:
            raise ConfigError([ConfigIssue("privacy.token_key", "delegated Microsoft auth "
                                           "needs the encrypted token vault",
                                           "set privacy.token_key_file")])
        self._auth = auth
        self._account_id = account_id
        self._vault = vault
        self._key = key or f"microsoft:{auth.client_id}:{account_id}"
        self._http = http or login_session(auth)
        self._lock = threading.Lock()
        self._cache: msal.SerializableTokenCache | None = None
        self._app: msal.PublicClientApplication | None = None

    def access_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            if self._app is None or self._cache is None:
                self._cache = _load_cache(self._vault, self._key)
                self._app = _public_app(self._auth, self._cache, self._http, self._account_id)
            accounts = self._app.get_accounts()
            if not accounts:
                raise AuthError(f"account {self._account_id}: not signed in to Microsoft; run "
                                f"syncd auth microsoft --account {self._account_id}")
            try:
                result = self._app.acquire_token_silent_with_error(
                    list(self._auth.scopes), account=accounts[0], force_refresh=force_refresh)
            except (requests.RequestException, MsalServiceError) as exc:
                raise _network(self._account_id, exc) from None
            finally:
                _persist(self._cache, self._vault, self._key)
            if not result or "access_token" not in result:
                raise error_from_result(result or {"error": "interaction_required"},
                                        account_id=self._account_id)
            token: str = result["access_token"]
            return token


def token_source(account: OutlookAccount, vault: TokenVault | None,
                 http: requests.Session | None = None) -> TokenSource:
    """The token source ``account.auth.method`` asks for."""
    if account.auth.method == "delegated":
        return DelegatedTokenSource(account.auth, account.id, vault, http,
                                    key=vault_key(account))
    return AppTokenSource(account.auth, account.id, http)


def run_device_code_flow(account: OutlookAccount, vault: TokenVault,
                         prompt: Callable[[str], object] = print,
                         *, http: requests.Session | None = None) -> str:
    """Sign a human in with the device-code flow and keep the token cache.

    ``account`` is an ``OutlookMailAccount`` or ``OutlookCalendarAccount``
    whose ``auth.method`` is ``delegated``. ``prompt`` receives msal's
    instruction text ("To sign in, use a web browser to open ... and enter
    the code ...") and must show it to the user; the call then blocks,
    polling the token endpoint at the server's interval until the user
    finished, declined or the code expired. On success msal's token cache is
    saved encrypted in ``vault`` under :func:`vault_key` (app + owner, so
    the person's mail and calendar accounts share this one sign-in) and the
    signed-in username is returned (for a confirmation line).

    Raises :class:`AuthError` when the user declined or the code expired,
    :class:`TransientError` when the identity platform is unreachable and
    :class:`ConfigError` for a wrong tenant. Never prints tokens.
    """
    auth: MicrosoftAuth = account.auth
    http = http or login_session(auth)
    key = vault_key(account)
    cache = _load_cache(vault, key)
    app = _public_app(auth, cache, http, account.id)
    try:
        flow = app.initiate_device_flow(scopes=list(auth.scopes))
        if "user_code" not in flow:
            raise error_from_result(flow, account_id=account.id)
        prompt(str(flow.get("message") or f"Enter code {flow['user_code']} at "
                                           f"{flow.get('verification_uri')}"))
        result = app.acquire_token_by_device_flow(flow)
    except (requests.RequestException, MsalServiceError) as exc:
        raise _network(account.id, exc) from None
    if "access_token" not in result:
        raise error_from_result(result, account_id=account.id)
    _persist(cache, vault, key)
    claims = result.get("id_token_claims") or {}
    return str(claims.get("preferred_username") or claims.get("name") or "signed in")

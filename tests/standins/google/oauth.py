"""OAuth 2.0 token endpoint and consent endpoint of the stand-in.

Grants: ``refresh_token``, ``authorization_code`` (installed-app flow) and
``urn:ietf:params:oauth:grant-type:jwt-bearer`` (service accounts with
domain-wide delegation: the RS256 assertion is verified against the public
key registered for its ``iss``, and ``aud``, ``exp`` and ``sub`` are checked).
A revoked user gets ``invalid_grant`` for every grant and 401 for every
access token issued before. :meth:`OAuthServer.deny_scope` models a scope the
Workspace admin did not authorize for domain-wide delegation (service-account
grants asking for it get ``unauthorized_client``) and that users did not
consent to (refresh grants answer without it in ``scope``).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GrantError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class AccessToken:
    user: str
    expires: float
    generation: int


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class OAuthServer:
    def __init__(self, token_lifetime: int = 3600) -> None:
        self.token_lifetime = token_lifetime
        self.service_accounts: dict[str, rsa.RSAPublicKey] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (user, client_id)
        self.codes: dict[str, tuple[str, str]] = {}
        self.access: dict[str, AccessToken] = {}
        self.revoked: set[str] = set()
        self.generation: dict[str, int] = {}  # bumped on revoke: old access tokens die
        self.known_users: set[str] = set()
        self.grants: list[str] = []  # grant types served, in order (for tests)
        self.denied_scopes: set[str] = set()  # not authorized / not consented
        self.token_url = ""

    # -- admin ------------------------------------------------------------------------------

    def add_service_account(self, client_email: str, public_key_pem: bytes) -> None:
        key = serialization.load_pem_public_key(public_key_pem)
        assert isinstance(key, rsa.RSAPublicKey)
        self.service_accounts[client_email] = key

    def issue_refresh_token(self, user: str, client_id: str) -> str:
        token = "1//" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = (user.lower(), client_id)
        self.known_users.add(user.lower())
        return token

    def revoke(self, user: str) -> None:
        user = user.lower()
        self.revoked.add(user)
        self.generation[user] = self.generation.get(user, 0) + 1

    def reinstate(self, user: str) -> None:
        self.revoked.discard(user.lower())

    def deny_scope(self, scope: str) -> None:
        self.denied_scopes.add(scope)

    # -- endpoints --------------------------------------------------------------------------

    def _issue(self, user: str, *, refresh: str | None = None) -> dict[str, Any]:
        token = "ya29." + secrets.token_urlsafe(24)
        self.access[token] = AccessToken(user, time.time() + self.token_lifetime,
                                         self.generation.get(user, 0))
        out: dict[str, Any] = {"access_token": token, "expires_in": self.token_lifetime,
                               "token_type": "Bearer"}
        if refresh:
            out["refresh_token"] = refresh
        return out

    def token(self, form: dict[str, str], authorization: str | None = None) -> dict[str, Any]:
        if authorization and authorization.lower().startswith("basic "):
            # RFC 6749 2.3.1: client credentials may come as HTTP Basic auth
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            form = {"client_id": unquote(client_id), "client_secret": unquote(secret), **form}
        grant = form.get("grant_type", "")
        self.grants.append(grant)
        if grant == "refresh_token":
            entry = self.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or entry[0] in self.revoked:
                raise GrantError("invalid_grant", "Token has been expired or revoked.")
            if form.get("client_id") != entry[1]:
                raise GrantError("invalid_client", "The OAuth client was not found.", 401)
            issued = self._issue(entry[0])
            if form.get("scope"):  # Google names the scopes the grant carries
                issued["scope"] = " ".join(s for s in form["scope"].split()
                                           if s not in self.denied_scopes)
            return issued
        if grant == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None:
                raise GrantError("invalid_grant", "Malformed auth code.")
            user, client_id = entry
            if form.get("client_id") != client_id:
                raise GrantError("invalid_client", "The OAuth client was not found.", 401)
            return self._issue(user, refresh=self.issue_refresh_token(user, client_id))
        if grant == JWT_BEARER:
            return self._issue(self._verify_assertion(form.get("assertion", "")))
        raise GrantError("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _verify_assertion(self, assertion: str) -> str:
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(body_b64))
            signature = _b64(sig_b64)
        except ValueError:
            raise GrantError("invalid_grant", "Invalid JWT: malformed") from None
        if header.get("alg") != "RS256":
            raise GrantError("invalid_grant", "Invalid JWT: unsupported algorithm")
        key = self.service_accounts.get(claims.get("iss", ""))
        if key is None:
            raise GrantError("invalid_grant", "Invalid JWT: unknown issuer")
        try:
            key.verify(signature, f"{head_b64}.{body_b64}".encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        except InvalidSignature:
            raise GrantError("invalid_grant", "Invalid JWT Signature.") from None
        now = time.time()
        # google-auth signs for Google's public token URL whatever token_uri says
        if claims.get("aud") not in (self.token_url, GOOGLE_TOKEN_URL):
            raise GrantError("invalid_grant", "Invalid JWT: wrong audience")
        if not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 30):
            raise GrantError("invalid_grant", "Invalid JWT: token expired or not yet valid")
        if not claims.get("scope"):
            raise GrantError("invalid_scope", "Empty scope")
        if set(str(claims["scope"]).split()) & self.denied_scopes:
            raise GrantError("unauthorized_client",
                             "Client is unauthorized to retrieve access tokens using this "
                             "method, or client not authorized for any of the scopes requested.")
        subject = str(claims.get("sub") or "").lower()
        if not subject:
            raise GrantError("unauthorized_client",
                             "Client is unauthorized to retrieve access tokens")
        if subject not in self.known_users:
            raise GrantError("invalid_grant", "Invalid email or User ID")
        if subject in self.revoked:
            raise GrantError("invalid_grant", "Token has been expired or revoked.")
        return subject

    def consent(self, query: dict[str, str], default_user: str | None) -> str:
        """The authorization endpoint: the user (``login_hint``) approves at once."""
        user = (query.get("login_hint") or default_user or "").lower()
        redirect = query.get("redirect_uri", "")
        state = query.get("state", "")
        from urllib.parse import urlencode

        if not user or user in self.revoked:
            return f"{redirect}?{urlencode({'error': 'access_denied', 'state': state})}"
        code = "4/" + secrets.token_urlsafe(16)
        self.codes[code] = (user, query.get("client_id", ""))
        self.known_users.add(user)
        params = {"code": code, "state": state, "scope": query.get("scope", "")}
        return f"{redirect}?{urlencode(params)}"

    def user_for(self, authorization: str | None) -> str | None:
        """The user an ``Authorization: Bearer`` header speaks for, or None (401)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        entry = self.access.get(authorization[7:].strip())
        if entry is None or entry.expires < time.time():
            return None
        if entry.generation != self.generation.get(entry.user, 0):
            return None
        return entry.user

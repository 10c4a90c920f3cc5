"""The Microsoft identity platform bits msal needs, on the stand-in.

Serves, per tenant: the OpenID configuration (naming the *real* https
endpoints, because the client's session rewrites the login host to us),
the token endpoint (client credentials, device code, refresh token) and
the device-code endpoint. Errors are the ones AAD sends: ``invalid_client``
(bad secret), ``invalid_grant`` with AADSTS65001 / ``consent_required``
(consent revoked), ``authorization_pending`` while a device code waits.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.standins.graph.tokens import b64url

Reply = tuple[int, dict[str, str], bytes]


def _json(status: int, body: dict[str, Any]) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _error(status: int, error: str, description: str, codes: list[int],
           suberror: str | None = None) -> Reply:
    body: dict[str, Any] = {"error": error, "error_description": description,
                            "error_codes": codes, "timestamp": "2026-11-22 00:00:00Z",
                            "trace_id": "standin", "correlation_id": "standin"}
    if suberror:
        body["suberror"] = suberror
    return _json(status, body)


@dataclass
class Grant:
    """An issued access token: who it is for and whether it still works."""

    client_id: str
    user: str | None  # None: app-only
    expires: float
    scopes: str


@dataclass
class DeviceCode:
    client_id: str
    user_code: str
    scopes: str
    state: str = "pending"  # pending | approved | declined
    user: str | None = None


@dataclass
class Identity:
    authority_host: str
    tenant: str
    apps: dict[str, str | None] = field(default_factory=dict)  # client_id -> secret
    revoked: set[str] = field(default_factory=set)  # client ids whose consent is gone
    tokens: dict[str, Grant] = field(default_factory=dict)
    #: refresh token -> (client id, user, scopes)
    refresh: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    devices: dict[str, DeviceCode] = field(default_factory=dict)
    token_requests: int = 0
    #: every access and refresh token ever issued (tests assert none leaks)
    issued: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    token_lifetime: int = 3600

    # ------------------------------------------------------------------ admin
    def register_app(self, client_id: str, secret: str | None = None) -> None:
        self.apps[client_id] = secret

    def revoke_consent(self, client_id: str) -> None:
        """Consent withdrawn: token requests fail, issued tokens stop working."""
        with self.lock:
            self.revoked.add(client_id)
            for tok in [t for t, g in self.tokens.items() if g.client_id == client_id]:
                del self.tokens[tok]

    def approve_device_code(self, user_code: str, user: str, decline: bool = False) -> None:
        with self.lock:
            for dev in self.devices.values():
                if dev.user_code == user_code:
                    dev.state, dev.user = ("declined" if decline else "approved"), user
                    return
        raise KeyError(user_code)

    def grant_for(self, bearer: str) -> Grant | None:
        with self.lock:
            grant = self.tokens.get(bearer)
            if grant is None or grant.expires < time.time():
                return None
            return grant

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, path: str, form: dict[str, str]) -> Reply | None:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["common", "discovery", "instance"]:
            return _json(200, self._instance_metadata())
        if len(parts) < 2 or parts[0] != self.tenant:
            return None
        rest = "/".join(parts[1:])
        if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return _json(200, self._openid_configuration())
        if method == "POST" and rest == "oauth2/v2.0/token":
            with self.lock:
                self.token_requests += 1
                return self._token(form)
        if method == "POST" and rest == "oauth2/v2.0/devicecode":
            return self._device_code(form)
        return None

    def _instance_metadata(self) -> dict[str, Any]:
        """Instance discovery (msal asks after a failed silent acquisition)."""
        host = self.authority_host.split("://", 1)[-1]
        return {"tenant_discovery_endpoint":
                f"{self.authority_host}/{{tenant}}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host,
                              "aliases": [host, "login.windows.net", "sts.windows.net"]}]}

    def _openid_configuration(self) -> dict[str, Any]:
        base = f"{self.authority_host}/{self.tenant}"
        return {
            "issuer": f"{self.authority_host}/{self.tenant}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "EU",
        }

    def _unknown_client(self, client_id: str) -> Reply | None:
        if client_id not in self.apps:
            return _error(400, "unauthorized_client",
                          f"AADSTS700016: Application with identifier '{client_id}' was not "
                          "found in the directory.", [700016])
        if client_id in self.revoked:
            return _error(400, "invalid_grant",
                          "AADSTS65001: The user or administrator has not consented to use the "
                          "application.", [65001], suberror="consent_required")
        return None

    def _issue(self, client_id: str, user: str | None, scopes: str) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(24)
        self.tokens[token] = Grant(client_id, user, time.time() + self.token_lifetime, scopes)
        self.issued.append(token)
        body: dict[str, Any] = {"token_type": "Bearer", "expires_in": self.token_lifetime,
                                "ext_expires_in": self.token_lifetime, "access_token": token}
        if user is not None:
            rt = "rt-" + secrets.token_urlsafe(24)
            self.refresh[rt] = (client_id, user, scopes)
            self.issued.append(rt)
            oid = "oid-" + b64url(user.encode())
            now = int(time.time())
            claims = {"iss": f"{self.authority_host}/{self.tenant}/v2.0", "sub": oid,
                      "aud": client_id, "exp": now + 3600, "iat": now, "nbf": now,
                      "tid": self.tenant, "oid": oid, "preferred_username": user, "name": user,
                      "ver": "2.0"}
            header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            body.update({
                "refresh_token": rt, "scope": scopes,
                "id_token": f"{header}.{b64url(json.dumps(claims).encode())}.",
                "client_info": b64url(json.dumps({"uid": oid, "utid": self.tenant}).encode()),
            })
        return body

    def _token(self, form: dict[str, str]) -> Reply:
        client_id = form.get("client_id", "")
        grant = form.get("grant_type", "")
        refused = self._unknown_client(client_id)
        if refused is not None:
            return refused
        if grant == "client_credentials":
            if not self.apps[client_id] or form.get("client_secret") != self.apps[client_id]:
                return _error(401, "invalid_client", "AADSTS7000215: Invalid client secret "
                              "provided.", [7000215])
            return _json(200, self._issue(client_id, None, "https://graph.microsoft.com/.default"))
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            dev = self.devices.get(form.get("device_code", ""))
            if dev is None or dev.client_id != client_id:
                return _error(400, "expired_token", "AADSTS70020: The provided value for the "
                              "input parameter 'device_code' is not valid.", [70020])
            if dev.state == "pending":
                return _error(400, "authorization_pending", "AADSTS70016: OAuth 2.0 device "
                              "flow error. Authorization is pending.", [70016])
            del self.devices[form["device_code"]]
            if dev.state == "declined" or dev.user is None:
                return _error(400, "authorization_declined", "AADSTS70000: the user declined",
                              [70000])
            return _json(200, self._issue(client_id, dev.user, dev.scopes))
        if grant == "refresh_token":
            found = self.refresh.pop(form.get("refresh_token", ""), None)
            if found is None or found[0] != client_id:
                return _error(400, "invalid_grant", "AADSTS70008: The refresh token has "
                              "expired or is invalid.", [70008])
            return _json(200, self._issue(client_id, found[1], found[2]))
        return _error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type",
                      [70003])

    def _device_code(self, form: dict[str, str]) -> Reply:
        client_id = form.get("client_id", "")
        refused = self._unknown_client(client_id)
        if refused is not None:
            return refused
        device_code = "dc-" + secrets.token_urlsafe(24)
        user_code = secrets.token_hex(4).upper()
        with self.lock:
            self.devices[device_code] = DeviceCode(client_id, user_code,
                                                   form.get("scope", ""))
        return _json(200, {
            "user_code": user_code, "device_code": device_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 1,
            "message": f"To sign in, use a web browser to open the page "
                       f"https://microsoft.com/devicelogin and enter the code {user_code} "
                       "to authenticate.",
        })

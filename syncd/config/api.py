"""The ``api:`` section: the CRM-facing HTTP API's listener, tokens and sharing policy.

The API is off unless the section is present (and ``enabled`` is not false).

* ``listen``: ``HOST:PORT`` (``[::1]:8090`` for IPv6); default
  ``127.0.0.1:8090``; port 0 picks a free port (tests).
* ``tokens[]``: who may call it. Each has a unique ``name`` (logged instead of
  the token), the token itself as ``token_sha256`` (hex SHA-256 of the token:
  the file never holds the secret) or ``token_file`` (a file holding the
  token; the loader reads it into ``token``), a ``viewer`` (a rep's address,
  whose visibility applies, or ``admin``, who sees everything stored) and
  ``scopes`` ⊆ {read, write}. :meth:`ApiToken.digest` is the one SHA-256 the
  API compares requests against; :func:`token_sha256` computes it.
* ``sharing.colleagues``: what a rep sees of interactions none of their own
  mailboxes saw: ``metadata`` (who, when, direction: no subject, snippet,
  body or location), ``subject`` (plus subject, meeting title and location),
  ``full`` (everything stored).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from matching import canonical_address
from providers.settings import StrictModel

Scope = Literal["read", "write"]
SharingLevel = Literal["metadata", "subject", "full"]
ADMIN = "admin"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>\d{1,5})$")


def _read_only() -> list[Scope]:
    return ["read"]


def token_sha256(token: str) -> str:
    """The hex SHA-256 of a token as configured in ``token_sha256``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(StrictModel):
    #: shown in logs and audit instead of the token; unique
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.@-]*$")]
    #: the token itself; normally given as token_file (a file holding it)
    token: SecretStr | None = None
    #: hex SHA-256 of the token (``syncd api token create`` prints it)
    token_sha256: Annotated[str | None, Field(validate_default=True)] = None
    #: whose visibility applies: a rep's email address, or ``admin`` (sees everything)
    viewer: str
    #: what the token may do: read, write
    scopes: Annotated[list[Scope], Field(min_length=1)] = Field(default_factory=_read_only)

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the token must be at least 16 characters long "
                             "(`syncd api token create` makes one)")
        return value

    @field_validator("token_sha256")
    @classmethod
    def _hex(cls, value: str | None, info: ValidationInfo) -> str | None:
        # checked here, not in a model validator: an error there would quote the
        # whole entry, token included, in the config error message
        if "token" not in info.data:  # the token itself was invalid: reported there
            return value
        if (value is None) == (info.data["token"] is None):
            raise ValueError("give exactly one of token_sha256 or token_file")
        if value is None:
            return None
        value = value.strip().lower()
        if not _HEX64.match(value):
            raise ValueError("must be 64 hexadecimal digits (the SHA-256 of the token)")
        return value

    @field_validator("viewer")
    @classmethod
    def _viewer(cls, value: str) -> str:
        if value.strip().lower() == ADMIN:
            return ADMIN
        canonical = canonical_address(value)
        if canonical is None:
            raise ValueError("must be a rep's email address or 'admin'")
        return canonical

    @field_validator("scopes")
    @classmethod
    def _unique_scopes(cls, value: list[Scope]) -> list[Scope]:
        return sorted(set(value))

    def digest(self) -> str:
        """The hex SHA-256 requests are compared against."""
        if self.token_sha256 is not None:
            return self.token_sha256
        assert self.token is not None
        return token_sha256(self.token.get_secret_value())

    @property
    def is_admin(self) -> bool:
        return self.viewer == ADMIN


class SharingSettings(StrictModel):
    #: what a rep sees of interactions only colleagues' mailboxes saw:
    #: metadata, subject, full
    colleagues: SharingLevel = "metadata"


class ApiSettings(StrictModel):
    #: serve the API (with `syncd run`, and `syncd api`)
    enabled: bool = True
    #: HOST:PORT to bind; keep 127.0.0.1 unless a trusted network must reach it
    listen: str = "127.0.0.1:8090"
    tokens: list[ApiToken] = Field(default_factory=list)
    sharing: SharingSettings = Field(default_factory=SharingSettings)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        match = _LISTEN.match(value.strip())
        if match is None or int(match["port"]) > 65535:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8090 or [::1]:8090")
        return value.strip()

    @field_validator("tokens")
    @classmethod
    def _unique_tokens(cls, tokens: list[ApiToken]) -> list[ApiToken]:
        names: set[str] = set()
        digests: set[str] = set()
        for token in tokens:
            if token.name in names:
                raise ValueError(f"token name {token.name!r} is used twice; names must be unique")
            if token.digest() in digests:
                raise ValueError(f"token {token.name!r} is the same token as another one")
            names.add(token.name)
            digests.add(token.digest())
        return tokens

    @property
    def host(self) -> str:
        match = _LISTEN.match(self.listen)
        assert match is not None
        return match["v6"] or match["host"]

    @property
    def port(self) -> int:
        match = _LISTEN.match(self.listen)
        assert match is not None
        return int(match["port"])

"""Tokens at rest, encrypted: the daemon's :class:`providers.base.TokenVault`.

Each named value is a file ``<state_dir>/tokens/<name>.enc`` (mode 0600)
holding a Fernet token (AES-128-CBC + HMAC-SHA256). The key is derived from
``privacy.token_key`` (or ``token_key_file``) with SHA-256, so any
high-entropy string works as the configured secret. A wrong key is an
:class:`AuthError` (re-authenticate or restore the key), never a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from providers.base import TokenVault
from syncd.errors import AuthError, ConfigError, ConfigIssue

_SAFE = re.compile(r"[^A-Za-z0-9_.@-]")


class FileTokenVault(TokenVault):
    def __init__(self, directory: Path, secret: str | None) -> None:
        if not secret:
            raise ConfigError([ConfigIssue("privacy.token_key", "no key to encrypt tokens with",
                                           "set privacy.token_key_file to a file holding a "
                                           "long random string")])
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._fernet = Fernet(key)
        self._dir = directory

    def _file(self, name: str) -> Path:
        return self._dir / (_SAFE.sub("_", name) + ".enc")

    def load(self, name: str) -> str | None:
        path = self._file(name)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return self._fernet.decrypt(blob).decode("utf-8")
        except InvalidToken:
            raise AuthError(f"stored token {name!r} cannot be decrypted with the configured "
                            "privacy.token_key; re-authenticate or restore the old key") from None

    def save(self, name: str, value: str) -> None:
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._file(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._fernet.encrypt(value.encode("utf-8")))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

"""The errors a provider raises: the root of syncd's one exception hierarchy.

The provider contract (:mod:`providers.base`) owns these, so providers
depend on nothing above them; :mod:`syncd.errors` adds the errors of the
layers above (store, import) to the same hierarchy and is the one place an
error becomes text (:func:`syncd.errors.describe`). Every error syncd
raises on purpose derives from :class:`SyncdError`. The subclass says what
the caller should do; :mod:`syncd.sync.outcome` turns it into the pass's
verdict:

==================  ==========================================================
``ConfigError``     refuse to start (exit status 2) and name the key path
``AuthError``       mark the account ``needs_reauth``; stop polling it until
                    its config changes; other accounts go on
``TransientError``  back off (capped, jittered, honouring ``retry_after``) and
                    try the pass again later; nothing was committed for the
                    page that failed
``CursorExpired``   forget the cursor of ``resource`` and resync it fully; the
                    store's upserts guarantee no duplicates
``BadItem``         quarantine that one item with ``reason``; the pass goes on
==================  ==========================================================

Anything else escaping a provider is a bug: the account is marked failed,
the traceback is logged once, and the other accounts continue.

Messages must never contain secrets: build them from key paths, hosts and
account ids, never from credentials or raw HTTP headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SyncdError(Exception):
    """Root of every error syncd raises deliberately."""

    #: short machine-readable class used in /status, metrics and logs
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its fields, not by calling __init__ again (subclasses'
        # signatures differ): errors cross from the fetch process (syncd.sync.fetch_process)
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[SyncdError], args: tuple[Any, ...], state: dict[str, Any]) -> SyncdError:
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


class ConfigIssue:
    """One problem in a config file: where, what was found, what is allowed."""

    __slots__ = ("fix", "path", "problem")

    def __init__(self, path: str, problem: str, fix: str = "") -> None:
        self.path = path
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        tail = f" — {self.fix}" if self.fix else ""
        return f"{self.path}: {self.problem}{tail}"

    def __repr__(self) -> str:
        return f"ConfigIssue({self.path!r}, {self.problem!r}, {self.fix!r})"


class ConfigError(SyncdError):
    """The configuration (file, environment or CLI input) is unusable."""

    code = "config"

    def __init__(self, issues: Sequence[ConfigIssue] | str, *, source: str = "") -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue("(config)", issues)]
        self.issues = list(issues)
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        super().__init__(head + ":\n" + "\n".join(f"  {i}" for i in self.issues))


class AuthError(SyncdError):
    """Credentials were refused or revoked; a human must re-authenticate."""

    code = "auth"


class TransientError(SyncdError):
    """A failure that may go away on its own (network, throttling, 5xx)."""

    code = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: seconds the server asked us to wait, if it said
        self.retry_after = retry_after


class CursorExpired(SyncdError):
    """The server no longer accepts the stored cursor of ``resource``."""

    code = "cursor_expired"

    def __init__(self, resource: str, message: str = "") -> None:
        super().__init__(message or f"cursor for {resource!r} expired; full resync needed")
        self.resource = resource


class BadItem(SyncdError):
    """One message or event cannot be normalized; quarantine it and go on."""

    code = "bad_item"

    def __init__(self, provider_id: str, reason: str) -> None:
        super().__init__(f"{provider_id}: {reason}")
        self.provider_id = provider_id
        self.reason = reason

"""The one exception hierarchy of syncd, and the one place errors become text.

The root and the provider-facing errors (``SyncdError``, ``ConfigError``,
``AuthError``, ``TransientError``, ``CursorExpired``, ``BadItem``) belong to
the provider contract and live in :mod:`providers.errors`; this module adds
the errors of the layers above and re-exports them all, so code above the
providers imports every error from here:

==================  ==========================================================
``StoreError``      the database failed; transient unless ``permanent``
``ImportRowError``  one row of a directory import is invalid (line number)
==================  ==========================================================

:func:`describe` is the only place an error becomes a human-readable line
(CLI, /status, logs).
"""

from __future__ import annotations

from providers.errors import (
    AuthError,
    BadItem,
    ConfigError,
    ConfigIssue,
    CursorExpired,
    SyncdError,
    TransientError,
)

__all__ = [
    "AuthError", "BadItem", "ConfigError", "ConfigIssue", "CursorExpired", "ImportRowError",
    "StoreError", "SyncdError", "TransientError", "describe",
]


class StoreError(SyncdError):
    """The interaction store failed (unreachable, locked, restarted)."""

    code = "store"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ImportRowError(SyncdError):
    """One row of a CSV import is invalid (reported with its line number)."""

    code = "import_row"

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def describe(exc: BaseException) -> str:
    """Turn an exception into the one-line text shown to people.

    The only place where errors become messages (CLI, /status, logs).
    """
    if isinstance(exc, SyncdError):
        return exc.message
    return f"internal error ({type(exc).__name__}); see the daemon log for the traceback"

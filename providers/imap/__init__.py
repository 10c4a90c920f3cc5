"""IMAP provider: INBOX + Sent (or listed folders) → pages of normalized messages.

``ImapProvider(account, context)`` is the registry factory; see
:mod:`providers.imap.provider` for the pass and :mod:`providers.imap.cursor`
for the per-folder cursor and its state machine.

Imports are lazy: ``syncd.config.model`` imports ``providers.imap.settings``
while the config package initializes, so this package must not import the
provider (which imports the config package) at import time. Conversely,
importing ``providers.imap.settings`` before the config package would cycle
(settings → syncd.config.base → syncd.config → model → settings), so the
config package is imported first here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import syncd.config  # noqa: F401 - must initialize before providers.imap.settings

if TYPE_CHECKING:
    from providers.imap.connection import TokenSupplier
    from providers.imap.provider import ImapProvider
    from providers.imap.settings import ImapAccount

__all__ = ["ImapAccount", "ImapProvider", "TokenSupplier"]


def __getattr__(name: str) -> Any:
    if name == "ImapProvider":
        from providers.imap.provider import ImapProvider

        return ImapProvider
    if name == "ImapAccount":
        from providers.imap.settings import ImapAccount

        return ImapAccount
    if name == "TokenSupplier":
        from providers.imap.connection import TokenSupplier

        return TokenSupplier
    raise AttributeError(name)

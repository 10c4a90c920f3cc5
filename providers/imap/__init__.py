"""IMAP provider: INBOX + Sent (or listed folders) → pages of normalized messages.

``ImapProvider(account, context)`` is the registry factory; see
:mod:`providers.imap.provider` for the pass and :mod:`providers.imap.cursor`
for the per-folder cursor and its state machine.

Exports resolve lazily (see :mod:`providers.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.lazy import lazy_exports

if TYPE_CHECKING:
    from providers.imap.connection import TokenSupplier
    from providers.imap.provider import ImapProvider
    from providers.imap.settings import ImapAccount

__all__ = ["ImapAccount", "ImapProvider", "TokenSupplier"]

__getattr__ = lazy_exports(__name__, {
    "ImapProvider": "providers.imap.provider",
    "ImapAccount": "providers.imap.settings",
    "TokenSupplier": "providers.imap.connection",
})

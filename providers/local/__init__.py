"""The ``local`` provider: Maildir folders, mbox files and .ics files (see :mod:`.provider`).

Exports resolve lazily (see :mod:`providers.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.lazy import lazy_exports

if TYPE_CHECKING:
    from providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]

__getattr__ = lazy_exports(__name__, {
    "LocalProvider": "providers.local.provider",
})

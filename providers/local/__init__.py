"""The ``local`` provider: Maildir folders, mbox files and .ics files (see :mod:`.provider`)."""

from __future__ import annotations

from providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]

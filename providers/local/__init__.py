"""The ``local`` provider: Maildir folders, mbox files and .ics files (see :mod:`.provider`).

Import order matters: ``syncd.config.model`` imports ``providers.local.settings``
while the config package initializes, and ``settings`` imports
``syncd.config.base``; so the config package is imported first here, and the
provider module refers to ``LocalAccount`` for typing only.
"""

from __future__ import annotations

import syncd.config  # noqa: F401 - must initialize before providers.local.settings
from providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]

"""Configuration: one YAML file, validated into frozen models.

``load_settings(path)`` is the entry point; errors are
:class:`syncd.errors.ConfigError` naming key paths.
"""

from __future__ import annotations

from syncd.config.loader import load_settings
from syncd.config.model import Account, Settings

__all__ = ["Account", "Settings", "load_settings"]

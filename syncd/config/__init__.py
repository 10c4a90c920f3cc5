"""Configuration: one YAML file, validated into frozen models.

``load_settings(path)`` is the entry point; errors are
:class:`syncd.errors.ConfigError` naming key paths. The provider packages
own their accounts' settings models (on :mod:`providers.settings`);
:mod:`syncd.config.model` gathers them into the one file's model.
"""

from __future__ import annotations

from syncd.config.loader import load_settings
from syncd.config.model import Account, Settings

__all__ = ["Account", "Settings", "load_settings"]

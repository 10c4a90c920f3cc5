"""Configuration: one YAML file, validated into frozen models.

``load_settings(path)`` is the entry point; errors are
:class:`syncd.errors.ConfigError` naming key paths.

The names below are resolved lazily: provider packages import
``syncd.config.base`` for their settings models while ``syncd.config.model``
imports those settings, so importing the package must not pull in the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncd.config.loader import load_settings
    from syncd.config.model import Account, Settings

__all__ = ["Account", "Settings", "load_settings"]


def __getattr__(name: str) -> Any:
    if name == "load_settings":
        from syncd.config import loader

        return loader.load_settings
    if name in ("Account", "Settings"):
        from syncd.config import model

        return getattr(model, name)
    raise AttributeError(name)

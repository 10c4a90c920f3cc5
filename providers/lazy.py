"""Lazy package exports, so importing a provider's ``settings`` stays cheap.

``syncd.config.model`` imports every provider's ``settings`` module, which
runs that provider package's ``__init__``; if the package imported its
provider eagerly, every CLI call would load every client library (caldav,
googleapiclient, msal…) just to read the config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``name`` from ``exports[name]`` on first use."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__

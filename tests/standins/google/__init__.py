"""A local stand-in for Gmail v1, Calendar v3 and Google's OAuth endpoints.

See :mod:`tests.standins.google.server` for what it serves; the real
google-api-python-client talks to it over HTTP.
"""

from __future__ import annotations

from tests.standins.google.server import GoogleStandIn

__all__ = ["GoogleStandIn"]

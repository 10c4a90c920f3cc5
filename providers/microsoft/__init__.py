"""Outlook mail and calendar over Microsoft Graph, with tokens from msal.

Modules: ``settings`` (config), ``auth`` (msal token sources and the
device-code sign-in), ``graph_http`` (the one HTTP seam: limits, retries),
``delta`` (walking delta rounds), ``mail`` / ``mail_records`` and
``calendar`` / ``calendar_records`` (providers and normalizers).

Exports resolve lazily (see :mod:`providers.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.lazy import lazy_exports

if TYPE_CHECKING:
    from providers.microsoft.calendar import OutlookCalendarProvider
    from providers.microsoft.mail import OutlookMailProvider

__all__ = ["OutlookCalendarProvider", "OutlookMailProvider"]

__getattr__ = lazy_exports(__name__, {
    "OutlookCalendarProvider": "providers.microsoft.calendar",
    "OutlookMailProvider": "providers.microsoft.mail",
})

"""Outlook mail and calendar over Microsoft Graph, with tokens from msal.

Modules: ``settings`` (config), ``auth`` (msal token sources and the
device-code sign-in), ``graph_http`` (the one HTTP seam: limits, retries),
``delta`` (walking delta rounds), ``mail`` / ``mail_records`` and
``calendar`` / ``calendar_records`` (providers and normalizers).
"""

from __future__ import annotations

from providers.microsoft.calendar import OutlookCalendarProvider
from providers.microsoft.mail import OutlookMailProvider

__all__ = ["OutlookCalendarProvider", "OutlookMailProvider"]

"""Gmail and Google Calendar providers (google-api-python-client).

``GmailProvider`` and ``GoogleCalendarProvider`` each take
``(account, context)``; see :mod:`providers.google.gmail`,
:mod:`providers.google.calendar`, :mod:`providers.google.auth` (credentials,
consent flow) and :mod:`providers.google.transport` (pacing and retries).
"""

from __future__ import annotations

from providers.google.calendar import GoogleCalendarProvider
from providers.google.gmail import GmailProvider

__all__ = ["GmailProvider", "GoogleCalendarProvider"]

"""Gmail and Google Calendar providers (google-api-python-client).

``GmailProvider`` and ``GoogleCalendarProvider`` each take
``(account, context)``; see :mod:`providers.google.gmail`,
:mod:`providers.google.calendar`, :mod:`providers.google.auth` (credentials,
consent flow) and :mod:`providers.google.transport` (pacing and retries).

Exports resolve lazily (see :mod:`providers.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.lazy import lazy_exports

if TYPE_CHECKING:
    from providers.google.calendar import GoogleCalendarProvider
    from providers.google.gmail import GmailProvider

__all__ = ["GmailProvider", "GoogleCalendarProvider"]

__getattr__ = lazy_exports(__name__, {
    "GmailProvider": "providers.google.gmail",
    "GoogleCalendarProvider": "providers.google.calendar",
})

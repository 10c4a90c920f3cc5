"""Providers: fetch and normalize mail and calendar data; never store it.

``create_provider(account, context)`` builds the provider for an account
from its ``provider:`` kind. Imports are lazy so a deployment with only
IMAP accounts never imports the Google or Microsoft client libraries.
"""

from __future__ import annotations

import importlib

from providers.base import Provider, ProviderContext
from providers.settings import AccountBase

#: provider kind -> "module:factory"; the factory takes (account, context)
REGISTRY: dict[str, str] = {
    "local": "providers.local:LocalProvider",
    "imap": "providers.imap:ImapProvider",
    "caldav": "providers.caldav:CaldavProvider",
    "gmail": "providers.google:GmailProvider",
    "google_calendar": "providers.google:GoogleCalendarProvider",
    "outlook_mail": "providers.microsoft:OutlookMailProvider",
    "outlook_calendar": "providers.microsoft:OutlookCalendarProvider",
}


def create_provider(account: AccountBase, context: ProviderContext) -> Provider:
    module_name, _, attr = REGISTRY[account.provider].partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    provider: Provider = factory(account, context)
    return provider

"""What the Outlook mail and calendar providers share: client construction."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from providers.base import ProviderContext
from providers.microsoft.auth import token_source
from providers.microsoft.graph_http import GraphClient
from providers.microsoft.settings import OutlookAccount


def mailbox_path(account: OutlookAccount) -> str:
    """``me`` for delegated sign-in without a mailbox, else ``users/{id}``."""
    mailbox = account.mailbox or (None if account.auth.method == "delegated" else account.owner)
    return "me" if mailbox is None else f"users/{quote(mailbox, safe='@.')}"


def graph_client(account: OutlookAccount, context: ProviderContext) -> GraphClient:
    return GraphClient(
        base_url=account.endpoints.graph,
        mailbox=mailbox_path(account),
        account_id=account.id,
        tokens=token_source(account, context.vault),
        limits=account.limits,
        max_concurrency=account.max_concurrency,
        gate_key=str(account.mailbox or account.owner),
    )




def iso_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

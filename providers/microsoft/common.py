"""What the Outlook mail and calendar providers share: client construction, fetching by id."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from providers.base import Page, ProviderContext
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


def pages_by_id(client: GraphClient, collection: str, ids: Collection[str], *,
                resource: str, page_size: int, headers: Mapping[str, str],
                add: Callable[[Page, dict[str, Any]], None],
                params: Mapping[str, str] | None = None) -> Iterator[Page]:
    """Pages (cursor ``None``) of the items ``{mailbox}/{collection}/{id}`` for ``ids``,
    one GET each in id order; ``add`` normalizes an item into the page as the delta
    pass does. An item gone since it was listed (404) is skipped: nothing to store."""
    page = Page(resource=resource)
    for graph_id in sorted(ids):
        item = client.get_optional(f"{client.mailbox}/{collection}/{quote(graph_id, safe='')}",
                                   params=params, headers=headers, resource=resource)
        if item is not None:
            add(page, item)
        if len(page.items) + len(page.quarantined) >= page_size:
            yield page
            page = Page(resource=resource)
    if page.items or page.quarantined:
        yield page


"""Outlook mail over Graph message delta, one resource per mail folder.

Per folder (resource = the configured folder name, e.g. ``inbox``; the
folders' delta chains are fetched side by side, pages interleave, each
folder's pages stay in order):

* no cursor → initial round: ``GET {mailbox}/mailFolders/{folder}/messages/delta``
  with ``$select`` per privacy, ``$filter=receivedDateTime ge <now - backfill>``
  and the transport-header ``$expand``;
* cursor ``{"link": L, "final": False}`` → resume that round at nextLink L;
* cursor ``{"link": L, "final": True}`` → new round from deltaLink L.

Every page yields its items and a cursor: the nextLink while the round goes
on, the deltaLink (``final``) with the last page only. ``@removed`` entries
become :class:`Deletion` records of that folder's copy (provider ids are
``{folder}/{graph id}``, so a move between two synced folders is "gone from
one, seen in the other", never "gone"). An expired round (410,
``syncStateNotFound``, ``resyncRequired``) raises ``CursorExpired(folder)``;
the engine drops that cursor and syncs again, which re-reads the folder
inside the backfill window (the store's upserts keep it free of duplicates).

The query options (``$select`` by privacy, the header ``$expand``) are
baked into a round's links; the cursor remembers them (``q``) and a change
(e.g. a new privacy level) starts a new round instead of following links
that would fetch too much or too little.

Ids are requested immutable (``Prefer: IdType="ImmutableId"``) so a
message keeps its provider id when moved between folders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from providers.base import Cursor, Deletion, Page, Provider, ProviderContext, Quarantined
from providers.errors import BadItem
from providers.microsoft.common import graph_client, iso_z
from providers.microsoft.delta import Start, walk_many
from providers.microsoft.mail_records import (
    EXPAND_HEADERS,
    folder_scoped_id,
    select_fields,
    to_message,
)
from providers.microsoft.settings import OutlookMailAccount

CURSOR_VERSION = 1


class OutlookMailProvider(Provider):
    kind = "outlook_mail"

    def __init__(self, account: OutlookMailAccount, context: ProviderContext) -> None:
        self.account = account
        self.context = context
        self.privacy = account.privacy or context.privacy
        self.client = graph_client(account, context)

    def close(self) -> None:
        self.client.close()

    def _headers(self) -> dict[str, str]:
        prefer = [f"odata.maxpagesize={self.account.page_size}", 'IdType="ImmutableId"']
        if self.privacy == "full":
            prefer.append('outlook.body-content-type="text"')
        return {"Prefer": ", ".join(prefer)}

    def _query_key(self) -> str:
        """What the links of a round have baked in; a change starts a new round."""
        return f"{select_fields(self.privacy)}|{int(self.account.transport_headers)}"

    def _initial(self, folder: str) -> tuple[str, dict[str, str]]:
        url = f"{self.client.mailbox}/mailFolders/{quote(folder, safe='')}/messages/delta"
        params = {"$select": select_fields(self.privacy)}
        if self.account.backfill_days:
            since = self.context.current_time() - timedelta(days=self.account.backfill_days)
            params["$filter"] = f"receivedDateTime ge {iso_z(since)}"
        if self.account.transport_headers:
            params["$expand"] = EXPAND_HEADERS
        return url, params

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        starts: dict[str, Start] = {}
        for folder in dict.fromkeys(self.account.folders):  # folders walk side by side
            cursor = cursors.get(folder)
            if (cursor and cursor.get("v") == CURSOR_VERSION and cursor.get("link")
                    and cursor.get("q") == self._query_key()):
                starts[folder] = Start(str(cursor["link"]))
            else:
                starts[folder] = Start(*self._initial(folder))
        for folder, delta_page in walk_many(self.client, starts, headers=self._headers()):
            page = Page(resource=folder)
            for item in delta_page.items:
                self._add(page, item, folder)
            link = delta_page.delta_link if delta_page.last else delta_page.next_link
            page.cursor = {"v": CURSOR_VERSION, "link": link, "final": delta_page.last,
                           "q": self._query_key()}
            yield page

    def _add(self, page: Page, item: dict[str, Any], folder: str) -> None:
        item_id = str(item.get("id") or "")
        if "@removed" in item:
            if item_id:
                page.items.append(Deletion(folder_scoped_id(folder, item_id), "message"))
            return
        try:
            page.items.append(to_message(item, folder=folder, privacy=self.privacy))
        except BadItem as exc:
            page.quarantined.append(Quarantined(folder_scoped_id(folder, item_id or "(no id)"),
                                                "message", exc.reason, _excerpt(item)))
        except Exception as exc:  # one bad item never stops the pass
            page.quarantined.append(Quarantined(folder_scoped_id(folder, item_id or "(no id)"),
                                                "message",
                                                f"unreadable item ({type(exc).__name__})",
                                                _excerpt(item)))


def _excerpt(item: dict[str, Any]) -> str:
    keys = ("id", "internetMessageId", "sentDateTime", "receivedDateTime")
    return ", ".join(f"{k}={item.get(k)!s:.80}" for k in keys if k in item)

"""Outlook mail over Graph message delta, one resource per mail folder.

Per folder (resource = the configured folder name, e.g. ``inbox``; the
folders' delta chains are fetched side by side, pages interleave, each
folder's pages stay in order):

* no cursor → initial round: ``GET {mailbox}/mailFolders/{folder}/messages/delta``
  with ``$select`` per privacy, ``$filter=receivedDateTime ge <now - backfill>``
  and the transport-header ``$expand``;
* cursor ``{"link": L, "final": False}`` → resume that round at nextLink L;
* cursor ``{"link": L, "final": True}`` → new round from deltaLink L.
* cursor ``{"v": 1, "since": ISO}`` (no link; written by ``syncd resync
  --backfill-days``) → a new initial round filtered from ISO instead of
  ``now - backfill_days``: a wider window, re-read and deduped by the store.

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

from collections.abc import Collection, Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from providers.base import (
    Cursor,
    Deletion,
    Inventory,
    Page,
    Provider,
    ProviderContext,
    Quarantined,
)
from providers.errors import BadItem
from providers.microsoft.common import graph_client, iso_z, pages_by_id
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

    def _initial(self, folder: str, since_iso: str | None = None) -> tuple[str, dict[str, str]]:
        url = f"{self.client.mailbox}/mailFolders/{quote(folder, safe='')}/messages/delta"
        params = {"$select": select_fields(self.privacy)}
        if since_iso is not None:  # a window widened on demand
            params["$filter"] = f"receivedDateTime ge {since_iso}"
        elif self.account.backfill_days:
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
                wider = cursor.get("since") if cursor and not cursor.get("link") else None
                starts[folder] = Start(*self._initial(folder, None if wider is None
                                                       else str(wider)))
        for folder, delta_page in walk_many(self.client, starts, headers=self._headers()):
            page = Page(resource=folder)
            for item in delta_page.items:
                self._add(page, item, folder)
            link = delta_page.delta_link if delta_page.last else delta_page.next_link
            page.cursor = {"v": CURSOR_VERSION, "link": link, "final": delta_page.last,
                           "q": self._query_key()}
            yield page

    # -- coverage (providers.base.Reconcilable) -------------------------------------------

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """Message ids of folder ``resource`` with ``$select=id``, no message data.

        ``expected``: the window's messages (``receivedDateTime ge`` now minus
        ``backfill_days``); ``present``: every message of the folder. ``None``
        until a delta round of the folder completed (no final deltaLink yet).
        """
        if (resource not in self.account.folders or not cursor or not cursor.get("link")
                or not cursor.get("final")):
            return None
        present = self._list_ids(resource, None)
        expected = present
        if self.account.backfill_days:
            since = self.context.current_time() - timedelta(days=self.account.backfill_days)
            expected = self._list_ids(resource, f"receivedDateTime ge {iso_z(since)}")
        prefix = f"{resource}/"

        def key_of(provider_id: str) -> str | None:
            tail = provider_id[len(prefix):]
            return tail if provider_id.startswith(prefix) and "#" not in tail else None

        return Inventory(expected=frozenset(expected), present=frozenset(present | expected),
                         key_of=key_of)

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Messages by Graph id (one GET each, the delta's ``$select``), cursor ``None``."""
        params = {"$select": select_fields(self.privacy)}
        if self.account.transport_headers:
            params["$expand"] = EXPAND_HEADERS
        return pages_by_id(self.client, "messages", keys, resource=resource,
                           page_size=self.account.page_size, headers=self._headers(),
                           params=params, add=lambda page, item: self._add(page, item, resource))

    def _list_ids(self, folder: str, flt: str | None) -> set[str]:
        params = {"$select": "id", "$top": "1000"}
        if flt is not None:
            params["$filter"] = flt
        url: str | None = f"{self.client.mailbox}/mailFolders/{quote(folder, safe='')}/messages"
        out: set[str] = set()
        while url is not None:
            body = self.client.get(url, params=params, headers=self._headers(), resource=folder)
            out.update(str(m["id"]) for m in body.get("value") or [] if m.get("id"))
            url, params = body.get("@odata.nextLink"), {}
        return out

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

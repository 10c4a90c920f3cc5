"""Outlook calendar over Graph calendarView delta (one resource: ``calendar``).

State machine of the cursor ``{"v", "link", "final", "anchor", "series"}``:

* none, or ``final`` with ``anchor`` more than ``reanchor_days`` before
  ``now`` → initial round over [now - past_days, now + future_days]
  (the window is baked into the delta links, so it has to be re-anchored
  from time to time; the new round re-reads the window and upserts);
* ``final: False`` → resume the round at nextLink ``link``;
* ``final: True`` → next round from deltaLink ``link``.

``series`` maps seriesMasterId → the series' iCalUId, looked up once per
series (``GET {mailbox}/events/{id}?$select=iCalUId``) because v1.0 gives
each occurrence its own iCalUId; it travels with the cursor so lookups are
not repeated, and starts empty with every re-anchored round (so it stays
bounded by the series seen since).

``@removed``: Graph sends only an id, and may send ids of events that were
never inside the window. We emit a :class:`Deletion` for every one; the
store ignores deletions of provider ids it never saw, so events outside the
window do no harm, and keeping an id set of the whole window in the cursor
is avoided. (An event moved out of the window is reported removed, too:
it is marked gone, its history kept.)

Coverage (:class:`providers.base.Reconcilable`) compares Graph ids, the
provider ids as stored: every occurrence and exception has its own id, so an
instance counts alone (unlike CalDAV and Google, where a series counts once).

* ``expected`` = ``present``: ``calendarView?$select=id`` over the window of
  the cursor's round (``anchor`` minus ``past_days`` to ``anchor`` plus
  ``future_days``), what that round delivers and keeps current;
* ``key_of`` compares only stored ids found in that listing, so only
  missing items are found, never vanished ones: an occurrence's id does not
  say when it happens, and a stored occurrence that merely left the window
  (kept from an earlier round) cannot be told from a deleted one without a
  lookup per id. Deletions inside the window are what the delta reports.

``None`` until a round completed (no final deltaLink yet).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta
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
from providers.errors import BadItem, SyncdError
from providers.microsoft.calendar_records import INSTANCE_TYPES, instance_type, to_event
from providers.microsoft.common import graph_client, iso_z, pages_by_id
from providers.microsoft.delta import walk
from providers.microsoft.mail_records import graph_time
from providers.microsoft.settings import OutlookCalendarAccount

RESOURCE = "calendar"
CURSOR_VERSION = 1


class OutlookCalendarProvider(Provider):
    kind = "outlook_calendar"

    def __init__(self, account: OutlookCalendarAccount, context: ProviderContext) -> None:
        self.account = account
        self.context = context
        self.privacy = account.privacy or context.privacy
        self.client = graph_client(account, context)

    def close(self) -> None:
        self.client.close()

    def _headers(self) -> dict[str, str]:
        return {"Prefer": f'odata.maxpagesize={self.account.page_size}, '
                          'outlook.timezone="UTC", IdType="ImmutableId"'}

    def _fresh(self, cursor: Cursor | None, now: datetime) -> bool:
        if not cursor or cursor.get("v") != CURSOR_VERSION or not cursor.get("link"):
            return True
        anchor = graph_time(cursor.get("anchor"))
        stale = anchor is None or now - anchor > timedelta(days=self.account.reanchor_days)
        return bool(cursor.get("final")) and stale

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        cursor = cursors.get(RESOURCE)
        now = self.context.current_time()
        params: dict[str, str] | None = None
        if self._fresh(cursor, now):
            url = f"{self.client.mailbox}/calendarView/delta"
            params = {"startDateTime": iso_z(now - timedelta(days=self.account.past_days)),
                      "endDateTime": iso_z(now + timedelta(days=self.account.future_days))}
            anchor, series = iso_z(now), {}
        else:
            assert cursor is not None
            url, anchor = str(cursor["link"]), str(cursor.get("anchor"))
            series = dict(cursor.get("series") or {})
        for delta_page in walk(self.client, url, params=params, headers=self._headers(),
                               resource=RESOURCE):
            page = Page(resource=RESOURCE)
            for item in delta_page.items:
                self._add(page, item, series)
            link = delta_page.delta_link if delta_page.last else delta_page.next_link
            page.cursor = {"v": CURSOR_VERSION, "link": link, "final": delta_page.last,
                           "anchor": anchor, "series": dict(series)}
            yield page

    # -- coverage (providers.base.Reconcilable) -------------------------------------------

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """Ids in the round's window by ``calendarView?$select=id`` (see module docstring)."""
        if (resource != RESOURCE or not cursor or cursor.get("v") != CURSOR_VERSION
                or not cursor.get("link") or not cursor.get("final")):
            return None
        anchor = graph_time(cursor.get("anchor"))
        if anchor is None:
            return None
        listed = frozenset(self._list_ids(anchor - timedelta(days=self.account.past_days),
                                          anchor + timedelta(days=self.account.future_days)))

        def key_of(provider_id: str) -> str | None:
            return provider_id if provider_id in listed else None

        return Inventory(expected=listed, present=listed, key_of=key_of)

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Events by Graph id (one GET each), normalized as the delta's; cursor ``None``."""
        series: dict[str, str] = {}
        return pages_by_id(self.client, "events", keys, resource=RESOURCE,
                           page_size=self.account.page_size, headers=self._headers(),
                           add=lambda page, item: self._add(page, item, series))

    def _list_ids(self, start: datetime, end: datetime) -> set[str]:
        url: str | None = f"{self.client.mailbox}/calendarView"
        params: dict[str, str] = {"startDateTime": iso_z(start), "endDateTime": iso_z(end),
                                  "$select": "id", "$top": "1000"}
        out: set[str] = set()
        # ids only: $top's 1000 per page, not the delta's page size
        headers = {"Prefer": 'outlook.timezone="UTC", IdType="ImmutableId"'}
        while url is not None:
            body = self.client.get(url, params=params, headers=headers, resource=RESOURCE)
            out.update(str(e["id"]) for e in body.get("value") or []
                       if isinstance(e, dict) and e.get("id"))
            url, params = body.get("@odata.nextLink"), {}
        return out

    def _series_uid(self, master_id: str, series: dict[str, str]) -> str | None:
        if master_id not in series:
            path = f"{self.client.mailbox}/events/{quote(master_id, safe='')}"
            found = self.client.get_optional(path, params={"$select": "iCalUId"},
                                             headers={"Prefer": 'IdType="ImmutableId"'},
                                             resource=RESOURCE)
            uid = (found or {}).get("iCalUId")
            if not isinstance(uid, str) or not uid:
                return None
            series[master_id] = uid
        return series[master_id]

    def _add(self, page: Page, item: dict[str, Any], series: dict[str, str]) -> None:
        item_id = str(item.get("id") or "")
        if "@removed" in item:
            if item_id:
                page.items.append(Deletion(provider_id=item_id, kind="event"))
            return
        if instance_type(item) == "seriesMaster":
            return  # not part of calendarView; instances carry the data
        try:
            series_uid = None
            master = item.get("seriesMasterId")
            if instance_type(item) in INSTANCE_TYPES and isinstance(master, str) and master:
                series_uid = self._series_uid(master, series)
            page.items.append(to_event(item, privacy=self.privacy, series_uid=series_uid))
        except BadItem as exc:
            page.quarantined.append(Quarantined(item_id or "(no id)", "event", exc.reason,
                                                _excerpt(item)))
        except SyncdError:
            raise  # the series lookup's auth/transient errors are the pass's, not the item's
        except Exception as exc:  # one bad item never stops the pass
            page.quarantined.append(Quarantined(item_id or "(no id)", "event",
                                                f"unreadable item ({type(exc).__name__})",
                                                _excerpt(item)))


def _excerpt(item: dict[str, Any]) -> str:
    keys = ("id", "iCalUId", "type", "originalStart")
    return ", ".join(f"{k}={item.get(k)!s:.80}" for k in keys if k in item)

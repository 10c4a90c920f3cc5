"""Google Calendar provider: windowed full listing, then syncToken increments.

One resource per configured calendar id (``"primary"`` by default); its
cursor is one of

``{"sync_token": T}``
    in sync: the next pass lists changes with ``syncToken=T`` (and, as the
    API demands, no timeMin/timeMax).
``{"phase": "full", "time_min": ISO, "time_max": ISO, "page_token": P}``
    a full listing in progress: resume at page P with the same window. Google
    hands out ``nextSyncToken`` only on the last page, so no sync token is
    stored before the listing is complete. If P is refused, the listing
    restarts from the first page (the store's upserts make repeats harmless).

State machine::

    None ──events.list(window, singleEvents)──► full pages ──last page──► {sync_token}
    {sync_token} ──events.list(syncToken)──► change pages ──last page──► {sync_token'}
    410 Gone ──► CursorExpired(calendar) ──► engine clears cursor ──► full listing again

Always ``singleEvents=True`` (recurrences come expanded into instances) and
``showDeleted=True`` (cancelled instances arrive as ``status=cancelled``;
with a sync token deleted events always come back anyway).

Events outside the window in incremental pages are **kept**: incremental
pages carry only changes, and dropping one would leave a stale copy of a
meeting that moved out of the window. At privacy ``metadata`` titles are
dropped, as for invites found in mail.

Coverage (:class:`providers.base.Reconcilable`) compares event *objects*,
as CalDAV compares hrefs: a stored provider id ``<calendar>/<event id>``
maps to its series id, i.e. an instance ``<series id>_<original start>``
(``_20261123T150000Z``, or ``_20261123`` for all-day series; moved and
cancelled instances alike) counts as its series, a single event as itself.

* ``expected``: series and single events with a not-cancelled instance in
  today's window (``singleEvents=True``, ``showDeleted=False``, only
  ``id`` and ``recurringEventId`` requested);
* ``present``: every not-cancelled event object of the calendar, whatever
  its time (``singleEvents=False``), so a meeting that merely left the
  window never reads as deleted. A meeting cancelled as a whole is a
  deleted event to Google, so a stored copy of one reads as vanished and is
  marked gone.

A series with some instances stored and others not counts as stored (one
missing instance is not seen); a repair fetches the whole series in the
window again. An event that entered the window only as time passed (beyond
the full listing's end then, unchanged since, so never in a change page)
counts as missing once and the repair stores it. ``None`` while a full
listing is in progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from googleapiclient.errors import HttpError

from providers.base import (
    Cursor,
    Event,
    Inventory,
    Page,
    Provider,
    ProviderContext,
    Quarantined,
)
from providers.errors import CursorExpired
from providers.google.auth import CALENDAR_SCOPES, load_credentials
from providers.google.calendar_records import to_record, utc_iso
from providers.google.clients import build_service
from providers.google.pacing import bucket_for
from providers.google.settings import GoogleCalendarAccount
from providers.google.transport import Caller, refused, retry_policy
from providers.ical import clamp_event

#: quota units we charge ourselves per events.list call
LIST_COST = 1
#: an instance id: the series id, ``_``, the original start (UTC, basic format) or date
_INSTANCE_ID = re.compile(r"(.+)_(\d{8}(?:T\d{6}Z)?)")
#: ids listed per events.list call of a coverage check (the API's maximum)
INVENTORY_PAGE = 2500


class GoogleCalendarProvider(Provider):
    kind = "google_calendar"

    def __init__(self, account: GoogleCalendarAccount, context: ProviderContext) -> None:
        self.account = account
        self.context = context
        self._service: Any = None
        t = account.transport
        bucket = bucket_for("calendar", account.auth.subject or account.owner,
                            account.quota_units_per_second)
        self.caller = Caller(bucket, retry_policy(t),
                             what=f"google calendar account {account.id}")

    @property
    def service(self) -> Any:
        if self._service is None:
            creds = load_credentials(self.account, self.context.vault, CALENDAR_SCOPES)
            self._service = build_service("calendar", "v3", creds,
                                          endpoint=self.account.endpoints.calendar,
                                          timeout=self.account.transport.timeout)
        return self._service


    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None

    def window(self) -> tuple[datetime, datetime]:
        now = self.context.current_time()
        return (now - timedelta(days=self.account.past_days),
                now + timedelta(days=self.account.future_days))

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        for calendar in self.account.calendars:
            yield from self._sync_calendar(calendar, cursors.get(calendar))

    def _sync_calendar(self, calendar: str, cursor: Cursor | None) -> Iterator[Page]:
        if cursor and cursor.get("sync_token"):
            yield from self._pages(calendar, {"syncToken": cursor["sync_token"]}, None,
                                   incremental=True, previous=str(cursor["sync_token"]))
            return
        if cursor and cursor.get("phase") == "full":
            window = {"timeMin": cursor["time_min"], "timeMax": cursor["time_max"]}
            start_token = cursor.get("page_token")
        else:
            low, high = self.window()
            window = {"timeMin": utc_iso(low), "timeMax": utc_iso(high)}
            start_token = None
        yield from self._pages(calendar, window, start_token, incremental=False)

    def _pages(self, calendar: str, params: dict[str, str], page_token: str | None, *,
               incremental: bool, previous: str | None = None) -> Iterator[Page]:
        events = self.service.events()
        while True:
            request = events.list(calendarId=calendar, singleEvents=True, showDeleted=True,
                                  maxResults=self.account.page_size, pageToken=page_token,
                                  **params)
            try:
                response = self.caller.call(request, LIST_COST, passthrough={400, 410})
            except HttpError as exc:
                if exc.resp.status == 410:
                    raise CursorExpired(calendar, f"google calendar account {self.account.id}:"
                                        f" sync token of {calendar!r} expired; full resync "
                                        "needed") from None
                if exc.resp.status == 400 and page_token and not incremental:
                    page_token = None  # stale page token: restart the window listing
                    continue
                raise refused(exc, self.caller.what) from None
            page = self._page(calendar, response.get("items") or [])
            page_token = response.get("nextPageToken")
            if page_token:
                if incremental:
                    # a sync token cannot be resumed mid-way: replaying from the old
                    # token on a crash is safe, so keep it until the last page
                    page.cursor = {"sync_token": previous}
                else:
                    page.cursor = {"phase": "full", "time_min": params["timeMin"],
                                   "time_max": params["timeMax"], "page_token": page_token}
            else:
                page.cursor = {"sync_token": response.get("nextSyncToken")}
            if incremental and not page.items and not page.quarantined and not page_token \
                    and page.cursor == {"sync_token": previous}:
                return  # nothing changed
            yield page
            if not page_token:
                return

    # -- coverage (providers.base.Reconcilable) -------------------------------------------

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """Series and event ids of calendar ``resource``, no event data (see module docstring)."""
        if resource not in self.account.calendars or not cursor \
                or not cursor.get("sync_token"):
            return None
        low, high = self.window()
        expected = self._list_keys(resource, singleEvents=True, timeMin=utc_iso(low),
                                   timeMax=utc_iso(high))
        present = self._list_keys(resource, singleEvents=False)
        return Inventory(expected=frozenset(expected), present=frozenset(present | expected),
                         key_of=series_key_parser(resource))

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Events behind series or event ids (events.get, then events.instances in
        today's window for a series), as a full listing delivers them; cursor ``None``."""
        low, high = self.window()
        events = self.service.events()
        for key in sorted(keys):
            try:
                found = self.caller.call(events.get(calendarId=resource, eventId=key),
                                         LIST_COST, passthrough={404, 410})
            except HttpError as exc:
                if exc.resp.status in (404, 410):
                    continue  # gone since listed: nothing to store
                raise refused(exc, self.caller.what) from None
            if not found.get("recurrence"):
                page = self._page(resource, [found])
            else:
                page = self._page(resource, self._instances(resource, key, low, high))
            if page.items or page.quarantined:
                yield page

    def _instances(self, calendar: str, series: str, low: datetime, high: datetime
                   ) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        page_token: str | None = None
        while True:
            request = self.service.events().instances(
                calendarId=calendar, eventId=series, showDeleted=True, timeMin=utc_iso(low),
                timeMax=utc_iso(high), maxResults=self.account.page_size, pageToken=page_token)
            response = self.caller.call(request, LIST_COST)
            out.extend(response.get("items") or [])
            page_token = response.get("nextPageToken")
            if not page_token:
                return out

    def _list_keys(self, calendar: str, **params: Any) -> set[str]:
        """Series ids (``recurringEventId``, else ``id``) of not-cancelled events."""
        out: set[str] = set()
        page_token: str | None = None
        events = self.service.events()
        while True:
            request = events.list(calendarId=calendar, showDeleted=False,
                                  maxResults=INVENTORY_PAGE, pageToken=page_token,
                                  fields="nextPageToken,items(id,recurringEventId)", **params)
            response = self.caller.call(request, LIST_COST)
            for item in response.get("items") or []:
                key = item.get("recurringEventId") or item.get("id")
                if key:
                    out.add(str(key))
            page_token = response.get("nextPageToken")
            if not page_token:
                return out

    def _page(self, calendar: str, resources: list[Mapping[str, Any]]) -> Page:
        page = Page(resource=calendar)
        for resource in resources:
            record = to_record(resource, calendar=calendar)
            if isinstance(record, Quarantined):
                page.quarantined.append(record)
                continue
            if isinstance(record, Event):
                record = clamp_event(record, self.context.privacy)
            page.items.append(record)
        return page


def series_key_parser(calendar: str) -> Callable[[str], str | None]:
    """Stored provider id (``<calendar>/<event id>``) -> its series or event id."""
    prefix = f"{calendar}/"

    def key_of(provider_id: str) -> str | None:
        if not provider_id.startswith(prefix):
            return None
        event_id = provider_id[len(prefix):]
        if "#" in event_id:  # derived from an event, never listed itself
            return None
        instance = _INSTANCE_ID.fullmatch(event_id)
        return instance.group(1) if instance else event_id or None

    return key_of

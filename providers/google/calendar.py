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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from googleapiclient.errors import HttpError

from providers.base import Cursor, Event, Page, Provider, ProviderContext, Quarantined
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

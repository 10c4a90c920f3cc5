"""The CalDAV provider: calendars of one principal, synced by RFC 6578 tokens.

Resources are calendar URLs (absolute). Per calendar, one pass is:

initial (no cursor)
    1. read the calendar's sync token (PROPFIND DAV:sync-token);
    2. list the objects with an instance in the window (calendar-query with
       a time-range, hrefs only), fetch them in chunks (calendar-multiget)
       and expand them locally with :func:`providers.ical.parse_calendar`;
    3. last page carries ``{token, window, seen}`` (see :mod:`.cursor`).
    The token is read *before* the listing, so a change racing it is
    reported again by the next incremental pass (upserts dedupe).

incremental (cursor)
    1. sync-collection REPORT with the stored token → changed and deleted
       hrefs (a refused token → :class:`CursorExpired`, deliberately: the
       engine clears the cursor and calls again for a full resync; the
       client's silent full-listing fallback is never used);
    2. deleted hrefs → ``Deletion(href)``;
    3. changed hrefs → calendar-multiget in chunks → events; instances that
       vanished from a changed series → ``Deletion(<instance provider id>)``;
       a meeting moved out of the window is still reported, with its new
       time (see :mod:`.objects`);
    4. if the window moved (it is whole UTC days, so at most once a day, or
       when ``past_days``/``future_days`` change), the newly uncovered slices
       are listed with calendar-query and their objects re-expanded over the
       whole window: that is how next month's instances of a weekly series
       appear without the series itself changing. Re-reported instances are
       harmless (the store upserts).
    Nothing changed and the window did not move → no page at all.

Provider ids (documented for the store)
    ``<href>#<uid>`` for a non-recurring event, ``<href>#<uid>#<recurrence-id>``
    for an instance (the scheme of :mod:`providers.ical`, prefix = the
    object's href path). ``Deletion(provider_id=<href>)`` means the whole
    object is gone: every provider id equal to ``<href>`` or starting with
    ``<href>#``; it is followed by a Deletion for each provider id the cursor
    knows was reported for the object (the store matches ids exactly). A
    Deletion naming an instance id means that instance only.

Reported as cancelled, not lost: STATUS:CANCELLED events and overrides (by
the parser) and instances removed by EXDATE (:mod:`.exdates`). A meeting
cancelled by its organizer arrives as an update of the same object with
STATUS:CANCELLED and a higher SEQUENCE.

An object the parser cannot read becomes a ``Quarantined`` entry and the
pass goes on. ``privacy: metadata`` drops titles and locations.

Memory: the window's objects are listed by href (calendar-query without
data), then fetched ``multiget_size`` at a time (calendar-multiget), as are
incremental changes. Pages hold at most ``page_size`` items; only the
last page of a calendar carries its cursor (the ``seen`` map is complete only
then), so a crash mid-calendar redoes that calendar from the stored cursor.
A calendar deleted on the server (no longer discovered, and its URL answers
404/410) is reported once: a deletion of every object its cursor knows (the
events in the sync window), then a ``{"v": 1, "gone": true}`` cursor. A
calendar that is only left out of ``calendars`` is not deleted and keeps its
cursor; a deleted calendar's URL used again starts over with an initial sync.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from urllib.parse import unquote, urlsplit

from providers.base import (
    Cursor,
    Event,
    Inventory,
    Item,
    Page,
    Provider,
    ProviderContext,
)
from providers.caldav.coverage import calendar_inventory
from providers.caldav.cursor import CalendarCursor, Window
from providers.caldav.dav import CalendarInfo, CalendarObject, DavSession
from providers.caldav.objects import Batch, deleted_object, normalize_object
from providers.caldav.settings import CaldavAccount
from providers.errors import ConfigError, ConfigIssue, CursorExpired
from providers.ical import clamp_event

#: cursor key of a calendar deleted on the server (its deletions were reported)
GONE = "gone"


def _path(url: str) -> str:
    return unquote(urlsplit(url).path).rstrip("/")


def select_calendars(account: CaldavAccount, found: list[CalendarInfo]) -> list[CalendarInfo]:
    """Those named in config (display name or URL/path); else the calendar the
    account's URL points at, if it names one; else all of the principal's."""
    wanted = account.calendars
    if not wanted:
        # a URL copied from a calendar app often names one collection: sync just it
        own = _path(account.url).rstrip("/")
        return [c for c in found if _path(c.url).rstrip("/") == own] or found
    chosen: list[CalendarInfo] = []
    missing: list[str] = []
    for entry in wanted:
        match = [c for c in found if (c.name or "").casefold() == entry.casefold()
                 or ("/" in entry and _path(c.url) == _path(entry))]
        if not match:
            missing.append(entry)
        chosen.extend(c for c in match if c not in chosen)
    if missing:
        names = ", ".join(sorted(c.name or _path(c.url) for c in found)) or "none"
        raise ConfigError([ConfigIssue(
            f"accounts.{account.id}.calendars",
            f"no calendar matches {', '.join(map(repr, missing))}",
            f"the principal has: {names}")])
    return chosen


class CaldavProvider(Provider):
    kind = "caldav"

    def __init__(self, account: CaldavAccount, context: ProviderContext) -> None:
        self._account = account
        self._context = context
        self._session: DavSession | None = None
        #: objects of the current calendar not yet fetched (for Page.total_hint)
        self._left = 0

    # -- Provider ----------------------------------------------------------------------

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        window = Window.around(self._context.current_time(), self._account.past_days,
                               self._account.future_days)
        found = self._dav().calendars()
        for info in self._selected(found):
            raw = cursors.get(info.url)
            if raw is None or raw.get(GONE):  # new, or a deleted calendar's URL used again
                yield from self._initial(info, window)
            else:
                yield from self._incremental(info, window, CalendarCursor.from_json(info.url, raw))
        present = {info.url for info in found}
        for url, raw in sorted(cursors.items()):
            if url not in present and not raw.get(GONE) and self._dav().calendar_gone(url):
                yield self._calendar_deleted(url, raw)

    def _calendar_deleted(self, url: str, raw: Cursor) -> Page:
        """A calendar deleted on the server: its reported objects are deletions, once."""
        try:
            cursor = CalendarCursor.from_json(url, raw)
        except CursorExpired:  # unreadable: nothing known to report
            return Page(resource=url, cursor={"v": 1, GONE: True})
        items: list[Item] = []
        for href in sorted({*cursor.seen, *cursor.singles}):
            items += deleted_object(href, cursor)
        return Page(resource=url, items=items, cursor={"v": 1, GONE: True}, total_hint=0)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- coverage (providers.base.Reconcilable) ----------------------------------------

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """Object hrefs of calendar ``resource``, no data (:mod:`.coverage`)."""
        synced = {_path(c.url) for c in self._selected(self._dav().calendars())}
        if _path(resource) not in synced:  # left out of ``calendars``, or deleted
            return None
        return calendar_inventory(self._dav(), resource, cursor, gone_key=GONE)

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Events of the objects ``keys`` (hrefs) in today's window, cursor ``None``.

        Expanded with a scratch cursor: the stored one is neither read nor moved.
        """
        window = Window.around(self._context.current_time(), self._account.past_days,
                               self._account.future_days)
        info = CalendarInfo(url=resource, name=self._calendar_name(resource))
        scratch = CalendarCursor(token="", window=window)
        batches = (self._normalize(obj, info, scratch, reported_before=False)
                   for obj in self._fetch(info, sorted(keys)))
        for page in self._paged(resource, batches, lambda: {}, always=False):
            page.cursor = None
            if page.items or page.quarantined:
                yield page

    def _calendar_name(self, url: str) -> str | None:
        """The display name the pass stores as the event's calendar."""
        for info in self._dav().calendars():
            if _path(info.url) == _path(url):
                return info.name
        return None

    # -- calendars ---------------------------------------------------------------------

    def _dav(self) -> DavSession:
        if self._session is None:
            password = self._account.password
            self._session = DavSession(
                self._account.url, self._account.username,
                password.get_secret_value() if password is not None else None,
                timeout=self._account.timeout, retries=self._account.retries,
                verify_tls=self._account.verify_tls)
        return self._session

    def _selected(self, found: list[CalendarInfo]) -> list[CalendarInfo]:
        return select_calendars(self._account, found)

    # -- passes ------------------------------------------------------------------------

    def _initial(self, info: CalendarInfo, window: Window) -> Iterator[Page]:
        dav = self._dav()
        token = dav.current_token(info.url)
        hrefs = dav.hrefs_in_range(info.url, window.start, window.end)
        cursor = CalendarCursor(token=token, window=window)
        batches = (self._normalize(obj, info, cursor, reported_before=False)
                   for obj in self._fetch(info, hrefs))
        yield from self._paged(info.url, batches, lambda: cursor.to_json(), always=True)

    def _fetch(self, info: CalendarInfo, hrefs: Sequence[str]) -> Iterator[CalendarObject]:
        """The objects behind ``hrefs``, ``multiget_size`` per REPORT (bounded memory)."""
        size = self._account.multiget_size
        for i in range(0, len(hrefs), size):
            self._left = len(hrefs) - i
            yield from self._dav().objects(info.url, hrefs[i:i + size])

    def _incremental(self, info: CalendarInfo, window: Window,
                     old: CalendarCursor) -> Iterator[Page]:
        dav = self._dav()
        changes = dav.changes_since(info.url, old.token)
        cursor = old.copy(token=changes.token, window=window)
        cursor.forget_before(window.start)
        before = old.to_json()

        def batches() -> Iterator[Batch]:
            for href in changes.deleted:
                yield deleted_object(href, cursor), []
            for obj in self._fetch(info, changes.changed):
                yield self._normalize(obj, info, cursor, reported_before=True)
            handled = set(changes.changed)
            for part in window.uncovered_by(old.window):
                hrefs = [h for h in dav.hrefs_in_range(info.url, part.start, part.end)
                         if h not in handled]
                handled.update(hrefs)
                for obj in self._fetch(info, hrefs):
                    yield self._normalize(obj, info, cursor, reported_before=False)

        yield from self._paged(info.url, batches(), lambda: cursor.to_json(), always=False,
                               unchanged=lambda: cursor.to_json() == before)

    def _paged(self, resource: str, batches: Iterable[Batch], final_cursor: Callable[[], Cursor],
               *, always: bool, unchanged: Callable[[], bool] | None = None) -> Iterator[Page]:
        """Group batches into pages of ``page_size`` items; the last page has the cursor.

        Intermediate pages carry no cursor: the ``seen`` map is complete only
        at the end, and a crash mid-calendar simply redoes it.
        """
        page = Page(resource=resource)
        self._left = 0
        for found, bad in batches:
            page.items.extend(found)
            page.quarantined.extend(bad)
            if len(page.items) >= self._account.page_size:
                page.total_hint = self._left  # objects (not events) still to fetch
                yield page
                page = Page(resource=resource)
        page.cursor = final_cursor()
        if (always or page.items or page.quarantined
                or unchanged is None or not unchanged()):
            yield page

    def _normalize(self, obj: CalendarObject, info: CalendarInfo, cursor: CalendarCursor,
                   *, reported_before: bool) -> Batch:
        return normalize_object(obj, cursor=cursor, calendar=info.name or info.url,
                                reported_before=reported_before, privatize=self._private)

    def _private(self, event: Event) -> Event:
        return clamp_event(event, self._context.privacy)

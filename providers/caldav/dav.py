"""The CalDAV wire layer: the few requests the provider needs, typed errors.

The ``caldav`` client does HTTP, authentication and principal/calendar
discovery; the REPORTs that carry data are sent here with explicit XML so
nothing happens behind our back (no silent full-listing fallback on an
expired sync token, no client-side parsing of calendar data, which must
reach :func:`providers.ical.parse_calendar` untouched so a broken object is
quarantined instead of failing the whole listing).

Error mapping (the only place it happens):

* 401 → :class:`AuthError`; a 403 that is not a sync-token refusal too.
* 403/409/412 naming ``DAV:valid-sync-token`` on a sync-collection REPORT
  → :class:`CursorExpired` for that calendar.
* connection errors, timeouts, 5xx, 429 → retried on the one policy of
  :mod:`providers.retry` (idempotent requests only, bounded, full jitter,
  Retry-After a floor; one above ten seconds ends the pass at once), then
  :class:`TransientError`.
* any other refusal → :class:`TransientError` at once: the next pass may
  fare better, an immediate retry would not.

Messages name the URL and status only: never credentials or bodies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

from caldav.davclient import DAVClient
from caldav.lib import error as dav_error

from providers.errors import AuthError, CursorExpired, TransientError
from providers.retry import DoNotRetry, RandomSource, RetryPolicy, Sleep, is_idempotent

T = TypeVar("T")

_VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"
#: longest wait inside one pass (own backoff or Retry-After); longer ones go to the engine
_MAX_INLINE_WAIT = 10.0
#: first jitter window of the own backoff, doubling per failure
_BACKOFF_BASE = 0.5
_MAX_TRUNCATED_PAGES = 1000


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar collection of the principal; ``url`` is absolute."""

    url: str
    name: str | None


@dataclass(frozen=True, slots=True)
class CalendarObject:
    """One stored iCalendar object: its path, ETag and text (``None`` if missing)."""

    href: str
    etag: str | None
    data: str | None


@dataclass(frozen=True, slots=True)
class Changes:
    """What a sync-collection REPORT said changed since a token."""

    changed: tuple[str, ...]
    deleted: tuple[str, ...]
    token: str


def utc_stamp(moment: datetime) -> str:
    """RFC 5545 UTC date-time as CalDAV time-range wants it."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


def without_userinfo(url: str) -> str:
    """``url`` minus any ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def _path(url_or_href: str) -> str:
    """The unquoted path of an absolute URL or href (how hrefs are compared)."""
    return unquote(urlsplit(url_or_href).path)


class DavSession:
    """One authenticated connection to a CalDAV server for one account."""

    def __init__(self, url: str, username: str, password: str | None, *, timeout: float,
                 retries: int, verify_tls: bool = True, sleep: Sleep = time.sleep,
                 rng: RandomSource | None = None) -> None:
        self._url = without_userinfo(url)
        self._retry = RetryPolicy(max_attempts=retries + 1, base=_BACKOFF_BASE,
                                  cap=_MAX_INLINE_WAIT, max_retry_after=_MAX_INLINE_WAIT)
        self._sleep = sleep
        self._rng = rng
        client_timeout: Any = timeout  # the client passes it to the HTTP library as is
        self._client = DAVClient(
            url=url, username=username, password=password, timeout=client_timeout,
            ssl_verify_cert=verify_tls, enable_rfc6764=False, rate_limit_handle=False)

    def close(self) -> None:
        self._client.close()

    # -- discovery -----------------------------------------------------------------

    def calendars(self) -> list[CalendarInfo]:
        """Every calendar collection of the authenticated principal."""

        def discover() -> list[CalendarInfo]:
            found = self._client.get_calendars()
            return [CalendarInfo(url=str(cal.url), name=_display_name(cal)) for cal in found]

        # PROPFINDs sent by the client: reads, so declared idempotent
        return self._call("calendar discovery", self._url, discover, idempotent=True)

    def calendar_gone(self, calendar_url: str) -> bool:
        """True if the server answers 404/410 for the calendar collection itself."""
        body = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
                "<d:prop><d:resourcetype/></d:prop></d:propfind>")

        def ask() -> bool:
            try:
                response = self._client.request(calendar_url, "PROPFIND", body, {"Depth": "0"})
            except dav_error.NotFoundError:
                return True
            if response.status >= 500:
                raise TransientError(f"PROPFIND {calendar_url}: HTTP {response.status}")
            return bool(response.status in (404, 410))

        return self._call("PROPFIND", calendar_url, ask, idempotent=True)

    # -- sync tokens -----------------------------------------------------------------

    def current_token(self, calendar_url: str) -> str:
        """The calendar's current sync token (RFC 6578 section 4, DAV:sync-token)."""
        body = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
                "<d:prop><d:sync-token/></d:prop></d:propfind>")
        response = self._request("PROPFIND", calendar_url, body, {"Depth": "0"})
        token = response.sync_token if response.status == 207 else None
        if token:
            return str(token)
        # Not offered as a property: an initial sync-collection names it too.
        return self.changes_since(calendar_url, "").token

    def changes_since(self, calendar_url: str, token: str) -> Changes:
        """Members changed and deleted since ``token`` ("" = all members).

        Follows truncated replies (RFC 6578 section 3.6) with the token each
        one returns. A refused token raises :class:`CursorExpired`.
        """
        changed: dict[str, None] = {}
        deleted: dict[str, None] = {}
        calendar_path = _path(calendar_url).rstrip("/")
        for _ in range(_MAX_TRUNCATED_PAGES):
            body = ('<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
                    f"<d:sync-token>{escape(token)}</d:sync-token>"
                    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>"
                    "</d:sync-collection>")
            try:
                response = self._request("REPORT", calendar_url, body, {"Depth": "0"})
            except dav_error.AuthorizationError:  # _translate lets only token refusals through
                raise CursorExpired(calendar_url, f"server refused the sync token of "
                                    f"{calendar_url} (valid-sync-token)") from None
            if response.status in (403, 409, 412) and _VALID_SYNC_TOKEN in _preconditions(
                    response):
                raise CursorExpired(calendar_url, f"server refused the sync token of "
                                    f"{calendar_url} (valid-sync-token)")
            self._expect_multistatus(response, "sync-collection", calendar_url)
            result = response.parse_sync_collection()
            for item in result.changed:
                if _path(item.href).rstrip("/") == calendar_path:
                    continue
                deleted.pop(item.href, None)
                changed[item.href] = None
            for href in result.deleted:
                changed.pop(href, None)
                deleted[href] = None
            new_token = result.sync_token or token
            if not result.truncated or new_token == token:
                return Changes(tuple(changed), tuple(deleted), new_token)
            token = new_token
        raise TransientError(f"sync-collection of {calendar_url} kept truncating")

    # -- calendar data ---------------------------------------------------------------

    def hrefs_in_range(self, calendar_url: str, start: datetime, end: datetime) -> list[str]:
        """Members with an event instance overlapping [start, end) (calendar-query).

        Only hrefs: the data is fetched in bounded chunks with :meth:`objects`.
        """
        body = ('<?xml version="1.0" encoding="utf-8"?>'
                '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                "<d:prop><d:getetag/></d:prop>"
                '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
                f'<c:time-range start="{utc_stamp(start)}" end="{utc_stamp(end)}"/>'
                "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>")
        response = self._request("REPORT", calendar_url, body, {"Depth": "1"})
        self._expect_multistatus(response, "calendar-query", calendar_url)
        calendar_path = _path(calendar_url).rstrip("/")
        return [r.href for r in response.parse_calendar_query()
                if r.status != 404 and _path(r.href).rstrip("/") != calendar_path]

    def event_hrefs(self, calendar_url: str) -> list[str]:
        """Every member holding a VEVENT, whatever its time (calendar-query, hrefs only).

        For coverage checks: a stored meeting whose object is not listed here is gone.
        """
        body = ('<?xml version="1.0" encoding="utf-8"?>'
                '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                "<d:prop><d:getetag/></d:prop>"
                '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/>'
                "</c:comp-filter></c:filter></c:calendar-query>")
        response = self._request("REPORT", calendar_url, body, {"Depth": "1"})
        self._expect_multistatus(response, "calendar-query", calendar_url)
        calendar_path = _path(calendar_url).rstrip("/")
        return [r.href for r in response.parse_calendar_query()
                if r.status != 404 and _path(r.href).rstrip("/") != calendar_path]

    def objects(self, calendar_url: str, hrefs: Sequence[str]) -> list[CalendarObject]:
        """The named members with their data (calendar-multiget)."""
        if not hrefs:
            return []
        refs = "".join(f"<d:href>{escape(quote(h, safe='/@:+,;=~'))}</d:href>" for h in hrefs)
        body = ('<?xml version="1.0" encoding="utf-8"?>'
                '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{refs}"
                "</c:calendar-multiget>")
        # RFC 4791 section 7.9: no Depth header on calendar-multiget
        response = self._request("REPORT", calendar_url, body, {})
        return self._objects(response, "calendar-multiget", calendar_url)

    # -- plumbing --------------------------------------------------------------------

    def _objects(self, response: Any, what: str, url: str) -> list[CalendarObject]:
        self._expect_multistatus(response, what, url)
        return [CalendarObject(href=r.href, etag=r.etag,
                               data=r.calendar_data if r.status != 404 else None)
                for r in response.parse_calendar_query()]

    def _expect_multistatus(self, response: Any, what: str, url: str) -> None:
        if response.status != 207:
            raise TransientError(f"{what} of {url} answered HTTP {response.status}")

    def _request(self, method: str, url: str, body: str, headers: dict[str, str]) -> Any:
        def send() -> Any:
            response = self._client.request(url, method, body, headers)
            if response.status >= 500:
                raise TransientError(f"{method} {url}: HTTP {response.status}")
            return response

        return self._call(method, url, send, idempotent=is_idempotent(method))

    def _call(self, what: str, url: str, action: Callable[[], T], *, idempotent: bool) -> T:
        """Run a request with the retry policy (bounded, jittered; idempotent ones only)."""
        return self._retry.call(lambda: _translate(what, url, action), idempotent=idempotent,
                                sleep=self._sleep, rng=self._rng)


def _translate(what: str, url: str, action: Callable[[], T]) -> T:
    """Turn the client's exceptions into ours: transient ones are retried."""
    try:
        return action()
    except dav_error.RateLimitError as exc:
        raise TransientError(f"{what} {url}: throttled (429/503)",
                             retry_after=exc.retry_after_seconds) from None
    except dav_error.AuthorizationError as exc:
        if _VALID_SYNC_TOKEN in exc.preconditions:
            raise  # the caller knows which calendar the token belonged to
        if exc.status == 403:
            raise AuthError(f"CalDAV server refused access to {url} (HTTP 403)") from None
        raise AuthError(f"CalDAV server rejected the credentials for {url} (HTTP 401)") from None
    except dav_error.DAVError as exc:
        if exc.status is not None and exc.status >= 500:
            raise TransientError(f"{what} {url}: HTTP {exc.status}") from None
        raise DoNotRetry(TransientError(f"{what} {url} failed: {type(exc).__name__}"
                                        + (f" (HTTP {exc.status})" if exc.status else ""))
                         ) from None
    except OSError as exc:  # niquests/requests errors derive from OSError
        raise TransientError(f"{what} {url}: network error ({type(exc).__name__})") from None


def _preconditions(response: Any) -> list[str]:
    return dav_error.parse_preconditions(getattr(response, "_raw", None))


def _display_name(calendar: Any) -> str | None:
    """The calendar's DAV:displayname, from the props the listing already fetched."""
    name = calendar.get_display_name()
    return str(name) if name else None

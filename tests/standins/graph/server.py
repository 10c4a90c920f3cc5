"""The stand-in: one local HTTP server for the identity platform and Graph.

Real wire protocol over a real socket (stdlib ``ThreadingHTTPServer`` in a
thread, HTTP/1.1 keep-alive), so the code under test runs unchanged through
msal and requests. Test controls (all thread-safe):

* seeding: :meth:`add_message`, :meth:`update_message`, :meth:`remove_message`,
  :meth:`move_message`,
  :meth:`add_event`, :meth:`remove_event`;
* delta expiry: :meth:`expire_delta` (410, or 400 ``syncStateNotFound`` /
  ``resyncRequired``, per ``expire_mode``);
* auth: :meth:`register_app`, :meth:`revoke_consent`, :meth:`approve_device_code`,
  :meth:`deny_permission` (an app without Mail.Read / Calendars.Read: 403);
* what ``syncd doctor`` reads: ``mailFolders/{f}/messages`` and ``calendarView``
  with ``$count=true`` (``@odata.count``), ``outlook/masterCategories``
  (seeded by :meth:`add_category`);
* one message by id (``messages/{id}``, ``$select``/``$expand`` as in delta),
  one event by id (``events/{id}``: a series master, single event or
  instance), and ``calendarView`` without ``$count`` as a paged listing
  (``$select``, ``$top``, ``$skip`` nextLinks), for coverage checks;
* faults on Graph requests: :meth:`throttle` (429 + Retry-After for the
  next N requests), :meth:`rate_limit` (429 beyond N requests per window),
  :meth:`inject` (a status such as 500/503, ``drop`` = close the connection
  without a reply, ``slow`` = extra delay), :attr:`latency` per request;
* observation: :attr:`requests` (mailbox, path, status), :meth:`max_in_flight`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

from tests.generate import EventSpec
from tests.standins.graph.calendarstore import CalendarStore
from tests.standins.graph.calendarstore import _parse as parse_graph_time
from tests.standins.graph.identity import Identity, Reply
from tests.standins.graph.mailstore import MailStore, _live, _project
from tests.standins.graph.mailstore import _matches as matches_filter
from tests.standins.graph.tokens import decode, encode
from tests.standins.http import HTTPStandIn

AUTHORITY_HOST = "https://login.microsoftonline.com"
TENANT = "contoso-tenant"
DEFAULT_PAGE = 10


@dataclass
class Fault:
    kind: str  # "status" | "drop" | "slow"
    remaining: int
    mailbox: str | None = None
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Seen:
    mailbox: str
    path: str
    status: int
    at: float
    query: str = ""


def _graph_error(status: int, code: str, message: str = "") -> Reply:
    body = {"error": {"code": code, "message": message or code,
                      "innerError": {"request-id": "standin", "date": "2026-11-22T00:00:00"}}}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _ok(body: dict[str, Any]) -> Reply:
    return 200, {"Content-Type": "application/json; odata.metadata=minimal"}, json.dumps(
        body).encode()


def _prefer(header: str | None) -> dict[str, str]:
    out = {}
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key:
            out[key.lower()] = value.strip().strip('"')
    return out


class GraphStandIn(HTTPStandIn):
    def __init__(self, *, authority_host: str = AUTHORITY_HOST, tenant: str = TENANT) -> None:
        self.identity = Identity(authority_host, tenant)
        self.mail = MailStore()
        self.calendars = CalendarStore()
        self.latency = 0.0
        self.expire_mode = "gone"  # gone | syncStateNotFound | resyncRequired
        self.requests: list[Seen] = []
        self._faults: list[Fault] = []
        self._rates: dict[str, tuple[int, float, float]] = {}
        self._windows: dict[str, tuple[float, int]] = {}  # mailbox -> window start, used
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        #: client id -> permissions (Mail.Read, Calendars.Read) not granted to it
        self.denied: dict[str, set[str]] = {}
        #: mailbox -> its Outlook master category names
        self.categories: dict[str, list[str]] = {}
        super().__init__()
        self._query = threading.local()  # raw query of the request this thread serves

    # ------------------------------------------------------------------ lifecycle
    def handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes; without NODELAY the
                # second waits for a delayed ACK (~40 ms) on every response
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                standin._serve(self, "GET")

            def do_POST(self) -> None:
                standin._serve(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v1.0"

    @property
    def tenant(self) -> str:
        return self.identity.tenant

    # ------------------------------------------------------------------ seeding
    def register_app(self, client_id: str, secret: str | None = None) -> None:
        self.identity.register_app(client_id, secret)

    def revoke_consent(self, client_id: str) -> None:
        self.identity.revoke_consent(client_id)

    def approve_device_code(self, user_code: str, user: str, decline: bool = False) -> None:
        self.identity.approve_device_code(user_code, user, decline)

    def deny_permission(self, client_id: str, permission: str) -> None:
        """The app lacks ``permission`` (e.g. ``Mail.Read``): its requests get 403."""
        with self._lock:
            self.denied.setdefault(client_id, set()).add(permission)

    def add_category(self, mailbox: str, name: str) -> None:
        with self._lock:
            self.categories.setdefault(mailbox.lower(), []).append(name)

    def add_message(self, mailbox: str, folder: str, raw: bytes, *,
                    categories: list[str] | None = None,
                    received: datetime | None = None) -> str:
        """Deliver RFC 5322 bytes; returns the Graph message id."""
        return self.mail.add(mailbox, folder, raw, list(categories or ()), received)

    def update_message(self, mailbox: str, message_id: str, **changes: Any) -> None:
        self.mail.update(mailbox, message_id, **changes)

    def remove_message(self, mailbox: str, message_id: str) -> None:
        self.mail.remove(mailbox, message_id)

    def move_message(self, mailbox: str, message_id: str, folder: str) -> None:
        self.mail.move(mailbox, message_id, folder)

    def message_id_of(self, mailbox: str, internet_message_id: str) -> str:
        return self.mail.find(mailbox, internet_message_id)

    def add_event(self, mailbox: str, spec: EventSpec) -> None:
        self.calendars.add(mailbox, spec)

    def remove_event(self, mailbox: str, uid: str) -> None:
        self.calendars.remove(mailbox, uid)

    def expire_delta(self, mailbox: str) -> None:
        """Every delta/skip token issued so far for the mailbox stops working."""
        self.mail.expire(mailbox)
        self.calendars.expire(mailbox)

    # ------------------------------------------------------------------ faults
    def throttle(self, count: int, *, retry_after: float = 1.0, mailbox: str | None = None
                 ) -> None:
        self.inject("status", count, status=429, retry_after=retry_after, mailbox=mailbox)

    def inject(self, kind: str, count: int = 1, *, status: int = 503,
               retry_after: float | None = None, delay: float = 0.0,
               mailbox: str | None = None) -> None:
        with self._lock:
            self._faults.append(Fault(kind, count, mailbox.lower() if mailbox else None,
                                      status, retry_after, delay))

    def rate_limit(self, mailbox: str, limit: int, per_seconds: float,
                   retry_after: float = 0.0) -> None:
        """At most ``limit`` accepted requests per ``per_seconds`` window; beyond:
        429 with a Retry-After of the time until the window ends (at least
        ``retry_after``)."""
        with self._lock:
            self._rates[mailbox.lower()] = (limit, per_seconds, retry_after)

    def max_in_flight(self, mailbox: str) -> int:
        with self._lock:
            return self._max_in_flight.get(mailbox.lower(), 0)

    def graph_requests(self, mailbox: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests
                    if s.mailbox != "(login)" and (mailbox is None or s.mailbox == mailbox)]

    # ------------------------------------------------------------------ HTTP plumbing
    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        self._query.value = unquote_plus(split.query)
        base = f"http://{handler.headers.get('Host')}"
        reply: Reply | str | None
        if path.startswith("/v1.0/"):
            reply = self._graph(handler, method, path, query, base)
        else:
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            reply = self.identity.handle(method, path, form)
            with self._lock:
                self.requests.append(Seen("(login)", path, reply[0] if reply else 404,
                                          time.monotonic()))
        if reply == "drop":
            handler.close_connection = True
            return
        if reply is None or isinstance(reply, str):
            reply = _graph_error(404, "ResourceNotFound", "unknown path")
        status, headers, payload = reply
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _graph(self, handler: BaseHTTPRequestHandler, method: str, path: str,
               query: dict[str, str], base: str) -> Reply | str:
        parts = path.strip("/").split("/")[1:]  # drop "v1.0"
        auth = handler.headers.get("Authorization") or ""
        grant = self.identity.grant_for(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None:
            return self._record("(anonymous)", path, _graph_error(
                401, "InvalidAuthenticationToken", "Access token is empty or invalid."))
        if parts[:1] == ["me"] and grant.user:
            mailbox, rest = grant.user.lower(), parts[1:]
        elif parts[:1] == ["users"] and len(parts) > 1 and (
                grant.user is None or grant.user.lower() == parts[1].lower()):
            mailbox, rest = parts[1].lower(), parts[2:]
        else:
            return self._record("(anonymous)", path, _graph_error(
                403, "ErrorAccessDenied", "Access is denied."))
        needed = ("Calendars.Read" if any(p in ("calendarView", "events") for p in parts)
                  else "Mail.Read")
        with self._lock:
            denied = needed in self.denied.get(grant.client_id, set())
        if denied:
            return self._record(mailbox, path, _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
        with self._lock:
            self._in_flight[mailbox] = self._in_flight.get(mailbox, 0) + 1
            self._max_in_flight[mailbox] = max(self._max_in_flight.get(mailbox, 0),
                                               self._in_flight[mailbox])
        started = time.monotonic()
        try:
            return self._answer(mailbox, method, path, parts, rest, query, handler, base)
        finally:
            # ``latency`` is the service time of every Graph reply: the
            # stand-in's own work counts towards it, the rest is slept
            remaining = self.latency - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
            with self._lock:
                self._in_flight[mailbox] -= 1

    def _answer(self, mailbox: str, method: str, path: str, parts: list[str], rest: list[str],
                query: dict[str, str], handler: BaseHTTPRequestHandler, base: str
                ) -> Reply | str:
        fault = self._take_fault(mailbox)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "drop":
                self._record(mailbox, path, (0, {}, b""))
                return "drop"
            else:
                headers = {"Content-Type": "application/json"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                code = "TooManyRequests" if fault.status == 429 else "ServiceUnavailable"
                _, _, payload = _graph_error(fault.status, code)
                return self._record(mailbox, path, (fault.status, headers, payload))
        limited = self._rate_limited(mailbox)
        if limited is not None:
            return self._record(mailbox, path, limited)
        reply = self._route(method, mailbox, parts[0] if parts[0] == "me" else
                            f"users/{parts[1]}", rest, query, handler.headers.get("Prefer"),
                            base)
        return self._record(mailbox, path, reply)

    def _record(self, mailbox: str, path: str, reply: Reply) -> Reply:
        query = self._query.value if hasattr(self._query, "value") else ""
        with self._lock:
            self.requests.append(Seen(mailbox, path, reply[0], time.monotonic(), query))
        return reply

    def _take_fault(self, mailbox: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.mailbox in (None, mailbox):
                    fault.remaining -= 1
                    return fault
        return None

    def _rate_limited(self, mailbox: str) -> Reply | None:
        """Fixed windows, like Exchange's request budgets: at most ``limit``
        accepted requests per window; beyond, 429 until the window ends."""
        with self._lock:
            rule = self._rates.get(mailbox)
            if rule is None:
                return None
            limit, window, retry_after = rule
            now = time.monotonic()
            start, used = self._windows.get(mailbox, (now, 0))
            if now >= start + window:
                start, used = now, 0
            if used >= limit:
                wait = max(retry_after, start + window - now)
                _, _, payload = _graph_error(429, "ApplicationThrottled",
                                             "Application is over its MailboxConcurrency limit.")
                return 429, {"Content-Type": "application/json",
                             "Retry-After": f"{wait:.3f}"}, payload
            self._windows[mailbox] = (start, used + 1)
            return None

    # ------------------------------------------------------------------ Graph routes
    def _route(self, method: str, mailbox: str, prefix: str, rest: list[str],
               query: dict[str, str], prefer_header: str | None, base: str) -> Reply:
        if method != "GET":
            return _graph_error(405, "MethodNotAllowed")
        prefer = _prefer(prefer_header)
        size = int(prefer.get("odata.maxpagesize") or DEFAULT_PAGE)
        if len(rest) == 4 and rest[0] == "mailFolders" and rest[2:] == ["messages", "delta"]:
            link = f"{base}/v1.0/{prefix}/mailFolders/{quote(rest[1])}/messages/delta"
            return self._delta(self.mail, query, size, link,
                               lambda: self.mail.start_round(mailbox, rest[1], query))
        if rest == ["calendarView", "delta"]:
            link = f"{base}/v1.0/{prefix}/calendarView/delta"
            if "$deltatoken" not in query and "$skiptoken" not in query and not (
                    query.get("startDateTime") and query.get("endDateTime")):
                return _graph_error(400, "ErrorInvalidParameter",
                                    "startDateTime and endDateTime are required")
            return self._delta(self.calendars, query, size, link,
                               lambda: self.calendars.start_round(
                                   mailbox, query.get("startDateTime", ""),
                                   query.get("endDateTime", "")))
        if len(rest) == 3 and rest[0] == "mailFolders" and rest[2] == "messages":
            return self._count_messages(mailbox, rest[1], query)
        if rest == ["calendarView"] and "$count" not in query:
            return self._list_events(mailbox, query, f"{base}/v1.0/{prefix}/calendarView")
        if rest == ["calendarView"]:
            return self._count_events(mailbox, query)
        if rest == ["outlook", "masterCategories"]:
            with self._lock:
                names = list(self.categories.get(mailbox, []))
            return _ok({"value": [{"id": f"cat-{i}", "displayName": n, "color": "preset0"}
                                  for i, n in enumerate(names)]})
        if len(rest) == 2 and rest[0] == "messages":  # one message by id (coverage repairs)
            with self.mail.lock:
                try:
                    rec = _live(self.mail.mailbox(mailbox), rest[1])
                except KeyError:
                    return _graph_error(404, "ErrorItemNotFound")
                return _ok(_project(rec, {"sel": query.get("$select", ""),
                                          "exp": query.get("$expand", "")}))
        if len(rest) == 2 and rest[0] == "events":
            found = self.calendars.master(mailbox, rest[1])
            if found is None:
                found = self.calendars.instance(mailbox, rest[1])
            if found is None:
                return _graph_error(404, "ErrorItemNotFound")
            select = [s for s in query.get("$select", "").split(",") if s]
            return _ok({k: v for k, v in found.items()
                        if not select or k in select or k == "id"})
        return _graph_error(404, "ResourceNotFound", "unknown Graph path")

    def _count_messages(self, mailbox: str, folder: str, query: dict[str, str]) -> Reply:
        """A folder's messages (ids only) with ``@odata.count`` when ``$count=true``."""
        try:
            with self.mail.lock:
                box = self.mail.mailbox(mailbox)
                ids = [str(r.item["id"]) for r in box.records.values()
                       if r.folder == folder.lower() and not r.removed
                       and matches_filter(query.get("$filter", ""), r.item)]
        except ValueError as exc:
            return _graph_error(400, "ErrorInvalidUrlQueryFilter", str(exc))
        return self._counted(ids, query)

    def _count_events(self, mailbox: str, query: dict[str, str]) -> Reply:
        """Instances overlapping the window (ids only), ``@odata.count`` on request."""
        if not (query.get("startDateTime") and query.get("endDateTime")):
            return _graph_error(400, "ErrorInvalidParameter",
                                "startDateTime and endDateTime are required")
        ws, we = parse_graph_time(query["startDateTime"]), parse_graph_time(query["endDateTime"])
        with self.calendars.lock:
            cal = self.calendars.calendar(mailbox)
            ids = [str(i.item["id"]) for i in cal.instances.values() if not i.removed
                   and parse_graph_time(i.item["start"]["dateTime"]) < we
                   and parse_graph_time(i.item["end"]["dateTime"]) > ws]
        return self._counted(ids, query)

    def _list_events(self, mailbox: str, query: dict[str, str], link: str) -> Reply:
        """Instances overlapping the window, by start, ``$select``-ed, ``$top`` per page."""
        if not (query.get("startDateTime") and query.get("endDateTime")):
            return _graph_error(400, "ErrorInvalidParameter",
                                "startDateTime and endDateTime are required")
        ws, we = parse_graph_time(query["startDateTime"]), parse_graph_time(query["endDateTime"])
        select = [s for s in query.get("$select", "").split(",") if s]
        with self.calendars.lock:
            cal = self.calendars.calendar(mailbox)
            items = sorted((i.item for i in cal.instances.values() if not i.removed
                            and parse_graph_time(i.item["start"]["dateTime"]) < we
                            and parse_graph_time(i.item["end"]["dateTime"]) > ws),
                           key=lambda item: (item["start"]["dateTime"], item["id"]))
            chosen = [{k: v for k, v in item.items() if not select or k in select or k == "id"}
                      for item in items]
        top, skip = int(query.get("$top") or DEFAULT_PAGE), int(query.get("$skip") or 0)
        body: dict[str, Any] = {"value": chosen[skip:skip + top]}
        if skip + top < len(chosen):
            rest = {k: v for k, v in query.items() if k != "$skip"}
            body["@odata.nextLink"] = link + "?" + "&".join(
                f"{quote(k, safe='$')}={quote(v, safe='')}"
                for k, v in {**rest, "$skip": str(skip + top)}.items())
        return _ok(body)

    @staticmethod
    def _counted(ids: list[str], query: dict[str, str]) -> Reply:
        top = int(query.get("$top") or DEFAULT_PAGE)
        body: dict[str, Any] = {"value": [{"id": i} for i in ids[:top]]}
        if query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(ids)
        return _ok(body)

    def _delta(self, store: Any, query: dict[str, str], size: int, link: str,
               start: Any) -> Reply:
        if "$skiptoken" in query or "$deltatoken" in query:
            state = decode(query.get("$skiptoken") or query.get("$deltatoken") or "")
            if state is None:
                return _graph_error(400, "BadRequest", "malformed token")
            if not store.valid(state):
                return self._expired()
            if "$deltatoken" in query:
                state = store.refresh_upto(state)
        else:
            try:
                state = start()
            except ValueError as exc:
                return _graph_error(400, "ErrorInvalidUrlQueryFilter", str(exc))
        try:
            items, next_state, delta_state = store.page(state, size)
        except ValueError as exc:
            return _graph_error(400, "ErrorInvalidUrlQueryFilter", str(exc))
        body: dict[str, Any] = {"@odata.context": "standin", "value": items}
        if next_state is not None:
            body["@odata.nextLink"] = f"{link}?$skiptoken={encode(next_state)}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={encode(delta_state)}"
        return _ok(body)

    def _expired(self) -> Reply:
        if self.expire_mode == "gone":
            return _graph_error(410, "SyncStateNotFound", "The sync state is not found.")
        return _graph_error(400, self.expire_mode, "The sync state cannot be used; resync.")

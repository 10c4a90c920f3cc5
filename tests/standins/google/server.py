"""The Google stand-in: a real HTTP server speaking Gmail v1 / Calendar v3 REST.

Serves (paths as google-api-python-client sends them with
``api_endpoint`` = ``<url>/`` for Gmail and ``<url>/calendar/v3/`` for
Calendar):

* ``GET /gmail/v1/users/{u}/profile | messages | messages/{id} | history | labels``
* ``GET /calendar/v3/calendars/{id}/events`` (``singleEvents`` true or false),
  ``events/{eventId}`` and ``events/{eventId}/instances``; every answer
  honours a partial-response ``fields`` mask (``nextPageToken,items(id)``)
* ``POST /batch/gmail/v1``, ``/batch/calendar/v3``: multipart/mixed batches of
  the calls above (at most 100 parts; each part paced and faulted alone;
  response parts echo ``Content-ID: <response-…>``)
* ``POST /token`` (OAuth grants) and ``GET /auth`` (consent, redirects at once)

Every API call needs a Bearer token from ``/token``; ``me`` is its user.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from email.message import Message as EmailMessageBase
from email.parser import BytesParser
from email.policy import compat32
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.generate import EventSpec
from tests.standins.google.calendars import CalendarData
from tests.standins.google.control import FaultPlan, QuotaMeter
from tests.standins.google.mailbox import BadQuery, Mailbox
from tests.standins.google.oauth import GrantError, OAuthServer
from tests.standins.http import HTTPStandIn

GMAIL_COST = {"profile": 1, "messages.list": 5, "messages.get": 5, "history.list": 2,
              "labels.list": 1}
CALENDAR_COST = 1
JSON = "application/json; charset=UTF-8"

Reply = tuple[int, dict[str, str], bytes]


def error(status: int, message: str, reason: str, *, headers: dict[str, str] | None = None,
          domain: str = "global") -> Reply:
    body = {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": domain, "reason": reason}]}}
    return status, {"Content-Type": JSON, **(headers or {})}, json.dumps(body).encode()


def ok(body: dict[str, Any]) -> Reply:
    return 200, {"Content-Type": JSON}, json.dumps(body).encode()


def _mask(fields: str) -> dict[str, Any]:
    """A partial-response mask (``a,b(c,d)``) as nested dicts (``{}``: the whole value)."""
    out: dict[str, Any] = {}
    stack = [out]
    name = ""
    for ch in fields + ",":
        if ch in ",()":
            if name.strip():
                stack[-1][name.strip()] = {}
            if ch == "(":
                stack.append(stack[-1][name.strip()])
            elif ch == ")":
                stack.pop()
            name = ""
        else:
            name += ch
    return out


def _apply(value: Any, mask: dict[str, Any]) -> Any:
    if not mask:
        return value
    if isinstance(value, list):
        return [_apply(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: _apply(v, mask[k]) for k, v in value.items() if k in mask}
    return value


def _masked(reply: Reply, fields: str | None) -> Reply:
    """Only the fields the request's ``fields`` parameter asked for, as Google answers."""
    status, headers, body = reply
    if not fields or status != 200:
        return reply
    return status, headers, json.dumps(_apply(json.loads(body), _mask(fields))).encode()


def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[-1] if values else default


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (_one(query, name) or "false").lower() == "true"


class GoogleStandIn(HTTPStandIn):
    """A running stand-in; use as a context manager or call start()/stop()."""

    def __init__(self, *, quota_units_per_second: float | None = None,
                 latency: tuple[float, float] = (0.0, 0.0), token_lifetime: int = 3600,
                 throttle_status: int = 429) -> None:
        self.quota = QuotaMeter(quota_units_per_second)
        self.calendar_quota = QuotaMeter(quota_units_per_second)
        self.faults = FaultPlan(latency=latency)
        self.oauth = OAuthServer(token_lifetime)
        self.throttle_status = throttle_status
        self.mailboxes: dict[str, Mailbox] = {}
        self.calendars: dict[tuple[str, str], CalendarData] = {}
        self.lock = threading.RLock()
        self.http_requests = 0
        self.unauthorized = 0  # calls answered 401
        self.batches = 0
        self.batch_parts: list[int] = []
        super().__init__()

    # -- lifecycle --------------------------------------------------------------------------

    def handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(_Handler):
            owner = standin

        return Handler

    def started(self) -> None:
        self.oauth.token_url = f"{self.url}/token"

    @property
    def gmail_endpoint(self) -> str:
        return f"{self.url}/"

    @property
    def gmail_batch(self) -> str:
        return f"{self.url}/batch/gmail/v1"

    @property
    def calendar_endpoint(self) -> str:
        return f"{self.url}/calendar/v3/"

    @property
    def calendar_batch(self) -> str:
        return f"{self.url}/batch/calendar/v3"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def auth_uri(self) -> str:
        return f"{self.url}/auth"

    # -- seeding ----------------------------------------------------------------------------

    def mailbox(self, user: str) -> Mailbox:
        user = user.lower()
        with self.lock:
            if user not in self.mailboxes:
                self.mailboxes[user] = Mailbox(user, prefix=0x18C000 + len(self.mailboxes))
                self.oauth.known_users.add(user)
            return self.mailboxes[user]

    def add_user(self, user: str) -> None:
        self.mailbox(user)

    def add_message(self, user: str, raw: bytes, labels: tuple[str, ...] | list[str] = (
            "INBOX",), internal_date: datetime | None = None) -> str:
        """Deliver ``raw`` to ``user``'s mailbox; returns its Gmail id."""
        with self.lock:
            return self.mailbox(user).add(raw, labels, internal_date)

    def delete_message(self, user: str, gmail_id: str) -> None:
        with self.lock:
            self.mailbox(user).delete(gmail_id)

    def modify_labels(self, user: str, gmail_id: str, add: tuple[str, ...] = (),
                      remove: tuple[str, ...] = ()) -> None:
        with self.lock:
            self.mailbox(user).modify(gmail_id, add, remove)

    def expire_history(self, user: str) -> None:
        with self.lock:
            self.mailbox(user).expire_history()

    def calendar(self, user: str, calendar: str = "primary") -> CalendarData:
        user = user.lower()
        cal_id = user if calendar == "primary" else calendar
        with self.lock:
            self.mailbox(user)
            key = (user, cal_id)
            if key not in self.calendars:
                self.calendars[key] = CalendarData(cal_id)
            return self.calendars[key]

    def add_event(self, user: str, calendar: str, spec: EventSpec) -> None:
        """Create or replace (by uid) a meeting in ``user``'s ``calendar``."""
        with self.lock:
            self.calendar(user, calendar).put(spec)

    def remove_event(self, user: str, calendar: str, uid: str) -> None:
        with self.lock:
            self.calendar(user, calendar).remove(uid)

    def expire_sync_tokens(self, user: str) -> None:
        with self.lock:
            for (owner, _), cal in self.calendars.items():
                if owner == user.lower():
                    cal.epoch += 1

    def revoke(self, user: str) -> None:
        """Revoke every grant of ``user``: refresh fails, access tokens die."""
        with self.lock:
            self.oauth.revoke(user)

    def add_service_account(self, client_email: str, public_key_pem: bytes) -> None:
        with self.lock:
            self.oauth.add_service_account(client_email, public_key_pem)

    def issue_refresh_token(self, user: str, client_id: str) -> str:
        with self.lock:
            self.mailbox(user)
            return self.oauth.issue_refresh_token(user, client_id)

    # -- stats ------------------------------------------------------------------------------

    def units(self, user: str, api: str = "gmail") -> float:
        meter = self.quota if api == "gmail" else self.calendar_quota
        return meter.units[(api, user.lower())]

    def throttled(self, user: str, api: str = "gmail") -> int:
        meter = self.quota if api == "gmail" else self.calendar_quota
        return meter.throttled[(api, user.lower())]

    # -- one API call (plain request or batch part) -----------------------------------------

    def call(self, method: str, target: str, headers: dict[str, str]) -> Reply:
        split = urlsplit(target)
        path, query = unquote(split.path), parse_qs(split.query, keep_blank_values=True)
        rule = self.faults.take("fail", path)
        if rule is not None:
            return error(rule.status, "Injected failure", "backendError")
        with self.lock:
            user = self.oauth.user_for(headers.get("authorization"))
        if user is None:
            with self.lock:
                self.unauthorized += 1
            return error(401, "Request had invalid authentication credentials.", "authError",
                         headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        if method != "GET":
            return error(405, "Only reads are served by the stand-in.", "badRequest")
        match = re.fullmatch(r"/gmail/v1/users/([^/]+)/(profile|messages|history|labels)"
                             r"(?:/([^/]+))?", path)
        if match:
            return self._gmail(user, match.group(1), match.group(2), match.group(3), query)
        match = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events"
                             r"(?:/([^/]+)(/instances)?)?", path)
        if match:
            calendar, event, instances = match.groups()
            if event is None:
                reply = self._calendar(user, calendar, query)
            else:
                reply = self._event(user, calendar, event, bool(instances), query)
            return _masked(reply, _one(query, "fields"))
        return error(404, f"Not found: {path}", "notFound")

    def _throttle(self, retry_after: float) -> Reply:
        reason = "rateLimitExceeded" if self.throttle_status == 429 else "userRateLimitExceeded"
        return error(self.throttle_status, "User-rate limit exceeded.", reason,
                     headers={"Retry-After": str(int(retry_after))}, domain="usageLimits")

    def _gmail(self, user: str, who: str, what: str, item: str | None,
               query: dict[str, list[str]]) -> Reply:
        if who != "me" and who.lower() != user:
            return error(403, "Delegation denied", "forbidden")
        kind = {"profile": "profile", "labels": "labels.list", "history": "history.list",
                "messages": "messages.get" if item else "messages.list"}[what]
        wait = self.quota.charge("gmail", user, GMAIL_COST[kind])
        if wait is not None:
            return self._throttle(wait)
        with self.lock:
            box = self.mailbox(user)
            if kind == "profile":
                return ok({"emailAddress": user, "messagesTotal": len(box.messages),
                           "threadsTotal": len({m.thread_id for m in box.messages.values()}),
                           "historyId": str(box.history_id)})
            if kind == "labels.list":
                return ok({"labels": [{"id": i, "name": n,
                                       "type": "user" if i.startswith("Label_") else "system"}
                                      for i, n in box.labels.items()]})
            if kind == "messages.get":
                msg = box.messages.get(item or "")
                if msg is None:
                    return error(404, "Requested entity was not found.", "notFound")
                fmt = _one(query, "format", "full") or "full"
                return ok(msg.resource(fmt, query.get("metadataHeaders", [])))
            if kind == "messages.list":
                return self._list(box, query)
            return self._history(box, query)

    def _list(self, box: Mailbox, query: dict[str, list[str]]) -> Reply:
        try:
            found = box.search(_one(query, "q", "") or "", _flag(query, "includeSpamTrash"))
        except BadQuery as exc:
            return error(400, str(exc), "invalidArgument")
        size = min(int(_one(query, "maxResults", "100") or 100), 500)
        token = _one(query, "pageToken")
        if token:
            ms, _, last = token.partition(":")
            key = (int(ms), last)
            found = [m for m in found if (m.internal_ms, m.id) < key]
        chunk = found[:size]
        body: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if chunk:
            body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in chunk]
        if len(found) > size:
            body["nextPageToken"] = f"{chunk[-1].internal_ms}:{chunk[-1].id}"
        return ok(body)

    def _history(self, box: Mailbox, query: dict[str, list[str]]) -> Reply:
        raw_start = _one(query, "startHistoryId")
        if not raw_start or not raw_start.isdigit():
            return error(400, "Missing startHistoryId", "invalidArgument")
        start = int(raw_start)
        if start < box.history_floor:
            return error(404, "Requested entity was not found.", "notFound")
        token = _one(query, "pageToken")
        if token:
            start = max(start, int(token))
        types = set()
        for t in query.get("historyTypes", []):
            types.add({"messageAdded": "messagesAdded", "messageDeleted": "messagesDeleted",
                       "labelAdded": "labelsAdded", "labelRemoved": "labelsRemoved"}[t])
        records = box.history_since(start, types)
        size = min(int(_one(query, "maxResults", "100") or 100), 500)
        body: dict[str, Any] = {"historyId": str(box.history_id)}
        if records:
            body["history"] = records[:size]
        if len(records) > size:
            body["nextPageToken"] = records[size - 1]["id"]
        return ok(body)

    def _calendar(self, user: str, calendar: str, query: dict[str, list[str]]) -> Reply:
        wait = self.calendar_quota.charge("calendar", user, CALENDAR_COST)
        if wait is not None:
            return self._throttle(wait)
        single_events = _flag(query, "singleEvents")
        if not single_events and (_one(query, "syncToken") or _one(query, "timeMin")
                                  or _one(query, "timeMax")):
            return error(400, "The stand-in lists event objects only without sync token or "
                         "time bounds", "invalid")
        with self.lock:
            cal = self.calendar(user, calendar)
            sync_token = _one(query, "syncToken")
            if not single_events:
                items = cal.objects(_flag(query, "showDeleted"))
                base_change = cal.change
            elif sync_token:
                forbidden = {"timeMin", "timeMax", "q", "orderBy", "iCalUID", "updatedMin"}
                if forbidden & set(query):
                    return error(400, "Sync token cannot be used with other filters.",
                                 "invalid")
                epoch, _, change = sync_token.partition(":")
                if epoch != str(cal.epoch):
                    return error(410, "Sync token is no longer valid, a full sync is "
                                 "required.", "fullSyncRequired", domain="calendar")
                items = cal.changes_since(int(change))
                base_change = cal.change
            else:
                low, high = _one(query, "timeMin"), _one(query, "timeMax")
                items = cal.window(datetime.fromisoformat(low) if low else None,
                                   datetime.fromisoformat(high) if high else None,
                                   _flag(query, "showDeleted"))
                base_change = cal.change
            items.sort(key=lambda e: (e.get("start", {}).get("dateTime", ""), e["id"]))
            token = _one(query, "pageToken")
            if token:
                base, _, last = token.partition("|")
                base_change = int(base)
                key = tuple(last.split("~", 1))
                items = [e for e in items
                         if (e.get("start", {}).get("dateTime", ""), e["id"]) > key]
            size = min(int(_one(query, "maxResults", "250") or 250), 2500)
            chunk = items[:size]
            body: dict[str, Any] = {"kind": "calendar#events", "items": chunk,
                                    "timeZone": "UTC"}
            if len(items) > size:
                last_item = chunk[-1]
                body["nextPageToken"] = (f"{base_change}|"
                                         f"{last_item.get('start', {}).get('dateTime', '')}"
                                         f"~{last_item['id']}")
            else:
                body["nextSyncToken"] = cal.token(base_change)
            return ok(body)

    def _event(self, user: str, calendar: str, event: str, instances: bool,
               query: dict[str, list[str]]) -> Reply:
        """events.get, or events.instances (one page: the stand-in's series are short)."""
        wait = self.calendar_quota.charge("calendar", user, CALENDAR_COST)
        if wait is not None:
            return self._throttle(wait)
        with self.lock:
            cal = self.calendar(user, calendar)
            if not instances:
                found = cal.get(event)
                if found is None:
                    return error(404, "Not Found", "notFound")
                return ok(found)
            low, high = _one(query, "timeMin"), _one(query, "timeMax")
            items = cal.instances_of(event, datetime.fromisoformat(low) if low else None,
                                     datetime.fromisoformat(high) if high else None,
                                     _flag(query, "showDeleted"))
            if items is None:
                return error(404, "Not Found", "notFound")
            return ok({"kind": "calendar#events", "items": items, "timeZone": "UTC"})

    # -- batch -----------------------------------------------------------------------------

    def batch(self, content_type: str, body: bytes) -> Reply:
        envelope = BytesParser(policy=compat32).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        if not envelope.is_multipart():
            return error(400, "Batch body must be multipart/mixed", "badRequest")
        parts = envelope.get_payload()
        assert isinstance(parts, list)
        if len(parts) > 100:
            return error(400, "Too many requests in batch (max 100)", "badRequest")
        with self.lock:
            self.batches += 1
            self.batch_parts.append(len(parts))
        boundary = "batch_" + uuid.uuid4().hex
        out: list[bytes] = []
        for part in parts:
            assert isinstance(part, EmailMessageBase)
            content_id = str(part.get("Content-ID", "<>"))
            inner = part.get_payload()
            assert isinstance(inner, str)
            method, target, headers = _parse_http(inner)
            status, reply_headers, reply_body = self.call(method, target, headers)
            head = "".join(f"{k}: {v}\r\n" for k, v in reply_headers.items())
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{content_id.strip('<>')}>\r\n\r\n"
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n{head}"
                f"Content-Length: {len(reply_body)}\r\n\r\n".encode() + reply_body + b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, b"".join(out)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 410: "Gone", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _parse_http(text: str) -> tuple[str, str, dict[str, str]]:
    lines: Iterator[str] = iter(text.replace("\r\n", "\n").split("\n"))
    method, target, _ = next(lines).split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


class _Handler(BaseHTTPRequestHandler):
    owner: GoogleStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        # per-request latency models server processing time: the call was admitted
        # (and charged against the quota) on arrival; the answer leaves after it
        delay = self.owner.faults.delay()
        if delay:
            time.sleep(delay)
        status, headers, body = reply
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _faults(self) -> bool:
        """Apply slow/drop faults; False when the connection was dropped."""
        standin = self.owner
        with standin.lock:
            standin.http_requests += 1
        path = urlsplit(self.path).path
        slow = standin.faults.take("slow", path)
        if slow is not None:
            time.sleep(slow.seconds)
        if standin.faults.take("drop", path) is not None:
            self.close_connection = True
            return False
        return True

    def do_GET(self) -> None:
        if not self._faults():
            return
        split = urlsplit(self.path)
        if split.path == "/auth":
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            with self.owner.lock:
                location = self.owner.oauth.consent(query, None)
            self._send((302, {"Location": location}, b""))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(self.owner.call("GET", self.path, headers))

    def do_POST(self) -> None:
        body = self._body()
        if not self._faults():
            return
        path = urlsplit(self.path).path
        if path == "/token":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            try:
                with self.owner.lock:
                    reply = ok(self.owner.oauth.token(form, self.headers.get("Authorization")))
            except GrantError as exc:
                reply = (exc.status, {"Content-Type": JSON}, json.dumps(
                    {"error": exc.error, "error_description": exc.description}).encode())
            self._send(reply)
            return
        if path.startswith("/batch"):
            rule = self.owner.faults.take("fail", path, explicit=True)
            if rule is not None:
                self._send(error(rule.status, "Injected failure", "backendError"))
                return
            self._send(self.owner.batch(self.headers.get("Content-Type", ""), body))
            return
        self._send(error(404, f"Not found: {path}", "notFound"))

"""The one HTTP seam to Microsoft Graph: auth header, limits, retries.

Invariants
----------
* At most ``max_concurrency`` (≤ 4, Outlook's per-mailbox limit) requests
  are in flight per mailbox *per process*: the slots are shared by every
  client of the same Graph base URL and mailbox (mail and calendar alike).
* Only GETs go through here; they are idempotent, so retrying them is safe.
* Retries are narrow and bounded, on the one policy of :mod:`providers.retry`:
  429, 500, 502, 503, 504 and network errors, at most ``max_retries`` times
  per request, waiting full jitter from ``backoff_base`` up to
  ``max_retry_after``. A ``Retry-After`` is a floor of the wait and *shared*:
  it closes the mailbox's gate so the other in-flight workers wait too
  instead of each collecting its own 429 (no retry storm). A Retry-After
  longer than ``max_retry_after`` is not slept through: the pass ends with
  :class:`TransientError` carrying it, and the scheduler comes back later.
* 401 gets one forced token refresh, then :class:`AuthError`; 403 is
  :class:`AuthError` (permission or consent withdrawn); 410 and the error
  codes ``syncStateNotFound`` / ``resyncRequired`` are
  :class:`CursorExpired`; 404 is a :class:`ConfigError` (mailbox or folder
  does not exist).
* Nothing secret is logged or put in an error: no tokens, no headers.
  Links followed (nextLink/deltaLink from a cursor) must be on the
  configured Graph origin, else the token is not sent and the resource is
  resynced (:class:`CursorExpired`) — this also covers a changed
  ``endpoints.graph``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from providers.errors import (
    AuthError,
    ConfigError,
    ConfigIssue,
    CursorExpired,
    SyncdError,
    TransientError,
)
from providers.microsoft.auth import TokenSource
from providers.microsoft.settings import GraphLimits
from providers.retry import (
    RandomSource,
    RetryEvent,
    RetryPolicy,
    Sleep,
    is_idempotent,
    parse_retry_after,
)

#: Outlook's documented limit of concurrent requests per app and mailbox
MAILBOX_CONCURRENCY = 4
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})


@dataclass
class MailboxGate:
    """Shared by every client of one mailbox: slots and a throttle pause."""

    slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAILBOX_CONCURRENCY))
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: time.monotonic() before which nobody sends (server said Retry-After)
    not_before: float = 0.0

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.not_before = max(self.not_before, time.monotonic() + seconds)

    def wait(self, sleep: Callable[[float], None]) -> None:
        while True:
            with self.lock:
                delay = self.not_before - time.monotonic()
            if delay <= 0:
                return
            sleep(delay)


_GATES: dict[str, MailboxGate] = {}
_GATES_LOCK = threading.Lock()


def mailbox_gate(base_url: str, mailbox: str) -> MailboxGate:
    key = f"{base_url.rstrip('/').lower()}|{mailbox.lower()}"
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = MailboxGate()
        return gate


T = TypeVar("T")


def _json_object(resp: requests.Response) -> dict[str, Any]:
    payload = resp.json()
    if not isinstance(payload, dict):
        raise ValueError("reply is not a JSON object")
    return payload


def _complete_body(resp: requests.Response) -> bytes:
    # reading it all here: a short body (urllib3 enforces Content-Length)
    # fails inside the retry loop, not later in the caller
    return resp.content


def _error_code(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code") or "")
    return ""


class GraphClient:
    """GET JSON from Graph for one mailbox, within its limits."""

    def __init__(self, *, base_url: str, mailbox: str, account_id: str, tokens: TokenSource,
                 limits: GraphLimits | None = None, max_concurrency: int = MAILBOX_CONCURRENCY,
                 session: requests.Session | None = None,
                 sleep: Sleep = time.sleep, rng: RandomSource | None = None,
                 gate_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}/".lower()
        self.mailbox = mailbox
        self.account_id = account_id
        self._tokens = tokens
        self._limits = limits or GraphLimits()
        limits = self._limits
        # own waits are capped like in-process Retry-After waits: both hold a pass up
        self._retry = RetryPolicy(max_attempts=limits.max_retries + 1, base=limits.backoff_base,
                                  cap=limits.max_retry_after,
                                  max_retry_after=limits.max_retry_after)
        self._own_slots = threading.BoundedSemaphore(min(max_concurrency, MAILBOX_CONCURRENCY))
        # per person, not per path: every delegated account reads "me"
        self._gate = mailbox_gate(self.base_url, gate_key or mailbox)
        self._session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng
        #: requests sent (attempts, retries included); for logs and benches
        self.requests_sent = 0

    def close(self) -> None:
        self._session.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, *, params: Mapping[str, str] | None = None,
            headers: Mapping[str, str] | None = None, resource: str = "") -> dict[str, Any]:
        """GET ``path`` (relative to the base URL, or a full next/delta link)."""
        found = self.get_optional(path, params=params, headers=headers, resource=resource,
                                  missing_ok=False)
        assert found is not None
        return found

    def get_optional(self, path: str, *, params: Mapping[str, str] | None = None,
                     headers: Mapping[str, str] | None = None, resource: str = "",
                     missing_ok: bool = True) -> dict[str, Any] | None:
        """Like :meth:`get`, but ``None`` for 404 when ``missing_ok``."""
        return self._fetch(path, params, headers, resource, missing_ok, _json_object)

    def get_body(self, path: str, *, params: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None, resource: str = "") -> bytes:
        """The raw body of a 200 reply (complete; decoding is the caller's)."""
        body = self._fetch(path, params, headers, resource, False, _complete_body)
        assert body is not None
        return body

    def _fetch(self, path: str, params: Mapping[str, str] | None,
               headers: Mapping[str, str] | None, resource: str, missing_ok: bool,
               decode: Callable[[requests.Response], T]) -> T | None:
        """One GET with the limits and retries above; ``decode`` reads a 200
        reply (a ValueError from it counts as a damaged reply: retried)."""
        url = self.url(path)
        if not url.lower().startswith(self._origin):
            # a stored link from another endpoint config (or a tampered cursor):
            # never send the token elsewhere; start that resource over instead
            raise CursorExpired(resource, f"account {self.account_id}: stored link for "
                                          f"{resource!r} is not on {self.base_url}; full resync")
        refreshed = False

        def attempt() -> T | None:
            nonlocal refreshed
            force_refresh = False
            while True:
                resp: requests.Response | None = None
                failure: Exception | None = None
                payload: T | None = None
                with self._own_slots, self._gate.slots:  # own first: never hog a shared slot
                    # checked with a slot in hand: a worker queued on the slots
                    # must not send during a pause another worker just started
                    self._gate.wait(self._sleep)
                    token = self._tokens.access_token(force_refresh=force_refresh)
                    force_refresh = False
                    sent = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                            **(headers or {})}
                    self.requests_sent += 1
                    try:
                        resp = self._session.get(url, params=params, headers=sent,
                                                 timeout=self._limits.timeout)
                        if resp.status_code == 200:
                            payload = decode(resp)
                    except (requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError, ValueError) as exc:
                        failure = exc
                if resp is None:
                    raise TransientError(f"account {self.account_id}: Graph request failed "
                                         f"({type(failure).__name__})") from failure
                if failure is None:
                    if resp.status_code == 200:
                        return payload
                    if resp.status_code == 401 and not refreshed:
                        refreshed = force_refresh = True  # once per request, not per attempt
                        continue
                    if resp.status_code == 404 and missing_ok:
                        return None
                    self._raise_final(resp, resource)
                # a RETRY_STATUSES reply, or a 200 that could not be read
                what = f"HTTP {resp.status_code}" if failure is None else "damaged HTTP 200"
                retry_after = parse_retry_after(resp.headers.get("Retry-After"), now=time.time())
                if retry_after is not None:
                    raise TransientError(f"account {self.account_id}: Graph throttled ({what}); "
                                         f"asked to wait {retry_after:.0f}s",
                                         retry_after=retry_after)
                raise TransientError(f"account {self.account_id}: Graph request failed ({what})")

        # only GETs come here
        return self._retry.call(attempt, idempotent=is_idempotent("GET"), sleep=self._sleep,
                                rng=self._rng, on_retry=self._on_retry)

    def _on_retry(self, event: RetryEvent) -> None:
        if event.error.retry_after is not None:
            self._gate.pause(event.delay)  # everyone on this mailbox waits, not only us

    def _raise_final(self, resp: requests.Response, resource: str) -> None:
        """Map a non-200, non-retryable reply to our error (or return to retry)."""
        status = resp.status_code
        if status in RETRY_STATUSES:
            return
        code = _error_code(resp)
        what = f"HTTP {status}{' ' + code if code else ''}"
        if status == 410 or code.lower() in EXPIRED_CODES:
            raise CursorExpired(resource, f"account {self.account_id}: delta state of "
                                          f"{resource!r} expired ({what}); full resync")
        if status in (401, 403):
            raise AuthError(f"account {self.account_id}: Graph refused access ({what}); "
                            "check the app's permissions and consent, or re-authenticate")
        if status == 404:
            raise ConfigError([ConfigIssue(f"accounts[{self.account_id}]",
                                           f"Graph has no {resource or 'resource'} for mailbox "
                                           f"{self.mailbox!r} ({what})",
                                           "check mailbox and folder names")])
        raise SyncdError(f"account {self.account_id}: Graph rejected the request for "
                         f"{resource or 'resource'} ({what})")

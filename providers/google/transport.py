"""One retry layer for Google API calls, single calls and batches alike.

Decision: the client library's own retries are switched off
(``execute(num_retries=0)``; batches have none) and this module is the only
place that retries, so attempts never multiply (library x ours). httplib2
may still re-send once on a connection that was closed under it (stale
keep-alive); that is a reconnect, not a retry policy.

What is retried (idempotent reads only — everything syncd sends to Google):

* HTTP 429, and 403 whose reason is ``rateLimitExceeded`` /
  ``userRateLimitExceeded``: wait at least Retry-After (the whole user's
  bucket is put on hold, see :mod:`providers.google.pacing`);
* HTTP 500, 502, 503, 504;
* network failures: refused/reset/dropped connections, timeouts.

Waits grow exponentially with full jitter, capped, and never undercut
Retry-After. After ``max_retries`` the call raises
:class:`~syncd.errors.TransientError` (with ``retry_after``). A refused
grant raises :class:`~syncd.errors.AuthError`; other HTTP errors reach the
caller unchanged (404/410 mean "cursor expired" only to the caller), which
turns what it does not handle into a typed error with :func:`refused`.

Batches: each part is paced by its own quota cost; parts answered with a
retryable error are re-sent (alone) in the next round; parts that failed
for good are returned to the caller, which quarantines or skips them.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from providers.google.pacing import TokenBucket
from syncd.errors import AuthError, SyncdError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError, socket.timeout, http.client.HTTPException, httplib2.HttpLib2Error, TransportError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 6
    base_backoff: float = 1.0
    max_backoff: float = 64.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff, never shorter than Retry-After."""
        ceiling = min(self.max_backoff, self.base_backoff * (2 ** attempt))
        jittered = random.uniform(0, ceiling)
        if retry_after is not None:
            # a little jitter on top so many workers do not return in lockstep
            return retry_after + random.uniform(0, min(1.0, self.base_backoff))
        return jittered


def error_reason(exc: HttpError) -> str | None:
    """The first ``errors[].reason`` of a Google error body, if any."""
    try:
        body = json.loads(exc.content.decode("utf-8", "replace") if isinstance(
            exc.content, bytes) else exc.content)
        reasons = [e.get("reason") for e in body["error"].get("errors", [])]
        return next((r for r in reasons if r), None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def is_throttle(exc: HttpError) -> bool:
    status = exc.resp.status
    return status == 429 or (status == 403 and error_reason(exc) in RATE_LIMIT_REASONS)


def is_retryable(exc: HttpError) -> bool:
    return exc.resp.status in RETRYABLE_STATUS or is_throttle(exc)


def auth_error(exc: RefreshError, what: str) -> AuthError | TransientError:
    """A failed token refresh: revoked/invalid grant needs a human; else transient."""
    if getattr(exc, "retryable", False):
        return TransientError(f"{what}: token endpoint temporarily failed")
    # RefreshError's text is the endpoint's error code/description, never a token
    detail = str(exc.args[0]) if exc.args else "refused"
    return AuthError(f"{what}: Google refused the credentials ({detail[:120]}); "
                     "the account needs re-authentication")


def refused(exc: HttpError, what: str) -> SyncdError:
    """A final HTTP error no caller handled, as a typed error without a traceback.

    403 (other than rate limits) means the credentials lack access (scope not
    delegated, API disabled for the user): a human must act, so AuthError.
    Anything else (400, an unexpected 404) is a plain SyncdError: the pass
    fails with the reason and the next one tries again.
    """
    reason = error_reason(exc) or "no reason given"
    if exc.resp.status == 403:
        return AuthError(f"{what}: Google denied access (HTTP 403, {reason}); check the "
                         "account's delegation/scopes")
    return SyncdError(f"{what}: Google answered HTTP {exc.resp.status} ({reason})")


class Caller:
    """Runs Google API calls for one user with pacing and one retry layer."""

    def __init__(self, bucket: TokenBucket, policy: RetryPolicy, *, what: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.bucket = bucket
        self.policy = policy
        self.what = what  # e.g. "gmail rita@ourco.example"; used in messages
        self._sleep = sleep
        self.throttled = 0  # 429 / rate-limit answers seen (for benchmarks and logs)

    def _backoff(self, attempt: int, after: float | None, throttled: bool) -> None:
        if throttled:
            self.throttled += 1
        if attempt >= self.policy.max_retries:
            return  # no attempt follows: do not sleep for nothing
        wait = self.policy.delay(attempt, after)
        if throttled:
            self.bucket.hold(wait)
        else:
            self._sleep(wait)

    def _unauthorized(self) -> AuthError:
        return AuthError(f"{self.what}: access token refused (401) after a refresh; "
                         "the account needs re-authentication")

    def call(self, request: HttpRequest, cost: float, *,
             passthrough: Collection[int] = ()) -> Any:
        """Execute one request (paced, retried).

        A final HTTP error whose status is in ``passthrough`` is raised as the
        library's HttpError for the caller to interpret (404 on history.list,
        410 on events.list); any other becomes a typed error (:func:`refused`).
        """
        last: str = ""
        after: float | None = None
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                log.info("%s: retry %d after %s", self.what, attempt, last)
            self.bucket.take(cost)
            try:
                return request.execute(num_retries=0)
            except HttpError as exc:
                if exc.resp.status == 401:
                    raise self._unauthorized() from None
                if not is_retryable(exc):
                    if exc.resp.status in passthrough:
                        raise
                    raise refused(exc, self.what) from None
                after = retry_after(exc)
                last = f"HTTP {exc.resp.status}"
                self._backoff(attempt, after, is_throttle(exc))
            except RefreshError as exc:
                raise auth_error(exc, self.what) from None
            except NETWORK_ERRORS as exc:
                after, last = None, type(exc).__name__
                self._backoff(attempt, None, False)
        raise TransientError(f"{self.what}: gave up after {self.policy.max_retries + 1} "
                             f"attempts ({last})", retry_after=after)

    def batch(self, requests: Mapping[str, tuple[HttpRequest, float]], batch_uri: str
              ) -> tuple[dict[str, Any], dict[str, HttpError]]:
        """Send ``requests`` (id -> (request, cost)) as one batch, re-sending failed parts.

        Returns (responses by id, final errors by id). Raises TransientError when
        retryable parts are still failing after ``max_retries`` rounds.
        """
        done: dict[str, Any] = {}
        failed: dict[str, HttpError] = {}
        pending = dict(requests)
        last = ""
        after: float | None = None
        for attempt in range(self.policy.max_retries + 1):
            if not pending:
                return done, failed
            if attempt:
                log.info("%s: batch round %d for %d parts after %s",
                         self.what, attempt, len(pending), last)
            retry: dict[str, HttpError] = {}

            def collect(request_id: str, response: Any, exception: HttpError | None,
                        retry: dict[str, HttpError] = retry) -> None:
                if exception is None:
                    done[request_id] = response
                elif is_retryable(exception):
                    retry[request_id] = exception
                else:
                    failed[request_id] = exception

            self.bucket.take(sum(cost for _, cost in pending.values()))
            batch = BatchHttpRequest(callback=collect, batch_uri=batch_uri)
            for request_id, (request, _) in pending.items():
                batch.add(request, request_id=request_id)
            try:
                batch.execute()
            except HttpError as exc:  # the envelope itself failed
                if exc.resp.status == 401:
                    raise self._unauthorized() from None
                if not is_retryable(exc):
                    raise refused(exc, self.what) from None
                after, last = retry_after(exc), f"HTTP {exc.resp.status} on the batch"
                self._backoff(attempt, after, is_throttle(exc))
                continue
            except RefreshError as exc:
                raise auth_error(exc, self.what) from None
            except NETWORK_ERRORS as exc:
                after, last = None, type(exc).__name__
                self._backoff(attempt, None, False)
                continue
            for request_id in [i for i in pending if i in done or i in failed]:
                del pending[request_id]
            if any(e.resp.status == 401 for e in failed.values()):
                # the library already refreshed the token and re-sent 401 parts once
                raise self._unauthorized()
            if retry:
                afters = [a for a in (retry_after(e) for e in retry.values()) if a is not None]
                after = max(afters) if afters else None
                statuses = sorted({e.resp.status for e in retry.values()})
                last = f"{len(retry)} parts answered HTTP {statuses}"
                self._backoff(attempt, after, any(is_throttle(e) for e in retry.values()))
        if not pending:
            return done, failed
        raise TransientError(f"{self.what}: {len(pending)} batch parts still failing after "
                             f"{self.policy.max_retries + 1} rounds ({last})", retry_after=after)

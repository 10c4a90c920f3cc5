"""One retry layer for Google API calls, single calls and batches alike.

Decision: the client library's own retries are switched off
(``execute(num_retries=0)``; batches have none) and this module is the only
place that retries, so attempts never multiply (library x ours). httplib2
may still re-send once on a connection that was closed under it (stale
keep-alive); that is a reconnect, not a retry policy.

What is retried (idempotent requests only, judged by their HTTP method: syncd
sends Google nothing but GETs, and a batch is retried only if all its parts are):

* HTTP 429, and 403 whose reason is ``rateLimitExceeded`` /
  ``userRateLimitExceeded``: wait at least Retry-After (the whole user's
  bucket is put on hold, see :mod:`providers.google.pacing`);
* HTTP 500, 502, 503, 504;
* network failures: refused/reset/dropped connections, timeouts.

Waits follow the one policy of :mod:`providers.retry` (full jitter between
``base_backoff`` and ``max_backoff``, Retry-After a floor); a throttle answer
also puts the user's whole quota bucket on hold for that wait. A Retry-After
beyond :data:`MAX_RETRY_AFTER` is not slept through: the pass ends and the
scheduler comes back later. After ``max_retries`` retries the call raises
:class:`~providers.errors.TransientError` (with ``retry_after``). A refused
grant raises :class:`~providers.errors.AuthError`; other HTTP errors reach the
caller unchanged (404/410 mean "cursor expired" only to the caller), which
turns what it does not handle into a typed error with :func:`refused`.

Batches: each part is paced by its own quota cost; parts answered with a
retryable error are re-sent (alone) in the next round; parts that failed
for good are returned to the caller, which quarantines or skips them.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Collection, Mapping
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from providers.errors import AuthError, SyncdError, TransientError
from providers.google.pacing import TokenBucket
from providers.google.settings import GoogleTransport
from providers.retry import DoNotRetry, RetryEvent, RetryPolicy, Sleep, is_idempotent

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError, socket.timeout, http.client.HTTPException, httplib2.HttpLib2Error, TransportError,
)


#: longest Retry-After slept through inside a pass; Google's per-user throttles ask
#: for seconds, so a longer wait (a daily quota) is the scheduler's to sit out
MAX_RETRY_AFTER = 300.0


class _Throttled(TransientError):
    """A 429 / rate-limit 403: the wait holds the user's whole quota bucket."""


def retry_policy(transport: GoogleTransport) -> RetryPolicy:
    """The retry policy configured by an account's ``transport`` section."""
    return RetryPolicy(max_attempts=transport.max_retries + 1, base=transport.base_backoff,
                       cap=transport.max_backoff, max_retry_after=MAX_RETRY_AFTER)


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
                 sleep: Sleep = time.sleep) -> None:
        self.bucket = bucket
        self.policy = policy
        self.what = what  # e.g. "gmail rita@ourco.example"; used in messages
        self._sleep = sleep
        self.throttled = 0  # 429 / rate-limit answers seen (for benchmarks and logs)

    def _on_retry(self, event: RetryEvent) -> None:
        if isinstance(event.error, _Throttled):
            self.bucket.hold(event.delay)  # every call of this user waits, not only this one

    def _retried(self, what: str, after: float | None, throttled: bool) -> TransientError:
        """The error for a retryable answer (counted when it is a throttle)."""
        if throttled:
            self.throttled += 1
            return _Throttled(f"{self.what}: {what}", retry_after=after)
        return TransientError(f"{self.what}: {what}", retry_after=after)

    def _http_failure(self, exc: HttpError, where: str,
                      passthrough: Collection[int] = ()) -> SyncdError | None:
        """A failed HTTP exchange as the error an attempt raises (None: raise ``exc``)."""
        if exc.resp.status == 401:
            return self._unauthorized()
        if not is_retryable(exc):
            if exc.resp.status in passthrough:
                return None
            return refused(exc, self.what)
        return self._retried(f"HTTP {exc.resp.status}{where}", retry_after(exc), is_throttle(exc))

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

        def attempt() -> Any:
            self.bucket.take(cost)
            try:
                return request.execute(num_retries=0)
            except HttpError as exc:
                failure = self._http_failure(exc, "", passthrough)
                if failure is None:
                    raise
                raise failure from None
            except RefreshError as exc:
                raise DoNotRetry(auth_error(exc, self.what)) from None
            except NETWORK_ERRORS as exc:
                raise self._retried(type(exc).__name__, None, False) from exc

        return self.policy.call(attempt, idempotent=is_idempotent(request.method),
                                sleep=self._sleep, on_retry=self._on_retry)

    def batch(self, requests: Mapping[str, tuple[HttpRequest, float]], batch_uri: str
              ) -> tuple[dict[str, Any], dict[str, HttpError]]:
        """Send ``requests`` (id -> (request, cost)) as one batch, re-sending failed parts.

        Returns (responses by id, final errors by id). Raises TransientError when
        retryable parts are still failing after ``max_retries`` rounds.
        """
        done: dict[str, Any] = {}
        failed: dict[str, HttpError] = {}
        pending = dict(requests)

        def round_trip() -> None:
            """One round: send what is pending; raise if retryable parts remain."""
            retry: dict[str, HttpError] = {}

            def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
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
                failure = self._http_failure(exc, " on the batch")
                assert failure is not None  # nothing passes through
                raise failure from None
            except RefreshError as exc:
                raise DoNotRetry(auth_error(exc, self.what)) from None
            except NETWORK_ERRORS as exc:
                raise self._retried(type(exc).__name__, None, False) from exc
            for request_id in [i for i in pending if i in done or i in failed]:
                del pending[request_id]
            if any(e.resp.status == 401 for e in failed.values()):
                # the library already refreshed the token and re-sent 401 parts once
                raise self._unauthorized()
            if retry:
                afters = [a for a in (retry_after(e) for e in retry.values()) if a is not None]
                statuses = sorted({e.resp.status for e in retry.values()})
                raise self._retried(f"{len(retry)} batch parts answered HTTP {statuses}",
                                    max(afters) if afters else None,
                                    any(is_throttle(e) for e in retry.values()))

        if pending:
            # the envelope is a POST; re-sending it is safe when every part is
            idempotent = all(is_idempotent(request.method) for request, _ in pending.values())
            self.policy.call(round_trip, idempotent=idempotent, sleep=self._sleep,
                             on_retry=self._on_retry)
        return done, failed

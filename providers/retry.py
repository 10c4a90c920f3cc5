"""The one retry policy: every provider's transport and the daemon's per-account backoff.

Built on ``tenacity`` (its stop/wait/retry machinery drives every loop); what
is decided here, and nowhere else:

Invariants
----------
* **Bounded attempts.** A call makes at most ``max_attempts`` attempts (the
  first try included); then it raises a :class:`TransientError` saying so,
  carrying the last ``retry_after``. Nothing sleeps after the last attempt.
* **Exponential backoff with full jitter.** Before attempt ``n + 1`` (after
  ``n`` failures in a row) the wait is drawn uniformly from
  ``[0, min(cap, base * 2 ** (n - 1))]`` (:func:`backoff_delay`): clients
  that failed together (an outage) come back spread out, not in lock-step.
  The bounds hold whatever the random source returns.
* **Retry-After is a floor**, itself capped: the wait is
  ``max(draw, min(retry_after, max_retry_after))``. Retrying sooner only earns
  another 429; the cap keeps a bogus header from parking a call for days. So
  every delay lies in ``[min(retry_after, max_retry_after), max(cap, that
  floor)]`` (the floor term only when the server sent one). Inside a call
  (:class:`RetryPolicy`) a Retry-After above ``max_retry_after`` is not slept
  through at all: the call ends at once with that error, and the scheduler
  (whose own ``max_retry_after`` is hours) comes back later.
* **Only transient errors** are retried: :class:`providers.errors.TransientError`,
  which each transport maps its retryable failures to (429/5xx, timeouts,
  connection resets). Anything else, and a transient error wrapped in
  :class:`DoNotRetry`, ends the call unchanged at once.
* **Only idempotent calls** are retried: a call site passes ``idempotent``,
  from :func:`is_idempotent` for an HTTP method (reads only: GET, HEAD,
  OPTIONS, TRACE, PROPFIND, REPORT) or declared ``True`` for an operation it
  knows to be a read (an IMAP FETCH, a batch of GETs). A non-idempotent call
  fails on its first transient error.
* **Retry-After is read in one place**: :func:`parse_retry_after` (seconds
  or an HTTP date) for transports that see the raw header.
* **Deterministic under test.** ``sleep`` and the random source ``rng`` are
  injected; nothing here reads a clock or a global random state.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import NoReturn, Protocol, TypeVar

from tenacity import DoSleep, RetryCallState, Retrying, stop_after_attempt

from providers.errors import SyncdError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: waits between attempts; ``time.sleep`` unless a test injects a fake
Sleep = Callable[[float], None]

#: methods retried without a declaration: the safe ones (RFC 9110 section 9.2.1) and
#: WebDAV's reads. PUT and DELETE are idempotent on paper, but a retried conditional
#: write turns its own success into a 412, so a call site must declare them.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "REPORT"})


class RandomSource(Protocol):
    """Where jitter comes from: ``random.Random`` or a test's stand-in."""

    def uniform(self, a: float, b: float, /) -> float: ...


_RNG: RandomSource = random.Random()


def is_idempotent(method: str) -> bool:
    """True if an HTTP request with ``method`` may be retried without a declaration."""
    return method.upper() in IDEMPOTENT_METHODS


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """An HTTP ``Retry-After`` header as seconds from ``now`` (epoch seconds).

    Delta-seconds or an HTTP date (RFC 9110 section 10.2.3); None when
    absent or unreadable, never negative. ``now`` is passed in, so the
    policy still reads no clock of its own.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_ceiling(failures: int, *, base: float, cap: float) -> float:
    """Upper end of the jitter window after ``failures`` failures in a row (0 for none)."""
    if failures <= 0:
        return 0.0
    # 2**62 already dwarfs any cap; the bound keeps the float from overflowing
    return float(min(cap, base * 2.0 ** min(failures - 1, 62)))


def backoff_delay(failures: int, *, base: float, cap: float, retry_after: float | None = None,
                  max_retry_after: float, rng: RandomSource | None = None) -> float:
    """Seconds to wait after ``failures`` failures in a row (the pure policy).

    Full jitter within :func:`backoff_ceiling`, never below the server's
    ``retry_after`` capped at ``max_retry_after``; a missing, zero, negative or
    NaN ``retry_after`` sets no floor.
    """
    ceiling = backoff_ceiling(failures, base=base, cap=cap)
    draw = min(max((rng or _RNG).uniform(0.0, ceiling), 0.0), ceiling)
    if retry_after is not None and retry_after > 0:
        draw = max(draw, min(float(retry_after), max_retry_after))
    return draw


class DoNotRetry(Exception):
    """Raised inside an attempt: end the call with ``error`` now, transient or not.

    For failures a transport maps to :class:`TransientError` for the
    scheduler's sake but that an immediate retry cannot cure (a 4xx the next
    pass may not meet, a token endpoint that said "later"). Never escapes
    :meth:`RetryPolicy.call` or :meth:`Attempts.failed`.
    """

    def __init__(self, error: SyncdError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """What a call site's ``on_retry`` hook learns before the policy sleeps."""

    error: TransientError
    #: the attempt that just failed (1-based)
    attempt: int
    #: seconds until the next attempt
    delay: float


OnRetry = Callable[[RetryEvent], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one call site retries (see the module docstring for the invariants)."""

    #: attempts in all, the first one included (≥ 1)
    max_attempts: int
    #: first jitter window in seconds; doubles per failure
    base: float
    #: largest jitter window in seconds
    cap: float
    #: longest Retry-After slept through inside the call; a longer one ends it
    max_retry_after: float

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError("base must be positive, cap and max_retry_after not negative")

    def delay(self, failures: int, retry_after: float | None = None,
              rng: RandomSource | None = None) -> float:
        """:func:`backoff_delay` with this policy's numbers."""
        return backoff_delay(failures, base=self.base, cap=self.cap, retry_after=retry_after,
                             max_retry_after=self.max_retry_after, rng=rng)

    def retries(self, error: BaseException | None) -> bool:
        """Whether ``error`` (from an idempotent call) earns another attempt."""
        if not isinstance(error, TransientError):
            return False
        return error.retry_after is None or error.retry_after <= self.max_retry_after

    def retrying(self, *, idempotent: bool, sleep: Sleep = time.sleep,
                 rng: RandomSource | None = None, on_retry: OnRetry | None = None) -> Retrying:
        """A fresh tenacity controller for one call (they hold per-call state)."""

        def retry(state: RetryCallState) -> bool:
            return idempotent and self.retries(_failure(state))

        def wait(state: RetryCallState) -> float:
            error = _failure(state)
            after = error.retry_after if isinstance(error, TransientError) else None
            return self.delay(state.attempt_number, after, rng)

        def before_sleep(state: RetryCallState) -> None:
            error = _failure(state)
            assert isinstance(error, TransientError)  # retry() let nothing else through
            event = RetryEvent(error, state.attempt_number, state.upcoming_sleep)
            log.info("retry %d/%d in %.2fs after: %s", event.attempt + 1, self.max_attempts,
                     event.delay, error.message)
            if on_retry is not None:
                on_retry(event)

        return Retrying(sleep=sleep, stop=stop_after_attempt(self.max_attempts), wait=wait,
                        retry=retry, before_sleep=before_sleep,
                        retry_error_callback=self._give_up)

    def call(self, attempt: Callable[[], T], *, idempotent: bool, sleep: Sleep = time.sleep,
             rng: RandomSource | None = None, on_retry: OnRetry | None = None) -> T:
        """Run ``attempt`` until it returns, retrying what this policy retries."""
        try:
            return self.retrying(idempotent=idempotent, sleep=sleep, rng=rng,
                                 on_retry=on_retry)(attempt)
        except DoNotRetry as exc:
            raise exc.error from exc.__cause__

    def attempts(self, *, idempotent: bool, sleep: Sleep = time.sleep,
                 rng: RandomSource | None = None, on_retry: OnRetry | None = None) -> Attempts:
        """The same policy for a loop that cannot be one function (see :class:`Attempts`)."""
        return Attempts(self.retrying(idempotent=idempotent, sleep=sleep, rng=rng,
                                      on_retry=on_retry))

    def _give_up(self, state: RetryCallState) -> NoReturn:
        error = _failure(state)
        assert isinstance(error, TransientError)  # only retried errors exhaust the attempts
        tries = "attempt" if state.attempt_number == 1 else "attempts"
        raise TransientError(f"{error.message}; gave up after {state.attempt_number} {tries}",
                             retry_after=error.retry_after) from error


class Attempts:
    """The policy driven by hand, for loops that yield between attempts.

    A generator that hands out pages cannot be wrapped in one retried call:
    it reports each failure with :meth:`failed` (which sleeps before the next
    attempt, or raises when the policy gives up) and each step forward with
    :meth:`progressed`, which starts the count afresh, so a long sync is
    bounded per stretch without progress, not in total.
    """

    def __init__(self, retrying: Retrying) -> None:
        self._retrying = retrying
        self._state = self._start()

    def _start(self) -> RetryCallState:
        self._retrying.begin()
        state = RetryCallState(self._retrying, fn=None, args=(), kwargs={})
        self._retrying.iter(state)  # the first attempt is always allowed
        return state

    def failed(self, error: BaseException) -> None:
        """The current attempt failed with ``error``: sleep before the next, or raise."""
        if isinstance(error, DoNotRetry):
            raise error.error from error.__cause__
        if not self._retrying.statistics:
            # tenacity keeps its statistics per thread, and a generator may be
            # resumed on another thread than the one that started it
            self._retrying.begin()
        state = self._state
        state.set_exception((type(error), error, error.__traceback__))
        action = self._retrying.iter(state)  # raises when the policy gives up
        assert isinstance(action, DoSleep)
        state.prepare_for_next_attempt()
        self._retrying.sleep(action)
        self._retrying.iter(state)

    def progressed(self) -> None:
        """The loop moved forward: later failures count from zero again."""
        if self._state.attempt_number > 1:
            self._state = self._start()


def _failure(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None

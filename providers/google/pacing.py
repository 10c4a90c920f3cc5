"""Per-user quota pacing: a token bucket counted in Google quota units.

Google meters each user in *quota units* (Gmail: messages.get 5,
messages.list 5, history.list 2, getProfile 1; 250 units per second per
user). We spend units from a bucket that refills at ``rate`` units/s and
holds at most ``capacity`` units (one second's worth, or the largest single
request if that is bigger, so a 50-call batch of 250 units can go out).

Invariants
----------
* ``take(n)`` returns only when ``n`` units were available and removes
  them; callers take *before* sending, so the long-run send rate never
  exceeds ``rate``.
* ``hold(seconds)`` (after a 429 / rate-limit 403) empties the bucket and
  blocks every taker until the server's Retry-After has passed: one throttle
  answer pauses all calls of that user, not just the one that got it.
* Buckets are shared per (api, user) within the process (:func:`bucket_for`)
  so two providers of the same mailbox never together exceed the rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    def __init__(self, rate: float, *, capacity: float | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._stamp = clock()
        self._hold_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def take(self, units: float) -> float:
        """Block until ``units`` are available, spend them; return seconds waited."""
        units = min(units, self.capacity)  # a call bigger than the bucket waits for a full one
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                if now >= self._hold_until and self._tokens >= units:
                    self._tokens -= units
                    return waited
                delay = max(self._hold_until - now, (units - self._tokens) / self.rate)
            delay = max(delay, 0.001)
            self._sleep(delay)
            waited += delay

    def hold(self, seconds: float) -> None:
        """The server throttled us: spend nothing for ``seconds``, start from empty."""
        with self._lock:
            now = self._clock()
            self._hold_until = max(self._hold_until, now + seconds)
            self._tokens = 0.0
            self._stamp = max(self._stamp, self._hold_until)


_BUCKETS: dict[tuple[str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(api: str, user: str, rate: float, *, largest_call: float = 0.0) -> TokenBucket:
    """The process-wide bucket of ``user`` for ``api``; its rate follows config."""
    key = (api, user.lower())
    capacity = max(rate, largest_call)
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None or bucket.rate != rate or bucket.capacity != capacity:
            bucket = TokenBucket(rate, capacity=capacity)
            _BUCKETS[key] = bucket
        return bucket

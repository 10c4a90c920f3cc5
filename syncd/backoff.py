"""Capped exponential backoff with full jitter, per account, honouring Retry-After.

After the n-th consecutive failure (n = 1, 2, …) of an account the next
attempt waits::

    delay = uniform(0, min(cap, base * 2 ** (n - 1)))      # "full jitter"
    delay = max(delay, retry_after)                          # the server asked
    delay = min(delay, max_retry_after)                      # …within reason

Full jitter spreads the retries of many accounts that failed together (a
provider outage) instead of bringing them back in lock-step. A server's
``Retry-After`` is a floor: retrying sooner only earns another 429. It is
itself capped (``max_retry_after``) so a bogus header cannot park an
account for days. A success resets the account's count.

Only transient failures reach this (see ``syncd.errors``): auth errors stop
polling, bugs mark the account failed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base: float = 30.0
    cap: float = 3600.0
    max_retry_after: float = 6 * 3600.0

    def ceiling(self, failures: int) -> float:
        """The upper bound of the jitter window after ``failures`` failures in a row."""
        if failures <= 0:
            return 0.0
        exponent = min(failures - 1, 62)  # 2**63 overflows nothing in Python, but be sane
        return float(min(self.cap, self.base * (2 ** exponent)))

    def delay(self, failures: int, *, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait before the next attempt."""
        draw = (rng or random).uniform(0.0, self.ceiling(failures))
        if retry_after is not None and retry_after > 0:
            draw = max(draw, min(float(retry_after), self.max_retry_after))
        return draw


class Backoff:
    """Consecutive-failure counts per account; thread-safe."""

    def __init__(self, policy: BackoffPolicy | None = None, *,
                 rng: random.Random | None = None) -> None:
        self.policy = policy or BackoffPolicy()
        self._rng = rng or random.Random()
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def failed(self, key: str, *, retry_after: float | None = None) -> float:
        """Record a transient failure of ``key``; return the delay before its next try."""
        with self._lock:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            return self.policy.delay(failures, retry_after=retry_after, rng=self._rng)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        with self._lock:
            return self._failures.get(key, 0)

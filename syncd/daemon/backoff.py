"""Per-account backoff of the scheduler, on the one policy of :mod:`providers.retry`.

After the n-th consecutive transient failure (n = 1, 2, …) of an account its
next pass waits :func:`providers.retry.backoff_delay`: drawn uniformly from
``[0, min(cap, base * 2 ** (n - 1))]`` (full jitter, so accounts that failed
together in an outage come back spread out), never less than the server's
``Retry-After``, which is itself capped at ``max_retry_after`` so a bogus
header cannot park an account for days. A success resets the account's count.

Only transient failures reach this (see ``syncd.errors``): auth errors stop
polling, bugs mark the account failed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from providers.retry import RandomSource, backoff_ceiling, backoff_delay


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    #: ``scheduler.backoff_base``: the first jitter window, doubling per failure
    base: float = 30.0
    #: ``scheduler.backoff_max``: the largest jitter window
    cap: float = 3600.0
    #: the longest Retry-After honoured; a longer one waits this long
    max_retry_after: float = 6 * 3600.0

    def ceiling(self, failures: int) -> float:
        """The upper bound of the jitter window after ``failures`` failures in a row."""
        return backoff_ceiling(failures, base=self.base, cap=self.cap)

    def delay(self, failures: int, *, retry_after: float | None = None,
              rng: RandomSource | None = None) -> float:
        """Seconds to wait before the next attempt."""
        return backoff_delay(failures, base=self.base, cap=self.cap, retry_after=retry_after,
                             max_retry_after=self.max_retry_after, rng=rng)


class Backoff:
    """Consecutive-failure counts per account; thread-safe."""

    def __init__(self, policy: BackoffPolicy | None = None, *,
                 rng: RandomSource | None = None) -> None:
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

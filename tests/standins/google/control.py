"""Quota enforcement and fault injection of the stand-in.

Quota: one bucket per (api, user) holding at most one second of units and
refilling at ``units_per_second``; a call that finds too few units is
answered 429 (or 403 ``userRateLimitExceeded`` if so configured) with
``Retry-After`` in whole seconds, and costs nothing.

Faults are rules consumed in order: ``fail`` answers a *call* (a plain
request or one part of a batch) with an HTTP status; ``drop`` closes the
connection without answering; ``slow`` delays the answer. Each rule fires
``times`` times, optionally only for paths containing ``path``; a ``fail``
rule for ``"/batch"`` fails a whole batch request instead of its parts.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field


class QuotaMeter:
    def __init__(self, units_per_second: float | None) -> None:
        self.rate = units_per_second
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.units: dict[tuple[str, str], float] = defaultdict(float)
        self.throttled: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[tuple[str, str]] = Counter()

    def charge(self, api: str, user: str, cost: float) -> float | None:
        """Spend ``cost``; None when allowed, else seconds to wait (Retry-After)."""
        key = (api, user)
        with self._lock:
            self.calls[key] += 1
            if self.rate is None:
                self.units[key] += cost
                return None
            now = time.monotonic()
            level, stamp = self._buckets.get(key, (self.rate, now))
            level = min(self.rate, level + (now - stamp) * self.rate)
            if level + 1e-9 >= cost:
                self._buckets[key] = (level - cost, now)
                self.units[key] += cost
                return None
            self._buckets[key] = (level, now)
            self.throttled[key] += 1
            return max(1.0, math.ceil((cost - level) / self.rate))


@dataclass
class Rule:
    kind: str  # "fail" | "drop" | "slow"
    times: int
    path: str | None = None
    status: int = 500
    seconds: float = 0.0


@dataclass
class FaultPlan:
    rules: list[Rule] = field(default_factory=list)
    latency: tuple[float, float] = (0.0, 0.0)
    fired: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=lambda: random.Random(7))

    def fail(self, status: int, times: int = 1, path: str | None = None) -> None:
        with self._lock:
            self.rules.append(Rule("fail", times, path, status=status))

    def drop(self, times: int = 1, path: str | None = None) -> None:
        with self._lock:
            self.rules.append(Rule("drop", times, path))

    def slow(self, seconds: float, times: int = 1, path: str | None = None) -> None:
        with self._lock:
            self.rules.append(Rule("slow", times, path, seconds=seconds))

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def take(self, kind: str, path: str, *, explicit: bool = False) -> Rule | None:
        """Consume the first live rule of ``kind`` for ``path``.

        ``explicit``: only rules naming a path match (a batch envelope is failed
        only by a rule for ``"/batch"``; rules without a path hit calls).
        """
        with self._lock:
            for rule in self.rules:
                if rule.kind != kind or rule.times <= 0:
                    continue
                if (rule.path is None and not explicit) or (rule.path and rule.path in path):
                    rule.times -= 1
                    self.fired[kind] += 1
                    return rule
        return None

    def delay(self) -> float:
        low, high = self.latency
        with self._lock:
            return self._random.uniform(low, high) if high > 0 else 0.0

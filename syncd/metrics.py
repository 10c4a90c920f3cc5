"""Prometheus metrics in the text exposition format (0.0.4), without a client library.

Three kinds, each a family of series keyed by label values:

* :class:`Counter` — only goes up (``inc``); rendered with ``_total``.
* :class:`Gauge` — set to the current value; may also be computed at
  scrape time from a callback (``Gauge(..., collect=fn)``).
* :class:`Histogram` — cumulative ``_bucket{le=…}``, ``_sum``, ``_count``.

A :class:`Registry` renders every family in registration order. Updates
take one lock per family, so worker threads can record while ``/metrics``
is scraped. Label values are escaped (backslash, quote, newline) as the
format requires.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

LabelValues = tuple[str, ...]

DEFAULT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Family:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return [f"# HELP {self.name} {text}", f"# TYPE {self.name} {self.kind}"]

    def render(self) -> list[str]:
        raise NotImplementedError


class Counter(_Family):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name.removesuffix("_total"), help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, /, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}_total{_labels(self.label_names, k)} {format_value(v)}"
                for k, v in items]


class Gauge(_Family):
    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), *,
                 collect: Callable[[], Iterable[tuple[dict[str, str], float]]] | None = None,
                 ) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}
        self._collect = collect

    def set(self, value: float, /, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def remove(self, **labels: str) -> None:
        with self._lock:
            self._values.pop(self._key(labels), None)

    def value(self, **labels: str) -> float | None:
        with self._lock:
            return self._values.get(self._key(labels))

    def render(self) -> list[str]:
        if self._collect is not None:
            items = sorted((self._key(labels), float(v)) for labels, v in self._collect())
        else:
            with self._lock:
                items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {format_value(v)}" for k, v in items]


class Histogram(_Family):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), *,
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(float(b) for b in buckets))
        # per series: counts per bucket (non-cumulative), sum, count
        self._series: dict[LabelValues, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, /, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            index = len(self.buckets)
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    index = i
                    break
            counts[index] += 1
            total[0] += value

    def count(self, **labels: str) -> int:
        with self._lock:
            series = self._series.get(self._key(labels))
            return sum(series[0]) if series else 0

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), t[0])) for k, (c, t) in self._series.items())
        out: list[str] = []
        for key, (counts, total) in items:
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = 'le="' + format_value(bound) + '"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {format_value(total)}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {running}")
        return out


F = TypeVar("F", bound=_Family)


class Registry:
    """An ordered set of metric families rendered together."""

    def __init__(self) -> None:
        self._families: list[_Family] = []

    def register(self, family: F) -> F:
        if any(f.name == family.name for f in self._families):
            raise ValueError(f"metric {family.name} registered twice")
        self._families.append(family)
        return family

    def render(self) -> str:
        lines: list[str] = []
        for family in self._families:
            lines.extend(family.header())
            lines.extend(family.render())
        return "\n".join(lines) + "\n"


class SyncMetrics:
    """The daemon's metric families (names are part of the operations contract)."""

    def __init__(self, *, account_gauges: Callable[[], Iterable[tuple[dict[str, str], float]]]
                 | None = None,
                 lag_gauges: Callable[[], Iterable[tuple[dict[str, str], float]]] | None = None,
                 ) -> None:
        self.registry = Registry()
        r = self.registry
        self.passes = r.register(Counter(
            "syncd_passes_total", "Sync passes finished, by account and outcome "
            "(ok, transient, auth, store, failed, skipped, stopped).",
            ("account", "provider", "outcome")))
        self.items = r.register(Counter(
            "syncd_items_total", "Messages and events processed by sync passes.",
            ("account", "provider")))
        self.errors = r.register(Counter(
            "syncd_errors_total", "Failed passes by error class (syncd.errors code).",
            ("account", "provider", "class")))
        self.quarantined = r.register(Counter(
            "syncd_quarantined_total", "Items quarantined as unreadable.",
            ("account", "provider")))
        self.duration = r.register(Histogram(
            "syncd_pass_duration_seconds", "Wall time of sync passes.", ("provider",)))
        self.schedule_lag = r.register(Histogram(
            "syncd_schedule_lag_seconds", "Delay between a pass's scheduled time and its start "
            "(worker pool saturation).", (),
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300)))
        self.lag = r.register(Gauge(
            "syncd_account_lag_seconds", "Seconds since the account last made progress "
            "(successful pass or committed page).", ("account", "provider"), collect=lag_gauges))
        self.state = r.register(Gauge(
            "syncd_account_state", "1 for the account's current state.",
            ("account", "provider", "state"), collect=account_gauges))
        self.store_up = r.register(Gauge(
            "syncd_store_up", "1 when the last store probe succeeded."))
        self.leases = r.register(Gauge(
            "syncd_leases_held", "Accounts this replica holds a lease on."))
        self.up = r.register(Gauge("syncd_up", "1 while the scheduler runs."))

    def render(self) -> str:
        return self.registry.render()

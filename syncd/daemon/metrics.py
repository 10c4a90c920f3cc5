"""The daemon's Prometheus metrics, kept with ``prometheus_client``.

The families below are an operations contract: dashboards and alerts use
their names, types and labels, so none of them changes lightly.

=============================  =========  ==================================
family                         type       labels
=============================  =========  ==================================
syncd_passes_total             counter    account, provider, outcome
syncd_items_total              counter    account, provider
syncd_errors_total             counter    account, provider, class
syncd_quarantined_total        counter    account, provider
syncd_deleted_total            counter    account, provider
syncd_restored_total           counter    account, provider
syncd_coverage_missing_total   counter    account, provider
syncd_coverage_repaired_total  counter    account, provider
syncd_pass_duration_seconds    histogram  provider
syncd_schedule_lag_seconds     histogram  (none)
syncd_account_lag_seconds      gauge      account, provider (at scrape)
syncd_account_state            gauge      account, provider, state (at scrape)
syncd_store_up                 gauge      (none)
syncd_leases_held              gauge      (none)
syncd_up                       gauge      (none)
syncd_webhook_deliveries_total counter    subscription, outcome
syncd_webhook_lag_events       gauge      subscription (at scrape)
syncd_webhook_lag_seconds      gauge      subscription (at scrape)
=============================  =========  ==================================

Invariants:

* Each :class:`SyncMetrics` has its own ``CollectorRegistry``: several
  daemons in one process (tests) never share counts, and the library's
  process-wide default registry stays untouched.
* The per-account and per-subscription gauges are computed from callbacks at scrape time,
  so an account that was unscheduled disappears from them at once.
* Families render in the order of the table (label names within a series
  sorted, as prometheus_client writes them). Its metric objects are
  thread-safe: worker threads record while ``/metrics`` is scraped.
* No ``*_created`` series (see below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

#: what a scrape-time gauge callback yields: (label name -> value, sample value)
Samples = Callable[[], Iterable[tuple[Mapping[str, str], float]]]

#: ``generate_latest``'s content type (the text exposition format)
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                    600.0)
SCHEDULE_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)

# Counters and histograms would each grow a ``*_created`` series (a process-wide
# switch): keep the exposition to the series dashboards already use.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


class ScrapeGauge:
    """A gauge family whose samples a callback computes at every scrape."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str],
                 samples: Samples | None) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self._samples = samples

    def describe(self) -> Iterable[Metric]:
        # lets the registry check names without calling the callback at registration
        return [GaugeMetricFamily(self.name, self.documentation, labels=self.labels)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in self._samples() if self._samples is not None else ():
            family.add_metric([labels[n] for n in self.labels], float(value))
        return [family]


class SyncMetrics:
    """The daemon's metric families in their own registry (names: see the module table)."""

    def __init__(self, *, account_gauges: Samples | None = None,
                 lag_gauges: Samples | None = None,
                 registry: CollectorRegistry | None = None,
                 webhook_lag_events: Samples | None = None,
                 webhook_lag_seconds: Samples | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.passes = Counter(
            "syncd_passes_total", "Sync passes finished, by account and outcome "
            "(ok, transient, auth, store, failed, skipped, stopped).",
            ("account", "provider", "outcome"), registry=r)
        self.items = Counter(
            "syncd_items_total", "Messages and events processed by sync passes.",
            ("account", "provider"), registry=r)
        self.errors = Counter(
            "syncd_errors_total", "Failed passes by error class (syncd.errors code).",
            ("account", "provider", "class"), registry=r)
        self.quarantined = Counter(
            "syncd_quarantined_total", "Items quarantined as unreadable.",
            ("account", "provider"), registry=r)
        self.deleted = Counter(
            "syncd_deleted_total", "Copies of messages and events that sync passes found "
            "deleted.", ("account", "provider"), registry=r)
        self.restored = Counter(
            "syncd_restored_total", "Copies found again by sync passes after being deleted.",
            ("account", "provider"), registry=r)
        self.coverage_missing = Counter(
            "syncd_coverage_missing_total", "Items coverage checks found out of step: missing "
            "from the store or vanished from the server.", ("account", "provider"), registry=r)
        self.coverage_repaired = Counter(
            "syncd_coverage_repaired_total", "Items coverage checks repaired (fetched and "
            "stored, or marked deleted).", ("account", "provider"), registry=r)
        self.duration = Histogram(
            "syncd_pass_duration_seconds", "Wall time of sync passes.", ("provider",),
            buckets=DURATION_BUCKETS, registry=r)
        self.schedule_lag = Histogram(
            "syncd_schedule_lag_seconds", "Delay between a pass's scheduled time and its start "
            "(worker pool saturation).", buckets=SCHEDULE_LAG_BUCKETS, registry=r)
        self.lag = ScrapeGauge(
            "syncd_account_lag_seconds", "Seconds since the account last made progress "
            "(successful pass or committed page).", ("account", "provider"), lag_gauges)
        r.register(self.lag)
        self.state = ScrapeGauge(
            "syncd_account_state", "1 for the account's current state.",
            ("account", "provider", "state"), account_gauges)
        r.register(self.state)
        self.store_up = Gauge(
            "syncd_store_up", "1 when the last store probe succeeded.", registry=r)
        self.leases = Gauge(
            "syncd_leases_held", "Accounts this replica holds a lease on.", registry=r)
        self.up = Gauge("syncd_up", "1 while the scheduler runs.", registry=r)
        self.webhook_deliveries = Counter(
            "syncd_webhook_deliveries_total", "Webhook batches by outcome (delivered: 2xx; "
            "failed: retried later; gone: 410, disabled; filtered: no matching event).",
            ("subscription", "outcome"), registry=r)
        self.webhook_lag = ScrapeGauge(
            "syncd_webhook_lag_events", "Feed events not yet delivered to the subscription "
            "(on the replica delivering it).", ("subscription",), webhook_lag_events)
        r.register(self.webhook_lag)
        self.webhook_lag_seconds = ScrapeGauge(
            "syncd_webhook_lag_seconds", "Age of the subscription's oldest undelivered event "
            "(0 when caught up).", ("subscription",), webhook_lag_seconds)
        r.register(self.webhook_lag_seconds)

    def exposition(self) -> bytes:
        """Every family in the text exposition format (serve with :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)

    def render(self) -> str:
        return self.exposition().decode("utf-8")

"""The daemon's metric families in the Prometheus text exposition (prometheus_client)."""

from __future__ import annotations

import re

import pytest

from syncd.daemon.metrics import SyncMetrics
from tests.syncd.daemon.exposition import has_sample

# one sample line of the text format: name{labels} value
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})?'
                    r" (-?[0-9.e+]+|NaN|\+Inf|-Inf)$")


def assert_valid_exposition(text: str) -> None:
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        assert SAMPLE.match(line), line


def test_counter_gauge_histogram_render_in_the_text_format() -> None:
    metrics = SyncMetrics(lag_gauges=lambda: [({"account": "b", "provider": "imap"}, 1.5)])
    metrics.passes.labels('we"ird\\\nname', "imap", "ok").inc()
    metrics.passes.labels("b", "imap", "transient").inc(2)
    for value in (0.05, 0.5, 5, 50):
        metrics.duration.labels("imap").observe(value)
    text = metrics.render()
    assert_valid_exposition(text)
    assert "# TYPE syncd_passes_total counter" in text
    assert 'account="we\\"ird\\\\\\nname"' in text  # quote, backslash, newline escaped
    assert has_sample(text, 'syncd_passes_total{account="we\\"ird\\\\\\nname",provider="imap",'
                            'outcome="ok"} 1')
    assert has_sample(text, 'syncd_passes_total{account="b",provider="imap",outcome="transient"} 2')
    assert has_sample(text, 'syncd_account_lag_seconds{account="b",provider="imap"} 1.5')
    assert has_sample(text, 'syncd_pass_duration_seconds_bucket{provider="imap",le="0.05"} 1')
    assert has_sample(text, 'syncd_pass_duration_seconds_bucket{provider="imap",le="0.5"} 2')
    assert has_sample(text, 'syncd_pass_duration_seconds_bucket{provider="imap",le="5.0"} 3')
    assert has_sample(text, 'syncd_pass_duration_seconds_bucket{provider="imap",le="60.0"} 4')
    assert has_sample(text, 'syncd_pass_duration_seconds_bucket{provider="imap",le="+Inf"} 4')
    assert has_sample(text, 'syncd_pass_duration_seconds_count{provider="imap"} 4')
    assert has_sample(text, 'syncd_pass_duration_seconds_sum{provider="imap"} 55.55')


def test_misuse_is_refused() -> None:
    metrics = SyncMetrics()
    with pytest.raises(ValueError):
        metrics.passes.labels("a", "imap", "ok").inc(-1)
    with pytest.raises(ValueError):
        metrics.passes.labels(account="a")
    with pytest.raises(ValueError):  # one registry holds each family once
        SyncMetrics(registry=metrics.registry)


def test_each_daemon_has_its_own_registry() -> None:
    first, second = SyncMetrics(), SyncMetrics()
    first.passes.labels("a", "imap", "ok").inc()
    assert has_sample(first.render(), 'syncd_passes_total{account="a",provider="imap",'
                                      'outcome="ok"} 1')
    assert "syncd_passes_total{" not in second.render()


def test_sync_metrics_families_are_all_exposed() -> None:
    metrics = SyncMetrics(lag_gauges=lambda: [({"account": "a", "provider": "imap"}, 12.0)],
                          account_gauges=lambda: [
                              ({"account": "a", "provider": "imap", "state": "idle"}, 1.0)])
    metrics.passes.labels(account="a", provider="imap", outcome="ok").inc()
    metrics.errors.labels(account="a", provider="imap", **{"class": "transient"}).inc()
    text = metrics.render()
    assert_valid_exposition(text)
    kinds = {"syncd_passes_total": "counter", "syncd_items_total": "counter",
             "syncd_errors_total": "counter", "syncd_quarantined_total": "counter",
             "syncd_deleted_total": "counter", "syncd_restored_total": "counter",
             "syncd_pass_duration_seconds": "histogram",
             "syncd_schedule_lag_seconds": "histogram",
             "syncd_account_lag_seconds": "gauge", "syncd_account_state": "gauge",
             "syncd_store_up": "gauge", "syncd_leases_held": "gauge", "syncd_up": "gauge"}
    for name, kind in kinds.items():
        assert f"# TYPE {name} {kind}\n" in text, name
    assert "_created" not in text  # no series beyond the ones dashboards use
    assert has_sample(text, 'syncd_errors_total{account="a",provider="imap",class="transient"} 1')
    assert has_sample(text, 'syncd_account_lag_seconds{account="a",provider="imap"} 12')
    assert has_sample(text, 'syncd_account_state{account="a",provider="imap",state="idle"} 1')

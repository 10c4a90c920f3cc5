"""Prometheus text exposition: format details, and the daemon's families."""

from __future__ import annotations

import re

import pytest

from syncd.metrics import Counter, Gauge, Histogram, Registry, SyncMetrics

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
    registry = Registry()
    passes = registry.register(Counter("x_passes_total", "Passes.", ("account", "outcome")))
    lag = registry.register(Gauge("x_lag_seconds", "Lag.", ("account",)))
    duration = registry.register(Histogram("x_duration_seconds", "Time.", ("provider",),
                                           buckets=(0.1, 1, 10)))
    passes.inc(account='we"ird\\\nname', outcome="ok")
    passes.inc(2, account="b", outcome="transient")
    lag.set(1.5, account="b")
    for value in (0.05, 0.5, 5, 50):
        duration.observe(value, provider="imap")
    text = registry.render()
    assert_valid_exposition(text)
    assert "# TYPE x_passes counter" in text
    assert 'x_passes_total{account="we\\"ird\\\\\\nname",outcome="ok"} 1' in text
    assert 'x_passes_total{account="b",outcome="transient"} 2' in text
    assert 'x_lag_seconds{account="b"} 1.5' in text
    assert 'x_duration_seconds_bucket{provider="imap",le="0.1"} 1' in text
    assert 'x_duration_seconds_bucket{provider="imap",le="1"} 2' in text
    assert 'x_duration_seconds_bucket{provider="imap",le="10"} 3' in text
    assert 'x_duration_seconds_bucket{provider="imap",le="+Inf"} 4' in text
    assert 'x_duration_seconds_count{provider="imap"} 4' in text
    assert 'x_duration_seconds_sum{provider="imap"} 55.55' in text


def test_misuse_is_refused() -> None:
    counter = Counter("c_total", "C.", ("a",))
    with pytest.raises(ValueError):
        counter.inc(-1, a="x")
    with pytest.raises(ValueError):
        counter.inc(b="x")
    registry = Registry()
    registry.register(Gauge("g", "G."))
    with pytest.raises(ValueError):
        registry.register(Gauge("g", "again"))


def test_sync_metrics_families_are_all_exposed() -> None:
    metrics = SyncMetrics(lag_gauges=lambda: [({"account": "a", "provider": "imap"}, 12.0)],
                          account_gauges=lambda: [
                              ({"account": "a", "provider": "imap", "state": "idle"}, 1.0)])
    metrics.passes.inc(account="a", provider="imap", outcome="ok")
    metrics.errors.inc(account="a", provider="imap", **{"class": "transient"})
    text = metrics.render()
    assert_valid_exposition(text)
    for name in ("syncd_passes_total", "syncd_items", "syncd_errors", "syncd_pass_duration_seconds",
                 "syncd_account_lag_seconds", "syncd_account_state", "syncd_schedule_lag_seconds",
                 "syncd_store_up", "syncd_leases_held", "syncd_up"):
        assert f"# TYPE {name.removesuffix('_total')} " in text, name
    assert 'syncd_errors_total{account="a",provider="imap",class="transient"} 1' in text
    assert 'syncd_account_lag_seconds{account="a",provider="imap"} 12' in text

"""Capped exponential backoff with full jitter, per account, honouring Retry-After."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from syncd.daemon.backoff import Backoff, BackoffPolicy


def test_ceiling_doubles_from_base_and_stops_at_cap() -> None:
    policy = BackoffPolicy(base=30, cap=3600)
    assert [policy.ceiling(n) for n in range(0, 10)] == [
        0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert policy.ceiling(10_000) == 3600


@given(failures=st.integers(1, 200), seed=st.integers(0, 2**32),
       retry_after=st.none() | st.floats(0, 100_000, allow_nan=False))
def test_delay_is_full_jitter_within_the_ceiling_and_never_below_retry_after(
        failures: int, seed: int, retry_after: float | None) -> None:
    policy = BackoffPolicy(base=10, cap=600, max_retry_after=7200)
    delay = policy.delay(failures, retry_after=retry_after, rng=random.Random(seed))
    assert delay >= 0
    floor = min(retry_after, 7200) if retry_after else 0.0
    assert delay >= floor
    assert delay <= max(policy.ceiling(failures), floor)


def test_jitter_spreads_many_accounts_over_the_window() -> None:
    backoff = Backoff(BackoffPolicy(base=100, cap=100), rng=random.Random(7))
    delays = [backoff.failed(f"acct-{i}") for i in range(1000)]
    assert min(delays) < 5 and max(delays) > 95  # full jitter: the whole window is used
    assert 40 < sum(delays) / len(delays) < 60


def test_counts_are_per_account_and_success_resets() -> None:
    backoff = Backoff(BackoffPolicy(base=1, cap=1000), rng=random.Random(1))
    for _ in range(5):
        backoff.failed("a")
    backoff.failed("b")
    assert backoff.failures("a") == 5 and backoff.failures("b") == 1
    backoff.succeeded("a")
    assert backoff.failures("a") == 0 and backoff.failures("b") == 1
    # Retry-After is honoured even on the first failure
    assert backoff.failed("c", retry_after=42) >= 42

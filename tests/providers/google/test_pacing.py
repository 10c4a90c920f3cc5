"""The quota token bucket and the retry policy's Google numbers, on a fake clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from providers.google.pacing import TokenBucket
from providers.google.settings import GoogleTransport
from providers.google.transport import retry_policy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def bucket(rate: float, capacity: float | None = None) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    return TokenBucket(rate, capacity=capacity, clock=clock, sleep=clock.sleep), clock


@given(costs=st.lists(st.sampled_from([1, 2, 5, 250]), min_size=1, max_size=200))
def test_long_run_spend_never_exceeds_rate_plus_one_burst(costs: list[int]) -> None:
    b, clock = bucket(240, capacity=250)
    spent = 0
    for cost in costs:
        b.take(cost)
        spent += cost
        # everything spent so far fits in the initial burst plus what refilled since
        assert spent <= 250 + clock.now * 240 + 1e-6


def test_take_waits_exactly_for_the_missing_units() -> None:
    b, clock = bucket(100)
    assert b.take(100) == 0
    b.take(50)
    assert abs(clock.now - 0.5) < 1e-6


def test_hold_pauses_every_taker_and_restarts_from_empty() -> None:
    b, clock = bucket(100)
    b.hold(2.0)
    b.take(10)
    assert clock.now >= 2.0 + 0.1 - 1e-6


def test_a_call_bigger_than_the_bucket_waits_for_a_full_bucket() -> None:
    b, clock = bucket(10)
    b.take(10)
    b.take(500)
    assert abs(clock.now - 1.0) < 1e-6


@given(attempt=st.integers(0, 30), after=st.one_of(st.none(), st.floats(0, 120)))
def test_backoff_is_bounded_and_honours_retry_after(attempt: int, after: float | None) -> None:
    policy = retry_policy(GoogleTransport(max_retries=5, base_backoff=0.5, max_backoff=8))
    assert policy.max_attempts == 6
    delay = policy.delay(attempt + 1, after)  # after attempt + 1 failures
    if after is None:
        assert 0 <= delay <= 8
    else:  # Retry-After is the floor; full jitter may wait longer, up to the cap
        assert after <= delay <= max(8, after)

"""The one retry policy: its delay bounds and what it retries, without real sleeping."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.errors import AuthError, CursorExpired, SyncdError, TransientError
from providers.retry import (
    DoNotRetry,
    RetryEvent,
    RetryPolicy,
    backoff_ceiling,
    backoff_delay,
    is_idempotent,
    parse_retry_after,
)


class Draws:
    """A random source that answers from a list (any value, in or out of range)."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.index = 0

    def uniform(self, a: float, b: float, /) -> float:
        value = self.values[self.index % len(self.values)]
        self.index += 1
        return value


def failing(error: BaseException, times: int = 10**9) -> tuple[Callable[[], str], list[int]]:
    """An attempt that raises ``error`` ``times`` times, then returns "ok"; and its call log."""
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "ok"

    return attempt, calls


retry_afters = st.none() | st.floats(-10, 1e7) | st.just(float("inf"))
policies = st.builds(RetryPolicy, max_attempts=st.integers(1, 8),
                     base=st.floats(1e-3, 100), cap=st.floats(0, 1e4),
                     max_retry_after=st.floats(0, 1e5))


def floor_of(retry_after: float | None, max_retry_after: float) -> float:
    if retry_after is None or not retry_after > 0:
        return 0.0
    return min(retry_after, max_retry_after)


@given(failures=st.integers(-2, 500), base=st.floats(1e-3, 1e3), cap=st.floats(0, 1e5),
       retry_after=retry_afters | st.just(float("nan")), max_retry_after=st.floats(0, 1e6),
       draws=st.lists(st.floats(allow_nan=False), min_size=1, max_size=3) | st.just([]))
def test_delay_stays_within_the_floor_and_the_cap(
        failures: int, base: float, cap: float, retry_after: float | None,
        max_retry_after: float, draws: list[float]) -> None:
    rng = Draws(draws) if draws else random.Random(failures)  # even a lying source is bounded
    delay = backoff_delay(failures, base=base, cap=cap, retry_after=retry_after,
                          max_retry_after=max_retry_after, rng=rng)
    floor = floor_of(retry_after, max_retry_after)
    assert floor <= delay <= max(cap, floor)
    assert delay <= max(backoff_ceiling(failures, base=base, cap=cap), floor)


def test_full_jitter_uses_the_whole_doubling_window() -> None:
    assert [backoff_ceiling(n, base=0.5, cap=10) for n in range(7)] == [
        0, 0.5, 1, 2, 4, 8, 10]
    low, high = Draws([0.0]), Draws([1e9])  # the clamped ends of the window
    assert backoff_delay(4, base=0.5, cap=10, max_retry_after=60, rng=low) == 0
    assert backoff_delay(4, base=0.5, cap=10, max_retry_after=60, rng=high) == 4
    assert backoff_delay(4, base=0.5, cap=10, retry_after=30, max_retry_after=60, rng=low) == 30
    assert backoff_delay(4, base=0.5, cap=10, retry_after=1e6, max_retry_after=60, rng=low) == 60
    spread = [backoff_delay(1, base=100, cap=100, max_retry_after=0, rng=random.Random(n))
              for n in range(500)]
    assert min(spread) < 5 and max(spread) > 95


@given(policy=policies, retry_after=retry_afters, seed=st.integers(0, 2**32))
def test_attempts_never_exceed_the_bound_and_waits_honour_retry_after(
        policy: RetryPolicy, retry_after: float | None, seed: int) -> None:
    error = TransientError("HTTP 503", retry_after=retry_after)
    attempt, calls = failing(error)
    sleeps: list[float] = []
    with pytest.raises(TransientError) as raised:
        policy.call(attempt, idempotent=True, sleep=sleeps.append, rng=random.Random(seed))
    too_long = retry_after is not None and retry_after > policy.max_retry_after
    if too_long:  # not slept through in-process: handed to the scheduler at once
        assert (len(calls), sleeps) == (1, [])
        assert raised.value is error
    else:
        assert len(calls) == policy.max_attempts and len(sleeps) == policy.max_attempts - 1
        floor = floor_of(retry_after, policy.max_retry_after)
        assert all(floor <= s <= max(policy.cap, floor) for s in sleeps)
        assert f"gave up after {policy.max_attempts} attempt" in raised.value.message
    assert raised.value.retry_after == retry_after


@given(policy=policies, error=st.sampled_from([
    SyncdError("HTTP 400"), AuthError("refused"), CursorExpired("inbox"), ValueError("bug"),
    KeyError("bug")]))
def test_errors_that_are_not_transient_are_never_retried(
        policy: RetryPolicy, error: BaseException) -> None:
    attempt, calls = failing(error)
    sleeps: list[float] = []
    with pytest.raises(type(error)) as raised:
        policy.call(attempt, idempotent=True, sleep=sleeps.append)
    assert raised.value is error and len(calls) == 1 and sleeps == []


@given(policy=policies)
def test_non_idempotent_calls_are_never_retried(policy: RetryPolicy) -> None:
    error = TransientError("connection reset")
    attempt, calls = failing(error)
    sleeps: list[float] = []
    with pytest.raises(TransientError) as raised:
        policy.call(attempt, idempotent=False, sleep=sleeps.append)
    assert raised.value is error and len(calls) == 1 and sleeps == []
    attempts = policy.attempts(idempotent=False, sleep=sleeps.append)
    with pytest.raises(TransientError):
        attempts.failed(error)
    assert sleeps == []


def test_do_not_retry_ends_the_call_with_its_error() -> None:
    error = TransientError("HTTP 404 on a REPORT")
    attempt, calls = failing(DoNotRetry(error))
    sleeps: list[float] = []
    with pytest.raises(TransientError) as raised:
        RetryPolicy(5, 1, 10, 10).call(attempt, idempotent=True, sleep=sleeps.append)
    assert raised.value is error and len(calls) == 1 and sleeps == []


@given(failures=st.integers(0, 4), seed=st.integers(0, 2**32))
def test_a_call_that_recovers_returns_its_result_after_one_wait_per_failure(
        failures: int, seed: int) -> None:
    attempt, calls = failing(TransientError("timeout"), times=failures)
    sleeps: list[float] = []
    events: list[RetryEvent] = []
    result = RetryPolicy(max_attempts=5, base=0.5, cap=4, max_retry_after=10).call(
        attempt, idempotent=True, sleep=sleeps.append, rng=random.Random(seed),
        on_retry=events.append)
    assert result == "ok" and len(calls) == failures + 1
    assert [e.delay for e in events] == sleeps and [e.attempt for e in events] == list(
        range(1, failures + 1))
    assert all(0 <= s <= min(4, 0.5 * 2 ** n) for n, s in enumerate(sleeps))


def test_attempts_bound_each_stretch_without_progress() -> None:
    sleeps: list[float] = []
    attempts = RetryPolicy(max_attempts=3, base=0.2, cap=5, max_retry_after=5).attempts(
        idempotent=True, sleep=sleeps.append, rng=random.Random(3))
    error = TransientError("connection lost")
    for _ in range(4):  # progress between failures: never gives up
        attempts.failed(error)
        attempts.progressed()
    attempts.failed(error)
    attempts.failed(error)
    with pytest.raises(TransientError, match="gave up after 3 attempts"):
        attempts.failed(error)
    assert len(sleeps) == 6 and all(0 <= s <= 0.4 for s in sleeps)


def test_a_retry_after_beyond_the_limit_ends_a_manual_loop_at_once() -> None:
    sleeps: list[float] = []
    attempts = RetryPolicy(5, 1, 10, max_retry_after=10).attempts(idempotent=True,
                                                                   sleep=sleeps.append)
    error = TransientError("throttled", retry_after=120)
    with pytest.raises(TransientError) as raised:
        attempts.failed(error)
    assert raised.value is error and sleeps == []


def test_only_reads_are_idempotent_without_a_declaration() -> None:
    assert all(is_idempotent(m) for m in ("GET", "get", "HEAD", "PROPFIND", "REPORT"))
    assert not any(is_idempotent(m) for m in ("POST", "PATCH", "PUT", "DELETE", "MKCOL"))


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0, base=1, cap=1, max_retry_after=1)


def test_a_manual_loop_may_move_to_another_thread() -> None:
    import threading

    sleeps: list[float] = []
    attempts = RetryPolicy(3, 0.1, 1, 1).attempts(idempotent=True, sleep=sleeps.append)
    error = TransientError("connection lost")
    worker = threading.Thread(target=attempts.failed, args=(error,))
    worker.start()
    worker.join()
    attempts.failed(error)
    with pytest.raises(TransientError, match="gave up after 3 attempts"):
        attempts.failed(error)
    assert len(sleeps) == 2


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = 1_445_412_470.0  # 2015-10-21T07:27:50Z
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0.0  # past: now
    assert parse_retry_after("-5", now=now) == 0.0
    for bad in (None, "", "soon", "nan"):
        assert parse_retry_after(bad, now=now) is None

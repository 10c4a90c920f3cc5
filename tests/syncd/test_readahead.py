"""syncd.readahead: same items, same errors at the same place, one producer
thread that also closes the source, fetching overlapped with consuming."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from syncd.errors import TransientError
from syncd.readahead import ReadAhead

WAIT = 5.0  # generous: only ever waited on when the behaviour is broken


class Source:
    """A generator source that records who ran it and whether it was closed."""

    def __init__(self, items: list[int], error: BaseException | None = None) -> None:
        self.items = items
        self.error = error
        self.threads: set[int] = set()
        self.closed = threading.Event()
        self.produced: list[int] = []
        self.fetching = {n: threading.Event() for n in items}

    def run(self) -> Iterator[int]:
        try:
            for n in self.items:
                self.threads.add(threading.get_ident())
                self.fetching[n].set()
                self.produced.append(n)
                yield n
            if self.error is not None:
                raise self.error
        finally:
            self.closed.set()


def test_yields_the_same_items_in_order_and_closes_the_source() -> None:
    src = Source(list(range(20)))
    ahead = ReadAhead(src.run(), depth=2)
    assert list(ahead) == list(range(20))
    assert src.closed.is_set()
    assert src.threads and threading.get_ident() not in src.threads


def test_an_error_comes_after_the_items_before_it() -> None:
    src = Source([1, 2], error=TransientError("connection reset", retry_after=5))
    ahead = ReadAhead(src.run())
    got = []
    with pytest.raises(TransientError) as caught:
        for n in ahead:
            got.append(n)
    assert got == [1, 2]
    assert caught.value.retry_after == 5
    assert src.closed.is_set()


def test_the_next_item_is_fetched_while_the_current_one_is_in_use() -> None:
    src = Source([1, 2, 3])
    ahead = ReadAhead(src.run(), depth=1)
    assert next(ahead) == 1
    # the consumer still holds item 1: the producer fetches item 2 meanwhile
    assert src.fetching[2].wait(WAIT)
    assert list(ahead) == [2, 3]


def test_close_mid_way_stops_the_producer_and_closes_the_source() -> None:
    src = Source(list(range(100)))
    ahead = ReadAhead(src.run(), depth=1)
    assert next(ahead) == 0
    ahead.close()
    assert src.closed.is_set()
    assert len(src.produced) <= 3  # at most the item in hand, one queued, one being put
    assert list(ahead) == []
    assert not any(t.name == "syncd-read-ahead" and t.is_alive() for t in threading.enumerate())


def test_the_producer_sees_the_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    def source() -> Iterator[int]:
        seen.append(var.get())
        yield 1

    token = var.set("account-a1")
    try:
        assert list(ReadAhead(source())) == [1]
    finally:
        var.reset(token)
    assert seen == ["account-a1"]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ReadAhead(iter([1]), depth=0)

"""Fetch the next provider page while the engine writes the current one.

:class:`ReadAhead` wraps a page iterator (``Provider.sync(...)``) and runs it
in one producer thread, ``depth`` pages ahead of the consumer. The provider
then spends the store's write time waiting on its server instead of the
other way round (the server, the socket and SQLite's C code run without the
GIL; most of a page's wall time is one or the other).

Invariants:

* **Same sequence, same errors, same place.** The consumer sees exactly the
  items the source yields, in order; an exception the source raises is
  re-raised by the consumer after the items that came before it (so pages
  before a provider error are still applied and committed first).
* **The source is used by one thread only**, the producer, which also closes
  it (a generator cannot be closed from another thread while it runs).
* **Nothing is saved ahead.** A page fetched ahead is only handed over; the
  engine writes it (and its cursor) after the previous page committed. A
  page fetched ahead and never consumed (stop, error) is dropped; its
  cursor was never stored, so the next pass fetches it again.
* :meth:`close` cancels the producer and waits for it: at most the fetch
  in flight (bounded by the provider's own timeouts) finishes first. After
  ``close`` the source is closed and no thread is left behind.

States: running → (source exhausted | source raised | cancelled) → closed.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.05  # how often a producer blocked on a full queue checks for cancel


class _End:
    """Marks the end of the source (``error`` None: exhausted)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Iterate ``source`` in a producer thread, up to ``depth`` items ahead."""

    def __init__(self, source: Iterator[T], *, depth: int = 1,
                 name: str = "syncd-read-ahead") -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._source = source
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._cancel = threading.Event()
        self._done = False
        context = contextvars.copy_context()  # keep the caller's bound log context
        self._thread = threading.Thread(target=context.run, args=(self._produce,),
                                        name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ producer

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
            self._put(_End(None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_End(exc))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def _put(self, item: T | _End) -> bool:
        while not self._cancel.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    # ------------------------------------------------------------------ consumer

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if isinstance(item, _End):
            self._done = True
            self._thread.join()
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the producer, drop what it fetched ahead, close the source."""
        self._done = True
        self._cancel.set()
        self._drain()
        self._thread.join()
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

"""Run a provider's sync pass in a child process; the engine gets its pages.

Why: fetching and parsing (imapclient's response parser, RFC 5322 header
decoding) and writing the store are both CPU-bound Python. In one process
the GIL serializes them — a read-ahead *thread* measured ~10 % slower than
no read-ahead at all. In a child process the provider parses page N+1 on
another core while the engine writes page N: an initial sync of a big
mailbox runs at the speed of the slower of the two instead of their sum
(``bench/imap_ingest.py``).

The engine uses it for the passes that ingest a whole mailbox
(``scheduler.fetch_process: auto``: an account's first pass, when no
cursor is stored);
small incremental polls stay in process, where the kept provider's open
connection is worth more than a second core.

Protocol over one duplex pipe (child → parent: ``page``, ``end``,
``error``; parent → child: ``ack``, ``stop``). The child may run at most
``depth`` unacknowledged pages ahead; the parent acknowledges a page when it
takes it, so the child fetches the next page while the engine writes this
one, and memory stays bounded (a page being written, ``depth`` in the pipe,
one being fetched).

Invariants:

* **Same sequence, same errors, same place.** The engine sees exactly the
  pages ``provider.sync(cursors)`` yields, in order; an exception raised in
  the child is re-raised in the parent after the pages before it (the
  child's traceback is attached as a note). ``SyncdError`` subclasses keep
  their class and fields (:meth:`syncd.errors.SyncdError.__reduce__`); an
  exception that cannot cross is re-raised as ``RuntimeError`` naming it.
* **Nothing is saved ahead.** The child only fetches and normalizes
  (providers never touch the store); a page fetched ahead and never taken
  (stop, error) is dropped and its cursor was never stored, so the next
  pass fetches it again. Killing the child at any moment loses nothing.
* **A child that dies** (killed, out of memory) surfaces as
  :class:`~syncd.errors.TransientError`: the pass backs off and retries.
* :meth:`FetchProcess.close` asks the child to stop, waits ``grace``
  seconds (a fetch in flight may finish), then terminates it. After
  ``close`` no process is left behind.

States (parent side)::

    running ──end──────────► exhausted ─┐
       ├──────error────────► raised ────┼──close()──► closed
       └──close() early────► stopping ──┘

Children are started by a ``forkserver`` (spawned once per daemon, so it is
safe in a multi-threaded process), so each pass pays a fork and the imports
of this module and its provider package (about 0.2 s, once per first pass),
not an interpreter start. The forkserver preloads nothing
(:data:`PRELOAD`): it lives as long as the daemon, and preloading would keep
~28 MB of imports resident there between the rare passes that fork.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Generic, Self, TypeVar

import structlog

from providers.base import Cursor, Page, Provider, ProviderContext
from syncd.errors import TransientError
from syncd.logs import configure_logging

_PAGE, _END, _ERROR = "page", "end", "error"
#: the account settings type the factory takes (the child only passes it on)
A = TypeVar("A")
_ACK, _STOP = "ack", "stop"

#: imported by the forkserver before it forks anything: nothing (module doc); without
#: an explicit empty list it would import the daemon's ``__main__``
PRELOAD: list[str] = []

_context: multiprocessing.context.ForkServerContext | None = None


def _mp_context() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _context = ctx
    return _context


class FetchProcess(Generic[A]):
    """Iterate ``factory(account, context).sync(cursors)`` run in a child process."""

    def __init__(
        self,
        factory: Callable[[A, ProviderContext], Provider],
        account: A,
        context: ProviderContext,
        cursors: dict[str, Cursor],
        *,
        depth: int = 1,
        log_level: str = "info",
        log_format: str = "auto",
        grace: float = 2.0,
    ) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._grace = grace
        self._done = False
        self._closed = False
        ctx = _mp_context()
        self._conn, child_conn = ctx.Pipe(duplex=True)
        self._process = ctx.Process(
            target=_child_main,
            args=(child_conn, factory, account, context, cursors, depth, log_level, log_format),
            name=f"syncd-fetch-{getattr(account, 'id', '?')}",
            daemon=True,
        )
        self._process.start()
        child_conn.close()  # the parent keeps only its own end: EOF means the child is gone

    def __iter__(self) -> Iterator[Page]:
        return self

    def __next__(self) -> Page:
        if self._done:
            raise StopIteration
        try:
            kind, payload, detail = self._conn.recv()
        except (EOFError, OSError):
            self._done = True
            self._process.join(timeout=self._grace)
            raise TransientError(
                f"the fetch process stopped unexpectedly (exit code {self._process.exitcode})"
            ) from None
        if kind == _PAGE:
            self._send(_ACK)  # the child may fetch the next page while this one is written
            page: Page = payload
            return page
        self._done = True
        if kind == _END:
            raise StopIteration
        raise _rebuilt(payload, detail)

    def _send(self, message: str) -> None:
        with contextlib.suppress(OSError):  # the child is gone; the next recv says how
            self._conn.send(message)

    def close(self) -> None:
        """Stop the child (see module docstring); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._process.is_alive():
            if not self._done:
                self._send(_STOP)
            self._process.join(timeout=self._grace)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=self._grace)
                if self._process.is_alive():
                    self._process.kill()
                    self._process.join()
        self._done = True
        self._conn.close()
        self._process.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rebuilt(payload: bytes | None, detail: str) -> BaseException:
    """The child's exception, or a RuntimeError naming it when it cannot cross."""
    error: BaseException | None = None
    if payload is not None:
        try:
            error = pickle.loads(payload)
        except Exception:
            error = None
    if not isinstance(error, BaseException):
        first = detail.strip().splitlines()[-1] if detail.strip() else "unknown error"
        error = RuntimeError(f"fetch process failed: {first}")
    error.add_note(f"raised in the fetch process:\n{detail}")
    return error


# --------------------------------------------------------------------------- child side

def _child_main(conn: Connection, factory: Callable[[A, ProviderContext], Provider],
                account: A, context: ProviderContext, cursors: dict[str, Cursor],
                depth: int, log_level: str, log_format: str) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(log_level, log_format)
    structlog.contextvars.bind_contextvars(account=getattr(account, "id", None),
                                           provider=getattr(account, "provider", None))
    try:
        provider = factory(account, context)
    except BaseException as exc:
        _send_error(conn, exc)
        return
    try:
        unacked = 0
        for page in provider.sync(cursors):
            while unacked >= depth:
                if conn.recv() == _STOP:
                    return
                unacked -= 1
            conn.send((_PAGE, page, ""))
            unacked += 1
        conn.send((_END, None, ""))
    except (BrokenPipeError, EOFError):
        return  # the parent is gone or closed us: nobody to report to
    except BaseException as exc:
        _send_error(conn, exc)
    finally:
        provider.close()
        conn.close()


def _send_error(conn: Connection, exc: BaseException) -> None:
    detail = "".join(traceback.format_exception(exc))
    payload: bytes | None
    try:
        payload = pickle.dumps(exc)  # one that will not unpickle: _rebuilt describes it
    except Exception:
        payload = None
    with contextlib.suppress(OSError):
        conn.send((_ERROR, payload, detail))

"""A scripted provider: test data standing at the provider edge of the real engine.

Engine, privacy, reminder and fetch-process tests need a provider that does
exactly what the test says, so that every engine path (commit, resync, back
off, park, stop) runs for real over the real store and matching. One
:class:`Script` per account describes its server:

* ``pages``: the pages it holds, in cursor order. A pass yields the pages
  after the stored cursor of their resource, as a real provider resumes; a
  stored cursor the script never issued is refused with ``CursorExpired``.
  Tests deliver more (:meth:`Script.deliver`) or replace the list between
  passes.
* ``faults``: one :class:`Fault` is taken per ``sync()`` call, in order: after
  ``after`` pages the call raises the given error (``TransientError``,
  ``AuthError``, ``CursorExpired``, ``BadItem``, or any exception to play a
  bug), or, in a fetch process, the process dies there.
* ``endless``: after its pages the server keeps sending empty pages.
* ``on_page``: called with each page just before it is handed over (e.g. a
  daemon stop requested while the engine writes that page).
* ``close_log``: a file that gets a line per ``close()``, to count closes
  made in another process.
* ``source``: instead of a feed, a function of the pass's cursors returning
  its pages, for a server whose logic a list cannot express.

:class:`ScriptedFactory` is the ``provider_factory`` handed to
:class:`~syncd.sync.engine.SyncEngine` (or to
:class:`~syncd.sync.fetch_process.FetchProcess`): it builds one
:class:`ScriptedProvider` per pass and keeps them in ``made`` (opens), each
counting its ``calls`` and ``closes``. It refuses to be pickled unless built
with ``sendable=True``: the engine then runs it in this process, where
``made`` and ``on_page`` are visible to the test. A sendable factory (with
picklable scripts) goes to the fetch process like a real provider factory.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from providers.base import Cursor, Page, Provider, ProviderContext
from providers.errors import CursorExpired

#: the resource of pages the script makes up itself (``endless``, :func:`empty_pages`)
RESOURCE = "INBOX"


class HasId(Protocol):
    """What the factory reads of an account: its id (every AccountSettings has one)."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class ScriptedAccount:
    """A stand-in account for calling a factory without settings (FetchProcess tests)."""

    id: str = "scripted"
    provider: str = "scripted"


@dataclass(frozen=True)
class Fault:
    """How one ``sync()`` call goes wrong: after ``after`` pages (or at the end of a
    shorter pass) it raises ``error`` or, with ``exit_code``, its process dies.

    ``error`` may be a class, instantiated only when raised: for an exception
    that cannot be pickled into a fetch process.
    """

    after: int = 0
    error: BaseException | type[BaseException] | None = None
    exit_code: int | None = None

    def __post_init__(self) -> None:
        if (self.error is None) == (self.exit_code is None):
            raise ValueError("a Fault raises an error or ends the process, exactly one")

    def strike(self) -> None:
        if self.error is not None:
            raise self.error
        if multiprocessing.parent_process() is None:
            raise RuntimeError("an exit_code fault runs only in a fetch process "
                               "(here it would end the test run)")
        os._exit(self.exit_code or 0)


@dataclass
class Script:
    """One scripted account's server (see the module docstring)."""

    pages: list[Page] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    endless: bool = False
    on_page: Callable[[Page], None] | None = None
    close_log: str | None = None
    source: Callable[[Mapping[str, Cursor]], Iterable[Page]] | None = None

    def deliver(self, *pages: Page) -> None:
        """New pages on the server: the next pass yields them after what it stored."""
        self.pages.extend(pages)

    def fail_next(self, error: BaseException | type[BaseException], *, after: int = 0) -> None:
        """Queue a fault: the next ``sync()`` call not taking an earlier one raises
        ``error`` after ``after`` pages."""
        self.faults.append(Fault(after=after, error=error))

    def closes_logged(self) -> int:
        """How many times providers of this script were closed (needs ``close_log``)."""
        if self.close_log is None:
            raise ValueError("closes are logged only with close_log set")
        path = Path(self.close_log)
        return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def empty_pages(count: int, *, total_hint: int | None = None) -> list[Page]:
    """``count`` item-less pages of :data:`RESOURCE` with cursors ``{"page": 1..count}``."""
    return [Page(RESOURCE, [], cursor={"page": n}, total_hint=total_hint)
            for n in range(1, count + 1)]


class ScriptedProvider(Provider):
    """Plays a :class:`Script` through the provider interface; counts calls and closes."""

    kind = "scripted"

    def __init__(self, script: Script) -> None:
        self.script = script
        #: the cursors of every sync() call, in order
        self.calls: list[dict[str, Cursor]] = []
        self.closes = 0

    @property
    def closed(self) -> bool:
        return self.closes > 0

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        self.calls.append(dict(cursors))
        script = self.script
        fault = script.faults.pop(0) if script.faults else None
        for handed, page in enumerate(self._pages(cursors)):
            if fault is not None and handed >= fault.after:
                break
            if script.on_page is not None:
                script.on_page(page)
            yield page
        if fault is not None:
            fault.strike()

    def _pages(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        script = self.script
        if script.source is not None:
            yield from script.source(cursors)
            return
        pages = list(script.pages)
        first: dict[str, int] = {}
        for resource, cursor in cursors.items():
            issued = [i for i, page in enumerate(pages)
                      if page.resource == resource and page.cursor == cursor]
            if not issued:
                raise CursorExpired(resource, f"scripted server never issued {cursor!r} "
                                              f"for {resource!r}")
            first[resource] = issued[-1] + 1
        yield from (page for i, page in enumerate(pages) if i >= first.get(page.resource, 0))
        n = len(pages)
        while script.endless:
            n += 1
            yield Page(RESOURCE, [], cursor={"page": n})

    def close(self) -> None:
        self.closes += 1
        if self.script.close_log is not None:
            with open(self.script.close_log, "a", encoding="utf-8") as log:
                log.write("closed\n")


ScriptLookup = Mapping[str, Script] | Callable[[str], Script]


class ScriptedFactory:
    """A provider factory playing ``scripts[account.id]`` (a mapping, read at every open
    so a test may replace an account's script between passes, or a function of the
    account id). An account without a script has an empty server."""

    def __init__(self, scripts: ScriptLookup | None = None, *, sendable: bool = False) -> None:
        self.scripts: ScriptLookup = {} if scripts is None else scripts
        self.sendable = sendable
        #: every provider built, in order: opens are ``len(made)``
        self.made: list[ScriptedProvider] = []

    def script_for(self, account_id: str) -> Script:
        if callable(self.scripts):
            return self.scripts(account_id)
        return self.scripts.get(account_id) or Script()

    def __call__(self, account: HasId, context: ProviderContext) -> ScriptedProvider:
        provider = ScriptedProvider(self.script_for(account.id))
        self.made.append(provider)
        return provider

    def __reduce__(self) -> tuple[Callable[[ScriptLookup], ScriptedFactory], tuple[ScriptLookup]]:
        if not self.sendable:
            # SyncEngine then runs the provider in this process (it tries to pickle first)
            raise TypeError("this ScriptedFactory is for in-process passes "
                            "(build it with sendable=True for a fetch process)")
        return (_sendable_factory, (self.scripts,))


def _sendable_factory(scripts: ScriptLookup) -> ScriptedFactory:
    return ScriptedFactory(scripts, sendable=True)

"""Walking Graph delta chains with the next pages already on their way.

A delta round is a chain of pages: each page carries either an
``@odata.nextLink`` (more pages) or, on the last one, an
``@odata.deltaLink`` (where the next round starts). The caller stores the
nextLink as the cursor of every page but the last and the deltaLink only
with the last page, so a crash mid-chain resumes at the next page and a
crash inside a page redoes that page.

Since page *k+1*'s link is only known once page *k* has arrived, a round is
one round trip per page at best. Each chain is walked by its own helper
thread, which runs ahead of the consumer by at most :data:`AHEAD` pages, so
round trips never wait for normalizing or storing, and several chains (the
folders of a mailbox) are fetched side by side within the HTTP seam's
per-mailbox limit. The helper does not even wait for JSON decoding: it
finds the root ``@odata.nextLink`` at the end of the raw body
(:func:`scan_next_link`, decoding only when that is not conclusive), sends
the next request, and leaves decoding to the consumer, which checks that
the decoded page names the same link.
Invariants:

* pages of one chain are handed out in chain order; chains interleave;
* an error fetching a page of a chain is raised only after every earlier
  page of that chain was handed out (and its cursor committed);
* memory is bounded by (``AHEAD`` + 1) pages per chain;
* closing the iterator stops every helper after its current request.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from providers.errors import SyncdError
from providers.microsoft.graph_http import GraphClient

#: pages fetched ahead of the consumer, per chain
AHEAD = 2


@dataclass(frozen=True, slots=True)
class DeltaPage:
    items: list[dict[str, Any]]
    next_link: str | None
    delta_link: str | None

    @property
    def last(self) -> bool:
        return self.next_link is None


@dataclass(frozen=True, slots=True)
class Start:
    """Where a chain begins: ``params`` go on the first request only (Graph
    bakes query options into the links it returns)."""

    url: str
    params: Mapping[str, str] | None = None


def _page(payload: dict[str, Any], resource: str) -> DeltaPage:
    value = payload.get("value")
    next_link = payload.get("@odata.nextLink")
    delta_link = payload.get("@odata.deltaLink")
    if not isinstance(value, list) or not (next_link or delta_link):
        raise SyncdError(f"Graph returned a malformed delta page for {resource!r}")
    return DeltaPage([v for v in value if isinstance(v, dict)], next_link, delta_link)


_NEXT_KEY = b'"@odata.nextLink"'
#: what may follow the root's nextLink value: more root ``@odata.*`` strings, then ``}``
_ROOT_TAIL = re.compile(r'\s*(?:,\s*"@odata\.[A-Za-z]+"\s*:\s*"(?:[^"\\]|\\.)*"\s*)*\}\s*\Z')
_TAIL_BYTES = 16384


def scan_next_link(body: bytes) -> str | None:
    """The root ``@odata.nextLink`` of a delta page, found without decoding.

    Only a key that is a member of the root object *and* comes after every
    other member except ``@odata.*`` strings (Graph writes its links last)
    is accepted: preceded by ``,`` or ``{``, followed by nothing but such
    members and the root's closing brace. ``None`` means "not found this
    way"; the caller then decodes the page to be sure.
    """
    tail = body[-_TAIL_BYTES:].decode("utf-8", "replace")
    key = _NEXT_KEY.decode()
    end = len(tail)
    while True:
        at = tail.rfind(key, 0, end)
        if at < 0:
            return None
        end = at
        if tail[:at].rstrip()[-1:] not in (",", "{"):
            continue
        rest = tail[at + len(key):].lstrip()
        if not rest.startswith(":"):
            continue
        try:
            value, used = json.JSONDecoder().raw_decode(rest[1:].lstrip())
        except ValueError:
            continue
        after = rest[1:].lstrip()[used:]
        if isinstance(value, str) and _ROOT_TAIL.match(after):
            return value


@dataclass(frozen=True, slots=True)
class _Raw:
    body: bytes
    next_link: str | None


Entry = tuple[str, _Raw | BaseException]


class _Chain(threading.Thread):
    def __init__(self, resource: str, start: Start, client: GraphClient,
                 headers: Mapping[str, str] | None, out: queue.Queue[Entry],
                 stop: threading.Event) -> None:
        super().__init__(name=f"graph-delta-{resource}", daemon=True)
        self.resource, self.start_at, self.client = resource, start, client
        self.headers, self.out, self.stop = headers, out, stop
        #: pages handed to the queue but not yet taken by the consumer
        self.room = threading.Semaphore(AHEAD)

    def run(self) -> None:
        link: str | None = self.start_at.url
        params = self.start_at.params
        while link and not self.stop.is_set():
            try:
                body = self.client.get_body(link, params=params, headers=self.headers,
                                            resource=self.resource)
            except BaseException as exc:  # handed to the consumer, raised there
                self.out.put((self.resource, exc))
                return
            params = None
            try:
                raw = _Raw(body, next_link_of(body))
            except ValueError:
                raw = _Raw(body, None)  # not JSON: the consumer reports it

            while not self.room.acquire(timeout=0.1):
                if self.stop.is_set():
                    return
            self.out.put((self.resource, raw))
            link = raw.next_link


def next_link_of(body: bytes) -> str | None:
    """Fast path first; decode the page only when the scan is not sure."""
    found = scan_next_link(body)
    if found is not None:
        return found
    payload = json.loads(body)
    link = payload.get("@odata.nextLink") if isinstance(payload, dict) else None
    return link if isinstance(link, str) else None


def _decode(raw: _Raw, resource: str) -> DeltaPage:
    try:
        payload = json.loads(raw.body)
    except ValueError:
        raise SyncdError(f"Graph returned a delta page for {resource!r} that is not "
                         "JSON") from None
    page = _page(payload if isinstance(payload, dict) else {}, resource)
    if page.next_link != raw.next_link:
        raise SyncdError(f"Graph delta page for {resource!r}: next link not where expected")
    return page


def walk_many(client: GraphClient, starts: Mapping[str, Start], *,
              headers: Mapping[str, str] | None = None) -> Iterator[tuple[str, DeltaPage]]:
    """Yield ``(resource, page)`` for every page of every chain, interleaved."""
    out: queue.Queue[Entry] = queue.Queue()
    stop = threading.Event()
    chains = {name: _Chain(name, start, client, headers, out, stop)
              for name, start in starts.items()}
    for chain in chains.values():
        chain.start()
    running = set(chains)
    try:
        while running:
            name, entry = out.get()
            if isinstance(entry, BaseException):
                raise entry
            chains[name].room.release()
            page = _decode(entry, name)
            if page.last:
                running.discard(name)
            yield name, page
    finally:
        stop.set()
        for chain in chains.values():
            chain.join()


def walk(client: GraphClient, url: str, *, params: Mapping[str, str] | None = None,
         headers: Mapping[str, str] | None = None, resource: str) -> Iterator[DeltaPage]:
    """Every page of one delta round starting at ``url``."""
    for _, page in walk_many(client, {resource: Start(url, params)}, headers=headers):
        yield page

"""Walking a Graph delta chain with the next pages already on their way.

A delta round is a chain of pages: each page carries either an
``@odata.nextLink`` (more pages) or, on the last one, an
``@odata.deltaLink`` (where the next round starts). The caller stores the
nextLink as the cursor of every page but the last and the deltaLink only
with the last page, so a crash mid-chain resumes at the next page and a
crash inside a page redoes that page.

Since page *k+1*'s link is only known once page *k* has arrived, a round is
one round trip per page at best. A helper thread walks the chain on its
own and hands pages over through a queue of :data:`AHEAD` pages, so the
round trips never wait for the consumer (normalizing, storing); memory
stays bounded by ``AHEAD`` + 1 pages. An error fetching a page is handed
over in its place, i.e. only after every earlier page was given out (and
its cursor committed by the caller). Closing the generator early stops the
helper after its current request.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from providers.microsoft.graph_http import GraphClient
from syncd.errors import SyncdError

#: pages fetched ahead of the consumer
AHEAD = 2


@dataclass(frozen=True, slots=True)
class DeltaPage:
    items: list[dict[str, Any]]
    next_link: str | None
    delta_link: str | None

    @property
    def last(self) -> bool:
        return self.next_link is None


def _page(payload: dict[str, Any], resource: str) -> DeltaPage:
    value = payload.get("value")
    next_link = payload.get("@odata.nextLink")
    delta_link = payload.get("@odata.deltaLink")
    if not isinstance(value, list) or not (next_link or delta_link):
        raise SyncdError(f"Graph returned a malformed delta page for {resource!r}")
    return DeltaPage([v for v in value if isinstance(v, dict)], next_link, delta_link)


def walk(client: GraphClient, url: str, *, params: Mapping[str, str] | None = None,
         headers: Mapping[str, str] | None = None, resource: str) -> Iterator[DeltaPage]:
    """Yield every page of one delta round starting at ``url``.

    ``params`` go on the first request only (Graph bakes them into the
    links it returns); ``headers`` (Prefer) go on every request.
    """
    handoff: queue.Queue[DeltaPage | BaseException] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(entry: DeltaPage | BaseException) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        link: str | None = url
        first = True
        while link and not stop.is_set():
            try:
                page = _page(client.get(link, params=params if first else None,
                                        headers=headers, resource=resource), resource)
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)
                return
            first = False
            if not put(page):
                return
            link = page.next_link

    worker = threading.Thread(target=produce, name=f"graph-delta-{resource}", daemon=True)
    worker.start()
    try:
        while True:
            entry = handoff.get()
            if isinstance(entry, BaseException):
                raise entry
            yield entry
            if entry.last:
                return
    finally:
        stop.set()
        worker.join()

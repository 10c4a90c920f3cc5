"""Walking a Graph delta chain, one page ahead.

A delta round is a chain of pages: each page carries either an
``@odata.nextLink`` (more pages) or, on the last one, an
``@odata.deltaLink`` (where the next round starts). The caller stores the
nextLink as the cursor of every page but the last and the deltaLink only
with the last page, so a crash mid-chain resumes at the next page and a
crash inside a page redoes that page.

The next page is requested in a helper thread as soon as the current one
has arrived, so its network round trip overlaps with normalizing and
storing the current page; with pages taking longer to fetch than to
process, throughput approaches page size / latency. At most one page is
ever buffered. An error fetching page *k+1* surfaces only after page *k*
was handed out (and its cursor committed by the caller).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from providers.microsoft.graph_http import GraphClient
from syncd.errors import SyncdError


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
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-delta")
    pending: Future[dict[str, Any]] | None = None
    try:
        page = _page(client.get(url, params=params, headers=headers, resource=resource),
                     resource)
        while True:
            if page.next_link:
                pending = pool.submit(client.get, page.next_link, headers=headers,
                                      resource=resource)
            yield page
            if pending is None:
                return
            page = _page(pending.result(), resource)
            pending = None
    finally:
        if pending is not None:
            pending.cancel()
        pool.shutdown(wait=True)

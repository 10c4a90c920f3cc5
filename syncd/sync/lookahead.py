"""Pages with a one-page lookahead: which page is its pass's last.

The engine needs to know, when it commits a page, whether another follows
(the last page refreshes the rollups the earlier ones only marked,
:mod:`syncd.store.rollup_backlog`). A provider only says so by stopping, so
:func:`with_last` reads one page ahead. A provider that fails while the
next page is read has its page before that committed as the last (then the
failure goes on to the engine): what was read is never held back by what
was not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def with_last(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """``(item, is_last)`` for every item, reading one item ahead."""
    it = iter(items)
    try:
        current = next(it)
    except StopIteration:
        return
    while True:
        try:
            following = next(it)
        except StopIteration:
            yield current, True
            return
        except BaseException:
            yield current, True
            raise
        yield current, False
        current = following

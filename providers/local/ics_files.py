""".ics files: one resource per file (a configured folder contributes each ``*.ics`` in it).

Window
    Recurring series are expanded over [day(now) - past_days, day(now) +
    future_days + 1 day), whole UTC days so it moves once a day, not on every
    poll. Non-recurring events outside the window are left out too.

Cursor per file
    ``{"v": 1, "mtime_ns", "size", "sha256", "window": [lo, hi], "events": {key: digest}}``
    where ``key`` is ``uid`` or ``uid#recurrence_id`` and ``digest`` a short
    hash of the normalized event. A pass

    1. skips the file without reading it when mtime, size and window are unchanged;
    2. reads and hashes it; same content and window → only the cursor moves;
    3. otherwise parses it over [min(old lo, lo), hi) (so events that just left the
       window are still seen and not mistaken for deletions) and emits every event
       that is new or whose digest changed, and — only when the content changed —
       a :class:`Deletion` for every key the file no longer has;
    4. stores the keys of events overlapping the current window.

    A file that cannot be parsed at all is quarantined once (its hash is
    remembered) and its previous events are kept, never deleted. A bad event
    inside a good file is quarantined and the others still sync. A file that
    disappears (but had a cursor) reports all its events deleted, once.

Pages are bounded by ``page_size``; only the last page of a file carries its
cursor (a crash mid-file redoes the file, harmlessly).

Coverage (:func:`inventory`) compares per UID, as CalDAV compares objects:
a stored id ``<path>#<uid>`` or ``<path>#<uid>#<recurrence-id>`` maps to
``<uid>``. ``expected``: UIDs with an instance in the cursor's window;
``present``: every UID in the file, whatever its time. The file is read
and parsed (it is the listing), nothing is expanded beyond that window.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from providers.base import Cursor, Deletion, Event, Inventory, Item, Page, Quarantined
from providers.errors import BadItem, TransientError
from providers.ical import clamp_event, event_uids, parse_calendar
from providers.local.common import PageBuilder, settled

#: ``<uid>#<recurrence-id>``: the tail of an instance's provider id
_INSTANCE = re.compile(r"(.+)#(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?)")


@dataclass(frozen=True)
class Options:
    page_size: int
    window: tuple[datetime, datetime]
    privacy: str = "subject"


def calendar_window(now: datetime, past_days: int, future_days: int
                    ) -> tuple[datetime, datetime]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=past_days), day + timedelta(days=future_days + 1)


def discover(path: Path) -> list[Path]:
    """The .ics files a configured path stands for."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() == ".ics" and p.is_file())
    raise TransientError(f"calendar path {path} does not exist")


def event_key(event: Event) -> str:
    return event.uid + (f"#{event.recurrence_id}" if event.recurrence_id else "")


def event_digest(event: Event) -> str:
    return hashlib.sha256(repr(event).encode("utf-8", "replace")).hexdigest()[:16]


def _window_json(window: tuple[datetime, datetime]) -> list[str]:
    return [window[0].isoformat(), window[1].isoformat()]


def _old_lo(state: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(state["window"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def sync_file(path: Path, cursor: Cursor | None, options: Options) -> Iterator[Page]:
    resource = str(path)
    state: Mapping[str, Any] = cursor if isinstance(cursor, dict) and cursor.get("v") == 1 else {}
    window_json = _window_json(options.window)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        yield from vanished(resource, state)
        return
    if state and (st.st_mtime_ns, st.st_size) == (state.get("mtime_ns"), state.get("size")) \
            and state.get("window") == window_json:
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TransientError(f"cannot read {path}: {exc.strerror}") from exc
    sha = hashlib.sha256(data).hexdigest()
    old_events: dict[str, str] = dict(state.get("events") or {})
    base: Cursor = {"v": 1, "mtime_ns": settled(st.st_mtime_ns), "size": st.st_size,
                    "sha256": sha, "window": window_json}
    content_changed = sha != state.get("sha256")
    if state and not content_changed and state.get("window") == window_json:
        yield Page(resource=resource, cursor={**base, "events": old_events})
        return

    builder = PageBuilder.start(resource, options.page_size)
    lo, hi = options.window
    old_lo = _old_lo(state)
    parse_window = (min(lo, old_lo) if old_lo else lo, hi)
    errors: list[BadItem] = []
    try:
        events = parse_calendar(data, provider_id_prefix=resource, window=parse_window,
                                calendar=path.stem, errors=errors)
    except BadItem as exc:
        builder.quarantined.append(Quarantined(provider_id=resource, kind="event",
                                               reason=exc.reason,
                                               excerpt=_excerpt(data, options.privacy)))
        yield builder.take({**base, "events": old_events})
        return

    pages: list[Page] = []
    out: list[Item] = []
    new_events: dict[str, str] = {}
    parsed: set[str] = set()
    for event in events:
        key, digest = event_key(event), event_digest(event)
        parsed.add(key)
        if event.start < hi and event.end >= lo:
            new_events[key] = digest
        if old_events.get(key) != digest:
            out.append(event)
    if content_changed:
        out.extend(Deletion(provider_id=f"{resource}#{key}", kind="event")
                   for key in sorted(old_events) if key not in parsed)
    quarantined = [Quarantined(provider_id=e.provider_id, kind="event", reason=e.reason)
                   for e in errors]
    for item in out:
        builder.items.append(clamp_event(item, options.privacy)
                             if isinstance(item, Event) else item)
        if builder.full:
            pages.append(builder.take(None))
    for bad in quarantined:
        builder.quarantined.append(bad)
        if builder.full:
            pages.append(builder.take(None))
    pages.append(builder.take({**base, "events": new_events}))
    yield from (p for p in pages if p.items or p.quarantined or p.cursor is not None)


def _excerpt(data: bytes, privacy: str) -> str:
    """The start of a broken file; nothing at privacy level ``metadata`` (titles inside)."""
    return "" if privacy == "metadata" else data[:300].decode("utf-8", "replace")


def vanished(resource: str, state: Mapping[str, Any]) -> Iterator[Page]:
    """A file that had a cursor is gone: its events are reported deleted, once."""
    old_events = state.get("events") or {}
    if not state or state.get("gone"):
        return
    yield Page(resource=resource,
               items=[Deletion(provider_id=f"{resource}#{key}", kind="event")
                      for key in sorted(old_events)],
               cursor={"v": 1, "gone": True, "events": {}})


# -- coverage (providers.base.Reconcilable) -----------------------------------------------


def uid_key_parser(resource: str) -> Callable[[str], str | None]:
    """Stored provider id -> the UID of its event (``None``: not an event of this file)."""
    prefix = resource + "#"

    def key_of(provider_id: str) -> str | None:
        if not provider_id.startswith(prefix):
            return None
        rest = provider_id[len(prefix):]
        instance = _INSTANCE.fullmatch(rest)
        return (instance.group(1) if instance else rest) or None

    return key_of


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TransientError(f"cannot read {path}: {exc.strerror}") from exc


def inventory(path: Path, cursor: Cursor | None) -> Inventory | None:
    """The file's UIDs (see module docstring); ``None`` without a cursor, once the file
    is gone (the next pass reports its events deleted) or when it cannot be parsed (the
    pass quarantines it and keeps its events)."""
    state = cursor if isinstance(cursor, dict) and cursor.get("v") == 1 else None
    if state is None or state.get("gone"):
        return None
    try:
        lo, hi = (datetime.fromisoformat(x) for x in state["window"])
    except (KeyError, TypeError, ValueError):
        return None
    resource = str(path)
    data = _read(path)
    if data is None:
        return None
    try:
        events = parse_calendar(data, provider_id_prefix=resource, window=(lo, hi),
                                calendar=path.stem, errors=[])
        uids = event_uids(data)
    except BadItem:
        return None
    expected = frozenset(e.uid for e in events)
    return Inventory(expected=expected, present=frozenset(uids) | expected,
                     key_of=uid_key_parser(resource))


def fetch_uids(path: Path, uids: Collection[str], options: Options) -> Iterator[Page]:
    """Pages (cursor ``None``) of the events with ``uids`` in today's window, as a pass
    delivers them (bad ones quarantined)."""
    resource, wanted = str(path), set(uids)
    data = _read(path)
    if data is None or not wanted:
        return
    errors: list[BadItem] = []
    try:
        events = parse_calendar(data, provider_id_prefix=resource, window=options.window,
                                calendar=path.stem, errors=errors)
    except BadItem:
        return
    key_of = uid_key_parser(resource)
    builder = PageBuilder.start(resource, options.page_size)
    for event in events:
        if event.uid in wanted:
            builder.items.append(clamp_event(event, options.privacy))
        if builder.full:
            yield builder.take(None)
    for bad in errors:
        if key_of(bad.provider_id) in wanted:
            builder.quarantined.append(Quarantined(provider_id=bad.provider_id, kind="event",
                                                   reason=bad.reason))
    if not builder.empty:
        yield builder.take(None)

"""A calendar's inventory for coverage checks: object hrefs by calendar-query, no data.

Compared at the object level: a recurring series stores one provider id per
instance (``<href>#<uid>#<recurrence-id>``), all of them map to ``<href>``.

* ``expected``: hrefs with an instance inside the window of the stored
  cursor (what the last pass covered), as the initial sync lists them;
* ``present``: every href holding a VEVENT, whatever its time, so a stored
  meeting that merely left the window (moved, or the window slid past it)
  never reads as deleted.

Two REPORTs per calendar returning hrefs and etags only.
"""

from __future__ import annotations

from providers.base import Cursor, Inventory
from providers.caldav.cursor import CalendarCursor
from providers.caldav.dav import DavSession
from providers.errors import CursorExpired


def object_key(provider_id: str) -> str | None:
    """Stored provider id -> the href of its object (``None``: derived, not compared)."""
    if "#invite#" in provider_id:
        return None
    return provider_id.partition("#")[0] or None


def calendar_inventory(dav: DavSession, calendar_url: str, raw: Cursor | None,
                       *, gone_key: str) -> Inventory | None:
    """The calendar's inventory; ``None`` without a usable cursor or once it is gone."""
    if raw is None or raw.get(gone_key):
        return None
    try:
        cursor = CalendarCursor.from_json(calendar_url, raw)
    except CursorExpired:  # the next pass resyncs it
        return None
    window = cursor.window
    expected = dav.hrefs_in_range(calendar_url, window.start, window.end)
    present = dav.event_hrefs(calendar_url)
    return Inventory(expected=frozenset(expected), present=frozenset(present) | set(expected),
                     key_of=object_key)

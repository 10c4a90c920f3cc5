"""One stored calendar object → normalized items, and what the cursor remembers.

:func:`normalize_object` is the only place a CalDAV object becomes records:

* events expanded inside the window by :func:`providers.ical.parse_calendar`
  (one object = one UID; a bad UID group is quarantined, the rest kept);
* EXDATE'd instances as cancelled events (:mod:`.exdates`);
* instances that vanished from a changed series → ``Deletion`` of those
  instance ids (only inside the window; older ones merely left it);
* a non-recurring meeting reported before and now moved out of the window
  → still reported, with its new time;
* unparseable objects → ``Quarantined``, never an exception; what the
  cursor remembers about them is left as it was, so an update that breaks
  an object never reads as its instances being deleted.

Recurrence rules that would make the expansion spin (``INTERVAL=0``, which
Radicale accepts, ``FREQ=SECONDLY``) are refused by the parser itself and so
arrive here as quarantined groups.
"""

from __future__ import annotations

from collections.abc import Callable

from providers.base import Deletion, Event, Item, Quarantined
from providers.caldav.cursor import CalendarCursor, key_time
from providers.caldav.dav import CalendarObject
from providers.caldav.exdates import cancelled_instances
from providers.errors import BadItem
from providers.ical import parse_calendar

Batch = tuple[list[Item], list[Quarantined]]

_EXCERPT = 200


def normalize_object(obj: CalendarObject, *, cursor: CalendarCursor, calendar: str,
                     reported_before: bool, privatize: Callable[[Event], Event]) -> Batch:
    """Items for ``obj``; updates ``cursor`` (``seen``/``singles``) for it.

    ``reported_before`` says the cursor's entries for ``obj.href`` describe
    what the store already has (incremental change), so vanished instances
    and moved-out meetings can be reported.
    """
    if obj.data is None:  # gone between listing and fetch: the next token reports it
        return [], []
    text = obj.data
    window = cursor.window.as_tuple()
    errors: list[BadItem] = []
    try:
        events = parse_calendar(text, provider_id_prefix=obj.href, window=window,
                                calendar=calendar, errors=errors)
    except BadItem as exc:
        return [], [_quarantined(obj, exc)]
    known = {e.provider_id for e in events}
    events += [e for e in cancelled_instances(text, provider_id_prefix=obj.href,
                                              window=window, calendar=calendar)
               if e.provider_id not in known]

    previous_keys = set(cursor.seen.get(obj.href, ())) if reported_before else set()
    had_single = reported_before and obj.href in cursor.singles
    if not events and not errors and had_single:
        # a meeting the store has, moved out of the window: report where it went
        events = [e for e in parse_calendar(text, provider_id_prefix=obj.href,
                                            calendar=calendar, errors=[])
                  if e.recurrence_id is None]

    items: list[Item] = [privatize(e) for e in events]
    quarantined = [_quarantined(obj, exc) for exc in errors]
    if errors:  # part of it is unreadable: no conclusions about what vanished
        return items, quarantined
    keys = [e.provider_id[len(obj.href) + 1:] for e in events if e.recurrence_id]
    for key in sorted(previous_keys - set(keys)):
        moment = key_time(key)
        if moment is not None and cursor.window.contains(moment):
            items.append(Deletion(provider_id=f"{obj.href}#{key}", kind="event"))
    singles = [e for e in events if e.recurrence_id is None]
    single = (singles[0].provider_id[len(obj.href) + 1:], singles[0].end) if singles else None
    cursor.remember(obj.href, instance_keys=keys, single=single)
    return items, quarantined


def deleted_object(href: str, cursor: CalendarCursor) -> list[Item]:
    """A deleted object: ``Deletion(href)`` plus every provider id reported for it.

    The bare href means "the whole object"; the explicit ids let a store
    that matches provider ids exactly mark each instance.
    """
    items: list[Item] = [Deletion(provider_id=href, kind="event")]
    items += [Deletion(provider_id=f"{href}#{key}", kind="event") for key in cursor.forget(href)]
    return items


def _quarantined(obj: CalendarObject, exc: BadItem) -> Quarantined:
    data = obj.data or ""
    start = max(data.find("BEGIN:VEVENT"), 0)  # skip VTIMEZONE noise
    return Quarantined(provider_id=exc.provider_id or obj.href, kind="event",
                       reason=exc.reason, excerpt=data[start:start + _EXCERPT])

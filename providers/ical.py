"""iCalendar text → :class:`providers.base.Event` records, one per meeting instance.

Used by the local provider (.ics files), CalDAV, and mail invites
(text/calendar parts). Built on ``icalendar`` and ``recurring_ical_events``.

Rules
-----
* Components are grouped by UID. A group whose master (no RECURRENCE-ID)
  has RRULE/RDATE is a *recurring set*: it is expanded into instances that
  overlap the window; RECURRENCE-ID overrides replace their instance (and
  keep the ORIGINAL start as ``recurrence_id``); EXDATE'd instances are
  simply absent. The master itself is never emitted as an event, because
  (uid, None) would not dedupe against the instances other providers report.
* Without a window, a recurring set is expanded over
  [series start, series start + :data:`DEFAULT_SERIES_DAYS`); pass a window
  whenever you have one (mail invites pass one around the message date).
  Every set yields at most :data:`MAX_INSTANCES` instances. Rules that make
  the expansion spin rather than produce instances are refused as
  :class:`BadItem` before expanding: ``INTERVAL`` below 1 (RFC 5545 forbids
  it; dateutil loops forever on 0) and ``FREQ=SECONDLY``/``MINUTELY`` (never
  a meeting; seconds of CPU per set). Servers accept both, so a calendar or
  an invite carrying one must not hang the pass.
* A non-recurring event is one Event with ``recurrence_id=None``; with a
  window, only if it overlaps the window. An override whose master is not in
  the text (an invite to one instance) is emitted as that instance.
* ``recurrence_id`` is ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) or ``YYYY-MM-DD`` for
  DATE values. Times are aware UTC; DATE values start/end at UTC midnight
  with ``all_day=True``; floating times are taken as UTC; ``timezone`` is the
  DTSTART's TZID (``"UTC"`` for Z times, None when floating).
* STATUS:CANCELLED, or METHOD:CANCEL on the calendar, → status
  ``cancelled``; STATUS:TENTATIVE → ``tentative``; else ``confirmed``.
* CLASS:PRIVATE / CLASS:CONFIDENTIAL → ``visibility`` ``private`` /
  ``confidential``; PUBLIC, absent or an x-name → ``public``. An overridden
  instance carries its own CLASS; expanded instances inherit the master's.
* ``provider_id`` is ``{provider_id_prefix}#{uid}`` plus ``#{recurrence_id}``
  for instances, so a vanished instance can be reported as a Deletion.
* Unparseable text raises :class:`BadItem`. A single bad UID group raises
  too, unless the caller passes ``errors=[]``: then the group's BadItem is
  appended there and the other groups are still returned.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from providers.base import (
    Address,
    Attendee,
    AttendeeStatus,
    Event,
    EventStatus,
    EventVisibility,
)
from providers.errors import BadItem
from providers.settings import PRIVACY_ORDER

#: span a recurring set is expanded over when the caller gives no window
DEFAULT_SERIES_DAYS = 366
#: most instances one recurring set yields
MAX_INSTANCES = 2000

_PARTSTAT: dict[str, AttendeeStatus] = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needs_action",
}
_STATUS: dict[str, EventStatus] = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_CLASS: dict[str, EventVisibility] = {"PRIVATE": "private", "CONFIDENTIAL": "confidential"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RECURRENCE_KEYS = ("RRULE", "RDATE")


def clamp_event(event: Event, level: str) -> Event:
    """``event`` as the privacy ``level`` allows: below ``subject`` no title, no location.

    The one rule for meetings, used by every calendar provider, by invites
    found inside mail, and again by the engine before anything is stored.
    """
    if PRIVACY_ORDER[level] >= PRIVACY_ORDER["subject"]:
        return event
    if event.title is None and event.location is None:
        return event
    return dataclasses.replace(event, title=None, location=None)


def format_recurrence_id(value: date | datetime) -> str:
    """The instance key: UTC ``YYYY-MM-DDTHH:MM:SSZ`` or ``YYYY-MM-DD`` for dates."""
    if isinstance(value, datetime):
        return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def to_utc(value: date | datetime) -> datetime:
    """Aware UTC: dates → midnight UTC, floating times → taken as UTC."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # a repeated property: the first one counts
        value = value[0] if value else None
        if value is None:
            return None
    text = _CONTROL.sub(" ", str(value)).strip()
    return text or None


def _address(value: Any) -> Address | None:
    text = _text(value)
    if text is None:
        return None
    email = re.sub(r"^mailto:", "", text, flags=re.IGNORECASE).strip()
    if "@" not in email:
        return None
    params = getattr(value, "params", {}) or {}
    name = _text(params.get("CN"))
    return Address(email=email, name=name.strip('"') if name else None)


def _attendees(component: Any) -> tuple[Attendee, ...]:
    raw = component.get("ATTENDEE")
    if raw is None:
        return ()
    values = raw if isinstance(raw, list) else [raw]
    out: list[Attendee] = []
    seen: set[str] = set()
    for value in values:
        address = _address(value)
        if address is None or address.email.lower() in seen:
            continue
        seen.add(address.email.lower())
        params = getattr(value, "params", {}) or {}
        partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        out.append(Attendee(address=address, status=_PARTSTAT.get(partstat, "unknown"),
                            role=_text(params.get("ROLE"))))
    return tuple(out)


def _dt(component: Any, name: str) -> date | datetime | None:
    prop = component.get(name)
    if isinstance(prop, list):
        prop = prop[0] if prop else None
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def _timezone_name(component: Any, start: date | datetime) -> str | None:
    if not isinstance(start, datetime):
        return None
    prop = component.get("DTSTART")
    tzid = getattr(prop, "params", {}).get("TZID") if prop is not None else None
    if tzid:  # kept even when unknown (then the time itself was taken as UTC)
        return str(tzid)
    if start.tzinfo is None:
        return None
    if start.utcoffset() == timedelta(0) and str(start.tzinfo) in ("UTC", "UTC+00:00"):
        return "UTC"
    key = getattr(start.tzinfo, "key", None) or getattr(start.tzinfo, "zone", None)
    return str(key) if key else str(start.tzinfo)


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def _synthesized_uid(component: Any) -> str:
    parts = [str(component.get(k, "")) for k in ("DTSTART", "SUMMARY", "ORGANIZER")]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:32]
    return f"syncd-{digest}@synthesized.invalid"


def _uid(component: Any) -> str:
    return _text(component.get("UID")) or _synthesized_uid(component)


def _to_event(component: Any, *, uid: str, recurrence_id: str | None, prefix: str,
              method: str | None, calendar: str | None) -> Event:
    start_value = _dt(component, "DTSTART")
    if start_value is None:
        raise BadItem(f"{prefix}#{uid}", "event has no usable DTSTART")
    all_day = not isinstance(start_value, datetime)
    end_value = _dt(component, "DTEND")
    if end_value is None:
        duration = getattr(component.get("DURATION"), "dt", None)
        if isinstance(duration, timedelta):
            end_value = start_value + duration
        else:
            end_value = start_value + timedelta(days=1) if all_day else start_value
    start, end = to_utc(start_value), to_utc(end_value)
    if end < start:
        end = start
    status = _STATUS.get((_text(component.get("STATUS")) or "").upper(), "confirmed")
    if method == "CANCEL":
        status = "cancelled"
    updated_value = _dt(component, "LAST-MODIFIED") or _dt(component, "DTSTAMP")
    provider_id = f"{prefix}#{uid}" + (f"#{recurrence_id}" if recurrence_id else "")
    return Event(
        provider_id=provider_id,
        uid=uid,
        recurrence_id=recurrence_id,
        start=start,
        end=end,
        all_day=all_day,
        timezone=_timezone_name(component, start_value),
        title=_text(component.get("SUMMARY")),
        location=_text(component.get("LOCATION")),
        organizer=_address(component.get("ORGANIZER")),
        attendees=_attendees(component),
        status=status,
        sequence=_int(component.get("SEQUENCE", 0)),
        calendar=calendar,
        method=method,
        updated=to_utc(updated_value) if updated_value is not None else None,
        visibility=_CLASS.get((_text(component.get("CLASS")) or "").upper(), "public"),
    )


def _overlaps(event: Event, window: tuple[datetime, datetime] | None) -> bool:
    if window is None:
        return True
    lo, hi = window
    if event.end == event.start:
        return lo <= event.start < hi
    return event.start < hi and event.end > lo


def _load(text: str | bytes) -> list[Any]:
    if not isinstance(text, str):
        data = bytes(text)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    if "BEGIN:VCALENDAR" not in text.upper() and "BEGIN:VEVENT" not in text.upper():
        raise BadItem("(calendar)", "not iCalendar data (no BEGIN:VCALENDAR)")
    # imported when first needed: the engine imports this module for clamp_event and
    # never parses, so it does not carry icalendar (~8 MB; ical_light uses its parser)
    import icalendar

    from providers.ical_light import read_simple

    light = read_simple(text)  # the common invite, without icalendar's object model
    if light is not None:
        return [light]

    try:
        found = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        raise BadItem("(calendar)", f"unparseable iCalendar ({type(exc).__name__})") from exc
    calendars: list[Any] = []
    for component in found:
        if component.name == "VCALENDAR":
            calendars.append(component)
        elif component.name == "VEVENT":  # a bare VEVENT without its VCALENDAR wrapper
            wrapper = icalendar.Calendar()
            wrapper.add_component(component)
            calendars.append(wrapper)
    if not calendars:
        raise BadItem("(calendar)", "no VCALENDAR in the text")
    return calendars


_REFUSED_FREQ = frozenset({"SECONDLY", "MINUTELY"})


def _check_rules(master: Any, where: str) -> None:
    rules = master.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule is None:
            continue
        freqs = {str(f).upper() for f in rule.get("FREQ", [])}
        if freqs & _REFUSED_FREQ:
            raise BadItem(where, f"recurrence rule FREQ={'/'.join(sorted(freqs))} is not "
                                 "expanded (no meeting repeats by the second or minute)")
        for interval in rule.get("INTERVAL", []):
            if _int(interval) < 1:
                raise BadItem(where, f"recurrence rule INTERVAL={interval} is invalid "
                                     "(RFC 5545 requires a positive integer)")


def _expand(master: Any, overrides: list[Any], timezones: Iterable[Any], *, uid: str,
            prefix: str, method: str | None, calendar: str | None,
            window: tuple[datetime, datetime] | None) -> list[Event]:
    _check_rules(master, f"{prefix}#{uid}")
    if window is None:
        first = _dt(master, "DTSTART")
        if first is None:
            raise BadItem(f"{prefix}#{uid}", "recurring event has no usable DTSTART")
        lo = to_utc(first)
        window = (lo, lo + timedelta(days=DEFAULT_SERIES_DAYS))
    lo, hi = window
    import icalendar  # see _load
    import recurring_ical_events

    mini = icalendar.Calendar()
    mini.add("version", "2.0")
    mini.add("prodid", "-//syncd//expand//EN")
    for tz in timezones:
        mini.add_component(tz)
    mini.add_component(master)
    for override in overrides:
        mini.add_component(override)
    out: list[Event] = []
    for occurrence in recurring_ical_events.of(mini).after(lo):
        start = _dt(occurrence, "DTSTART")
        if start is None or to_utc(start) >= hi:
            break
        original = _dt(occurrence, "RECURRENCE-ID") or start
        event = _to_event(occurrence, uid=uid, recurrence_id=format_recurrence_id(original),
                          prefix=prefix, method=method, calendar=calendar)
        if _overlaps(event, window):
            out.append(event)
        if len(out) >= MAX_INSTANCES:
            break
    return out


def _group_events(cal: Any) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for component in cal.walk("VEVENT"):
        groups.setdefault(_uid(component), []).append(component)
    return groups


def _events_of_group(uid: str, components: list[Any], timezones: list[Any], *, prefix: str,
                     method: str | None, calendar: str | None,
                     window: tuple[datetime, datetime] | None) -> list[Event]:
    masters = [c for c in components if c.get("RECURRENCE-ID") is None]
    overrides = [c for c in components if c.get("RECURRENCE-ID") is not None]
    # several masters for one UID: the highest SEQUENCE wins (a re-sent invite)
    master = max(masters, key=lambda c: _int(c.get("SEQUENCE", 0))) if masters else None
    if master is not None and any(master.get(k) is not None for k in _RECURRENCE_KEYS):
        return _expand(master, overrides, timezones, uid=uid, prefix=prefix, method=method,
                       calendar=calendar, window=window)
    out: list[Event] = []
    if master is not None:
        event = _to_event(master, uid=uid, recurrence_id=None, prefix=prefix, method=method,
                          calendar=calendar)
        if _overlaps(event, window):
            out.append(event)
    for override in overrides:  # instances whose series is not in this text
        original = _dt(override, "RECURRENCE-ID")
        if original is None:
            continue
        event = _to_event(override, uid=uid, recurrence_id=format_recurrence_id(original),
                          prefix=prefix, method=method, calendar=calendar)
        if _overlaps(event, window):
            out.append(event)
    return out


def event_uids(text: str | bytes) -> set[str]:
    """The UID of every VEVENT in ``text`` as :func:`parse_calendar` names them, whatever
    its time, without expanding anything. Raises :class:`BadItem` for non-iCalendar text."""
    return {uid for cal in _load(text) for uid in _group_events(cal)}


def parse_calendar(
    text: str | bytes,
    *,
    provider_id_prefix: str,
    window: tuple[datetime, datetime] | None = None,
    calendar: str | None = None,
    errors: list[BadItem] | None = None,
) -> list[Event]:
    """Every meeting instance in ``text`` (see the module docstring for the rules).

    ``window`` is a half-open [start, end) of aware datetimes. ``errors``: if
    given, a bad UID group is appended there instead of failing the whole text.
    """
    if window is not None:
        window = (to_utc(window[0]), to_utc(window[1]))
    try:
        calendars = _load(text)
    except BadItem as exc:
        raise BadItem(provider_id_prefix, exc.reason) from exc
    out: list[Event] = []
    for cal in calendars:
        method = (_text(cal.get("METHOD")) or "").upper() or None
        timezones = list(cal.walk("VTIMEZONE"))
        for uid, components in _group_events(cal).items():
            try:
                out.extend(_events_of_group(uid, components, timezones,
                                            prefix=provider_id_prefix, method=method,
                                            calendar=calendar, window=window))
            except Exception as exc:  # one broken event must not hide the others
                bad = exc if isinstance(exc, BadItem) else BadItem(
                    f"{provider_id_prefix}#{uid}",
                    f"unusable event ({type(exc).__name__}: {str(exc)[:120]})")
                if errors is None:
                    raise bad from exc
                errors.append(bad)
    return out

"""A light reader for the common invite: one VCALENDAR of single, non-recurring VEVENTs.

``icalendar`` builds a full object model (typed properties, parameter
objects, every component): 3-4 ms per invite, most of an initial sync's
provider time on mail with meeting invites. What syncd stores from an invite
needs only a dozen properties, so :func:`read_simple` lexes those itself and
returns components that :mod:`providers.ical` reads exactly as it reads
``icalendar``'s (``get``, ``.dt``, ``.params``, ``str``): the rules that turn
properties into an :class:`~providers.base.Event` stay in one place.

Conservative by design: anything beyond the plain shape — recurrence
(RRULE, RDATE, EXDATE, RECURRENCE-ID), DURATION, a repeated property, an
unknown or Windows time zone name, RFC 6868 escapes, backslashes or odd
whitespace in parameters, control characters, components other than
VTIMEZONE/VALARM, more than one calendar, a value that does not parse —
returns None and the caller uses ``icalendar``. Differentially tested against
that path (``tests/providers/test_ical_light.py``).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from icalendar.parser.content_line import NEWLINE, UFOLD
from icalendar.parser.property import unescape_backslash

_PARAM = r'[A-Za-z0-9-]+=(?:"[^"\x00-\x1f^]*"|[^";:,\s\\^](?:[^";:,\\^\x00-\x1f]*[^";:,\s\\^])?|)'
_LINE = re.compile(rf"([A-Za-z0-9-]+)((?:;{_PARAM})*):([^\x00-\x08\x0a-\x1f\x7f]*)")
_ONE_PARAM = re.compile(rf";({_PARAM})")
_DATE = re.compile(r"(\d{4})(\d\d)(\d\d)")
_DATE_TIME = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(Z?)")
_WHEN = frozenset({"DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED"})
_TEXT = frozenset({"UID", "SUMMARY", "LOCATION", "STATUS", "CLASS", "SEQUENCE", "ORGANIZER",
                   "ATTENDEE"})
_SINGLE = (_WHEN | _TEXT) - {"ATTENDEE"}
#: properties this reader does not model: their presence means icalendar decides
_REFUSED = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "DURATION"})
_SKIPPED = frozenset({"VTIMEZONE", "STANDARD", "DAYLIGHT", "VALARM"})


class _Refused(Exception):
    """Not the plain shape: icalendar reads this text."""


class Text(str):
    """A property value as ``str(icalendar property)`` gives it, with its parameters."""

    params: dict[str, str]

    def __new__(cls, value: str, params: dict[str, str]) -> Text:
        self = super().__new__(cls, value)
        self.params = params
        return self


class When:
    """A DATE or DATE-TIME property: ``.dt`` and ``.params`` as icalendar's."""

    __slots__ = ("dt", "params")

    def __init__(self, dt: date | datetime, params: dict[str, str]) -> None:
        self.dt = dt
        self.params = params


class Component(dict[str, Any]):
    """Properties by upper-case name; ATTENDEE is a list when repeated, as in icalendar."""


class LightCalendar:
    """The calendar's METHOD and its VEVENTs, walked like an icalendar Calendar."""

    def __init__(self, props: dict[str, Any], events: list[Component]) -> None:
        self._props = props
        self._events = events

    def get(self, name: str, default: Any = None) -> Any:
        return self._props.get(name, default)

    def walk(self, name: str) -> list[Component]:
        return self._events if name == "VEVENT" else []


def read_simple(text: str) -> LightCalendar | None:
    """The calendar, if ``text`` has the plain shape (see the module docstring), else None."""
    try:
        return _read(line for line in NEWLINE.split(UFOLD.sub("", text)) if line)
    except (_Refused, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None


def _read(lines: Any) -> LightCalendar:
    stack: list[str] = []
    calendar: dict[str, Any] = {}
    events: list[Component] = []
    event: Component | None = None
    done = False
    for line in lines:
        match = _LINE.fullmatch(line)
        if match is None or done:
            raise _Refused
        name, params, value = match.group(1).upper(), match.group(2), match.group(3)
        if name in ("BEGIN", "END"):
            _nest(stack, name, value, params)
            if name == "BEGIN" and value == "VEVENT":
                event = Component()
            elif name == "END" and value == "VEVENT" and event is not None:
                events.append(event)
                event = None
            done = not stack
            continue
        if len(stack) == 1:  # the calendar's own properties
            if name == "METHOD":
                _put(calendar, name, Text(_unescape(value), _params(params)))
        elif stack[-1] == "VEVENT" and event is not None:
            _property(event, name, params, value)
    if not done or not events:
        raise _Refused
    uids = [str(e.get("UID", "")).strip() for e in events]
    if "" in uids or len(set(uids)) != len(uids):  # synthesized UIDs and groups: icalendar
        raise _Refused
    return LightCalendar(calendar, events)


def _nest(stack: list[str], name: str, value: str, params: str) -> None:
    if params:
        raise _Refused
    if name == "END":
        if not stack or stack[-1] != value:
            raise _Refused
        stack.pop()
        return
    parent = stack[-1] if stack else None
    allowed = {None: ("VCALENDAR",), "VCALENDAR": ("VEVENT", "VTIMEZONE"),
               "VEVENT": ("VALARM",), "VTIMEZONE": ("STANDARD", "DAYLIGHT")}.get(parent, ())
    if value not in allowed:
        raise _Refused
    stack.append(value)


def _params(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _ONE_PARAM.findall(raw):
        key, _, value = item.partition("=")
        key = key.upper()
        if key in out:
            raise _Refused
        out[key] = value[1:-1] if value.startswith('"') else value
    return out


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    if name in target:
        raise _Refused
    target[name] = value


def _property(event: Component, name: str, params: str, value: str) -> None:
    if name in _REFUSED:
        raise _Refused
    if name in _WHEN:
        _put(event, name, _when(value, _params(params)))
    elif name == "ATTENDEE":
        attendee = Text(_unescape(value), _params(params))
        found = event.get(name)
        if found is None:
            event[name] = attendee
        elif isinstance(found, list):
            found.append(attendee)
        else:
            event[name] = [found, attendee]
    elif name in _TEXT:
        if name == "SEQUENCE" and not value.isdigit():
            raise _Refused
        _put(event, name, Text(_unescape(value), _params(params)))


def _when(value: str, params: dict[str, str]) -> When:
    kind = params.pop("VALUE", None)
    tzid = params.get("TZID")
    if set(params) - {"TZID"}:
        raise _Refused
    if kind in (None, "DATE") and tzid is None and _DATE.fullmatch(value):
        match = _DATE.fullmatch(value)
        assert match is not None
        return When(date(*map(int, match.groups())), params)
    match = _DATE_TIME.fullmatch(value)
    if match is None or kind not in (None, "DATE-TIME"):
        raise _Refused
    year, month, day, hour, minute, second = map(int, match.groups()[:6])
    if match.group(7):
        if tzid is not None:
            raise _Refused
        zone: Any = UTC
    else:
        zone = _zone(tzid) if tzid is not None else None
    if kind is not None:
        params["VALUE"] = kind
    return When(datetime(year, month, day, hour, minute, second, tzinfo=zone), params)


def _unescape(value: str) -> str:
    # icalendar's own unescaping, skipped when there is nothing to unescape
    return unescape_backslash(value) if "\\" in value else value


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _zone(tzid: str) -> zoneinfo.ZoneInfo:
    """An IANA zone by its exact name; anything else (Windows names, custom
    VTIMEZONEs, unknown names) is icalendar's to resolve."""
    if tzid not in _known_zones():
        raise _Refused
    return zoneinfo.ZoneInfo(tzid)
